package cli

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/policy"
)

func TestPolicyCheckSample(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"check", "../../examples/policy"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{`policy "geogate-sample" version 1: OK`, "zones:    3 (deny 1, coarsen 2, allow 0)", "tier:     public: grid 50 m", "GCJ-02"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPolicyCheckBad(t *testing.T) {
	dir := t.TempDir()
	toml, err := os.ReadFile("../../examples/policy/policy.toml")
	if err != nil {
		t.Fatal(err)
	}
	toml = bytes.Replace(toml, []byte(`[gcj02_region]
files = ["china_100000_full.json"]`), []byte(`[gcj02_region]
files = []`), 1)
	zones := `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"ok","action":"deny"},"geometry":{"type":"Polygon","coordinates":[[[119,39],[119.1,39],[119.1,39.1],[119,39]]]}},
{"type":"Feature","properties":{"id":"bow","action":"deny"},"geometry":{"type":"Polygon","coordinates":[[[118,39],[118.1,39.1],[118.1,39],[118,39.1],[118,39]]]}}]}`
	for name, data := range map[string]string{"policy.toml": string(toml), "zones.geojson": zones} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	err = policyMain([]string{"check", dir}, &out, &errOut)
	if !errors.Is(err, policy.ErrSelfIntersection) || !strings.Contains(err.Error(), `zones.geojson: feature 1 (id "bow")`) {
		t.Errorf("got %v", err)
	}
	if err := policyMain([]string{"check"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("no DIR: %v", err)
	}
}

func TestPolicyEval(t *testing.T) {
	start := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	samples := []sim.Sample{
		{Time: start, Point: sim.Point{Lat: 39.911954, Lon: 116.377817}},                  // Beijing
		{Time: start.Add(time.Second), Point: sim.Point{Lat: 39.85, Lon: 119.45}},         // Beidaihe
		{Time: start.Add(2 * time.Second), NoFix: true},                                   // no fix
		{Time: start.Add(3 * time.Second), Point: sim.Point{Lat: 37.5665, Lon: 126.978}},  // Seoul
		{Time: start.Add(4 * time.Second), Point: sim.Point{Lat: 39.9201, Lon: 119.6302}}, // port coarsen zone
	}
	policyStdin = bytes.NewReader(sim.Generator{}.Bytes(samples))
	t.Cleanup(func() { policyStdin = os.Stdin })
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"eval", "-policy", "../../examples/policy", "-"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	type line struct {
		Time, Action, Zone, Reason, Datum string
		Lat, Lon                          *float64
	}
	var got []line
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("bad JSON %q: %v", l, err)
		}
		got = append(got, v)
	}
	want := []struct{ action, reason, zone, datum string }{
		{"coarsen", "ok", "", "GCJ-02"},
		{"drop", "zone-deny", "beidaihe", ""},
		{"drop", "no-fix", "", ""},
		{"coarsen", "ok", "", "WGS-84"},
		{"coarsen", "zone-coarsen", "qinhuangdao-port-gcj", "GCJ-02"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), out.String())
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.action || g.Reason != w.reason || g.Zone != w.zone || g.Datum != w.datum {
			t.Errorf("line %d: %+v, want %+v", i, g, w)
		}
		if (g.Lat != nil) != (w.action != "drop") {
			t.Errorf("line %d: position shown = %v for action %s", i, g.Lat != nil, g.Action)
		}
		if g.Lat != nil && samples[i].Lat == *g.Lat {
			t.Errorf("line %d: raw latitude printed", i)
		}
	}
	if got[0].Lat != nil && math.Abs(*got[0].Lat-39.9133) > 0.001 {
		t.Errorf("Beijing GCJ-02 output %v, want about 39.9133", *got[0].Lat)
	}
	if !strings.HasPrefix(got[0].Time, "2026-11-25T08:00:00") {
		t.Errorf("time %q", got[0].Time)
	}
}

func TestPolicyEvalErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"eval", "x.nmea"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("no -policy: %v", err)
	}
	if err := policyMain([]string{"eval", "-policy", "../../examples/policy", "-tier", "secret", "-"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("unknown tier: %v", err)
	}
	if err := policyMain([]string{"eval", "-policy", "nonexistent-dir", "-"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "policy.toml") {
		t.Errorf("missing bundle: %v", err)
	}
	if err := policyMain([]string{"frob"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("unknown subcommand: %v", err)
	}
}

// TestPolicyEvalRealCapture runs a real BeiDou receiver capture (gpsd test data) through eval:
// every line must be JSON, and only kept or coarsened fixes may carry a position.
func TestPolicyEvalRealCapture(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"eval", "-policy", "../../examples/policy", "../../gnss/testdata/gpsd/beidou-bd.log"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("bad JSON %q: %v", l, err)
		}
		_, hasPos := v["lat"]
		if hasPos != (v["action"] != "drop") {
			t.Errorf("position shown = %v in %s", hasPos, l)
		}
		counts[v["action"].(string)+"/"+v["reason"].(string)+"/"+fmt.Sprint(v["datum"])]++
	}
	t.Logf("beidou-bd.log: %v", counts)
	if len(counts) == 0 {
		t.Error("no fixes")
	}
}

// smallBundle writes the sample bundle without its 600 KB GCJ-02 outline (quick to compile)
// into a new directory, with policy.toml's zone_files set to zoneFiles.
func smallBundle(t *testing.T, zoneFiles string) string {
	t.Helper()
	dir := t.TempDir()
	toml, err := os.ReadFile("../../examples/policy/policy.toml")
	if err != nil {
		t.Fatal(err)
	}
	toml = bytes.Replace(toml, []byte(`files = ["china_100000_full.json"]`), []byte(`files = []`), 1)
	toml = bytes.Replace(toml, []byte(`zone_files = ["zones.geojson"]`), []byte(`zone_files = `+zoneFiles), 1)
	zones, err := os.ReadFile("../../examples/policy/zones.geojson")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "policy.toml"), toml)
	writeFile(t, filepath.Join(dir, "zones.geojson"), zones)
	return dir
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newSignKey runs "policy signkey -o dir/name" and returns the prefix.
func newSignKey(t *testing.T, dir, name string) string {
	t.Helper()
	prefix := filepath.Join(dir, name)
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"signkey", "-o", prefix}, &out, &errOut); err != nil {
		t.Fatalf("signkey: %v\n%s", err, errOut.String())
	}
	return prefix
}

func TestPolicySignKey(t *testing.T) {
	dir := t.TempDir()
	prefix := newSignKey(t, dir, "policy-signing")
	decoded := map[string][]byte{}
	for _, tt := range []struct {
		name, suffix string
		mode         fs.FileMode
		size         int
	}{
		{"private key", ".key", 0o600, ed25519.SeedSize},
		{"public key", ".pub", 0o644, ed25519.PublicKeySize},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, err := os.Stat(prefix + tt.suffix)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode() != tt.mode {
				t.Errorf("mode %v, want %v", info.Mode(), tt.mode)
			}
			b, err := os.ReadFile(prefix + tt.suffix)
			if err != nil {
				t.Fatal(err)
			}
			text, ok := bytes.CutSuffix(b, []byte("\n"))
			if !ok || bytes.ContainsAny(text, "\r\n ") {
				t.Errorf("content %q, want base64 and one newline", b)
			}
			k, err := base64.StdEncoding.DecodeString(string(text))
			if err != nil || len(k) != tt.size {
				t.Errorf("content %q: %d bytes (%v), want the base64 of %d", b, len(k), err, tt.size)
			}
			decoded[tt.suffix] = k
		})
	}
	if k := decoded[".key"]; len(k) == ed25519.SeedSize {
		if pub := ed25519.NewKeyFromSeed(k).Public().(ed25519.PublicKey); !pub.Equal(ed25519.PublicKey(decoded[".pub"])) {
			t.Error(".pub is not the public half of .key")
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("directory holds %d files, want the two keys (a temporary file left?)", len(entries))
	}

	// Never replace a key: not the pair, and not a lone half.
	lone := filepath.Join(dir, "lone")
	writeFile(t, lone+".pub", []byte("keep me\n"))
	for _, p := range []string{prefix, lone} {
		var out, errOut bytes.Buffer
		if err := policyMain([]string{"signkey", "-o", p}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("signkey over %s: %v, want a refusal", p, err)
		}
	}
	if b, _ := os.ReadFile(prefix + ".key"); !bytes.Equal(bytes.TrimSpace(b), []byte(base64.StdEncoding.EncodeToString(decoded[".key"]))) {
		t.Error("existing private key was changed")
	}
	if _, err := os.Stat(lone + ".key"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a private key was written next to an existing .pub: %v", err)
	}
	for _, args := range [][]string{{"signkey"}, {"signkey", "-o", prefix + "2", "extra"}} {
		var out, errOut bytes.Buffer
		if err := policyMain(args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want errUsage", args, err)
		}
	}
}

