package policy

import (
	"strings"
	"testing"
)

// TestDecideAnonymize: a tier's anonymize reaches every Decision that keeps or coarsens, and
// no Drop carries it; a tier without it never asks for masking.
func TestDecideAnonymize(t *testing.T) {
	toml := strings.Replace(goodTOML, "[tiers.public]\n", "[tiers.public]\nanonymize = true\n", 1) +
		"[tiers.licensed]\nanonymize = false\n"
	p, err := Load(bundle(toml, goodZones), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := holderOf(t, p)
	tests := []struct {
		name      string
		tier      string
		lat, lon  float64
		action    Action
		anonymize bool
	}{
		{"public, outside zones", "public", 39.5, 117.5, Coarsen, true},
		{"public, coarsen zone", "public", 39.01, 118.05, Coarsen, true},
		{"public, deny zone", "public", 39.05, 119.05, Drop, false},
		{"licensed, outside zones", "licensed", 39.5, 117.5, Keep, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.NewEngine(tt.tier).Decide(fixAt(tt.lat, tt.lon, t0), t0)
			if d.Action != tt.action || d.Anonymize != tt.anonymize {
				t.Errorf("got %v anonymize=%v (%v), want %v anonymize=%v", d.Action, d.Anonymize, d.Reason, tt.action, tt.anonymize)
			}
		})
	}
}
