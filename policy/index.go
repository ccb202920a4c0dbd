package policy

import (
	"math"
	"math/bits"
	"slices"
)

// index is a compiled set of zones: a two-level uniform grid over the zones' edges, stored
// in flat arrays with int32 indices. A query walks one cell's entries (zones in precedence
// order) and, for each, at most the edges near that cell: no pointers are chased and
// nothing is allocated.
//
// Every leaf cell has a reference point, its centre. For each zone that comes within its
// buffer (margin + hysteresis) of the cell, the cell holds an entry with either "full" (the
// buffered cell lies inside the zone: no edge test needed), or the zone's edges near the
// cell plus whether the reference point is inside. A point is inside if the reference point
// is inside XOR the segment from it to the point crosses an odd number of edges; every edge
// that crosses the cell is listed, so the count is exact. A zone absent from a cell is at
// least its buffer away from every point of the cell.
type index struct {
	minX, minY   float64 // grid origin (lon, lat)
	cellW, cellH float64 // top cell size, degrees
	invW, invH   float64
	nx, ny       int
	occupied     bitRank   // bit per top cell: set unless the cell is empty (small: stays in cache)
	top          []entry   // per occupied top cell: its only entry, or a cellList/cellSub header
	subOccupied  bitRank   // bit per sub cell of the subgrids over 8 x 8: set unless the sub cell is empty
	subCells     []leaf    // the occupied leaf cells of all subgrids, same encoding, with parts
	nsubs        int       // number of subgrids (statistics)
	entries      []entry   // entry lists of cells with several zones
	runs         []int32   // (first edge, edge count) pairs for entries with several runs
	pts          []int32   // lon, lat interleaved in vertex units, rings stored closed one after another
	margin2      []float64 // per zone: margin^2, metres^2
	buffer2      []float64 // per zone: (margin+hysteresis)^2, metres^2
	marginR      []float64 // per zone: margin plus rounding slack, metres (see run)
	bufferR      []float64 // per zone: margin+hysteresis plus rounding slack, metres
	mask         []uint64  // per zone: window bits; 0 = always in force
	subSize      [maxSub + 1]subSize
}

// subSize is the leaf cell size of an n x n subgrid (the same for every top cell), and the
// size of its parts, computed once at build time so that lookup does no division.
type subSize struct{ cellW, cellH, invW, invH, partW, partH, partInvW, partInvH float64 }

// leaf is a cell of a subgrid. With entryParts its single zone also has a classification of
// the cell's parts (parts x parts, row-major): a part none of the zone's edges comes within
// its margin of (near bit clear) lies wholly inside or wholly outside the zone (in bit), so
// a point in it needs no edge test, unless the zone is the stream's sticky one (whose wider
// hysteresis buffer the parts do not cover).
type leaf struct {
	entry
	near, in uint64
}

// parts is the side of the classification grid of a leaf: 8 x 8 parts, one bit each.
const parts = 8

// subgrid splits one dense top cell into n x n leaf cells. Its origin is recomputed from
// the top cell at query time and its cell size comes from index.subSize (same expressions,
// so the same bits), so only the cell's header is stored.
type subgrid struct {
	minX, minY   float64
	cellW, cellH float64
	invW, invH   float64
	n            int
}

// bitRank is a bit set that also maps each set position to its rank (the number of set
// positions before it): a sparse array of cells stores only its non-empty cells, densely,
// and finds cell i at its rank. The bits and ranks are a few bytes per 64 cells, so they
// stay in cache while the dense array is a quarter or less of the sparse one.
type bitRank struct{ w []rankWord }

type rankWord struct {
	bits uint64
	rank uint64 // set bits in the words before this one
}

// set sets bit i, growing the set as needed; positions must be set in increasing order
// before finish.
func (b *bitRank) set(i int) {
	for len(b.w) <= i/64 {
		b.w = append(b.w, rankWord{})
	}
	b.w[i/64].bits |= 1 << (uint(i) % 64)
}

// finish computes the ranks after the last set.
func (b *bitRank) finish() {
	r := uint64(0)
	for k := range b.w {
		b.w[k].rank = r
		r += uint64(bits.OnesCount64(b.w[k].bits))
	}
}

// get returns the rank of position i and whether bit i is set (positions beyond the last
// word are clear).
func (b *bitRank) get(i int) (int, bool) {
	k := uint(i) / 64
	if k >= uint(len(b.w)) {
		return 0, false
	}
	w := &b.w[k]
	m := uint64(1) << (uint(i) % 64)
	if w.bits&m == 0 {
		return 0, false
	}
	return int(w.rank) + bits.OnesCount64(w.bits&(m-1)), true
}

