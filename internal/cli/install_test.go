package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/examples"
)

// TestPolicyInstallStopped installs by hand with no daemon running: into update.state_dir,
// and a lower version afterwards is refused with both versions.
func TestPolicyInstallStopped(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if code := Main([]string{"policy", "signkey", "-o", filepath.Join(dir, "k")}, &out, &out); code != 0 {
		t.Fatalf("signkey: %s", out.String())
	}
	bundle := func(v int) string {
		b := filepath.Join(dir, fmt.Sprintf("v%d", v))
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(os.CopyFS(b, examples.SamplePolicy()))
		toml, err := os.ReadFile(filepath.Join(b, "policy.toml"))
		must(err)
		must(os.WriteFile(filepath.Join(b, "policy.toml"), []byte(strings.Replace(string(toml), "version = 1", fmt.Sprintf("version = %d", v), 1)), 0o644))
		if code := Main([]string{"policy", "sign", "-key", filepath.Join(dir, "k.key"), b}, &out, &out); code != 0 {
			t.Fatalf("sign: %s", out.String())
		}
		return b
	}
	cfg := filepath.Join(dir, "geogate.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "data_dir = %q\n[policy]\ntrusted_keys = [%q]\n[control]\nsocket = \"off\"\n", filepath.Join(dir, "data"), filepath.Join(dir, "k.pub")), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"policy", "install", "-config", cfg, bundle(3)}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "v3 (anti-rollback floor 3)") {
		t.Fatalf("install v3: exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "policy-state", "state.json")); err != nil {
		t.Errorf("no state written: %v", err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"policy", "install", "-config", cfg, bundle(2)}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "version 2 < floor 3") {
		t.Errorf("install v2 after v3: exit %d: %s%s", code, stdout.String(), stderr.String())
	}
}