func TestPolicySignCheckRoundTrip(t *testing.T) {
	keys := t.TempDir()
	k := newSignKey(t, keys, "k")
	for _, tt := range []struct {
		name, dir string
		files     int
	}{
		{"small bundle", smallBundle(t, `["zones.geojson"]`), 2},
		{"sample bundle", copyDir(t, "../../examples/policy"), 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // signing again replaces the manifest
				var out, errOut bytes.Buffer
				if err := policyMain([]string{"sign", "-key", k + ".key", tt.dir}, &out, &errOut); err != nil {
					t.Fatalf("sign: %v\n%s", err, errOut.String())
				}
				if want := fmt.Sprintf("signed %d files in %s with key ", tt.files, tt.dir); !strings.Contains(out.String(), want) ||
					!strings.Contains(out.String(), "version 1: OK, signature verified") {
					t.Errorf("sign output %q, want %q and the verified summary line", out.String(), want)
				}
				if errOut.Len() > 0 {
					t.Errorf("sign warned: %s", errOut.String())
				}
			}
			for _, name := range []string{policy.ManifestHashes, policy.ManifestSignature} {
				if info, err := os.Stat(filepath.Join(tt.dir, name)); err != nil || info.Mode() != 0o644 {
					t.Errorf("%s: %v, want mode 0644", name, err)
				}
			}
			man, _ := os.ReadFile(filepath.Join(tt.dir, policy.ManifestHashes))
			if n := bytes.Count(man, []byte("\n")); n != tt.files || !bytes.Contains(man, []byte("  policy.toml\n")) {
				t.Errorf("manifest lists %d files, want %d:\n%s", n, tt.files, man)
			}
			var out, errOut bytes.Buffer
			if err := policyMain([]string{"check", "-trusted", k + ".pub", tt.dir}, &out, &errOut); err != nil {
				t.Fatalf("check -trusted: %v\n%s", err, errOut.String())
			}
			if want := "signed:   yes, verified with " + k + ".pub\n"; !strings.Contains(out.String(), want) {
				t.Errorf("check output lacks %q:\n%s", want, out.String())
			}
			out.Reset()
			if err := policyMain([]string{"check", tt.dir}, &out, &errOut); err != nil || !strings.Contains(out.String(), "signed:   not checked (no -trusted key)") {
				t.Errorf("check without -trusted: %v\n%s", err, out.String())
			}
		})
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, e.Name()), b)
	}
	return dst
}