const (
	entryFull  = 1 << iota // the whole buffered cell is inside: no edge test
	entryRefIn             // the cell's reference point is inside the zone
	entryRuns              // a, b index runs; else the zone's edges near the cell are one run
	// Cell headers: a cell with exactly one zone stores that zone's entry in place.
	cellEmpty // no zone comes near the cell (built only: empty cells are not stored)
	cellList  // the cell's entries are entries[a : a+b]
	cellSub   // the cell is split into an n x n subgrid, n = flags>>subShift; see cellSubBits
	// cellSubBits, with cellSub, marks a subgrid of at most 8 x 8 (nearly all are) whose
	// occupancy is in the header itself, bit k of uint32(zone) | uint32(b)<<32 for sub cell k:
	// its occupied cells are subCells[a], subCells[a+1], ... in order, so finding one takes
	// no further load. Without it, the sub cells are at subOccupied positions a, a+1, ...,
	// and an occupied one is subCells[b + its rank in subOccupied].
	cellSubBits
	// entryParts marks a leaf whose near and in bits classify its parts (see leaf).
	entryParts
)

// subShift is where a cellSub header keeps its n in flags.
const subShift = 8

// entry is one zone in one leaf cell. Its edges are runs of consecutive ring edges (edge v
// joins vertex v to v+1): the run a, a+1, ..., a+b-1, or, with entryRuns, the runs listed
// in runs[a:b] as (first, count) pairs. Most cells see one stretch of a boundary, so the
// common case reads the vertices straight after the entry.
type entry struct {
	zone  int32
	flags int32
	a, b  int32
}

// Grid tuning. The top grid gets about one cell per topEdgesPerCell edges (between
// minTopCells and maxTopCells); a top cell whose entries list more than denseCell edges is
// split into a subgrid with about subEdgesPerCell edges per sub cell, at most maxSub per side.
// These keep the edges tested per query near 4 while bounding memory at a few int32 per edge.
const (
	topEdgesPerCell = 4
	minTopCells     = 64
	maxTopCells     = 1 << 18
	denseCell       = 12
	subEdgesPerCell = 3
	maxSub          = 32
)

// izone is a zone's geometry and buffers for index building.
type izone struct {
	polys         []Polygon
	marginM, bufM float64
	mask          uint64
	minX, minY    float64
	maxX, maxY    float64
	bufX, bufY    float64 // buffer in degrees (bufX conservative for the zone's latitudes)
	mX, mY        float64 // margin in degrees, the same way
	edge0, edge1  int     // range in the flat edge list
}

// bentry is an entry under construction.
type bentry struct {
	zone  int32
	flags int32
	edges []int32
}

// cellCenter returns the centre of cell i of a row or column starting at min, and cellStart
// its lower end. The explicit conversions round each product on its own: Go may otherwise
// fuse a multiply-add (it does on arm64) differently at different call sites, and the build
// and every query must compute the same bits.
func cellCenter(min, size float64, i int) float64 { return min + float64((float64(i)+0.5)*size) }

func cellStart(min, size float64, i int) float64 { return min + float64(float64(i)*size) }

