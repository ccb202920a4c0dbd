package update

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/policy"
)

func TestInstall(t *testing.T) {
	a, b := testKey('a'), testKey('b')
	src := t.TempDir()
	in, h := newInstaller(t, t.TempDir(), &fixedClock{t0}, 1, a)
	if _, err := in.Install(writeBundle(t, src, "v5", bundleOpts{version: 5}, a)); err != nil {
		t.Fatal(err)
	}
	if version(h) != 5 || in.State().Floor != 5 {
		t.Fatalf("running v%d, floor %d", version(h), in.State().Floor)
	}
	link := writeBundle(t, src, "link", bundleOpts{version: 6}, a)
	must(t, os.Symlink("/etc/passwd", filepath.Join(link, "extra")))
	tests := []struct {
		name string
		dir  string
		want error
		msg  string
	}{
		{"downgrade", writeBundle(t, src, "v4", bundleOpts{version: 4}, a), ErrDowngrade, "version 4 < floor 5"},
		{"same version, other content", writeBundle(t, src, "v5b", bundleOpts{version: 5, zone: "other"}, a), policy.ErrVersionReused, "version 5"},
		{"unsigned", writeBundle(t, src, "v6u", bundleOpts{version: 6}), policy.ErrUnverified, "manifest.sha256"},
		{"untrusted key", writeBundle(t, src, "v6b", bundleOpts{version: 6}, b), policy.ErrUnverified, "does not match"},
		{"expired", writeBundle(t, src, "v6e", bundleOpts{version: 6, expires: t0}, a), ErrExpired, "expired at 2031-03-01T12:00:00Z"},
		{"symbolic link", link, policy.ErrBadFile, "extra"},
		{"not a directory", filepath.Join(src, "v5", "policy.toml"), nil, "not a directory"},
		{"missing", filepath.Join(src, "nope"), os.ErrNotExist, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := in.Install(tt.dir)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
			if version(h) != 5 || in.State().Floor != 5 {
				t.Errorf("a refused bundle changed things: running v%d, floor %d", version(h), in.State().Floor)
			}
		})
	}
	// The same bundle delivered twice is no error (an OTA client retrying after a power cut).
	if _, err := in.Install(filepath.Join(src, "v5")); err != nil {
		t.Errorf("reinstall: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(in.cfg.Dir, bundlesDir))
	if len(ents) != 1 || ents[0].Name() != in.State().Current {
		t.Errorf("bundles/ holds %v, want only %s", ents, in.State().Current)
	}
	noKeys, _ := newInstaller(t, t.TempDir(), &fixedClock{t0}, 1)
	if _, err := noKeys.Install(filepath.Join(src, "v5")); !errors.Is(err, ErrNoKeys) {
		t.Errorf("no trusted keys: %v", err)
	}
}

// TestFloorAcrossRestarts: the floor is durable and checked at every load, start included.
func TestFloorAcrossRestarts(t *testing.T) {
	a := testKey('a')
	src, state := t.TempDir(), t.TempDir()
	c := &fixedClock{t0}
	in, _ := newInstaller(t, state, c, 1, a)
	if _, err := in.Install(writeBundle(t, src, "v5", bundleOpts{version: 5}, a)); err != nil {
		t.Fatal(err)
	}
	factory := func(v int) fs.FS {
		return os.DirFS(writeBundle(t, src, "f"+string(rune('0'+v)), bundleOpts{version: v}, a))
	}
	verify := &policy.LoadOptions{Verify: policy.SignedBy(pub(a))}

	// Restart with an older factory bundle (an old image, or an attacker's copy): the
	// installed v5 loads, the factory v3 is refused.
	in, h := newInstaller(t, state, c, 1, a)
	p, where, err := in.Load(factory(3), verify)
	if err != nil || p.Version() != 5 || !strings.HasPrefix(where, "installed/v5-") {
		t.Fatalf("restart: v%d from %q, %v", version(h), where, err)
	}
	// The installed bundle gone too: nothing at or above the floor, so nothing loads.
	must(t, os.RemoveAll(filepath.Join(state, bundlesDir, in.State().Current)))
	in, h = newInstaller(t, state, c, 1, a)
	if _, _, err := in.Load(factory(3), verify); !errors.Is(err, ErrDowngrade) || !strings.Contains(err.Error(), "version 3 < floor 5") || h.Policy() != nil {
		t.Fatalf("only a downgrade left: %v (running v%d)", err, version(h))
	}
	// A newer factory bundle (a new image) loads and raises the floor.
	if _, where, err := in.Load(factory(7), verify); err != nil || where != "factory" || in.State().Floor != 7 {
		t.Fatalf("newer factory bundle: %q %v, floor %d", where, err, in.State().Floor)
	}
	in, _ = newInstaller(t, state, c, 1, a)
	if in.State().Floor != 7 {
		t.Errorf("floor after restart %d, want 7", in.State().Floor)
	}
	// A corrupt state file: the floor is unknown, so nothing opens (fail closed).
	must(t, os.WriteFile(filepath.Join(state, stateFile), []byte("{"), 0o600))
	if _, err := Open(Config{Dir: state}, &policy.Holder{}); !errors.Is(err, ErrState) {
		t.Errorf("corrupt state: %v", err)
	}
}

// TestInstalledBundleTampered: files of the installed bundle changed on disk are refused.
func TestInstalledBundleTampered(t *testing.T) {
	a := testKey('a')
	state := t.TempDir()
	in, _ := newInstaller(t, state, &fixedClock{t0}, 1, a)
	if _, err := in.Install(writeBundle(t, t.TempDir(), "v2", bundleOpts{version: 2}, a)); err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(state, bundlesDir, in.State().Current, "zones.geojson"), fmt.Appendf(nil, strings.Replace(zoneTemplate, "deny", "allow", 1), "z"), 0o600))
	in, h := newInstaller(t, state, &fixedClock{t0}, 1, a)
	if _, _, err := in.Load(nil, nil); !errors.Is(err, policy.ErrUnverified) || h.Policy() != nil {
		t.Errorf("tampered installed bundle: %v", err)
	}
}

