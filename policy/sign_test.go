package policy

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func signedBundle(t *testing.T, key ed25519.PrivateKey) fstest.MapFS {
	t.Helper()
	b := bundle(goodTOML, goodZones)
	man, sig, err := Sign(b, key)
	if err != nil {
		t.Fatal(err)
	}
	b[ManifestHashes] = &fstest.MapFile{Data: man}
	b[ManifestSignature] = &fstest.MapFile{Data: sig}
	return b
}

func TestSignedBundles(t *testing.T) {
	seed := func(c byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(c), 32))) }
	trusted, other := seed('a'), seed('b')
	opts := &LoadOptions{Verify: SignedBy(other.Public().(ed25519.PublicKey), trusted.Public().(ed25519.PublicKey))}

	if p, err := Load(signedBundle(t, trusted), opts); err != nil || p.Version() != 3 {
		t.Fatalf("good signed bundle: %v", err)
	}
	tests := []struct {
		name   string
		bundle func() fstest.MapFS
		msg    string
	}{
		{"unsigned", func() fstest.MapFS { return bundle(goodTOML, goodZones) }, "manifest.sha256"},
		{"wrong key", func() fstest.MapFS {
			return signedBundle(t, seed('c'))
		}, "does not match any of 2 trusted keys"},
		{"tampered zone file", func() fstest.MapFS {
			b := signedBundle(t, trusted)
			b["zones.geojson"] = &fstest.MapFile{Data: []byte(strings.Replace(goodZones, "deny", "allow", 1))}
			return b
		}, "zones.geojson: SHA-256 differs"},
		{"tampered manifest", func() fstest.MapFS {
			b := signedBundle(t, trusted)
			b[ManifestHashes].Data = append([]byte("00"), b[ManifestHashes].Data[2:]...)
			return b
		}, "does not match"},
		{"garbage signature", func() fstest.MapFS {
			b := signedBundle(t, trusted)
			b[ManifestSignature].Data = []byte("not base64!")
			return b
		}, "not a base64 ed25519 signature"},
		{"unsigned extra zone file", func() fstest.MapFS {
			b := signedBundle(t, trusted)
			b["policy.toml"] = &fstest.MapFile{Data: []byte(strings.Replace(goodTOML, `["zones.geojson"]`, `["zones.geojson", "extra.geojson"]`, 1))}
			return b
		}, "policy.toml: SHA-256 differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Holder{}
			_, err := h.Reload(tt.bundle(), opts)
			if !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v, want ErrUnverified mentioning %q", err, tt.msg)
			}
			if h.Policy() != nil {
				t.Error("an unverified bundle was swapped in")
			}
		})
	}
}

func TestSignedBundleHidesUnlistedFiles(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	b := bundle(goodTOML, goodZones)
	man, sig, err := Sign(fstest.MapFS{"policy.toml": b["policy.toml"]}, key) // zones.geojson not signed
	if err != nil {
		t.Fatal(err)
	}
	b[ManifestHashes] = &fstest.MapFile{Data: man}
	b[ManifestSignature] = &fstest.MapFile{Data: sig}
	_, err = Load(b, &LoadOptions{Verify: SignedBy(key.Public().(ed25519.PublicKey))})
	if err == nil || !strings.Contains(err.Error(), "zones.geojson") {
		t.Errorf("unsigned zone file was readable: %v", err)
	}
}