func TestPolicyCheckTrusted(t *testing.T) {
	keys := t.TempDir()
	good, wrong := newSignKey(t, keys, "good"), newSignKey(t, keys, "wrong")
	sign := func(t *testing.T, dir string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := policyMain([]string{"sign", "-key", good + ".key", dir}, &out, &errOut); err != nil {
			t.Fatalf("sign: %v\n%s", err, errOut.String())
		}
	}
	tests := []struct {
		name    string
		bundle  func(t *testing.T) string
		trusted []string // -trusted arguments
		want    string   // in the error; "" = the check passes
		signer  string   // key file check names as the signer, when it passes
	}{
		{"good key", func(t *testing.T) string {
			d := smallBundle(t, `["zones.geojson"]`)
			sign(t, d)
			return d
		}, []string{good + ".pub"}, "", good + ".pub"},
		{"comma list", func(t *testing.T) string {
			d := smallBundle(t, `["zones.geojson"]`)
			sign(t, d)
			return d
		}, []string{wrong + ".pub," + good + ".pub"}, "", good + ".pub"},
		{"repeated flag", func(t *testing.T) string {
			d := smallBundle(t, `["zones.geojson"]`)
			sign(t, d)
			return d
		}, []string{wrong + ".pub", good + ".pub"}, "", good + ".pub"},
		{"unsigned", func(t *testing.T) string {
			return smallBundle(t, `["zones.geojson"]`)
		}, []string{good + ".pub"}, "bundle is not signed (no manifest.sha256", ""},
		{"signature missing", func(t *testing.T) string {
			d := smallBundle(t, `["zones.geojson"]`)
			sign(t, d)
			if err := os.Remove(filepath.Join(d, policy.ManifestSignature)); err != nil {
				t.Fatal(err)
			}
			return d
		}, []string{good + ".pub"}, "bundle is not signed (no manifest.sig", ""},
		{"wrong key", func(t *testing.T) string {
			d := smallBundle(t, `["zones.geojson"]`)
			sign(t, d)
			return d
		}, []string{wrong + ".pub"}, "trusted keys " + wrong + ".pub): policy: bundle not verified: manifest.sig: signature does not match any of 1 trusted keys", ""},
		{"tampered zones file", func(t *testing.T) string {
			d := smallBundle(t, `["zones.geojson"]`)
			sign(t, d)
			zones, _ := os.ReadFile(filepath.Join(d, "zones.geojson"))
			writeFile(t, filepath.Join(d, "zones.geojson"), bytes.Replace(zones, []byte(`"deny"`), []byte(`"allow"`), 1))
			return d
		}, []string{good + ".pub"}, "zones.geojson: SHA-256 differs from the signed manifest", ""},
		{"unsigned extra file", func(t *testing.T) string {
			// policy.toml (signed) names extra.geojson, which is added after signing.
			d := smallBundle(t, `["zones.geojson", "extra.geojson"]`)
			key, _, err := policy.ReadSigningKey(good + ".key")
			if err != nil {
				t.Fatal(err)
			}
			man, sig, err := policy.Sign(os.DirFS(d), key)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(d, policy.ManifestHashes), man)
			writeFile(t, filepath.Join(d, policy.ManifestSignature), sig)
			writeFile(t, filepath.Join(d, "extra.geojson"), []byte(`{"type":"FeatureCollection","features":[]}`))
			return d
		}, []string{good + ".pub"}, "extra.geojson is not signed: the policy reads it but manifest.sha256 does not list it", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.bundle(t)
			var args []string
			for _, k := range tt.trusted {
				args = append(args, "-trusted", k)
			}
			var out, errOut bytes.Buffer
			err := policyMain(append(append([]string{"check"}, args...), dir), &out, &errOut)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("check: %v", err)
				}
				if want := "signed:   yes, verified with " + tt.signer + "\n"; !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
				return
			}
			if !errors.Is(err, policy.ErrUnverified) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant ErrUnverified mentioning %q", err, tt.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			if out.Len() > 0 {
				t.Errorf("a rejected bundle printed a summary:\n%s", out.String())
			}
		})
	}
}