// buildIndex compiles zones (already validated, in precedence order).
func buildIndex(zones []izone) *index {
	ix := &index{}
	nv := 0
	for zi := range zones {
		for _, poly := range zones[zi].polys {
			for _, r := range poly {
				nv += len(r)
			}
		}
	}
	ix.pts = make([]int32, 0, 2*nv)
	edges := make([]int32, 0, nv)
	gMinX, gMinY, gMaxX, gMaxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for zi := range zones {
		z := &zones[zi]
		z.minX, z.minY, z.maxX, z.maxY = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		z.edge0 = len(edges)
		for _, poly := range z.polys {
			for _, r := range poly {
				base := int32(len(ix.pts) / 2)
				for k, p := range r {
					ux, uy := toUnits(p[0]), toUnits(p[1])
					ix.pts = append(ix.pts, ux, uy)
					x, y := fromUnits(ux), fromUnits(uy)
					z.minX, z.maxX = min(z.minX, x), max(z.maxX, x)
					z.minY, z.maxY = min(z.minY, y), max(z.maxY, y)
					if k < len(r)-1 {
						edges = append(edges, base+int32(k))
					}
				}
			}
		}
		z.edge1 = len(edges)
		z.bufY = z.bufM / mPerDeg
		lat := min(max(math.Abs(z.minY), math.Abs(z.maxY))+z.bufY, 89.9)
		z.bufX = z.bufM / (mPerDeg * math.Cos(lat*deg2rad))
		z.mX, z.mY = z.marginM/(mPerDeg*math.Cos(lat*deg2rad)), z.marginM/mPerDeg
		ix.margin2 = append(ix.margin2, z.marginM*z.marginM)
		ix.buffer2 = append(ix.buffer2, z.bufM*z.bufM)
		ix.marginR = append(ix.marginR, slackR(z.marginM))
		ix.bufferR = append(ix.bufferR, slackR(z.bufM))
		ix.mask = append(ix.mask, z.mask)
		gMinX, gMinY = min(gMinX, z.minX-z.bufX), min(gMinY, z.minY-z.bufY)
		gMaxX, gMaxY = max(gMaxX, z.maxX+z.bufX), max(gMaxY, z.maxY+z.bufY)
	}
	if len(zones) == 0 {
		return ix
	}
	// Pad the grid, and offset it by an odd fraction, so that cell centres rarely fall on the
	// round coordinates boundary data likes (a centre exactly on an edge is ambiguous).
	w, h := gMaxX-gMinX, gMaxY-gMinY
	pad := 1e-3*max(w, h) + 1e-6
	gMinX -= pad * 1.0137
	gMinY -= pad * 1.0291
	w += 2.1 * pad
	h += 2.1 * pad
	// Margins much larger than a cell put every edge into many cells: coarsen the grid until
	// the (cell, edge) pairs stay within a budget, so that a bundle cannot blow up memory.
	cells := min(max(len(edges)/topEdgesPerCell, minTopCells), maxTopCells)
	for {
		ix.nx = max(1, int(math.Sqrt(float64(cells)*w/h)))
		ix.ny = max(1, cells/ix.nx)
		ix.minX, ix.minY = gMinX, gMinY
		ix.cellW, ix.cellH = w/float64(ix.nx), h/float64(ix.ny)
		ix.invW, ix.invH = 1/ix.cellW, 1/ix.cellH
		if cells <= minTopCells || ix.pairs(zones, edges) <= pairBudget(len(edges)) {
			break
		}
		cells /= 4
	}
	for n := 1; n <= maxSub; n++ {
		sz := &ix.subSize[n]
		sz.cellW, sz.cellH = ix.cellW/float64(n), ix.cellH/float64(n)
		sz.invW, sz.invH = 1/sz.cellW, 1/sz.cellH
		sz.partW, sz.partH = sz.cellW/parts, sz.cellH/parts
		sz.partInvW, sz.partInvH = 1/sz.partW, 1/sz.partH
	}

	grid := make([][]bentry, ix.nx*ix.ny)
	var rowX [][]float64
	var pairs []uint64
	var xs []float64
	for zi := range zones {
		z := &zones[zi]
		zid := int32(zi)
		// Edges: to every cell their buffered bounding box touches.
		pairs = pairs[:0]
		for _, e := range edges[z.edge0:z.edge1] {
			ax, ay, bx, by := ix.edge(e)
			i0, i1 := ix.colRange(min(ax, bx)-z.bufX, max(ax, bx)+z.bufX)
			j0, j1 := ix.rowRange(min(ay, by)-z.bufY, max(ay, by)+z.bufY)
			for j := j0; j <= j1; j++ {
				for i := i0; i <= i1; i++ {
					pairs = append(pairs, uint64(j*ix.nx+i)<<32|uint64(e))
				}
			}
		}
		groupPairs(pairs, func(c int, es []int32) {
			grid[c] = append(grid[c], bentry{zone: zid, edges: es})
		})
		// Reference points: scan each row of the zone's box at the cell centres' latitude.
		i0, i1 := ix.colRange(z.minX, z.maxX)
		j0, j1 := ix.rowRange(z.minY, z.maxY)
		if n := j1 - j0 + 1; cap(rowX) < n {
			rowX = make([][]float64, n)
		}
		rowX = rowX[:j1-j0+1]
		for k := range rowX {
			rowX[k] = rowX[k][:0]
		}
		for _, e := range edges[z.edge0:z.edge1] {
			ax, ay, bx, by := ix.edge(e)
			r0, r1 := ix.rowRange(min(ay, by), max(ay, by))
			for j := max(r0, j0); j <= min(r1, j1); j++ {
				yc := cellCenter(ix.minY, ix.cellH, j)
				if (ay > yc) != (by > yc) {
					rowX[j-j0] = append(rowX[j-j0], ax+(yc-ay)*(bx-ax)/(by-ay))
				}
			}
		}
		for j := j0; j <= j1; j++ {
			xs := rowX[j-j0]
			slices.Sort(xs)
			k := 0 // xs[:k] <= cx
			for i := i0; i <= i1; i++ {
				cx := cellCenter(ix.minX, ix.cellW, i)
				for k < len(xs) && xs[k] <= cx {
					k++
				}
				if (len(xs)-k)%2 == 0 {
					continue
				}
				c := &grid[j*ix.nx+i]
				if n := len(*c); n > 0 && (*c)[n-1].zone == zid {
					(*c)[n-1].flags |= entryRefIn
				} else {
					*c = append(*c, bentry{zone: zid, flags: entryFull})
				}
			}
		}
	}

	// Split dense cells, then flatten everything into the index arrays.
	nent := 0
	for _, es := range grid {
		nent += len(es)
	}
	ix.entries = make([]entry, 0, nent+nent/2)
	emit := func(es []bentry) entry {
		switch len(es) {
		case 0:
			return entry{zone: -1, flags: cellEmpty}
		case 1:
			return ix.compact(es[0])
		}
		start := len(ix.entries)
		for _, b := range es {
			ix.entries = append(ix.entries, ix.compact(b))
		}
		return entry{zone: -1, flags: cellList, a: int32(start), b: int32(len(es))}
	}

	nsubPos := 0 // sub cell positions of subgrids over 8 x 8 used so far, empty ones included
	nlarge := 0  // their leaves so far
	for c, es := range grid {
		nedges := 0
		for _, b := range es {
			nedges += len(b.edges)
		}
		if len(es) == 0 {
			continue
		}
		ix.occupied.set(c)
		if nedges <= denseCell {
			ix.top = append(ix.top, emit(es))
			continue
		}
		i, j := c%ix.nx, c/ix.nx
		n := min(maxSub, int(math.Ceil(math.Sqrt(float64(nedges)/subEdgesPerCell))))
		s := ix.subgrid(i, j, n)
		if ix.subPairs(&s, es, zones) > 4*nedges {
			// Splitting would copy the edges into most sub cells (margins larger than the
			// cell): a long list in one cell is cheaper in memory and no slower.
			ix.top = append(ix.top, emit(es))
			continue
		}
		ix.nsubs++
		cx, cy := cellCenter(ix.minX, ix.cellW, i), cellCenter(ix.minY, ix.cellH, j)
		sub := make([][]bentry, n*n)
		for _, b := range es {
			if b.flags&entryFull != 0 {
				for k := range sub {
					sub[k] = append(sub[k], bentry{zone: b.zone, flags: entryFull})
				}
				continue
			}
			z := &zones[b.zone]
			pairs = pairs[:0]
			for _, e := range b.edges {
				ax, ay, bx, by := ix.edge(e)
				si0, si1 := s.colRange(min(ax, bx)-z.bufX, max(ax, bx)+z.bufX)
				sj0, sj1 := s.rowRange(min(ay, by)-z.bufY, max(ay, by)+z.bufY)
				for sj := sj0; sj <= sj1; sj++ {
					for si := si0; si <= si1; si++ {
						pairs = append(pairs, uint64(sj*n+si)<<32|uint64(e))
					}
				}
			}
			groupPairs(pairs, func(c int, es []int32) {
				sub[c] = append(sub[c], bentry{zone: b.zone, edges: es})
			})
			// Reference points of the sub cells: step vertically from the cell's reference
			// point to each sub row's centre line, then scan the row (crossings of the
			// horizontal line, half-open in y as in the top-level scan).
			for sj := range n {
				var in0 bool
				py := cellCenter(s.minY, s.cellH, sj)
				in0, xs = ix.scanRow(b.edges, cx, cy, py, b.flags&entryRefIn != 0, xs[:0])
				for si := range n {
					if !rowInside(xs, cx, cellCenter(s.minX, s.cellW, si), in0) {
						continue
					}
					sc := &sub[sj*n+si]
					if m := len(*sc); m > 0 && (*sc)[m-1].zone == b.zone {
						(*sc)[m-1].flags |= entryRefIn
					} else {
						*sc = append(*sc, bentry{zone: b.zone, flags: entryFull})
					}
				}
			}
		}
		if n*n <= 64 {
			var occ uint64
			first := len(ix.subCells)
			for k, ses := range sub {
				if len(ses) > 0 {
					occ |= 1 << k
					ix.subCells = append(ix.subCells, ix.leafOf(emit(ses), ses, zones, &s, k%n, k/n, &xs))
				}
			}
			ix.top = append(ix.top, entry{zone: int32(uint32(occ)), flags: cellSub | cellSubBits | int32(n)<<subShift,
				a: int32(first), b: int32(uint32(occ >> 32))})
			continue
		}
		// Sub cell at position a+k is subCells[b + its rank]: the ranks count the leaves of
		// larger subgrids only, and subCells holds those of small ones too.
		ix.top = append(ix.top, entry{zone: -1, flags: cellSub | int32(n)<<subShift, a: int32(nsubPos),
			b: int32(len(ix.subCells) - nlarge)})
		for k, ses := range sub {
			if len(ses) > 0 {
				ix.subOccupied.set(nsubPos)
				ix.subCells = append(ix.subCells, ix.leafOf(emit(ses), ses, zones, &s, k%n, k/n, &xs))
				nlarge++
			}
			nsubPos++
		}
	}
	ix.occupied.finish()
	ix.subOccupied.finish()
	return ix
}

