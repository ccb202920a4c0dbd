package policy

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/geogate/geogate/gnss"
)

func TestThresholdSignatures(t *testing.T) {
	seed := func(c byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(c), 32))) }
	a, b, c := seed('a'), seed('b'), seed('c')
	pubs := []ed25519.PublicKey{a.Public().(ed25519.PublicKey), b.Public().(ed25519.PublicKey), c.Public().(ed25519.PublicKey)}
	signed := func(keys ...ed25519.PrivateKey) fstest.MapFS {
		bd := bundle(goodTOML, goodZones)
		var sigs []byte
		var man []byte
		for _, k := range keys {
			m, sig, err := Sign(bd, k)
			if err != nil {
				t.Fatal(err)
			}
			man, sigs = m, append(sigs, sig...)
		}
		bd[ManifestHashes] = &fstest.MapFile{Data: man}
		bd[ManifestSignature] = &fstest.MapFile{Data: sigs}
		return bd
	}
	tests := []struct {
		name    string
		k       int
		keys    []ed25519.PublicKey
		signers []ed25519.PrivateKey
		want    error
	}{
		{"1 of 3", 1, pubs, []ed25519.PrivateKey{b}, nil},
		{"2 of 3, two sign", 2, pubs, []ed25519.PrivateKey{c, a}, nil},
		{"2 of 3, one signs", 2, pubs, []ed25519.PrivateKey{a}, ErrThreshold},
		{"2 of 3, one signs twice", 2, pubs, []ed25519.PrivateKey{a, a}, ErrThreshold},
		{"2 of 3, a key listed twice counts once", 2, []ed25519.PublicKey{pubs[0], pubs[0]}, []ed25519.PrivateKey{a, b}, ErrThreshold},
		{"2 of 3, an outsider is no second signer", 2, pubs[:2], []ed25519.PrivateKey{a, c}, ErrThreshold},
		{"3 of 3", 3, pubs, []ed25519.PrivateKey{a, b, c}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(signed(tt.signers...), &LoadOptions{Verify: SignedByThreshold(tt.k, tt.keys...)})
			if tt.want == nil && err != nil || tt.want != nil && (!errors.Is(err, tt.want) || !errors.Is(err, ErrUnverified)) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	bd := signed(a)
	bd[ManifestSignature] = &fstest.MapFile{Data: []byte(strings.Repeat(string(bd[ManifestSignature].Data), maxSignatures+1))}
	if _, err := Load(bd, &LoadOptions{Verify: SignedBy(pubs...)}); !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), "found 17") {
		t.Errorf("17 signatures: %v", err)
	}
}

func TestExpiryAndRotationKeys(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	key2 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	tests := []struct {
		name  string
		extra string
		err   string
	}{
		{"expires only", "expires = 2030-01-01T00:00:00Z\n", ""},
		{"issued and expires", "issued = 2029-01-01T00:00:00Z\nexpires = 2030-01-01T00:00:00Z\n", ""},
		{"expires before issued", "issued = 2030-01-01T00:00:00Z\nexpires = 2029-01-01T00:00:00Z\n", "not after issued"},
		{"expires as a string", "expires = \"2030-01-01\"\n", "malformed"},
		{"next keys", "next_keys = [\"" + key + "\", \"" + key2 + "\"]\nnext_threshold = 2\n", ""},
		{"next keys without threshold", "next_keys = [\"" + key + "\"]\n", "next_threshold 0"},
		{"threshold above keys", "next_keys = [\"" + key + "\"]\nnext_threshold = 2\n", "want 1..1"},
		{"threshold without keys", "next_threshold = 1\n", "without next_keys"},
		{"bad key", "next_keys = [\"abc\"]\nnext_threshold = 1\n", "next_keys[0]"},
		{"key twice", "next_keys = [\"" + key + "\", \"" + key + "\"]\nnext_threshold = 1\n", "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toml := strings.Replace(goodTOML, "zone_files", tt.extra+"zone_files", 1)
			spec, err := ReadSpec(bundle(toml, goodZones), nil)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(tt.extra, "expires") && !spec.Expires.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("Expires = %v", spec.Expires)
				}
				if strings.Contains(tt.extra, "next_keys") && (len(spec.NextKeys) != 2 || spec.NextThreshold != 2) {
					t.Errorf("NextKeys %d, threshold %d", len(spec.NextKeys), spec.NextThreshold)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.err)
			}
		})
	}
}

func TestDecideExpired(t *testing.T) {
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	toml := strings.Replace(goodTOML, "zone_files", "expires = 2030-01-01T00:00:00Z\nzone_files", 1)
	var h Holder
	p, err := h.Reload(bundle(toml, goodZones), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := h.NewEngine("public")
	fixAt := func(now time.Time) *gnss.Fix {
		return &gnss.Fix{Has: gnss.HasPos, Valid: true, Lat: 30, Lon: 100, Received: now}
	}
	before := expires.Add(-time.Second)
	if d := e.Decide(fixAt(before), before); d.Action == Drop {
		t.Fatalf("before expiry: %+v", d)
	}
	if d := e.Decide(fixAt(expires), expires); d.Action != Drop || d.Reason != ReasonExpired || d.Lat != 0 {
		t.Fatalf("at expiry: %+v", d)
	}
	// A clock set back does not revive a policy the updater expired.
	p.Expire()
	if d := e.Decide(fixAt(before), before); d.Reason != ReasonExpired {
		t.Fatalf("expired, clock set back: %+v", d)
	}
	if s := p.Summary(); !s.Expired || !s.Expires.Equal(expires) {
		t.Errorf("summary %+v", s)
	}
	if n := testing.AllocsPerRun(100, func() { e.Decide(fixAt(before), before) }); n != 0 {
		t.Errorf("expired Decide allocates %v", n)
	}
	if ReasonExpired.String() != "policy-expired" {
		t.Errorf("name %q", ReasonExpired)
	}
}
