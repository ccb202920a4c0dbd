package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how Need stopped a test; like testing.T it ends the goroutine on Fatal and
// Skip.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a fakeTB in its own goroutine and returns the fake once fn has ended.
func run(fn func(testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestNeed(t *testing.T) {
	missing := fmt.Errorf("exec: %q: executable file not found in $PATH", "gpsdecode")
	tests := []struct {
		name        string
		ci          string
		err         error
		fatal, skip bool
	}{
		{"present, CI", "true", nil, false, false},
		{"present, no CI", "", nil, false, false},
		{"missing, CI", "true", missing, true, false},
		{"missing, CI=1", "1", missing, true, false},
		{"missing, no CI", "", missing, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			f := run(func(tb testing.TB) { Need(tb, "gpsdecode", tt.err, "apt-get install gpsd-clients") })
			if (f.fatal != "") != tt.fatal || (f.skip != "") != tt.skip {
				t.Fatalf("fatal %q, skip %q; want fatal %v, skip %v", f.fatal, f.skip, tt.fatal, tt.skip)
			}
			for _, msg := range []string{f.fatal, f.skip} {
				if msg == "" {
					continue
				}
				for _, want := range []string{"gpsdecode", "not found", "apt-get install gpsd-clients"} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q lacks %q", msg, want)
					}
				}
			}
		})
	}
}

func TestLookPath(t *testing.T) {
	t.Setenv("CI", "true")
	var path string
	f := run(func(tb testing.TB) { path = LookPath(tb, "sh", "dash") })
	if f.fatal != "" || f.skip != "" || path == "" {
		t.Errorf("sh: path %q, fatal %q, skip %q", path, f.fatal, f.skip)
	}
	f = run(func(tb testing.TB) { path = LookPath(tb, "geogate-no-such-tool", "geogate-pkg") })
	if !strings.Contains(f.fatal, "apt-get install geogate-pkg") {
		t.Errorf("missing command in CI: fatal %q, skip %q", f.fatal, f.skip)
	}
}

func TestRoot(t *testing.T) {
	t.Setenv("CI", "")
	f := run(func(tb testing.TB) { Root(tb, "to mount") })
	if root := os.Geteuid() == 0; root != (f.skip == "") {
		t.Errorf("euid %d: skip %q", os.Geteuid(), f.skip)
	}
	if f.fatal != "" {
		t.Errorf("fatal %q outside CI", f.fatal)
	}
}

func TestSelfCommand(t *testing.T) {
	t.Setenv(EmulatorEnv, "")
	if c := SelfCommand("-test.run=^X$"); c.Path != os.Args[0] || strings.Join(c.Args[1:], " ") != "-test.run=^X$" {
		t.Errorf("native: %q %q", c.Path, c.Args)
	}
	t.Setenv(EmulatorEnv, "/usr/bin/qemu-arm-static")
	c := SelfCommand("-test.run=^X$")
	if want := []string{"/usr/bin/qemu-arm-static", os.Args[0], "-test.run=^X$"}; strings.Join(c.Args, " ") != strings.Join(want, " ") || c.Path != want[0] {
		t.Errorf("emulated: %q %q, want %q", c.Path, c.Args, want)
	}
}

// TestOnlyInTests: no package's non-test code imports testtool, so it never ships.
func TestOnlyInTests(t *testing.T) {
	if testing.Short() {
		t.Skip("go list in -short mode")
	}
	const self = "github.com/geogate/geogate/internal/testtool"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/geogate/geogate/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list found %d packages, want them all:\n%s", len(lines), out)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == self {
				t.Errorf("%s imports %s outside its tests", f[0], self)
			}
		}
	}
}
