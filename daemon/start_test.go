package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunStorageRetry starts the daemon on a data dir that cannot be created (a file stands
// where its parent directory should be, as a disk not yet mounted or full would refuse it):
// it must start, say STORING NOTHING and report unhealthy storage, then open the log by
// itself once the path is usable and store again.
func TestRunStorageRetry(t *testing.T) {
	needPTY(t)
	dir := t.TempDir()
	parent := filepath.Join(dir, "mnt")
	if err := os.WriteFile(parent, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(parent, "data")
	key := newKey(t, dir)
	// The policy state lives apart: in data, its absence would leave no policy (fail closed).
	update := fmt.Sprintf("state_dir = %q\n", filepath.Join(dir, "policy-state"))
	cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: key, GNSS: simGNSS(10), Update: update})
	p := startDaemon(t, "geogate run (storage retry)", cfg)
	p.waitReady()
	down := p.waitStatus("storing nothing, storage unhealthy", func(s status) bool {
		return s.storingNothing && strings.Contains(s.health, "storage") && s.fixes > 20
	})
	t.Logf("storage refused: %q", down.line)
	if !strings.Contains(p.stderr(), "STORAGE UNAVAILABLE") {
		t.Errorf("the log does not say STORAGE UNAVAILABLE")
	}

	if err := os.Remove(parent); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "storage open: storing again")
	up := p.waitStatus("storing again, health ok", func(s status) bool {
		return !s.storingNothing && s.durable > 10 && s.health == "ok"
	})
	t.Logf("storage back: %q", up.line)
	took, sum := p.terminate()
	t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
	if sum.dropReasons["no-store"][0] == 0 || sum.records == 0 {
		t.Errorf("summary: want fixes dropped as no-store before the log opened and records after: %s", sum.line)
	}
	if recs := readLog(t, data, key); int64(len(recs)) != sum.records {
		t.Errorf("read %d records back, the summary says %d were stored", len(recs), sum.records)
	}
}

// TestRunGNSSAbsent runs the daemon with a serial receiver that is not there (a car in a
// tunnel sees no fix; an unplugged receiver is absent): the status says "gnss absent", and
// health stays ok, so the watchdogs keep being kicked and the unit is not rebooted.
func TestRunGNSSAbsent(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, runConfig{DataDir: filepath.Join(dir, "data"), KeyFile: newKey(t, dir),
		GNSS: fmt.Sprintf("source = \"serial\"\ndevice = %q\n", filepath.Join(dir, "ttyNONE"))})
	p := startDaemon(t, "geogate run (gnss absent)", cfg)
	p.waitReady()
	s := p.waitStatus("gnss absent, the policy in force, health checked", func(s status) bool {
		return s.gnss == "absent" && s.policy > 0 && s.health != "" && !strings.Contains(s.health, "not checked")
	})
	t.Logf("status: %q", s.line)
	if s.health != "ok" {
		t.Errorf("health %q with the receiver absent, want ok (a tunnel must not reboot the unit)", s.health)
	}
	took, sum := p.terminate()
	t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
}

// TestRunDeviceID checks that the device id is logged at start, and that a configured id
// that is not valid stops the start with an error naming the key.
func TestRunDeviceID(t *testing.T) {
	needPTY(t)
	for _, tt := range []struct {
		name, id string
		ok       bool
	}{
		{"vin", "LSVAB4180E2123456", true},
		{"space", "LSVAB 4180", false},
		{"too long", strings.Repeat("x", 65), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, runConfig{DataDir: filepath.Join(dir, "data"), KeyFile: newKey(t, dir), GNSS: simGNSS(10)})
			b, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, fmt.Appendf(nil, "device_id = %q\n%s", tt.id, b), 0o600); err != nil {
				t.Fatal(err)
			}
			if !tt.ok {
				cmd := exec.Command(geogateBin(t), "run", "-config", cfg)
				cmd.Env = cleanEnv()
				out, err := cmd.CombinedOutput()
				if err == nil || !strings.Contains(string(out), "device_id") {
					t.Errorf("geogate run with device_id %q: %v, want an error naming device_id\n%s", tt.id, err, out)
				}
				t.Logf("refused: %s", strings.TrimSpace(tail(string(out), 1)))
				return
			}
			p := startDaemon(t, "geogate run (device id)", cfg)
			p.waitReady()
			waitLog(t, p, "id="+tt.id)
			p.terminate()
		})
	}
}
