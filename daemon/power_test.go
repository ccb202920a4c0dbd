package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunPowerFail drives the power-fail input (a polled file, as a board helper or an MCU
// bridge provides): when power fails the daemon flushes and stores nothing more while fixes
// keep flowing; when power is back it stores again.
func TestRunPowerFail(t *testing.T) {
	needPTY(t)
	dir := t.TempDir()
	power := filepath.Join(dir, "power-good")
	// The input is written as a board helper must write it: a temporary file renamed over
	// it, so no poll sees it half written.
	set := func(v string) {
		t.Helper()
		tmp := power + ".tmp"
		if err := os.WriteFile(tmp, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, power); err != nil {
			t.Fatal(err)
		}
	}
	set("1")
	cfg := writeConfig(t, dir, runConfig{DataDir: filepath.Join(dir, "data"), KeyFile: newKey(t, dir), GNSS: simGNSS(10),
		Board: fmt.Sprintf("power_fail = %q\n", "file:"+power)})
	p := startDaemon(t, "geogate run (power-fail)", cfg)
	p.waitReady()
	p.waitStatus("fixes stored", func(s status) bool { return s.stored() > 20 })

	set("0")
	waitLog(t, p, "power failing: flushed storage")
	cut := p.waitStatus("a status after the power-fail", func(status) bool { return true })
	s := p.waitStatus("fixes flowing with power failed", func(s status) bool { return s.fixes > cut.fixes+30 })
	if s.durable != cut.durable || s.stored() != cut.stored() {
		t.Errorf("records stored while power was failing: %q then %q", cut.line, s.line)
	}

	set("1")
	waitLog(t, p, `msg="power ok"`)
	p.waitStatus("storing again", func(s status) bool { return s.durable > cut.durable+10 })

	// An input that stays unreadable stops the watcher: the log says so, health fails
	// (so the watchdogs are no longer kicked), and the watcher is restarted until the input
	// reads again.
	set("unreadable")
	waitLog(t, p, "POWER-FAIL WATCHER STOPPED")
	bad := p.waitStatus("health failing with the watcher stopped", func(s status) bool {
		return strings.Contains(s.health, "power-fail input")
	})
	t.Logf("watcher stopped: %q", bad.line)
	set("1")
	waitLog(t, p, "power-fail watcher running again")
	p.waitStatus("health ok with the watcher running", func(s status) bool { return s.health == "ok" })
	if n := strings.Count(p.stderr(), `msg="power failing: flushed storage`); n != 1 {
		t.Errorf("the log says power failing %d times, want once", n)
	}
	took, sum := p.terminate()
	t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
}