func TestPolicyTrustedKeyErrors(t *testing.T) {
	dir := smallBundle(t, `["zones.geojson"]`)
	keys := t.TempDir()
	bad := filepath.Join(keys, "bad.pub")
	writeFile(t, bad, []byte("not a key\n"))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"missing key file", []string{"-trusted", filepath.Join(keys, "absent.pub")}, "absent.pub: no such file"},
		{"malformed key file", []string{"-trusted", bad}, bad + ": want the base64 of a 32-byte ed25519 public key"},
		{"empty list entry", []string{"-trusted", bad + ","}, "empty file name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := policyMain(append(append([]string{"check"}, tt.args...), dir), &out, &errOut)
			if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
				t.Errorf("got %v (%s), want %q", err, errOut.String(), tt.want)
			}
		})
	}
}

func TestPolicySignErrors(t *testing.T) {
	keys := t.TempDir()
	k := newSignKey(t, keys, "k")
	garbage := filepath.Join(keys, "garbage.key")
	writeFile(t, garbage, []byte("c2hvcnQ=\n")) // base64 of 5 bytes
	loose := filepath.Join(keys, "loose.key")
	kb, _ := os.ReadFile(k + ".key")
	writeFile(t, loose, kb) // mode 0644

	broken := smallBundle(t, `["zones.geojson", "absent.geojson"]`)
	linked := smallBundle(t, `["zones.geojson"]`)
	if err := os.Rename(filepath.Join(linked, "zones.geojson"), filepath.Join(keys, "zones.geojson")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(keys, "zones.geojson"), filepath.Join(linked, "zones.geojson")); err != nil {
		t.Fatal(err)
	}
	stray := smallBundle(t, `["zones.geojson"]`) // loads, but holds a symlink the policy does not read
	if err := os.Symlink("/etc/hostname", filepath.Join(stray, "NOTES")); err != nil {
		t.Fatal(err)
	}
	good := smallBundle(t, `["zones.geojson"]`)

	for _, tt := range []struct {
		name   string
		args   []string
		want   string // in the error
		stderr string // in the warnings, when the sign succeeds
	}{
		{"no key", []string{good}, "usage", ""},
		{"no dir", []string{"-key", k + ".key"}, "usage", ""},
		{"public key as key", []string{"-key", k + ".pub", good}, "is a public key; signing takes the private PREFIX.key", ""},
		{"missing key", []string{"-key", filepath.Join(keys, "absent.key"), good}, "absent.key: no such file", ""},
		{"malformed key", []string{"-key", garbage, good}, "garbage.key: want the base64 of a 32-byte ed25519 seed", ""},
		{"bundle does not load", []string{"-key", k + ".key", broken}, "not signing a bundle that does not load: policy: absent.geojson", ""},
		{"symlink in bundle", []string{"-key", k + ".key", linked}, "not signing a bundle that does not load: policy: zones.geojson: refused bundle file: zones.geojson is a symbolic link (to " + filepath.Join(keys, "zones.geojson") + ")", ""},
		{"stray symlink in bundle", []string{"-key", k + ".key", stray}, "policy: NOTES: refused bundle file: NOTES is a symbolic link (to /etc/hostname); a signed bundle holds regular files only", ""},
		{"key readable by others", []string{"-key", loose, good}, "", "warning: private key " + loose + " is accessible to others (mode 0644)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := policyMain(append([]string{"sign"}, tt.args...), &out, &errOut)
			if tt.want == "" {
				if err != nil || !strings.Contains(errOut.String(), tt.stderr) {
					t.Errorf("got %v, stderr %q, want success and %q", err, errOut.String(), tt.stderr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			for _, d := range []string{broken, linked, stray} {
				if _, err := os.Stat(filepath.Join(d, policy.ManifestHashes)); err == nil {
					t.Errorf("%s: a manifest was written for a bundle that was not signed", d)
				}
			}
		})
	}
}
