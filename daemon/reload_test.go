package daemon_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestRunReload sends SIGHUP to the running daemon: a broken bundle is rejected and the
// running policy stays in force; a valid bundle with a higher version replaces it; a lower
// version is refused. Positions never appear in the log.
func TestRunReload(t *testing.T) {
	needPTY(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy")
	if err := os.CopyFS(pol, os.DirFS("../examples/policy")); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(pol, "policy.toml")
	orig, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	setVersion := func(v string) {
		t.Helper()
		b := regexp.MustCompile(`(?m)^version = \d+$`).ReplaceAll(orig, []byte("version = "+v))
		if err := os.WriteFile(manifest, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeConfig(t, dir, runConfig{DataDir: filepath.Join(dir, "data"), KeyFile: newKey(t, dir), GNSS: simGNSS(10), PolicyDir: pol})
	p := startDaemon(t, "geogate run (reload)", cfg)
	p.waitReady()
	p.waitStatus("policy v1 in force", func(s status) bool { return s.policy == 1 && s.fixes > 20 })

	hup := func() {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	// A broken bundle: the log says why, v1 stays in force and fixes keep being stored.
	if err := os.WriteFile(manifest, []byte("id = \"broken\"\nversion = [2,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup()
	waitLog(t, p, "policy reload rejected")
	before := p.lastStatus()
	s := p.waitStatus("v1 still storing after the rejected reload", func(s status) bool {
		return s.policy == 1 && s.stored() > before.stored()+10
	})
	t.Logf("after a broken bundle: %q", s.line)

	setVersion("2")
	hup()
	p.waitStatus("policy v2 in force", func(s status) bool { return s.policy == 2 })

	setVersion("1") // a rollback to an older version is refused
	hup()
	waitLog(t, p, "version 1 < floor 2")
	s = p.waitStatus("v2 still in force after the refused rollback", func(s status) bool { return s.policy == 2 && s.fixes > before.fixes+20 })
	t.Logf("after a rollback attempt: %q", s.line)

	took, sum := p.terminate()
	t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
	// The log carries states and counters, never a position: no coordinate of the drive
	// (39.8x N, 119.4x-119.5x E) in decimal or NMEA form. The time= fields are left out:
	// a timestamp's seconds read 39.270 once a minute.
	logged := regexp.MustCompile(`time=\S+`).ReplaceAllString(p.stderr(), "")
	if m := regexp.MustCompile(`\b(39\.\d{3}|119\.\d{3}|39\d\d\.\d+|119\d\d\.\d+)`).FindString(logged); m != "" {
		t.Errorf("the log holds a coordinate %q:\n%s", m, tail(p.stderr(), 20))
	}
}

// waitLog waits until the daemon's log contains s.
func waitLog(t *testing.T, p *daemonProc, s string) {
	t.Helper()
	p.waitStatus("log line "+strconv.Quote(s), func(status) bool { return strings.Contains(p.stderr(), s) })
}
