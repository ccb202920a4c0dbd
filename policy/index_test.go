package policy

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomZones makes n star zones with holes, random rules and margins, clustered so that
// they overlap, around (lon0, lat0).
func randomZones(rng *rand.Rand, n int, lon0, lat0 float64) []Zone {
	zones := make([]Zone, n)
	for i := range zones {
		lon := lon0 + (rng.Float64()-0.5)*0.3
		lat := lat0 + (rng.Float64()-0.5)*0.2
		r := 500 + rng.Float64()*4000
		outer := starRing(rng, lon, lat, r, 5+rng.IntN(60))
		poly := Polygon{outer}
		if rng.IntN(2) == 0 {
			poly = append(poly, scaledRing(starRing(rng, lon, lat, r, 3+rng.IntN(20)), lon, lat, 0.4))
		}
		z := Zone{ID: fmt.Sprintf("z%d", i), Rule: Rule(rng.IntN(3)), Polygons: []Polygon{poly}}
		if rng.IntN(3) > 0 {
			z.MarginM = rng.Float64() * 600
		}
		if z.Rule == RuleCoarsen {
			z.PrecisionM = float64(100 * (1 + rng.IntN(5)))
		}
		if rng.IntN(4) == 0 { // a second, separate part
			z.Polygons = append(z.Polygons, Polygon{starRing(rng, lon+0.05, lat-0.05, r/3, 8)})
		}
		zones[i] = z
	}
	return zones
}

// orientCall calls orient as compiled on its own, as its callers in the index see it, not
// inlined into (and perhaps compiled differently in) the test.
var orientCall = orient

// Build and query must compute the same bits on every architecture, and Go may fuse a
// multiply-add into one rounding (it does on arm64) differently at different call sites, so
// orient, cellCenter and cellStart round each product on their own. These inputs give a
// different result when any one product is fused (checked with math.FMA), so a fused build
// fails here; make test runs this package as arm64 too. The inputs come from a slice so that
// the compiler cannot fold them.
func TestProductsRoundedApart(t *testing.T) {
	const e = 0x1p-30
	v := []float64{0, 0, 1 + e, 1 - e, 1 + 3*e, 1 + e, -1.5, 1 + 0x1p-52}
	ax, ay, bx, by, cx, cy := v[0], v[1], v[2], v[3], v[4], v[5]
	// (1+e)^2 - (1-e)(1+3e) = 4e^2 exactly; each product rounds to 1+2e.
	if math.FMA(bx-ax, cy-ay, -float64((by-ay)*(cx-ax))) == 0 || math.FMA(-(by-ay), cx-ax, float64((bx-ax)*(cy-ay))) == 0 {
		t.Fatal("orient case does not tell fused from rounded products")
	}
	if got := orientCall(ax, ay, bx, by, cx, cy); got != 0 {
		t.Errorf("orient = %g, want 0 (each product rounded)", got)
	}
	// -1.5 + 1.5(1+2^-52): the product rounds (ties to even) to 1.5+2^-51.
	min, size := v[6], v[7]
	if math.FMA(1.5, size, min) == 0x1p-51 {
		t.Fatal("cellCenter case does not tell fused from rounded products")
	}
	if got := cellCenter(min, size, 1); got != 0x1p-51 {
		t.Errorf("cellCenter = %g, want 2^-51 (product rounded)", got)
	}
	// -3 + 3(1+2^-52): the product rounds (ties to even) to 3+2^-50.
	if math.FMA(3, size, 2*min) == 0x1p-50 {
		t.Fatal("cellStart case does not tell fused from rounded products")
	}
	if got := cellStart(2*min, size, 3); got != 0x1p-50 {
		t.Errorf("cellStart = %g, want 2^-50 (product rounded)", got)
	}
}

// The index stores vertices in units of 2^-23 degree: snapping moves a coordinate by at most
// half a unit, keeps the extremes in range, and is exact on values already snapped.
func TestVertexUnits(t *testing.T) {
	const half = 0.5 / vertexScale
	rng := rand.New(rand.NewPCG(3, 4))
	vals := []float64{0, 180, -180, 90, -90, half, -half, 1.5 / vertexScale, 179.99999999, 119.45, 39.85}
	for range 10000 {
		vals = append(vals, rng.Float64()*360-180)
	}
	for _, v := range vals {
		s := snap(v)
		if math.Abs(s-v) > half {
			t.Errorf("snap(%v) = %v, moved %v > %v", v, s, math.Abs(s-v), half)
		}
		if snap(s) != s {
			t.Errorf("snap(snap(%v)) = %v != %v", v, snap(s), s)
		}
		if u := toUnits(v); (v > 0) != (u > 0) && v != 0 && math.Abs(v) >= half {
			t.Errorf("toUnits(%v) = %d: sign lost", v, u)
		}
	}
}

