package daemon

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/internal/testtool"
	"github.com/geogate/geogate/policy"
)

// testKey returns a fixed ed25519 key derived from c.
func testKey(c byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{c}, ed25519.SeedSize))
}

// writePub writes k's public half as "geogate policy signkey" does (base64, newline, 0644).
func writePub(t *testing.T, dir, name string, k ed25519.PrivateKey) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyBundle is a valid bundle with no zones and no GCJ-02 region, so it compiles at once.
func tinyBundle(version string) fstest.MapFS {
	return fstest.MapFS{
		"policy.toml": {Data: []byte("id = \"tiny\"\nversion = " + version + "\ndefault_action = \"keep\"\nmax_age = \"2s\"\n[tiers.public]\nprecision_m = 50\n")},
	}
}

// writeBundle writes b into a new directory, signed by key unless key is nil.
func writeBundle(t *testing.T, b fstest.MapFS, key ed25519.PrivateKey) string {
	t.Helper()
	if key != nil {
		man, sig, err := policy.Sign(b, key)
		if err != nil {
			t.Fatal(err)
		}
		b[policy.ManifestHashes] = &fstest.MapFile{Data: man}
		b[policy.ManifestSignature] = &fstest.MapFile{Data: sig}
	}
	dir := t.TempDir()
	for name, f := range b {
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadPolicyTrustedKeys drives loadPolicy as start-up and SIGHUP do:
// with trusted keys only a bundle signed by one of them is taken, and an unusable key file
// rejects every bundle (no policy at start, the old one on reload).
func TestLoadPolicyTrustedKeys(t *testing.T) {
	keys := t.TempDir()
	trusted, stranger := testKey('t'), testKey('s')
	good := writePub(t, keys, "trusted.pub", trusted)
	absent := filepath.Join(keys, "absent.pub")
	bad := filepath.Join(keys, "bad.pub")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string // "" = the built-in bundle (unsigned)
		keys    []string
		version uint64   // the policy in force afterwards; 0 = none
		log     []string // in the log
	}{
		{"no keys, unsigned", writeBundle(t, tinyBundle("1"), nil), nil, 1, []string{"signature=\"not checked (no policy.trusted_keys: development only)\""}},
		{"no keys, built-in sample", "", nil, 1, []string{"bundle=\"built-in sample\""}},
		{"signed by a trusted key", writeBundle(t, tinyBundle("1"), trusted), []string{good}, 1, []string{"signature=\"ed25519, 1 trusted keys\""}},
		{"unsigned", writeBundle(t, tinyBundle("1"), nil), []string{good}, 0, []string{"NO POLICY: bundle rejected"}},
		{"built-in sample with keys", "", []string{good}, 0, []string{"manifest.sha256"}},
		{"signed by another key", writeBundle(t, tinyBundle("1"), stranger), []string{good}, 0, []string{"NO POLICY: bundle rejected", "signature does not match any of 1 trusted keys"}},
		{"missing key file", writeBundle(t, tinyBundle("1"), trusted), []string{good, absent}, 0, []string{"NO POLICY: a trusted policy key is unusable", "stat " + absent + ": no such file"}},
		{"malformed key file", writeBundle(t, tinyBundle("1"), trusted), []string{bad}, 0, []string{"NO POLICY: a trusted policy key is unusable", bad + ": want the base64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			cfg := config.Default()
			cfg.DataDir = t.TempDir() // the policy state (anti-rollback floor) lives there
			cfg.Policy.Dir, cfg.Policy.TrustedKeys = tt.dir, tt.keys
			r := &run{cfg: cfg, log: slog.New(slog.NewTextHandler(&log, nil)), opts: Options{BuiltinPolicy: tinyBundle("1")}}
			r.loadPolicy(false)
			var got uint64
			if p := r.holder.Policy(); p != nil {
				got = p.Version()
			}
			if got != tt.version {
				t.Errorf("policy version %d, want %d; log:\n%s", got, tt.version, log.String())
			}
			for _, want := range tt.log {
				if !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, log.String())
				}
			}
		})
	}

	t.Run("reload", func(t *testing.T) {
		var log bytes.Buffer
		cfg := config.Default()
		cfg.DataDir = t.TempDir() // the policy state (anti-rollback floor) lives there
		v1 := writeBundle(t, tinyBundle("1"), trusted)
		cfg.Policy.Dir, cfg.Policy.TrustedKeys = v1, []string{good}
		r := &run{cfg: cfg, log: slog.New(slog.NewTextHandler(&log, nil))}
		r.loadPolicy(false)
		steps := []struct {
			name    string
			dir     string
			keys    []string
			version uint64
			log     string
		}{
			{"unsigned v2 is refused", writeBundle(t, tinyBundle("2"), nil), []string{good}, 1, "policy reload rejected; the running policy stays in force"},
			{"key file gone: signed v2 is refused", writeBundle(t, tinyBundle("2"), trusted), []string{absent}, 1, "policy reload rejected: a trusted policy key is unusable"},
			{"signed v2 is taken", writeBundle(t, tinyBundle("2"), trusted), []string{good}, 2, "policy reloaded"},
		}
		for _, s := range steps {
			log.Reset()
			cfg.Policy.Dir, cfg.Policy.TrustedKeys = s.dir, s.keys
			r.loadPolicy(true)
			if v := r.holder.Policy().Version(); v != s.version || !strings.Contains(log.String(), s.log) {
				t.Errorf("%s: version %d, want %d; log:\n%s", s.name, v, s.version, log.String())
			}
		}
	})
}