// scanRow steps from the reference point (cx, cy), inside or not as refIn says, vertically to
// (cx, py) across edges, and returns whether that point is inside, with xs extended by the x
// of every crossing of edges with the line y = py (half-open in y, as in the top-level scan):
// rowInside then tells any point of the line.
func (ix *index) scanRow(edges []int32, cx, cy, py float64, refIn bool, xs []float64) (bool, []float64) {
	in := refIn
	for _, e := range edges {
		ax, ay, bx, by := ix.edge(e)
		if crosses(cx, cy, cx, py, ax, ay, bx, by) {
			in = !in
		}
		if (ay > py) != (by > py) {
			xs = append(xs, ax+(py-ay)*(bx-ax)/(by-ay))
		}
	}
	return in, xs
}

// rowInside reports whether (px, py) is inside, given that (cx, py) is (in0) and xs are the
// crossings of the line y = py (see scanRow).
func rowInside(xs []float64, cx, px float64, in0 bool) bool {
	in := in0
	for _, x := range xs {
		if (x > cx) != (x > px) {
			in = !in
		}
	}
	return in
}

// leafOf returns the stored form of sub cell (si, sj) of s, whose entries es encode to en: a
// single zone with edges also gets its parts classified (entryParts). A part is near when
// the bounding box of one of the edges, grown by the margin, overlaps it, by the same
// arithmetic that lookup uses to find a point's part, so a point whose part is not near is
// farther than the margin from every edge (in the zone's box metric, which bounds the
// distance) and no edge crosses the segment from the part's centre to it: the part's centre
// decides. Centres are classified by a row scan from the cell's reference point, as the sub
// cells' own are; they are at least half a part from every edge, so rounding cannot mislead
// the scan.
func (ix *index) leafOf(en entry, es []bentry, zones []izone, s *subgrid, si, sj int, xs *[]float64) leaf {
	lf := leaf{entry: en}
	if len(es) != 1 || len(es[0].edges) == 0 {
		return lf
	}
	b, z, sz := &es[0], &zones[es[0].zone], &ix.subSize[s.n]
	ox, oy := s.cellOrigin(si, sj)
	for _, e := range b.edges {
		ax, ay, bx, by := ix.edge(e)
		i0, i1 := sz.partCol(min(ax, bx)-z.mX, ox), sz.partCol(max(ax, bx)+z.mX, ox)
		j0, j1 := sz.partRow(min(ay, by)-z.mY, oy), sz.partRow(max(ay, by)+z.mY, oy)
		for j := j0; j <= j1; j++ {
			for i := i0; i <= i1; i++ {
				lf.near |= 1 << (j*parts + i)
			}
		}
	}
	if ^lf.near == 0 {
		return lf
	}
	cx, cy := cellCenter(s.minX, s.cellW, si), cellCenter(s.minY, s.cellH, sj)
	for pj := range parts {
		var in0 bool
		in0, *xs = ix.scanRow(b.edges, cx, cy, cellCenter(oy, sz.partH, pj), b.flags&entryRefIn != 0, (*xs)[:0])
		for pi := range parts {
			k := pj*parts + pi
			if lf.near&(1<<k) == 0 && rowInside(*xs, cx, cellCenter(ox, sz.partW, pi), in0) {
				lf.in |= 1 << k
			}
		}
	}
	lf.flags |= entryParts
	return lf
}

