package policy

import (
	"math"
	"math/bits"
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
	occupied     bitRank // bit per top cell (row-major): set unless the cell is empty (small: stays in cache)
	// top holds, per occupied top cell at its rank in occupied, the cell's only zone entry,
	// or a cellList or cellSub header (see entry for what zone, a and b hold in each).
	top []entry
	// subOccupied has a bit per sub cell of every subgrid over 8 x 8, set unless the sub cell
	// is empty: each subgrid's n*n positions follow the previous one's, and its header's a is
	// its first. Subgrids of at most 8 x 8 keep their bits in their header instead.
	subOccupied bitRank
	// subCells holds the occupied leaves of all subgrids, grid by grid in top cell order,
	// each a zone entry or a cellList header, with parts. A subgrid with cellSubBits finds
	// its leaves from its header's a; one without from its header's b plus the rank in
	// subOccupied, which counts the leaves of large subgrids only.
	subCells []leaf
	nsubs    int                 // number of subgrids (statistics for tests)
	entries  []entry             // zone entries of cells with several zones: a cellList header's are entries[a : a+b]
	runs     []int32             // (first edge, edge count) pairs: an entryRuns entry's are runs[a:b]
	pts      []int32             // lon, lat interleaved in vertex units, rings stored closed one after another
	mask     []uint64            // per zone: window bits; 0 = always in force (small: stays in cache)
	lims     []zoneLim           // per zone: margin and buffer, for edge tests
	subSize  [maxSub + 1]subSize // indexed by a subgrid's side n; [0] is unused
}

// zoneLim is the distances a lookup tests a zone's edges against, side by side so that they
// take one cache line, not one per field (they were four arrays); 32 bytes, two to a line in
// an array Go aligns to 64 bytes, as it aligns every allocation of 576 bytes and more.
type zoneLim struct {
	margin2 float64 // margin^2, metres^2
	marginR float64 // margin plus rounding slack, metres (see run)
	buffer2 float64 // (margin+hysteresis)^2, metres^2
	bufferR float64 // margin+hysteresis plus rounding slack, metres
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
// the top cell at query time (index.cellOrigin) and its cell size comes from index.subSize
// (same expressions, so the same bits), so only the cell's header is stored; the build
// uses the whole value (index.subgrid).
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

// entry is one zone in one leaf cell (a zone entry), or the header of a top or leaf cell
// holding several zones or a subgrid. Its fields mean different things in each, told apart
// by flags (a zone entry has no cell* bit set):
//
//	kind                       zone                  a                       b
//	zone entry                 zone id               first edge              edge count
//	zone entry with entryRuns  zone id               start in runs           end in runs
//	cellList header            -1                    start in entries        entry count
//	cellSub|cellSubBits header occupancy bits 0-31   subCells index of the   occupancy bits 32-63
//	                                                 first occupied sub cell
//	cellSub header, n*n > 64   -1                    position of sub cell 0  offset: the leaf at position
//	                                                 in subOccupied          p is subCells[b + rank of p]
//
// A zone entry's edges are runs of consecutive ring edges (edge v joins vertex v to v+1):
// the run a, a+1, ..., a+b-1, or, with entryRuns, the runs listed in runs[a:b] as (first,
// count) pairs. Most cells see one stretch of a boundary, so the common case reads the
// vertices straight after the entry. flags holds the entry* and cell* bits, and, in a
// cellSub header, the subgrid's side n from bit subShift up. Only top cells have cellSub
// headers; a cell with one zone stores its zone entry in place of a header. The kinds share
// four int32 fields rather than widen the entry: lookup reads one or more per query.
type entry struct {
	zone  int32 // zone id; in a header -1, or low occupancy bits (see the table)
	flags int32 // entry* and cell* bits; n<<subShift in a cellSub header
	a, b  int32 // see the table
}

// cellCenter returns the centre of cell i of a row or column starting at min, and cellStart
// its lower end. The explicit conversions round each product on its own: Go may otherwise
// fuse a multiply-add (it does on arm64) differently at different call sites, and the build
// and every query must compute the same bits.
func cellCenter(min, size float64, i int) float64 { return min + float64((float64(i)+0.5)*size) }

func cellStart(min, size float64, i int) float64 { return min + float64(float64(i)*size) }

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

// cellOrigin returns the lower left corner of top cell (i, j), the origin of its subgrid.
func (ix *index) cellOrigin(i, j int) (x0, y0 float64) {
	return cellStart(ix.minX, ix.cellW, i), cellStart(ix.minY, ix.cellH, j)
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
	zl := &ix.lims[z]
	lim, limR := zl.margin2, zl.marginR
	if z == sticky {
		lim, limR = zl.buffer2, zl.bufferR
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
		4*len(ix.runs) + 4*len(ix.pts) + 40*len(ix.mask)
}