// TestLoadPolicyUnsigned: without policy.trusted_keys a run that is not -dev warns at start
// and at every reload, and its status says "policy unsigned"; with keys, or in -dev, it
// does not warn, and a verified policy is not called unsigned.
func TestLoadPolicyUnsigned(t *testing.T) {
	keys := t.TempDir()
	trusted := testKey('t')
	good := writePub(t, keys, "trusted.pub", trusted)
	const warn = "level=WARN msg=\"policy unsigned: no policy.trusted_keys"
	for _, tt := range []struct {
		name     string
		keys     []string
		dev      bool
		warns    int    // WARN lines after start and one reload
		status   string // policyStatus
		unsigned bool
	}{
		{"no keys", nil, false, 2, "policy v1 | policy unsigned", true},
		{"no keys, -dev", nil, true, 0, "policy v1 | policy unsigned", true},
		{"trusted keys", []string{good}, false, 0, "policy v1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			cfg := config.Default()
			cfg.DataDir = t.TempDir() // the policy state (anti-rollback floor) lives there
			cfg.Policy.Dir, cfg.Policy.TrustedKeys = writeBundle(t, tinyBundle("1"), trusted), tt.keys
			r := &run{cfg: cfg, log: slog.New(slog.NewTextHandler(&log, nil)), opts: Options{Dev: tt.dev}}
			r.loadPolicy(false)
			r.loadPolicy(true)
			if n := strings.Count(log.String(), warn); n != tt.warns {
				t.Errorf("%d warnings, want %d; log:\n%s", n, tt.warns, log.String())
			}
			if got := r.policyStatus(r.holder.Policy().Version()); got != tt.status {
				t.Errorf("status %q, want %q", got, tt.status)
			}
		})
	}
}

// TestLoadPolicyAnchors: a bundle directory others may write, or another user owns, is
// refused like an unusable key (no policy at start, the old one on reload), and a reload
// of the running version with other content is refused.
func TestLoadPolicyAnchors(t *testing.T) {
	t.Run("same version, other content", func(t *testing.T) {
		var log bytes.Buffer
		cfg := config.Default()
		cfg.DataDir = t.TempDir() // the policy state (anti-rollback floor) lives there
		cfg.Policy.Dir = writeBundle(t, tinyBundle("1"), nil)
		r := &run{cfg: cfg, log: slog.New(slog.NewTextHandler(&log, nil))}
		r.loadPolicy(false)
		v1 := r.holder.Policy()
		other := tinyBundle("1")
		other["policy.toml"].Data = append(other["policy.toml"].Data, "# edited, version not raised\n"...)
		cfg.Policy.Dir = writeBundle(t, other, nil)
		r.loadPolicy(true)
		if r.holder.Policy() != v1 || !strings.Contains(log.String(), "policy reload rejected; the running policy stays in force") ||
			!strings.Contains(log.String(), "version already names other content: version 1 is running with other content") {
			t.Errorf("log:\n%s", log.String())
		}
	})
	testtool.Root(t, "to chown the bundle directory to nobody")
	for _, tt := range []struct {
		name string
		prep func(dir string) error
		want string
	}{
		{"writable by others", func(dir string) error { return os.Chmod(dir, 0o757) }, "writable by others (mode 0757)"},
		{"owned by nobody", func(dir string) error { return os.Chown(dir, 65534, 65534) }, "owned by uid 65534, neither root nor this service's user"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			cfg := config.Default()
			cfg.DataDir = t.TempDir() // the policy state (anti-rollback floor) lives there
			cfg.Policy.Dir = writeBundle(t, tinyBundle("1"), nil)
			r := &run{cfg: cfg, log: slog.New(slog.NewTextHandler(&log, nil))}
			r.loadPolicy(false)
			v1 := r.holder.Policy()
			dir := writeBundle(t, tinyBundle("2"), nil)
			if err := tt.prep(dir); err != nil {
				t.Fatal(err)
			}
			cfg.Policy.Dir = dir
			r.loadPolicy(true)
			if r.holder.Policy() != v1 || !strings.Contains(log.String(), "policy reload rejected; the running policy stays in force") || !strings.Contains(log.String(), tt.want) {
				t.Errorf("reload: log:\n%s", log.String())
			}
			r = &run{cfg: cfg, log: slog.New(slog.NewTextHandler(&log, nil))}
			r.loadPolicy(false)
			if r.holder.Policy() != nil || !strings.Contains(log.String(), "NO POLICY: bundle rejected") {
				t.Errorf("start: log:\n%s", log.String())
			}
		})
	}
}