// cellOrigin returns the lower left corner of sub cell (si, sj).
func (s *subgrid) cellOrigin(si, sj int) (x0, y0 float64) {
	return cellStart(s.minX, s.cellW, si), cellStart(s.minY, s.cellH, sj)
}

// part returns the index of the part of the leaf with lower left corner (ox, oy) that holds
// (x, y). leafOf finds the parts an edge's box spans with the same partCol and partRow, which
// are monotonic: a point inside the box is in a part the box spans.
func (sz *subSize) part(x, y, ox, oy float64) uint {
	return uint(sz.partRow(y, oy)*parts + sz.partCol(x, ox))
}

// partCol returns the column of the parts of a leaf starting at ox that holds x, clamped.
func (sz *subSize) partCol(x, ox float64) int { return clampCell((x-ox)*sz.partInvW, parts) }

// partRow returns the row of the parts of a leaf starting at oy that holds y, clamped.
func (sz *subSize) partRow(y, oy float64) int { return clampCell((y-oy)*sz.partInvH, parts) }

// compact turns a built entry into its stored form: one run of edges in place, or runs.
func (ix *index) compact(b bentry) entry {
	en := entry{zone: b.zone, flags: b.flags}
	nr := 0
	for k := range b.edges {
		if k == 0 || b.edges[k] != b.edges[k-1]+1 {
			nr++
		}
	}
	switch {
	case nr == 1:
		en.a, en.b = b.edges[0], int32(len(b.edges))
	case nr > 1:
		en.flags |= entryRuns
		en.a = int32(len(ix.runs))
		for k, e := range b.edges {
			if k == 0 || e != b.edges[k-1]+1 {
				ix.runs = append(ix.runs, e, 0)
			}
			ix.runs[len(ix.runs)-1]++
		}
		en.b = int32(len(ix.runs))
	}
	return en
}

