package update

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/policy"
)

// testKey returns a deterministic key pair named by c.
func testKey(c byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(c), 32)))
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// bundleOpts describes a test bundle.
type bundleOpts struct {
	version       int
	issued        time.Time
	expires       time.Time
	nextKeys      []ed25519.PublicKey
	nextThreshold int
	zone          string // deny zone id; varies the content at one version
	extra         []byte // a large extra zone file (benchmarks), "" for none
}

const zoneTemplate = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":%q,"action":"deny","margin_m":100},"geometry":{"type":"Polygon","coordinates":[[[119.0,39.0],[119.1,39.0],[119.1,39.1],[119.0,39.1],[119.0,39.0]]]}}]}
`

// writeBundle writes a bundle directory into dir/name signed by keys (none: unsigned).
func writeBundle(t testing.TB, dir, name string, o bundleOpts, keys ...ed25519.PrivateKey) string {
	t.Helper()
	b := filepath.Join(dir, name)
	if err := os.MkdirAll(b, 0o755); err != nil {
		t.Fatal(err)
	}
	var toml strings.Builder
	fmt.Fprintf(&toml, "id = \"t\"\nversion = %d\ndefault_action = \"keep\"\nmax_age = \"2s\"\n", o.version)
	if !o.issued.IsZero() {
		fmt.Fprintf(&toml, "issued = %s\n", o.issued.UTC().Format(time.RFC3339))
	}
	if !o.expires.IsZero() {
		fmt.Fprintf(&toml, "expires = %s\n", o.expires.UTC().Format(time.RFC3339))
	}
	if len(o.nextKeys) > 0 {
		var ks []string
		for _, k := range o.nextKeys {
			ks = append(ks, fmt.Sprintf("%q", base64.StdEncoding.EncodeToString(k)))
		}
		fmt.Fprintf(&toml, "next_keys = [%s]\nnext_threshold = %d\n", strings.Join(ks, ", "), o.nextThreshold)
	}
	files := `["zones.geojson"]`
	if o.extra != nil {
		files = `["zones.geojson", "extra.geojson"]`
		must(t, os.WriteFile(filepath.Join(b, "extra.geojson"), o.extra, 0o644))
	}
	fmt.Fprintf(&toml, "zone_files = %s\n[tiers.public]\nprecision_m = 50\n", files)
	zone := o.zone
	if zone == "" {
		zone = "z"
	}
	must(t, os.WriteFile(filepath.Join(b, "policy.toml"), []byte(toml.String()), 0o644))
	must(t, os.WriteFile(filepath.Join(b, "zones.geojson"), fmt.Appendf(nil, zoneTemplate, zone), 0o644))
	var man, sigs []byte
	for _, k := range keys {
		m, sig, err := policy.Sign(os.DirFS(b), k)
		must(t, err)
		man, sigs = m, append(sigs, sig...)
	}
	if len(keys) > 0 {
		must(t, os.WriteFile(filepath.Join(b, policy.ManifestHashes), man, 0o644))
		must(t, os.WriteFile(filepath.Join(b, policy.ManifestSignature), sigs, 0o644))
	}
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixedClock is a settable clock for tests.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

// t0 is the tests' system-clock reading: no test depends on the date.
var t0 = time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

// newInstaller opens an installer on dir trusting keys (k of them), on clock c.
func newInstaller(t testing.TB, dir string, c *fixedClock, k int, keys ...ed25519.PrivateKey) (*Installer, *policy.Holder) {
	t.Helper()
	var pubs []ed25519.PublicKey
	for _, key := range keys {
		pubs = append(pubs, pub(key))
	}
	h := &policy.Holder{}
	in, err := Open(Config{Dir: dir, Keys: pubs, Threshold: k, Clock: c.now, Build: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, h)
	must(t, err)
	return in, h
}

func version(h *policy.Holder) uint64 {
	if p := h.Policy(); p != nil {
		return p.Version()
	}
	return 0
}
