package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMaxFPS follows a tier's max_fps from policy.toml to every Decision the tier keeps, not
// to drops, and refuses a negative or infinite rate with ErrInvalid naming the tier.
func TestMaxFPS(t *testing.T) {
	toml := strings.Replace(goodTOML, "precision_m = 50\n", "precision_m = 50\nmax_fps = 5\n", 1) +
		"[tiers.licensed]\nprecision_m = 0\n"
	p, err := Load(bundle(toml, goodZones), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := holderOf(t, p)
	t0 := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		name, tier string
		lat, lon   float64
		action     Action
		fps        float64
	}{
		{"public outside zones", "public", 39.5, 116.4, Coarsen, 5},
		{"public in a coarsen zone", "public", 39.01, 118.08, Coarsen, 5},
		{"public in a deny zone", "public", 39.05, 119.05, Drop, 0},
		{"licensed, no max_fps", "licensed", 39.5, 116.4, Keep, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := h.NewEngine(tt.tier).Decide(fixAt(tt.lat, tt.lon, t0), t0)
			if d.Action != tt.action || d.MaxFPS != tt.fps {
				t.Errorf("got %v max_fps %v, want %v max_fps %v", d.Action, d.MaxFPS, tt.action, tt.fps)
			}
		})
	}
	for _, bad := range []string{"-1", "inf", "nan"} {
		toml := strings.Replace(goodTOML, "precision_m = 50\n", "precision_m = 50\nmax_fps = "+bad+"\n", 1)
		_, err := Load(bundle(toml, goodZones), nil)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "max_fps") || !strings.Contains(err.Error(), `"public"`) {
			t.Errorf("max_fps = %s: %v, want ErrInvalid naming max_fps and the tier", bad, err)
		}
	}
}