// subgrid returns the geometry of an n x n split (1 <= n <= maxSub) of top cell (i, j).
// lookup uses the same function, so reference points agree bit for bit.
func (ix *index) subgrid(i, j, n int) subgrid {
	sz := &ix.subSize[n]
	x0, y0 := ix.cellOrigin(i, j)
	return subgrid{minX: x0, minY: y0, cellW: sz.cellW, cellH: sz.cellH, invW: sz.invW, invH: sz.invH, n: n}
}

// cellOrigin returns the lower left corner of top cell (i, j), the origin of its subgrid.
func (ix *index) cellOrigin(i, j int) (x0, y0 float64) {
	return cellStart(ix.minX, ix.cellW, i), cellStart(ix.minY, ix.cellH, j)
}

// slackR returns a distance a little above m: a segment whose scaled end points are both
// beyond slackR(m) on one side of the query point, in x or in y, is farther than m by
// segDist2's own arithmetic too (its rounding errors are far below the slack, for any
// coordinates on Earth), so run may skip it without changing a result.
func slackR(m float64) float64 { return m*(1+1e-9) + 1e-6 }

// pairBudget bounds the (cell, edge) pairs of a top grid: a few per edge, plus slack for
// small bundles.
func pairBudget(edges int) int { return 16*edges + 1<<20 }

// pairs counts the (top cell, edge) pairs the grid would hold.
func (ix *index) pairs(zones []izone, edges []int32) int {
	n := 0
	for zi := range zones {
		z := &zones[zi]
		for _, e := range edges[z.edge0:z.edge1] {
			ax, ay, bx, by := ix.edge(e)
			i0, i1 := ix.colRange(min(ax, bx)-z.bufX, max(ax, bx)+z.bufX)
			j0, j1 := ix.rowRange(min(ay, by)-z.bufY, max(ay, by)+z.bufY)
			n += (i1 - i0 + 1) * (j1 - j0 + 1)
		}
	}
	return n
}

// subPairs counts the (sub cell, edge) pairs splitting a cell with entries es would make.
func (ix *index) subPairs(s *subgrid, es []bentry, zones []izone) int {
	n := 0
	for _, b := range es {
		z := &zones[b.zone]
		for _, e := range b.edges {
			ax, ay, bx, by := ix.edge(e)
			i0, i1 := s.colRange(min(ax, bx)-z.bufX, max(ax, bx)+z.bufX)
			j0, j1 := s.rowRange(min(ay, by)-z.bufY, max(ay, by)+z.bufY)
			n += (i1 - i0 + 1) * (j1 - j0 + 1)
		}
	}
	return n
}

// groupPairs sorts (cell<<32 | edge) pairs and calls fn once per cell, in cell order, with
// the cell's edges in increasing order, all slices of one allocation.
func groupPairs(pairs []uint64, fn func(cell int, edges []int32)) {
	slices.Sort(pairs)
	arena := make([]int32, len(pairs))
	for i, p := range pairs {
		arena[i] = int32(uint32(p))
	}
	for i := 0; i < len(pairs); {
		j, c := i, pairs[i]>>32
		for j < len(pairs) && pairs[j]>>32 == c {
			j++
		}
		fn(int(c), arena[i:j:j])
		i = j
	}
}