func TestLookupMatchesOrb(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	checked, skipped, hits, subs := 0, 0, 0, 0
	for round := range 20 {
		spec := testSpec(randomZones(rng, 1+rng.IntN(40), 119.4+rng.Float64(), 39.8+rng.Float64()))
		p, err := Compile(spec)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		o := newOracle(p, spec)
		ix := p.zoneIx
		subs += ix.nsubs
		for k := range 2000 {
			x := ix.minX + rng.Float64()*float64(ix.nx)*ix.cellW
			y := ix.minY + rng.Float64()*float64(ix.ny)*ix.cellH
			if k%2 == 0 && len(ix.pts) > 0 { // near a vertex: margins and edges get tested
				v := rng.IntN(len(ix.pts) / 2)
				vx, vy := ix.vertex(v)
				x = vx + (rng.Float64()-0.5)*0.02
				y = vy + (rng.Float64()-0.5)*0.015
			}
			sticky := -1
			if len(o.mps) > 0 && rng.IntN(4) == 0 {
				sticky = rng.IntN(len(o.mps))
			}
			want, robust := o.lookup(x, y, sticky, spec.HysteresisM, 1e-3)
			if !robust {
				skipped++
				continue
			}
			got := ix.lookup(x, y, int32(sticky), ^uint64(0))
			if int(got) != want {
				t.Fatalf("round %d: lookup(%v, %v, sticky %d) = %d, orb says %d", round, x, y, sticky, got, want)
			}
			checked++
			if want >= 0 {
				hits++
			}
		}
	}
	t.Logf("%d points agree with orb brute force (%d inside a zone or margin), %d within 1 mm of a boundary skipped; %d subgrids", checked, hits, skipped, subs)
	if subs == 0 {
		t.Error("no subgrid was exercised")
	}
	if skipped > checked/100 {
		t.Errorf("too many skipped points: %d", skipped)
	}
}

// TestLeafParts: where a leaf's parts are classified (entryParts), lookup answers from the
// part's bit for points in a part no edge comes near; the same index with the
// classification removed, which tests every edge, is the reference. Points near vertices,
// half of them moved onto a border between parts, with and without hysteresis (sticky is
// the zone found 150 m away, so that points just outside a zone's margin test its buffer),
// and with every third zone's time window closed for a quarter of them. A third copy with
// every in bit flipped shows which points the bits decided.
func TestLeafParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	specs := []*Spec{generatedSpec(2, 100, 30000)}
	for range 10 {
		specs = append(specs, testSpec(randomZones(rng, 1+rng.IntN(40), 119.4+rng.Float64(), 39.8+rng.Float64())))
	}
	classified, farParts, checked, byParts, onBorder := 0, 0, 0, 0, 0
	for n, spec := range specs {
		p, err := Compile(spec)
		if err != nil {
			t.Fatalf("set %d: %v", n, err)
		}
		ix := p.zoneIx
		for z := range ix.mask { // shared by the copies below
			if z%3 == 0 {
				ix.mask[z] = 1 << 1
			}
		}
		ref, flipped := edgesOnly(ix), *ix
		flipped.subCells = slices.Clone(ix.subCells)
		for k := range ix.subCells {
			if ix.subCells[k].flags&entryParts != 0 {
				classified++
				farParts += parts*parts - bits.OnesCount64(ix.subCells[k].near)
				flipped.subCells[k].in = ^ix.subCells[k].in
			}
		}
		for k := range 20000 {
			vx, vy := ix.vertex(rng.IntN(len(ix.pts) / 2))
			x, y := vx+(rng.Float64()-0.5)*0.02, vy+(rng.Float64()-0.5)*0.015
			if k%2 == 0 {
				var ok bool
				if x, y, ok = partCorner(ix, x, y); ok {
					onBorder++
				}
			}
			sticky := int32(-1)
			if k%3 > 0 {
				sticky = ref.lookup(x+0.0015, y+0.0005, -1, ^uint64(0))
			}
			active := ^uint64(0)
			if k%4 == 3 {
				active = 1 // window 1 closed
			}
			got, want := ix.lookup(x, y, sticky, active), ref.lookup(x, y, sticky, active)
			if got != want {
				t.Fatalf("set %d: lookup(%v, %v, sticky %d, windows %b) = %d from the parts, %d from the edges", n, x, y, sticky, active, got, want)
			}
			checked++
			if flipped.lookup(x, y, sticky, active) != got {
				byParts++
			}
		}
	}
	t.Logf("%d leaves classified (%d parts far from edges); %d points agree (%d on a part's corner), %d decided by a part's bit",
		classified, farParts, checked, onBorder, byParts)
	if byParts < checked/20 {
		t.Errorf("only %d of %d points were decided by a part's bit", byParts, checked)
	}
}

