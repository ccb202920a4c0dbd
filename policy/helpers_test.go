package policy

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/geogate/geogate/policy/policytest"
)

// starRing returns a closed star-shaped ring of n vertices around (lon, lat) with radii in
// [0.6r, r] metres: angles increase monotonically, so the ring is simple.
func starRing(rng *rand.Rand, lon, lat, r float64, n int) Ring {
	ring := make(Ring, 0, n+1)
	kx := mPerDeg * math.Cos(lat*deg2rad)
	for k := range n {
		a := 2 * math.Pi * float64(k) / float64(n)
		rr := r * (0.6 + 0.4*rng.Float64())
		ring = append(ring, [2]float64{lon + rr*math.Cos(a)/kx, lat + rr*math.Sin(a)/mPerDeg})
	}
	return append(ring, ring[0])
}

// rect is the axis-aligned rectangle [x0, x1] x [y0, y1] as a one-polygon zone geometry.
func rect(x0, y0, x1, y1 float64) []Polygon {
	return []Polygon{{Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
}

// scaledRing shrinks ring toward (lon, lat) by f (a hole inside a star ring for f < 0.6).
func scaledRing(r Ring, lon, lat, f float64) Ring {
	out := make(Ring, len(r))
	for i, p := range r {
		out[len(r)-1-i] = [2]float64{lon + (p[0]-lon)*f, lat + (p[1]-lat)*f}
	}
	return out
}

func testSpec(zones []Zone) *Spec {
	return &Spec{ID: "test", Version: 1, DefaultKeep: true, MaxAge: 2 * time.Second, HysteresisM: 100,
		Tiers: []Tier{{Name: "licensed"}, {Name: "public", PrecisionM: 50, MaxImagePixels: 307200, GCJ02: true}},
		Zones: zones}
}

// oracle is the brute-force reference: orb containment over every zone in precedence
// order, plus the documented distance approximation over every edge as policytest computes
// it, sharing no code with the package's own distance (segDist2).
type oracle struct {
	mps     []orb.MultiPolygon
	outline [][]policytest.Zone // per zone, one policytest.Zone per polygon, for DistM
	margins []float64
}

func newOracle(p *Policy, spec *Spec) *oracle {
	byID := map[string]*Zone{}
	for i := range spec.Zones {
		byID[spec.Zones[i].ID] = &spec.Zones[i]
	}
	o := &oracle{}
	for _, zi := range p.zones {
		z := byID[zi.id]
		o.add(zi.id, toOrb(z.Polygons), z.MarginM)
	}
	return o
}

// toOrb converts polys to orb's types, with the vertices snapped as the index stores them
// (vertexScale), so that the oracle decides on the same polygon as the index.
func toOrb(polys []Polygon) orb.MultiPolygon {
	var mp orb.MultiPolygon
	for _, poly := range polys {
		var op orb.Polygon
		for _, r := range poly {
			or := make(orb.Ring, len(r))
			for i, pt := range r {
				or[i] = orb.Point{snap(pt[0]), snap(pt[1])}
			}
			op = append(op, or)
		}
		mp = append(mp, op)
	}
	return mp
}

// add appends a zone to the oracle.
func (o *oracle) add(id string, mp orb.MultiPolygon, marginM float64) {
	var outline []policytest.Zone
	for _, poly := range mp {
		var rings [][][2]float64
		for _, r := range poly {
			ring := make([][2]float64, len(r))
			for i, pt := range r {
				ring[i] = [2]float64(pt)
			}
			rings = append(rings, ring)
		}
		outline = append(outline, policytest.Zone{ID: id, Rings: rings})
	}
	o.mps = append(o.mps, mp)
	o.outline = append(o.outline, outline)
	o.margins = append(o.margins, marginM)
}

// distM is the distance in metres from (x, y) to the boundary of a zone's polygons.
func distM(outline []policytest.Zone, x, y float64) float64 {
	best := math.Inf(1)
	for _, z := range outline {
		best = min(best, z.DistM(y, x))
	}
	return best
}

// lookup returns the first zone containing (x, y) with margin (extra metres added to the
// margin of zone sticky), and whether the answer is robust: no zone's boundary or margin
// edge within eps metres, where float rounding may legitimately differ.
func (o *oracle) lookup(x, y float64, sticky int, extra, eps float64) (int, bool) {
	robust := true
	for z, mp := range o.mps {
		d := distM(o.outline[z], x, y)
		m := o.margins[z]
		if z == sticky {
			m += extra
		}
		if d < eps || math.Abs(d-m) < eps {
			robust = false
		}
		if planar.MultiPolygonContains(mp, orb.Point{x, y}) || d < m {
			return z, robust
		}
	}
	return -1, robust
}

// snap returns deg as the index stores it (see vertexScale).
func snap(deg float64) float64 { return fromUnits(toUnits(deg)) }

// vertex returns vertex v (lon, lat) as the index stores it.
func (ix *index) vertex(v int) (float64, float64) {
	return fromUnits(ix.pts[2*v]), fromUnits(ix.pts[2*v+1])
}

// edgesOnly returns a copy of ix whose leaves have no part classification, so that every
// lookup tests edges: the reference for the parts.
func edgesOnly(ix *index) *index {
	c := *ix
	c.subCells = slices.Clone(ix.subCells)
	for k := range c.subCells {
		c.subCells[k].flags &^= entryParts
	}
	return &c
}

// holderOf returns a Holder with p in force.
func holderOf(t testing.TB, p *Policy) *Holder {
	t.Helper()
	h := &Holder{}
	if err := h.Swap(p); err != nil {
		t.Fatal(err)
	}
	return h
}
