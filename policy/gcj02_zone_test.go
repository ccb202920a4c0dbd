package policy

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/geogate/geogate/policy/policytest"
)

// gcjZoneDevM is the deviation docs/POLICY.md promises between a GCJ-02 zone's compiled
// outline and the exact WGS-84 image of its drawn edges.
const gcjZoneDevM = 0.05

// gcjProbeM is how far inside and outside the exact image the decisions are probed: the
// promised deviation plus the 6.6 mm the index's vertex grid may move a vertex.
const gcjProbeM = gcjZoneDevM + 0.0066

// TestGCJ02ZoneDenseReference draws zones of 100 m to 50 km in GCJ-02, at Beidaihe and
// across 105 E (where the offset formula has a kink), and compares what geogate compiles
// with a dense reference: every drawn edge sampled each metre and converted point by point
// with GCJ02ToWGS84. The independent checker in policy/policytest measures how far the
// reference lies from the densified outline (at most gcjZoneDevM), and decides probes
// gcjProbeM inside and outside the reference, which Decide must decide alike. Before
// densification, a 10 km zone left fixes 4 m inside it outside.
func TestGCJ02ZoneDenseReference(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64 // centre, GCJ-02
		sizeM    float64 // extent
	}{
		{"100 m at Beidaihe", 119.48, 39.84, 100},
		{"1 km at Beidaihe", 119.48, 39.84, 1000},
		{"10 km at Beidaihe", 119.48, 39.84, 10e3},
		{"50 km at Beidaihe", 119.40, 39.90, 50e3},
		{"10 km across 105 E", 105.0, 30.5, 10e3},
		{"50 km across 105 E", 105.1, 30.5, 50e3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && tt.sizeM > 10e3 {
				t.Skip("-short: 50 km zones take a few seconds")
			}
			// An irregular pentagon, counter-clockwise, no edge along a meridian or parallel.
			kx := mPerDeg * math.Cos(tt.lat*deg2rad)
			var drawn Ring
			for _, v := range [][2]float64{{20, 0.5}, {95, 0.45}, {160, 0.5}, {230, 0.35}, {300, 0.48}} {
				a := v[0] * deg2rad
				drawn = append(drawn, [2]float64{tt.lon + v[1]*tt.sizeM*math.Cos(a)/kx, tt.lat + v[1]*tt.sizeM*math.Sin(a)/mPerDeg})
			}
			drawn = append(drawn, drawn[0])
			fc := map[string]any{"type": "FeatureCollection", "features": []any{map[string]any{
				"type": "Feature", "properties": map[string]any{"id": "z", "action": "deny", "datum": "GCJ-02"},
				"geometry": map[string]any{"type": "Polygon", "coordinates": []Ring{drawn}}}}}
			zones, err := json.Marshal(fc)
			if err != nil {
				t.Fatal(err)
			}
			b := bundle("id = \"t\"\nversion = 1\ndefault_action = \"keep\"\nmax_age = \"2s\"\nzone_files = [\"zones.geojson\"]\n[tiers.licensed]\n", string(zones))
			spec, err := ReadSpec(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(spec)
			if err != nil {
				t.Fatal(err)
			}
			dense := spec.Zones[0].Polygons[0][0]

			// The reference: each drawn edge every metre, converted point by point; and the
			// densified outline cut at the drawn vertices, to measure each edge against its own.
			var ref [][2]float64
			var maxDev float64
			at := 0 // index in dense of the current drawn vertex
			for i := 0; i+1 < len(drawn); i++ {
				a, c := drawn[i], drawn[i+1]
				n := int(math.Ceil(math.Hypot((c[0]-a[0])*kx, (c[1]-a[1])*mPerDeg)))
				var edge [][2]float64
				for k := range n + 1 {
					f := float64(k) / float64(n)
					lat, lon := GCJ02ToWGS84(a[1]+f*(c[1]-a[1]), a[0]+f*(c[0]-a[0]))
					edge = append(edge, [2]float64{lon, lat})
				}
				end := at + 1
				for dense[end] != edge[n] {
					end++
				}
				if dense[at] != edge[0] {
					t.Fatalf("edge %d: the densified outline does not start at the converted vertex", i)
				}
				piece := policytest.Zone{Rings: [][][2]float64{dense[at : end+1]}}
				for _, r := range edge {
					maxDev = max(maxDev, piece.DistM(r[1], r[0]))
				}
				at = end
				ref = append(ref, edge[:n]...)
			}
			ref = append(ref, ref[0])
			t.Logf("%d drawn vertices, %d densified, %d reference points; largest deviation %.4f m", len(drawn)-1, len(dense)-1, len(ref)-1, maxDev)
			if maxDev > gcjZoneDevM {
				t.Errorf("the reference lies up to %.4f m from the densified outline, more than %v m", maxDev, gcjZoneDevM)
			}

			// Probes along the reference, inside and outside, decided by the checker and by
			// Decide (licensed tier: full precision, margin 0).
			checker := policytest.Zone{Rings: [][][2]float64{ref}}
			h := &Holder{}
			if err := h.Swap(p); err != nil {
				t.Fatal(err)
			}
			e := h.NewEngine("licensed")
			step := max(1, (len(ref)-1)/1000)
			var probes, wrong int
			for k := 1; k < len(ref)-1; k += step {
				prev, next, r := ref[k-1], ref[k+1], ref[k]
				kxr := mPerDeg * math.Cos(r[1]*deg2rad)
				dx, dy := (next[0]-prev[0])*kxr, (next[1]-prev[1])*mPerDeg
				l := math.Hypot(dx, dy)
				nx, ny := -dy/l, dx/l // left of the direction: inward for a counter-clockwise ring
				for _, side := range []float64{1, -1} {
					lon, lat := r[0]+side*gcjProbeM*nx/kxr, r[1]+side*gcjProbeM*ny/mPerDeg
					in := checker.Inside(lat, lon)
					if in != (side > 0) {
						continue // near a vertex the normal may not point into the zone
					}
					probes++
					e.sticky = -1 // each probe on its own, without hysteresis
					if d := e.Decide(fixAt(lat, lon, t0), t0); (d.Reason == ReasonZoneDeny) != in {
						if wrong++; wrong <= 5 {
							t.Errorf("probe %.4f m %s the drawn zone at reference point %d: %v", gcjProbeM, sideName[in], k, d.Reason)
						}
					}
				}
			}
			t.Logf("%d probes %.4f m inside and outside the reference", probes, gcjProbeM)
			if probes < 100 || wrong > 0 {
				t.Errorf("%d of %d probes decided unlike the reference", wrong, probes)
			}
		})
	}
}

var sideName = map[bool]string{true: "inside", false: "outside"}
