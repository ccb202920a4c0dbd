// Package policytest checks stored positions against a zone independently of the policy's
// compiled index: a brute-force point-in-polygon and point-to-edge distance over the zone's
// GeoJSON outline, with the same documented distance model (policy/geom.go: local
// equirectangular metres on the mean-radius sphere). Tests of the gate and the daemon use it
// to prove that nothing was stored inside a zone or its margin.
package policytest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// mPerDeg is metres per degree of latitude on the mean-radius sphere, as policy uses.
const mPerDeg = 6371008.8 * math.Pi / 180

// Zone is one Polygon zone of a bundle's GeoJSON file.
type Zone struct {
	ID      string
	Rings   [][][2]float64 // outer ring first, then holes; lon, lat
	MarginM float64
}

// LoadZone reads the Polygon feature with property id from a GeoJSON FeatureCollection.
func LoadZone(file, id string) (Zone, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Zone{}, err
	}
	var fc struct {
		Features []struct {
			Properties struct {
				ID      string  `json:"id"`
				MarginM float64 `json:"margin_m"`
			} `json:"properties"`
			Geometry struct {
				Type        string         `json:"type"`
				Coordinates [][][2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return Zone{}, fmt.Errorf("policytest: %s: %w", file, err)
	}
	for _, f := range fc.Features {
		if f.Properties.ID == id && f.Geometry.Type == "Polygon" {
			return Zone{ID: id, Rings: f.Geometry.Coordinates, MarginM: f.Properties.MarginM}, nil
		}
	}
	return Zone{}, fmt.Errorf("policytest: %s: no Polygon zone %q", file, id)
}

// Inside reports whether (lat, lon) is inside the zone's polygon (even-odd rule, holes
// excluded), not counting the margin.
func (z Zone) Inside(lat, lon float64) bool {
	in := false
	for _, r := range z.Rings {
		for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
			a, b := r[i], r[j]
			if (a[1] > lat) != (b[1] > lat) && lon < (b[0]-a[0])*(lat-a[1])/(b[1]-a[1])+a[0] {
				in = !in
			}
		}
	}
	return in
}

// DistM returns the distance in metres from (lat, lon) to the nearest edge of the zone.
func (z Zone) DistM(lat, lon float64) float64 {
	kx := mPerDeg * math.Cos(lat*math.Pi/180)
	best := math.Inf(1)
	for _, r := range z.Rings {
		for i := 0; i+1 < len(r); i++ {
			ax, ay := (r[i][0]-lon)*kx, (r[i][1]-lat)*mPerDeg
			bx, by := (r[i+1][0]-lon)*kx, (r[i+1][1]-lat)*mPerDeg
			dx, dy := bx-ax, by-ay
			u := 0.0
			if l2 := dx*dx + dy*dy; l2 > 0 {
				u = min(max(-(ax*dx+ay*dy)/l2, 0), 1)
			}
			best = min(best, math.Hypot(ax+u*dx, ay+u*dy))
		}
	}
	return best
}

// MetresOutside returns how far (lat, lon) lies outside the zone's polygon: negative inside.
// A position may be stored only if it is more than MarginM.
func (z Zone) MetresOutside(lat, lon float64) float64 {
	d := z.DistM(lat, lon)
	if z.Inside(lat, lon) {
		return -d
	}
	return d
}