// partCorner moves (x, y) to the lower left corner of its part, if it lies in a subgrid.
func partCorner(ix *index, x, y float64) (float64, float64, bool) {
	i, j := clampCell((x-ix.minX)*ix.invW, ix.nx), clampCell((y-ix.minY)*ix.invH, ix.ny)
	r, ok := ix.occupied.get(j*ix.nx + i)
	if !ok || ix.top[r].flags&cellSub == 0 {
		return x, y, false
	}
	n := int(ix.top[r].flags >> subShift)
	s := ix.subgrid(i, j, n)
	si, _ := s.colRange(x, x)
	sj, _ := s.rowRange(y, y)
	ox, oy := s.cellOrigin(si, sj)
	sz := &ix.subSize[n]
	pi, pj := sz.partCol(x, ox), sz.partRow(y, oy)
	return ox + float64(pi)*sz.partW, oy + float64(pj)*sz.partH, true
}

// TestLookupLargeSubgrids: one detailed outline in a coarse grid puts hundreds of edges in
// a few top cells, which split into subgrids over 8 x 8 (their occupancy is a bit-rank
// array, not header bits); lookups there agree with orb too.
func TestLookupLargeSubgrids(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	spec := testSpec([]Zone{
		{ID: "wide", Rule: RuleAllow, Polygons: []Polygon{{starRing(rng, 120, 40, 60e3, 4)}}},
		{ID: "detailed", Rule: RuleDeny, MarginM: 20, Polygons: []Polygon{{starRing(rng, 120.1, 40.1, 300, 3000)}}},
	})
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	o := newOracle(p, spec)
	ix := p.zoneIx
	large, checked := 0, 0
	for range 5000 {
		v := rng.IntN(len(ix.pts) / 2)
		vx, vy := ix.vertex(v)
		x := vx + (rng.Float64()-0.5)*0.01
		y := vy + (rng.Float64()-0.5)*0.0075
		i, j := int((x-ix.minX)*ix.invW), int((y-ix.minY)*ix.invH)
		if r, ok := ix.occupied.get(j*ix.nx + i); ok && ix.top[r].flags&(cellSub|cellSubBits) == cellSub {
			large++
		}
		want, robust := o.lookup(x, y, -1, 0, 1e-3)
		if !robust {
			continue
		}
		if got := ix.lookup(x, y, -1, ^uint64(0)); int(got) != want {
			t.Fatalf("lookup(%v, %v) = %d, orb says %d", x, y, got, want)
		}
		checked++
	}
	t.Logf("%d points agree with orb, %d of them in subgrids over 8 x 8", checked, large)
	if large < 1000 {
		t.Errorf("only %d points fell in a large subgrid", large)
	}
}

// TestLookupMixedSubgrids: a bundle whose dense cells split into subgrids both up to and over
// 8 x 8 (the two encodings of a subgrid's cells share subCells) agrees with orb.
func TestLookupMixedSubgrids(t *testing.T) {
	spec := generatedSpec(2, 100, 30000)
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	ix := p.zoneIx
	small, large := 0, 0
	for k := range ix.top {
		switch ix.top[k].flags & (cellSub | cellSubBits) {
		case cellSub | cellSubBits:
			small++
		case cellSub:
			large++
		}
	}
	if small == 0 || large == 0 {
		t.Fatalf("%d subgrids up to 8 x 8 and %d over: want both", small, large)
	}
	o := newOracle(p, spec)
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for range 1000 {
		vx, vy := ix.vertex(rng.IntN(len(ix.pts) / 2))
		x, y := vx+(rng.Float64()-0.5)*0.02, vy+(rng.Float64()-0.5)*0.015
		sticky := -1
		if rng.IntN(3) == 0 {
			sticky = rng.IntN(len(o.mps))
		}
		want, robust := o.lookup(x, y, sticky, spec.HysteresisM, 1e-3)
		if !robust {
			continue
		}
		if got := ix.lookup(x, y, int32(sticky), ^uint64(0)); int(got) != want {
			t.Fatalf("lookup(%v, %v, sticky %d) = %d, orb says %d", x, y, sticky, got, want)
		}
		checked++
	}
	t.Logf("%d points agree with orb; %d subgrids up to 8 x 8, %d over", checked, small, large)
}

