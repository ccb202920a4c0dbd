package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunFailClosed proves the daemon fails closed at the process level: without its device
// key, and with a malformed policy bundle, it still starts, sends READY=1, keeps reading
// fixes and frames, says so in its STATUS= line and log, stores nothing, and stops within 2 s.
func TestRunFailClosed(t *testing.T) {
	needPTY(t)
	geogateBin(t) // build once, before the parallel subtests

	t.Run("no key", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		data := filepath.Join(dir, "data")
		cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: filepath.Join(dir, "absent.key"), GNSS: simGNSS(10), Camera: smallCamera})
		p := startDaemon(t, "geogate run (no key)", cfg)
		t.Logf("READY=1 after %v", p.waitReady())
		s := p.waitStatus("STORING NOTHING with the policy in force and fixes flowing", func(s status) bool {
			return s.storingNothing && s.policy > 0 && s.fixes >= 100
		})
		t.Logf("status: %q", s.line)
		if !strings.Contains(s.line, "STORING NOTHING (no device key)") {
			t.Errorf("status does not say why nothing is stored: %q", s.line)
		}
		took, sum := p.terminate()
		t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
		if sum.records != 0 {
			t.Errorf("summary: %d records stored without a key", sum.records)
		}
		if !strings.Contains(p.stderr(), "NO DEVICE KEY") {
			t.Errorf("the log does not say NO DEVICE KEY")
		}
		if segs := segmentFiles(t, data); len(segs) != 0 {
			t.Errorf("segments written without a key: %v", segs)
		}
	})

	t.Run("bad policy", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		pol := filepath.Join(dir, "policy")
		if err := os.Mkdir(pol, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pol, "policy.toml"), []byte("id = \"broken\"\nversion = [1,\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		data := filepath.Join(dir, "data")
		key := newKey(t, dir)
		cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: key, GNSS: simGNSS(10), Camera: smallCamera, PolicyDir: pol})
		p := startDaemon(t, "geogate run (bad policy)", cfg)
		t.Logf("READY=1 after %v", p.waitReady())
		s := p.waitStatus("NO POLICY with fixes and frames flowing", func(s status) bool {
			return s.noPolicy && s.fixes >= 100 && s.framesDropped >= 10
		})
		t.Logf("status: %q", s.line)
		// Placeholders for the dropped fixes become durable (the stream has no gap); records
		// and their bytes must not.
		if s.stored() != 0 || !strings.Contains(s.line, "| stored 0 B durable") {
			t.Errorf("status counts stored records without a policy: %q", s.line)
		}
		took, sum := p.terminate()
		t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
		if sum.records != 0 || sum.policyVers != 0 {
			t.Errorf("summary: %d records stored, policy v%d; want none and none", sum.records, sum.policyVers)
		}
		if !strings.Contains(p.stderr(), "NO POLICY") {
			t.Errorf("the log does not say NO POLICY")
		}
		v := storeVerify(t, data, key)
		if recs := readLog(t, data, key); len(recs) != 0 {
			t.Errorf("%d records stored without a policy", len(recs))
		}
		t.Logf("store verify: %s", v)
	})
}
