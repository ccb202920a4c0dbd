package policytest

import "testing"

func TestZone(t *testing.T) {
	z, err := LoadZone("../../examples/policy/zones.geojson", "beidaihe")
	if err != nil {
		t.Fatal(err)
	}
	if z.MarginM != 500 || len(z.Rings) != 1 {
		t.Fatalf("beidaihe: margin %v, %d rings", z.MarginM, len(z.Rings))
	}
	for _, tt := range []struct {
		name     string
		lat, lon float64
		in       bool
		min, max float64 // expected MetresOutside range
	}{
		{"district centre", 39.84, 119.45, true, -1e5, -100},
		{"Haigang, 5 km east", 39.934, 119.595, false, 4000, 10000},
		// 0.01 degree of longitude east of the vertex (119.5339, 39.8852): about 855 m.
		{"just east of a vertex", 39.8852, 119.5439, false, 700, 860},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := z.Inside(tt.lat, tt.lon); got != tt.in {
				t.Errorf("Inside = %v, want %v", got, tt.in)
			}
			if m := z.MetresOutside(tt.lat, tt.lon); m < tt.min || m > tt.max {
				t.Errorf("MetresOutside = %.0f, want %v..%v", m, tt.min, tt.max)
			}
		})
	}
	if _, err := LoadZone("../../examples/policy/zones.geojson", "nowhere"); err == nil {
		t.Error("a missing zone loaded")
	}
}