// TestDecideMatchesOrb is the property test at the level of Decide: with no hysteresis and
// full precision, every decision names the zone orb's brute force finds first in
// precedence order, with the matching action, and keeps the raw position otherwise.
func TestDecideMatchesOrb(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	checked, skipped, regridded, coarsened := 0, 0, 0, 0
	for round := range 10 {
		spec := testSpec(randomZones(rng, 1+rng.IntN(30), 116+rng.Float64(), 39+rng.Float64()))
		spec.HysteresisM = 0
		p, err := Compile(spec)
		if err != nil {
			t.Fatal(err)
		}
		h := &Holder{}
		if err := h.Swap(p); err != nil {
			t.Fatal(err)
		}
		e := h.NewEngine("licensed")
		o := newOracle(p, spec)
		ix := p.zoneIx
		for range 2000 {
			v := rng.IntN(len(ix.pts) / 2)
			vx, vy := ix.vertex(v)
			x := vx + (rng.Float64()-0.5)*0.03
			y := vy + (rng.Float64()-0.5)*0.02
			want, robust := o.lookup(x, y, -1, 0, 1e-3)
			if !robust {
				skipped++
				continue
			}
			d := e.Decide(fixAt(y, x, t0), t0)
			wantZone, wantAction := "", Keep
			if want >= 0 {
				wantZone = p.zones[want].id
				wantAction = [...]Action{RuleAllow: Keep, RuleCoarsen: Coarsen, RuleDeny: Drop}[p.zones[want].rule]
			}
			if wantAction == Coarsen && d.Action == Drop && d.Reason == ReasonZoneDeny {
				// The grid point fell into a deny zone (or its margin): Decide must drop.
				qy, qx := quantize(y, x, p.zones[want].precisionM)
				if q, _ := o.lookup(qx, qy, -1, 0, 0); q < 0 || p.zones[q].rule != RuleDeny || p.zones[q].id != d.Zone {
					t.Fatalf("round %d (%v, %v): dropped for %q, but the grid point %v,%v is in zone %d", round, y, x, d.Zone, qy, qx, q)
				}
				regridded++
				checked++
				continue
			}
			if d.Zone != wantZone || d.Action != wantAction {
				t.Fatalf("round %d (%v, %v): %+v, orb says zone %q action %v", round, y, x, d, wantZone, wantAction)
			}
			if d.Action == Keep && (d.Lat != y || d.Lon != x) {
				t.Fatalf("kept fix moved: %+v", d)
			}
			if d.Action == Coarsen {
				// The stored grid point must not be in a deny zone or its margin either.
				if q, _ := o.lookup(d.Lon, d.Lat, -1, 0, 0); q >= 0 && p.zones[q].rule == RuleDeny {
					t.Fatalf("round %d (%v, %v): coarsened to %v,%v inside deny zone %q", round, y, x, d.Lat, d.Lon, p.zones[q].id)
				}
				coarsened++
			}
			checked++
		}
	}
	t.Logf("%d decisions agree with orb brute force (%d coarsened, %d coarsened fixes dropped because the grid point is in a deny zone), %d within 1 mm of a boundary skipped", checked, coarsened, regridded, skipped)
}

// TestHugeMarginStaysBounded: margins far larger than the zone must not multiply edges into
// every cell (a bundle could otherwise exhaust memory), and lookups stay exact.
func TestHugeMarginStaysBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	spec := testSpec([]Zone{{ID: "big", Rule: RuleDeny, MarginM: maxMarginM,
		Polygons: []Polygon{{starRing(rng, 119.5, 39.9, 5000, 3000)}}}})
	spec.HysteresisM = maxMarginM
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if b := p.Summary().IndexBytes; b > 64<<20 {
		t.Errorf("index holds %d bytes for 3000 vertices", b)
	}
	o := newOracle(p, spec)
	for range 300 {
		x, y := 117+rng.Float64()*5, 38+rng.Float64()*4
		want, robust := o.lookup(x, y, -1, 0, 1e-3)
		if got := p.zoneIx.lookup(x, y, -1, 0); robust && int(got) != want {
			t.Fatalf("lookup(%v, %v) = %d, orb %d", x, y, got, want)
		}
	}
	t.Logf("index %d bytes", p.Summary().IndexBytes)
}

// TestGroupPairs checks both ways groupPairs groups (counting over a narrow range of cells,
// sorting over a wide one) against a map of cells to their edges.
func TestGroupPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var count []int32 // scratch shared by the calls, as the builder shares it
	for _, cells := range []int{100, 1, 7, 5000, 1 << 20, 50} {
		var pairs []uint64
		want := map[int][]int32{}
		for e := range int32(300) {
			for range rng.IntN(4) {
				c := rng.IntN(cells)
				if n := len(want[c]); n > 0 && want[c][n-1] == e {
					continue
				}
				pairs = append(pairs, uint64(c)<<32|uint64(e))
				want[c] = append(want[c], e)
			}
		}
		last := -1
		groupPairs(pairs, &count, func(c int, es []int32) {
			if c <= last || !slices.Equal(es, want[c]) {
				t.Errorf("%d cells: cell %d (after %d): edges %v, want %v", cells, c, last, es, want[c])
			}
			last = c
			delete(want, c)
		})
		if len(want) > 0 {
			t.Errorf("%d cells: %d cells not grouped", cells, len(want))
		}
	}
}
