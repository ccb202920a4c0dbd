package clock

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// timeNowUses are the functions of geogate's code (tests aside) that may read time.Now
// directly, each for durations only: a date or time of day read anywhere else would escape
// this package, so neither a pinned test binary nor make test-clock would move it. Keys are
// function names ("Type.Method" for methods), so they survive a file moving; the values say
// why. The test fails when an entry no longer applies, so the list cannot rot.
var timeNowUses = map[string]string{
	"SystemClock.Now":       "board: times health checks and input polls (intervals, never dates)",
	"Run":                   "daemon: the run's start, for uptime and ready_in (time.Since)",
	"policyCheck":           "cli: how long the bundle took to compile (time.Since)",
	"policySign":            "cli: how long the bundle took to compile (time.Since)",
	"NewReplay":             "gnss: the default clock that paces a replay (gaps between fixes)",
	"v4l2Device.Dequeue":    "camera: the poll deadline of a V4L2 read (time.Until)",
	"Server.serveConn":      "control: a connection's idle deadline (SetReadDeadline)",
	"Client.Call":           "control: an exchange's deadline (SetDeadline)",
	"SWTPM.Start":           "boardtest: how long swtpm may take to listen (a deadline)",
	"TPMKeyring.DeviceKeys": "board: how long an unseal took, for the key event log (time.Since)",
	"netTPM.Send":           "board: a TPM command's deadline on the swtpm socket (SetDeadline)",
	"run.deviceKeys":        "daemon: how long unsealing the device key took (time.Since)",
	"markGoodMain":          "cli: how long the daemon has been healthy, against mark-good's hold and timeout (time.Since)",
	"Anonymizer.Anonymize":  "anonymize: a detection round trip's deadline (SetDeadline)",
}

// TestWallClockSeam finds every time.Now in the module's non-test Go files outside this
// package and fails on any that timeNowUses does not list.
func TestWallClockSeam(t *testing.T) {
	root := filepath.Join("..", "..")
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			if rel, _ := filepath.Rel(root, path); rel == filepath.Join("internal", "clock") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, fn := range timeNowCallers(t, path) {
			seen[fn] = true
			if _, ok := timeNowUses[fn]; !ok {
				t.Errorf("%s: %s reads time.Now: read the wall clock with clock.Now, or list it in timeNowUses with why it only measures durations", path, fn)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 {
		t.Fatalf("no time.Now found under %s: is the walk looking at the module?", root)
	}
	for fn, why := range timeNowUses {
		if !seen[fn] {
			t.Errorf("timeNowUses lists %s (%s), which no longer reads time.Now: delete the entry", fn, why)
		}
	}
}

// timeNowCallers returns the functions of the file at path that mention time.Now (called or
// passed as a value), "var" for package-level declarations.
func timeNowCallers(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	timePkg := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "time" {
			timePkg = "time"
			if imp.Name != nil {
				timePkg = imp.Name.Name
			}
		}
	}
	if timePkg == "" {
		return nil
	}
	var out []string
	for _, decl := range f.Decls {
		name := "var"
		if fd, ok := decl.(*ast.FuncDecl); ok {
			name = fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				name = recvType(fd.Recv.List[0].Type) + "." + name
			}
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Now" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == timePkg {
					out = append(out, name)
				}
			}
			return true
		})
	}
	return out
}

// recvType returns the name of a method's receiver type, without pointer or type parameters.
func recvType(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recvType(x.X)
	case *ast.IndexExpr:
		return recvType(x.X)
	case *ast.IndexListExpr:
		return recvType(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
}

// TestTimeNowCallers shows the finder is not blind: it names the function of each kind of
// use, under the import's own name too, and ignores comments and other packages' Now.
func TestTimeNowCallers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, src string
		want      []string
	}{
		{"call", "package p\nimport \"time\"\nfunc f() { _ = time.Now() }\n", []string{"f"}},
		{"value", "package p\nimport \"time\"\nfunc g(func() time.Time) {}\nfunc f() { g(time.Now) }\n", []string{"f"}},
		{"method", "package p\nimport \"time\"\ntype C[T any] struct{}\nfunc (*C[T]) Now() time.Time { return time.Now() }\n", []string{"C.Now"}},
		{"package var", "package p\nimport \"time\"\nvar t0 = time.Now()\n", []string{"var"}},
		{"renamed import", "package p\nimport stdtime \"time\"\nfunc f() { _ = stdtime.Now() }\n", []string{"f"}},
		{"comment and other Now", "package p\nimport \"time\"\n// time.Now()\nvar c struct{ Now func() time.Time }\nfunc f() { _ = c.Now }\n", nil},
		{"no time import", "package p\nvar time struct{ Now int }\nfunc f() { _ = time.Now }\n", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := timeNowCallers(t, write(strconv.Itoa(i)+".go", tt.src))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