// colRange returns the top columns [i0, i1] overlapping [x0, x1], clamped to the grid.
func (ix *index) colRange(x0, x1 float64) (int, int) {
	return clampCell((x0-ix.minX)*ix.invW, ix.nx), clampCell((x1-ix.minX)*ix.invW, ix.nx)
}

func (ix *index) rowRange(y0, y1 float64) (int, int) {
	return clampCell((y0-ix.minY)*ix.invH, ix.ny), clampCell((y1-ix.minY)*ix.invH, ix.ny)
}

func (s *subgrid) colRange(x0, x1 float64) (int, int) {
	return clampCell((x0-s.minX)*s.invW, s.n), clampCell((x1-s.minX)*s.invW, s.n)
}

func (s *subgrid) rowRange(y0, y1 float64) (int, int) {
	return clampCell((y0-s.minY)*s.invH, s.n), clampCell((y1-s.minY)*s.invH, s.n)
}

func clampCell(f float64, n int) int {
	if !(f > 0) { // also NaN
		return 0
	}
	if f >= float64(n) {
		return n - 1
	}
	return int(f)
}

// lookup returns the first zone, in precedence order, whose buffered boundary contains
// (x=lon, y=lat): inside the polygon, or closer than its margin (closer than margin +
// hysteresis for zone sticky). Zones whose window bits are all clear in active are skipped.
// It returns -1 when no zone applies. lookup does not allocate.
func (ix *index) lookup(x, y float64, sticky int32, active uint64) int32 {
	fi, fj := (x-ix.minX)*ix.invW, (y-ix.minY)*ix.invH
	if !(fi >= 0 && fj >= 0) || fi >= float64(ix.nx) || fj >= float64(ix.ny) {
		return -1
	}
	i, j := int(fi), int(fj)
	r, ok := ix.occupied.get(j*ix.nx + i)
	if !ok {
		return -1
	}
	cell := &ix.top[r]
	var cx, cy float64
	if cell.flags&cellSub == 0 {
		cx, cy = cellCenter(ix.minX, ix.cellW, i), cellCenter(ix.minY, ix.cellH, j)
	} else {
		// The subgrid of ix.subgrid, in scalars (a subgrid value would go through memory).
		n := int(cell.flags >> subShift)
		sz := &ix.subSize[n]
		sx, sy := ix.cellOrigin(i, j)
		si := min(max(int((x-sx)*sz.invW), 0), n-1)
		sj := min(max(int((y-sy)*sz.invH), 0), n-1)
		if cell.flags&cellSubBits != 0 {
			occ := uint64(uint32(cell.zone)) | uint64(uint32(cell.b))<<32
			bit := uint64(1) << uint(sj*n+si)
			if occ&bit == 0 {
				return -1
			}
			r = int(cell.a) + bits.OnesCount64(occ&(bit-1))
		} else if r, ok = ix.subOccupied.get(int(cell.a) + sj*n + si); !ok {
			return -1
		} else {
			r += int(cell.b)
		}
		lf := &ix.subCells[r]
		if lf.flags&entryParts != 0 && lf.zone != sticky {
			if k := sz.part(x, y, cellStart(sx, sz.cellW, si), cellStart(sy, sz.cellH, sj)); lf.near&(1<<k) == 0 {
				if lf.in&(1<<k) != 0 && ix.inForce(lf.zone, active) {
					return lf.zone
				}
				return -1
			}
		}
		cell = &lf.entry
		cx, cy = cellCenter(sx, sz.cellW, si), cellCenter(sy, sz.cellH, sj)
	}
	kx := 0.0 // metres per degree of longitude at y, computed by hit when first needed
	if cell.flags&cellList == 0 {
		if ix.hit(cell, x, y, cx, cy, sticky, active, &kx) {
			return cell.zone
		}
		return -1
	}
	es := ix.entries[cell.a : cell.a+cell.b]
	for k := range es {
		if ix.hit(&es[k], x, y, cx, cy, sticky, active, &kx) {
			return es[k].zone
		}
	}
	return -1
}

// inForce reports whether zone z applies with the windows in active open.
func (ix *index) inForce(z int32, active uint64) bool {
	m := ix.mask[z]
	return m == 0 || m&active != 0
}