// TestFreeze: past its signed expiry a policy drops everything, and neither a clock set
// back nor a restart revives it; a fresh bundle does.
func TestFreeze(t *testing.T) {
	a := testKey('a')
	src, state := t.TempDir(), t.TempDir()
	c := &fixedClock{t0}
	issued, expires := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	in, h := newInstaller(t, state, c, 1, a)
	if _, err := in.Install(writeBundle(t, src, "v2", bundleOpts{version: 2, issued: issued, expires: expires}, a)); err != nil {
		t.Fatal(err)
	}
	e := h.NewEngine("public")
	decide := func() policy.Reason {
		now := c.now()
		return e.Decide(&gnss.Fix{Has: gnss.HasPos, Valid: true, Lat: 30, Lon: 100, Received: now}, now).Reason
	}
	if r := decide(); r != policy.ReasonOK || in.CheckExpiry() {
		t.Fatalf("fresh policy: %v", r)
	}
	c.t = expires
	if !in.CheckExpiry() || decide() != policy.ReasonExpired {
		t.Fatal("not expired at the expiry time")
	}
	// The system clock set back far (RTC battery flat, or an attacker): the signed issued
	// time and the build time bound it, and the policy stays expired.
	c.t = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if now := in.Now(); !now.Equal(issued) {
		t.Errorf("Now with the clock set back = %v, want the signed issued time %v", now, issued)
	}
	if decide() != policy.ReasonExpired {
		t.Error("clock set back revived an expired policy")
	}
	// Restart with the clock at expiry: loads expired, says so.
	c.t = expires.Add(time.Minute)
	in, _ = newInstaller(t, state, c, 1, a)
	p, _, err := in.Load(nil, nil)
	if err != nil || !p.Summary().Expired {
		t.Fatalf("restart past expiry: %v, expired %v", err, p != nil && p.Summary().Expired)
	}
	// Restart with the clock set back before the issued time: Now is the persisted signed
	// time, which is before the expiry, so the policy loads in force (the clock cannot push
	// it past its expiry either); it expires as soon as a trustworthy reading passes expiry.
	c.t = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	in, _ = newInstaller(t, state, c, 1, a)
	if !in.Now().Equal(issued) {
		t.Errorf("Now after restart = %v, want %v (persisted)", in.Now(), issued)
	}
	// A bundle issued later but already expired by Now is refused; a fresh one installs.
	c.t = expires.Add(time.Minute)
	in, h = newInstaller(t, state, c, 1, a)
	if _, err := in.Install(writeBundle(t, src, "v3", bundleOpts{version: 3, expires: expires}, a)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired bundle: %v", err)
	}
	if _, err := in.Install(writeBundle(t, src, "v4", bundleOpts{version: 4, issued: expires, expires: expires.Add(30 * 24 * time.Hour)}, a)); err != nil {
		t.Fatal(err)
	}
	if version(h) != 4 || h.Policy().Summary().Expired {
		t.Errorf("fresh bundle: v%d", version(h))
	}
}

// TestKeyRotation: a bundle signed by the current keys names the next ones; a compromised
// key is retired, and the rotated trust set survives a restart.
func TestKeyRotation(t *testing.T) {
	a, b, c, d := testKey('a'), testKey('b'), testKey('c'), testKey('d')
	src, state := t.TempDir(), t.TempDir()
	clk := &fixedClock{t0}
	in, _ := newInstaller(t, state, clk, 1, a, b)
	var h *policy.Holder
	// a is compromised: v2, signed by b, hands trust to b, c and d, two of them per bundle.
	rot := bundleOpts{version: 2, nextKeys: []ed25519.PublicKey{pub(b), pub(c), pub(d)}, nextThreshold: 2}
	if _, err := in.Install(writeBundle(t, src, "v2", rot, b)); err != nil {
		t.Fatal(err)
	}
	if st := in.State(); len(st.Keys) != 3 || st.Threshold != 2 {
		t.Fatalf("state after rotation: %+v", st)
	}
	in, h = newInstaller(t, state, clk, 1, a, b) // restart: the config still names a and b
	if _, _, err := in.Load(nil, nil); err != nil || version(h) != 2 {
		t.Fatalf("restart after rotation: %v", err)
	}
	tests := []struct {
		name string
		keys []ed25519.PrivateKey
		want error
	}{
		{"the retired key", []ed25519.PrivateKey{a}, policy.ErrUnverified},
		{"the retired key and one new", []ed25519.PrivateKey{a, c}, policy.ErrThreshold},
		{"one new key", []ed25519.PrivateKey{d}, policy.ErrThreshold},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := in.Install(writeBundle(t, src, "bad"+string(rune('0'+i)), bundleOpts{version: 3}, tt.keys...))
			if !errors.Is(err, tt.want) || version(h) != 2 {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := in.Install(writeBundle(t, src, "v3", bundleOpts{version: 3}, c, d)); err != nil || version(h) != 3 {
		t.Fatalf("two new keys: %v", err)
	}
}
