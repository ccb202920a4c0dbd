package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestRunPowerFail drives the power-fail input (a polled file, as a board helper or an MCU
// bridge provides): when power fails the daemon flushes and stores nothing more while fixes
// keep flowing; when power is back it stores again.
func TestRunPowerFail(t *testing.T) {
	needPTY(t)
	dir := t.TempDir()
	power := filepath.Join(dir, "power-good")
	set := func(v string) {
		t.Helper()
		if err := os.WriteFile(power, []byte(v+"\n"), 0o600); err != nil {
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
	waitLog(t, p, "power ok")
	p.waitStatus("storing again", func(s status) bool { return s.durable > cut.durable+10 })
	took, sum := p.terminate()
	t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
}