// hit reports whether (x, y) is inside e's zone or within its margin (buffer if sticky),
// with (cx, cy) the cell's reference point. *kx is mPerDeg*cos(y), or 0 until a zone with
// a margin needs it (then hit computes it, once per lookup).
func (ix *index) hit(e *entry, x, y, cx, cy float64, sticky int32, active uint64, kx *float64) bool {
	z := e.zone
	if !ix.inForce(z, active) {
		return false
	}
	if e.flags&entryFull != 0 {
		return true
	}
	lim, limR := ix.margin2[z], ix.marginR[z]
	if z == sticky {
		lim, limR = ix.buffer2[z], ix.bufferR[z]
	}
	if lim > 0 && *kx == 0 {
		*kx = mPerDeg * math.Cos(y*deg2rad)
	}
	in := e.flags&entryRefIn != 0
	if e.flags&entryRuns == 0 {
		if ix.run(e.a, e.b, x, y, cx, cy, *kx, lim, limR, &in) {
			return true
		}
	} else {
		runs := ix.runs[e.a:e.b]
		for r := 0; r+1 < len(runs); r += 2 {
			if ix.run(runs[r], runs[r+1], x, y, cx, cy, *kx, lim, limR, &in) {
				return true
			}
		}
	}
	return in
}

// run tests the n edges starting at vertex v0 against point (x, y): it flips *in for every
// edge the segment from the reference point (cx, cy) crosses, and reports true as soon as
// an edge is closer than sqrt(lim2) metres (kx: metres per degree of longitude). Edges
// entirely beyond limR (slackR of sqrt(lim2)) in x or y skip the distance computation.
func (ix *index) run(v0, n int32, x, y, cx, cy, kx, lim2, limR float64, in *bool) bool {
	// Work in vertex units: scaling every operand by a power of two scales every rounded
	// result by the same power (coordinates on Earth come nowhere near underflow or
	// overflow), so each orient has the sign, and each distance the value, it has in
	// degrees, as at build time; and a vertex needs only its int-to-float.
	const s = vertexScale
	x, y, cx, cy, kx = x*s, y*s, cx*s, cy*s, kx/s
	const ky = mPerDeg / s
	p := ix.pts[2*v0 : 2*(v0+n)+2]
	ax, ay := float64(p[0]), float64(p[1])
	if lim2 == 0 {
		// Parity only: the same tests as crosses, without branches (a boundary near the
		// query makes their outcomes unpredictable), and orient(c, q, v) once per vertex.
		sa := orient(cx, cy, x, y, ax, ay) > 0
		odd := false
		for k := 2; k+1 < len(p); k += 2 {
			bx, by := float64(p[k]), float64(p[k+1])
			sb := orient(cx, cy, x, y, bx, by) > 0
			straddles := (orient(ax, ay, bx, by, cx, cy) > 0) != (orient(ax, ay, bx, by, x, y) > 0)
			odd = odd != (sa != sb && straddles)
			ax, ay, sa = bx, by, sb
		}
		*in = *in != odd
		return false
	}
	for k := 2; k+1 < len(p); k += 2 {
		bx, by := float64(p[k]), float64(p[k+1])
		if crosses(cx, cy, x, y, ax, ay, bx, by) {
			*in = !*in
		}
		sx, sy, ex, ey := (ax-x)*kx, (ay-y)*ky, (bx-x)*kx, (by-y)*ky
		ax, ay = bx, by
		if (sx > limR && ex > limR) || (sx < -limR && ex < -limR) ||
			(sy > limR && ey > limR) || (sy < -limR && ey < -limR) {
			continue
		}
		if segDist2(sx, sy, ex, ey) < lim2 {
			return true
		}
	}
	return false
}

// Vertices are stored as int32 multiples of 1/vertexScale degree (2^-23, about 1.3 cm): half
// the memory of float64 pairs, and vertices are most of what a decision on a large bundle
// reads. The conversion back is exact (int32 to float64, then a power-of-two scale), so the
// build and every query compute on the same snapped polygon; snapping moves a vertex by at
// most half a unit, 6.6 mm. 180 degrees is 1.5e9 units, within int32.
const vertexScale = 1 << 23

func toUnits(deg float64) int32 { return int32(math.Round(deg * vertexScale)) }

func fromUnits(u int32) float64 { return float64(u) * (1.0 / vertexScale) }

// edge returns the end points of edge e, which joins vertex e to vertex e+1.
func (ix *index) edge(e int32) (ax, ay, bx, by float64) {
	p := ix.pts[2*e : 2*e+4]
	return fromUnits(p[0]), fromUnits(p[1]), fromUnits(p[2]), fromUnits(p[3])
}

// memBytes estimates the heap the index holds.
func (ix *index) memBytes() int {
	return 16*len(ix.occupied.w) + 16*len(ix.top) + 16*len(ix.subOccupied.w) + 32*len(ix.subCells) + 16*len(ix.entries) +
		4*len(ix.runs) + 4*len(ix.pts) + 40*len(ix.margin2)
}
