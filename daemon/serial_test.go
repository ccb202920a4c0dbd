package daemon_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/geogate/geogate/daemon"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
)

// TestRunSerialReconnect is issue 6's serial proof: the daemon reads gnss.source "serial" from
// a pty simulator the test owns (the built-in drive, paced at 10x), the test unplugs it (pty
// closed, device link removed) until the daemon's fix counter stands still, then plugs it
// back in (a new pty behind the same path). Fixes must flow again, the daemon must stop
// within 2 s, and its summary must count the reconnect.
func TestRunSerialReconnect(t *testing.T) {
	heavy(t)
	needPTY(t)
	rp, err := gnss.NewReplay(bytes.NewReader(daemon.BeidaiheDrive(runStart)),
		gnss.ReplayConfig{Pace: true, Loop: true, Speed: 10})
	if err != nil {
		t.Fatal(err)
	}
	rx, err := sim.New(sim.Config{Dir: t.TempDir(), Source: rp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rx.Close() })

	dir := t.TempDir()
	key := newKey(t, dir)
	cfg := writeConfig(t, dir, runConfig{DataDir: filepath.Join(dir, "data"), KeyFile: key,
		GNSS: fmt.Sprintf("source = \"serial\"\ndevice = %q\n", rx.Path())})
	p := startDaemon(t, "geogate run (serial)", cfg)
	p.waitReady()
	before := p.waitStatus("fixes from the serial device", func(s status) bool { return s.fixes >= 50 })

	if err := rx.Unplug(); err != nil {
		t.Fatal(err)
	}
	// The receiver sends at 10 Hz: a count that stands still for a second is no gap between
	// two fixes.
	prev, since := int64(-1), time.Now()
	gone := p.waitStatus("the fix count standing still while unplugged", func(s status) bool {
		if s.fixes != prev {
			prev, since = s.fixes, time.Now()
		}
		return time.Since(since) >= time.Second
	})
	if err := rx.Replug(); err != nil {
		t.Fatal(err)
	}
	back := p.waitStatus("fixes again after the replug", func(s status) bool { return s.fixes >= gone.fixes+50 })
	took, sum := p.terminate()

	t.Logf("before:    %q", before.line)
	t.Logf("unplugged: %q", gone.line)
	t.Logf("replugged: %q", back.line)
	t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
	if sum.reconnects < 1 {
		t.Errorf("summary counts %d gnss reconnects, want at least 1: %s", sum.reconnects, sum.line)
	}
	if sum.fixes < back.fixes {
		t.Errorf("summary counts %d fixes, fewer than the status did (%d)", sum.fixes, back.fixes)
	}
}
