package console

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/geogate/geogate/policy"
)

func TestPosition(t *testing.T) {
	d := policy.Decision{Action: policy.Coarsen, Datum: policy.GCJ02, Lat: 39.8612345, Lon: 119.4234567, PrecisionM: 50}
	tests := []struct {
		name string
		tier string
		d    policy.Decision
		want string
	}{
		{"public tier", PublicTier, d, "39.861,119.423 (GCJ-02, public tier)"},
		{"other tier", "licensed", d, "withheld"},
		{"drop", PublicTier, policy.Decision{Action: policy.Drop, Lat: 39.86, Lon: 119.42, PrecisionM: 50}, "withheld"},
		{"full precision", PublicTier, policy.Decision{Action: policy.Keep, Lat: 39.86, Lon: 119.42}, "withheld"},
		{"south west", PublicTier, policy.Decision{Action: policy.Keep, Lat: -33.8688, Lon: -151.2093, PrecisionM: 100}, "-33.869,-151.209 (WGS-84, public tier)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := RedactDecision(tt.tier, &tt.d)
			if p.String() != tt.want {
				t.Fatalf("got %q, want %q", p, tt.want)
			}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var q Position
			if err := json.Unmarshal(b, &q); err != nil || q != p {
				t.Fatalf("round trip %s: %v, %v", b, q, err)
			}
		})
	}
	for _, bad := range []string{`"39.8612,119.423 (GCJ-02, public tier)"`, `"39.861,119.423"`, `39.861`, `"1000.000,1.000 (WGS-84, public tier)"`, `"39.861,119.423 (ED50, public tier)"`} {
		var q Position
		if err := json.Unmarshal([]byte(bad), &q); err == nil {
			t.Errorf("%s accepted as %v", bad, q)
		}
	}
}

func TestLogRingDesensitizes(t *testing.T) {
	var sink bytes.Buffer
	ring := new(LogRing)
	log := slog.New(ring.Tee(slog.NewTextHandler(&sink, nil)))
	log.Info("fix at 39.861234,119.42 in beidaihe", "lat", 39.8612, "zone", "beidaihe", "err", "zone beidaihe: ring not closed",
		"path", "/var/lib/geogate 39.86", "n", 3, "dms", "39°51'40\"")
	log.With("zone", "beidaihe-summer-buffer").WithGroup("g").Info("ok", "device", "/dev/ttyS1", "pos", slog.GroupValue(slog.Float64("lon", 119.42)))
	log.Info("status", "line", "ignored")
	for range LogRingLines + 3 {
		log.Info("fill")
	}
	lines := ring.Lines()
	if len(lines) != LogRingLines {
		t.Fatalf("%d lines kept", len(lines))
	}
	ring2 := new(LogRing)
	log2 := slog.New(ring2.Tee(slog.NewTextHandler(&sink, nil)))
	log2.Info("fix at 39.861234,119.42 in zone", "lat", 39.8612, "zone", "beidaihe", "err", "zone beidaihe: ring not closed",
		"path", "/var/lib/geogate 39.86", "n", 3, "dms", "39°51'40\"")
	log2.With("zone", "beidaihe-summer-buffer").WithGroup("g").Info("ok", "device", "/dev/ttyS1", "pos", slog.GroupValue(slog.Float64("lon", 119.42)))
	log2.Info("status", "line", "ignored")
	all := strings.Join(ring2.Lines(), "\n")
	for _, leak := range []string{"39.8", "119.4", "861", "beidaihe", "51'", "ignored"} {
		if strings.Contains(all, leak) {
			t.Errorf("kept lines contain %q:\n%s", leak, all)
		}
	}
	for _, want := range []string{"n=3", `g.device="/dev/ttyS1"`, "#.#"} {
		if !strings.Contains(all, want) {
			t.Errorf("kept lines lack %q:\n%s", want, all)
		}
	}
}
