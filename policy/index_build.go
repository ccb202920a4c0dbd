package policy

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

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

// izone is a zone's geometry and buffers for index building. The caller sets polys,
// marginM, bufM and mask; buildIndex (addVertices) sets the rest, which the later build
// steps and setDenyClear read.
type izone struct {
	polys   []Polygon
	marginM float64 // margin, metres
	bufM    float64 // buffer: margin + hysteresis (a zone's own margin for GCJ-02 regions), metres
	mask    uint64  // window bits; 0 = always in force

	minX, minY   float64 // box of the snapped vertices, degrees
	maxX, maxY   float64
	bufX, bufY   float64 // buffer in degrees (bufX conservative for the zone's latitudes)
	mX, mY       float64 // margin in degrees, the same way
	edge0, edge1 int     // the zone's edges are builder.edges[edge0:edge1]
}

// bentry is an entry under construction: zone's edges near the cell, in increasing order
// (compact finds their runs), and in flags entryRefIn (the cell's centre is inside the
// zone) or entryFull (no edges: the whole buffered cell is inside), never a cell* bit.
type bentry struct {
	zone  int32
	flags int32
	edges []int32
}

// buildIndex compiles zones (already validated, in precedence order) and fills in each
// zone's fields that izone lists as set by buildIndex. It runs four steps, each handing the
// next what it built:
//
//  1. addVertices: the snapped vertices (ix.pts), the flat edge list, each zone's box and
//     buffers in degrees and the per-zone arrays; hands placeGrid the box of all buffered zones.
//  2. placeGrid: the top grid's origin, cell size and shape, and the leaf sizes of every
//     subgrid shape; hands bucket the grid.
//  3. bucket: per top cell, the entries under construction of the zones that come near it;
//     hands them to store.
//  4. store: the stored form of every occupied top cell, splitting dense cells into subgrids
//     (splitCell, then storeSubgrid), into ix.top, ix.entries, ix.runs and ix.subCells.
func buildIndex(zones []izone) *index {
	b := &builder{ix: &index{}, zones: zones}
	minX, minY, maxX, maxY := b.addVertices()
	if len(zones) == 0 {
		return b.ix
	}
	b.placeGrid(minX, minY, maxX, maxY)
	b.store(b.bucket())
	return b.ix
}

// builder is the state buildIndex's steps share: the index being filled, the zones, the
// flat edge list, and scratch slices reused from zone to zone and from cell to cell.
type builder struct {
	ix    *index
	zones []izone
	// edges lists every ring edge (edge e joins vertex e to vertex e+1 of ix.pts; the last
	// vertex of a ring starts none), zone by zone: zone z's are edges[z.edge0:z.edge1].
	edges []int32

	pairs []uint64    // scratch: (cell<<32 | edge) pairs for groupPairs
	count []int32     // scratch for groupPairs
	rowX  [][]float64 // scratch: per row of a zone's box, the x where its edges cross the row's centre line
	xs    []float64   // scratch: the crossings of one line, from scanRow

	// Subgrids over 8 x 8 (those with a rank header) so far: the subOccupied positions they
	// used, empty sub cells included, and their leaves (occupied sub cells) in subCells.
	nsubPos, nlarge int
}

// addVertices snaps every zone's vertices into ix.pts (rings stored closed, one after
// another), lists their edges in b.edges, sets each zone's box, buffers and margins in
// degrees and edge range, and appends each zone's mask and zoneLim. It returns the box of
// all zones grown by their buffers, for placeGrid.
func (b *builder) addVertices() (minX, minY, maxX, maxY float64) {
	ix, zones := b.ix, b.zones
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
		ix.mask = append(ix.mask, z.mask)
		ix.lims = append(ix.lims, zoneLim{margin2: z.marginM * z.marginM, marginR: slackR(z.marginM),
			buffer2: z.bufM * z.bufM, bufferR: slackR(z.bufM)})
		gMinX, gMinY = min(gMinX, z.minX-z.bufX), min(gMinY, z.minY-z.bufY)
		gMaxX, gMaxY = max(gMaxX, z.maxX+z.bufX), max(gMaxY, z.maxY+z.bufY)
	}
	b.edges = edges
	return gMinX, gMinY, gMaxX, gMaxY
}

// placeGrid lays the top grid over the box (gMinX, gMinY)-(gMaxX, gMaxY) from addVertices:
// it sets ix's origin, cell size and nx x ny shape, and ix.subSize for every subgrid side,
// for bucket and store.
func (b *builder) placeGrid(gMinX, gMinY, gMaxX, gMaxY float64) {
	ix := b.ix
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
	cells := min(max(len(b.edges)/topEdgesPerCell, minTopCells), maxTopCells)
	for {
		ix.nx = max(1, int(math.Sqrt(float64(cells)*w/h)))
		ix.ny = max(1, cells/ix.nx)
		ix.minX, ix.minY = gMinX, gMinY
		ix.cellW, ix.cellH = w/float64(ix.nx), h/float64(ix.ny)
		ix.invW, ix.invH = 1/ix.cellW, 1/ix.cellH
		if cells <= minTopCells || ix.pairs(b.zones, b.edges) <= pairBudget(len(b.edges)) {
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
}

// bucket returns, per top cell of the grid placeGrid laid (row-major), the entries of the
// zones that come within their buffer of the cell, in precedence order: each zone's edges
// near the cell (bucketEdges), with entryRefIn if the cell's centre is inside the zone, or,
// for a cell with no edges of the zone and its centre inside, an entryFull entry
// (bucketRefPoints). store turns them into the stored form.
func (b *builder) bucket() [][]bentry {
	grid := make([][]bentry, b.ix.nx*b.ix.ny)
	for zi := range b.zones {
		b.bucketEdges(grid, zi)
		b.bucketRefPoints(grid, zi)
	}
	return grid
}

// bucketEdges appends to each top cell that zone zi's edges come within its buffer of (by
// bounding box) an entry with those edges, in increasing order.
func (b *builder) bucketEdges(grid [][]bentry, zi int) {
	ix, z, zid := b.ix, &b.zones[zi], int32(zi)
	b.pairs = b.pairs[:0]
	for _, e := range b.edges[z.edge0:z.edge1] {
		ax, ay, bx, by := ix.edge(e)
		i0, i1 := ix.colRange(min(ax, bx)-z.bufX, max(ax, bx)+z.bufX)
		j0, j1 := ix.rowRange(min(ay, by)-z.bufY, max(ay, by)+z.bufY)
		for j := j0; j <= j1; j++ {
			for i := i0; i <= i1; i++ {
				b.pairs = append(b.pairs, uint64(j*ix.nx+i)<<32|uint64(e))
			}
		}
	}
	groupPairs(b.pairs, &b.count, func(c int, es []int32) {
		grid[c] = append(grid[c], bentry{zone: zid, edges: es})
	})
}

// bucketRefPoints marks the top cells whose centre is inside zone zi, after bucketEdges: the
// cell's entry for the zone gets entryRefIn, or, if the cell has none (no edge of the zone
// near it), a new entryFull entry. It scans each row of the zone's box at the cell centres'
// latitude.
func (b *builder) bucketRefPoints(grid [][]bentry, zi int) {
	ix, z, zid := b.ix, &b.zones[zi], int32(zi)
	i0, i1 := ix.colRange(z.minX, z.maxX)
	j0, j1 := ix.rowRange(z.minY, z.maxY)
	if n := j1 - j0 + 1; cap(b.rowX) < n {
		b.rowX = make([][]float64, n)
	}
	rowX := b.rowX[:j1-j0+1]
	b.rowX = rowX
	for k := range rowX {
		rowX[k] = rowX[k][:0]
	}
	for _, e := range b.edges[z.edge0:z.edge1] {
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

// store turns the cells bucket built into the index's stored form: it sets ix.occupied for
// every non-empty top cell and appends to ix.top, in cell order, the cell's entry or header
// (see entry). A cell listing more than denseCell edges is split into a subgrid (splitCell,
// storeSubgrid) unless that would copy most edges into most sub cells.
func (b *builder) store(grid [][]bentry) {
	ix := b.ix
	nent := 0
	for _, es := range grid {
		nent += len(es)
	}
	ix.entries = make([]entry, 0, nent+nent/2)
	// First the side n of every split cell's subgrid (0: not split), so that subCells is
	// allocated once for at most all their leaves instead of grown by copying.
	split := make([]uint8, len(grid))
	leaves := 0
	for c, es := range grid {
		nedges := 0
		for _, be := range es {
			nedges += len(be.edges)
		}
		if nedges <= denseCell {
			continue
		}
		n := min(maxSub, int(math.Ceil(math.Sqrt(float64(nedges)/subEdgesPerCell))))
		s := ix.subgrid(c%ix.nx, c/ix.nx, n)
		if ix.subPairs(&s, es, b.zones) > 4*nedges {
			// Splitting would copy the edges into most sub cells (margins larger than the
			// cell): a long list in one cell is cheaper in memory and no slower.
			continue
		}
		split[c] = uint8(n)
		leaves += n * n
	}
	ix.subCells = make([]leaf, 0, leaves)
	var splits []int // the cells to split, in order
	for c, n := range split {
		if n > 0 {
			splits = append(splits, c)
		}
	}
	// The split cells' leaves are computed on every core, splitChunk cells at a time (they
	// are most of a build and independent of each other), then stored in cell order.
	var res []splitLeaves
	next, resBase := 0, 0 // splits[next] is the next split cell; res[0] is splits[resBase]'s
	for c, es := range grid {
		if len(es) == 0 {
			continue
		}
		ix.occupied.set(c)
		n := int(split[c])
		if n == 0 {
			ix.top = append(ix.top, b.emit(es))
			continue
		}
		if next >= resBase+len(res) {
			resBase = next
			res = b.splitCells(grid, splits[next:min(next+splitChunk, len(splits))], split, res[:0])
		}
		r := &res[next-resBase]
		next++
		s := ix.subgrid(c%ix.nx, c/ix.nx, n)
		ix.nsubs++
		ix.top = append(ix.top, b.storeSubgrid(&s, r.sub, r.parts))
	}
	if cap(ix.subCells) > len(ix.subCells)+len(ix.subCells)/4 {
		ix.subCells = slices.Clone(ix.subCells) // empty sub cells left much unused
	}
	ix.occupied.finish()
	ix.subOccupied.finish()
}

// emit returns the stored form of a cell's entries es: the only entry itself, or a cellList
// header for the entries it appends to ix.entries.
func (b *builder) emit(es []bentry) entry {
	ix := b.ix
	switch len(es) {
	case 0:
		return entry{zone: -1, flags: cellEmpty}
	case 1:
		return ix.compact(es[0])
	}
	start := len(ix.entries)
	for _, be := range es {
		ix.entries = append(ix.entries, ix.compact(be))
	}
	return entry{zone: -1, flags: cellList, a: int32(start), b: int32(len(es))}
}

// splitChunk is how many split cells splitCells computes at once: enough to keep every core
// busy, few enough that their leaves under construction stay a small part of the build's
// memory.
const splitChunk = 1024

// splitLeaves is a split cell's leaves under construction (splitCell) and the classification
// of their parts (leafOf), for storeSubgrid.
type splitLeaves struct {
	sub   [][]bentry
	parts []leaf
}

// splitCells computes splitCell and leafOf for the top cells cells (split[c] is cell c's
// subgrid side) on every core, each worker with scratch of its own (they only read b.ix and
// b.zones), and returns them in the order of cells, appended to out.
func (b *builder) splitCells(grid [][]bentry, cells []int, split []uint8, out []splitLeaves) []splitLeaves {
	ix := b.ix
	out = append(out, make([]splitLeaves, len(cells))...)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(cells)) {
		wg.Go(func() {
			w := &builder{ix: ix, zones: b.zones, edges: b.edges}
			for k := int(next.Add(1) - 1); k < len(cells); k = int(next.Add(1) - 1) {
				c := cells[k]
				i, j, n := c%ix.nx, c/ix.nx, int(split[c])
				s := ix.subgrid(i, j, n)
				r := &out[len(out)-len(cells)+k]
				r.sub = w.splitCell(&s, i, j, grid[c])
				r.parts = make([]leaf, n*n)
				for q, ses := range r.sub {
					if len(ses) > 0 {
						r.parts[q] = ix.leafOf(ses, b.zones, &s, q%n, q/n, &w.xs)
					}
				}
			}
		})
	}
	wg.Wait()
	return out
}

// splitCell returns, per leaf of s (the n x n split of top cell (i, j), row-major), the
// entries of the zones among es (the top cell's, from bucket) that come near the leaf, as
// bucket does for top cells: a full zone stays full in every leaf; a zone's edges go to the
// leaves their buffered boxes touch, and a leaf whose centre is inside gets entryRefIn (or a
// new entryFull entry). storeSubgrid stores them.
func (b *builder) splitCell(s *subgrid, i, j int, es []bentry) [][]bentry {
	ix, n := b.ix, s.n
	cx, cy := cellCenter(ix.minX, ix.cellW, i), cellCenter(ix.minY, ix.cellH, j)
	sub := make([][]bentry, n*n)
	for _, be := range es {
		if be.flags&entryFull != 0 {
			for k := range sub {
				sub[k] = append(sub[k], bentry{zone: be.zone, flags: entryFull})
			}
			continue
		}
		z := &b.zones[be.zone]
		b.pairs = b.pairs[:0]
		for _, e := range be.edges {
			ax, ay, bx, by := ix.edge(e)
			si0, si1 := s.colRange(min(ax, bx)-z.bufX, max(ax, bx)+z.bufX)
			sj0, sj1 := s.rowRange(min(ay, by)-z.bufY, max(ay, by)+z.bufY)
			for sj := sj0; sj <= sj1; sj++ {
				for si := si0; si <= si1; si++ {
					b.pairs = append(b.pairs, uint64(sj*n+si)<<32|uint64(e))
				}
			}
		}
		groupPairs(b.pairs, &b.count, func(c int, es []int32) {
			sub[c] = append(sub[c], bentry{zone: be.zone, edges: es})
		})
		// Reference points of the sub cells: step vertically from the cell's reference
		// point to each sub row's centre line, then scan the row (crossings of the
		// horizontal line, half-open in y as in the top-level scan).
		for sj := range n {
			var in0 bool
			py := cellCenter(s.minY, s.cellH, sj)
			in0, b.xs = ix.scanRow(be.edges, cx, cy, py, be.flags&entryRefIn != 0, b.xs[:0])
			for si := range n {
				if !rowInside(b.xs, cx, cellCenter(s.minX, s.cellW, si), in0) {
					continue
				}
				sc := &sub[sj*n+si]
				if m := len(*sc); m > 0 && (*sc)[m-1].zone == be.zone {
					(*sc)[m-1].flags |= entryRefIn
				} else {
					*sc = append(*sc, bentry{zone: be.zone, flags: entryFull})
				}
			}
		}
	}
	return sub
}

// storeSubgrid appends the occupied leaves of sub (from splitCell, row-major over s) to
// ix.subCells, with their parts as leafOf classified them (parts, row-major), and returns
// the top cell's cellSub header:
// with the occupancy bits in the header itself (cellSubBits) when n x n <= 64, else with
// the occupancy in ix.subOccupied (see entry).
func (b *builder) storeSubgrid(s *subgrid, sub [][]bentry, parts []leaf) entry {
	ix, n := b.ix, s.n
	if n*n <= 64 {
		var occ uint64
		first := len(ix.subCells)
		for k, ses := range sub {
			if len(ses) > 0 {
				occ |= 1 << k
				ix.subCells = append(ix.subCells, parts[k].with(b.emit(ses)))
			}
		}
		return entry{zone: int32(uint32(occ)), flags: cellSub | cellSubBits | int32(n)<<subShift,
			a: int32(first), b: int32(uint32(occ >> 32))}
	}
	// Sub cell at position a+k is subCells[b + its rank]: the ranks count the leaves of
	// larger subgrids only, and subCells holds those of small ones too.
	header := entry{zone: -1, flags: cellSub | int32(n)<<subShift, a: int32(b.nsubPos),
		b: int32(len(ix.subCells) - b.nlarge)}
	for k, ses := range sub {
		if len(ses) > 0 {
			ix.subOccupied.set(b.nsubPos)
			ix.subCells = append(ix.subCells, parts[k].with(b.emit(ses)))
			b.nlarge++
		}
		b.nsubPos++
	}
	return header
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

// leafOf returns the classification of the parts of sub cell (si, sj) of s, whose entries
// are es (with returns the stored leaf): a single zone with edges gets its parts classified
// (near and in, and entryParts in flags); any other leaf gets none. A part is near when
// the bounding box of one of the edges, grown by the margin, overlaps it, by the same
// arithmetic that lookup uses to find a point's part, so a point whose part is not near is
// farther than the margin from every edge (in the zone's box metric, which bounds the
// distance) and no edge crosses the segment from the part's centre to it: the part's centre
// decides. Centres are classified by a row scan from the cell's reference point, as the sub
// cells' own are; they are at least half a part from every edge, so rounding cannot mislead
// the scan.
func (ix *index) leafOf(es []bentry, zones []izone, s *subgrid, si, sj int, xs *[]float64) leaf {
	var lf leaf
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

// with returns lf, leafOf's classification of a leaf's parts, with the leaf's stored entry
// en (entryParts added to its flags if lf has it).
func (lf leaf) with(en entry) leaf {
	f := lf.flags
	lf.entry = en
	lf.flags |= f
	return lf
}

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
// lookup computes the same values from index.cellOrigin and index.subSize[n], so reference
// points agree bit for bit.
func (ix *index) subgrid(i, j, n int) subgrid {
	sz := &ix.subSize[n]
	x0, y0 := ix.cellOrigin(i, j)
	return subgrid{minX: x0, minY: y0, cellW: sz.cellW, cellH: sz.cellH, invW: sz.invW, invH: sz.invH, n: n}
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

// groupPairs groups (cell<<32 | edge) pairs, made in increasing order of edge, and calls fn
// once per cell, in cell order, with the cell's edges in increasing order, all slices of one
// allocation. Pairs over a range of cells not much wider than their number (nearly always)
// are grouped by a counting sort, which keeps their order, with *count as scratch; others
// are sorted.
func groupPairs(pairs []uint64, count *[]int32, fn func(cell int, edges []int32)) {
	if len(pairs) == 0 {
		return
	}
	lo, hi := pairs[0]>>32, pairs[0]>>32
	for _, p := range pairs {
		lo, hi = min(lo, p>>32), max(hi, p>>32)
	}
	arena := make([]int32, len(pairs))
	if span := hi - lo + 1; span <= uint64(8*len(pairs)+1024) {
		if uint64(cap(*count)) < 2*span+1 {
			*count = make([]int32, 2*span+1)
		}
		start, next := (*count)[:span+1], (*count)[span+1:2*span+1]
		clear(start) // start[c-lo+1]: pairs in cells before c, once summed
		for _, p := range pairs {
			start[p>>32-lo+1]++
		}
		for k := 1; k < len(start); k++ {
			start[k] += start[k-1]
		}
		copy(next, start)
		for _, p := range pairs {
			c := p>>32 - lo
			arena[next[c]] = int32(uint32(p))
			next[c]++
		}
		for c := range span {
			if i, j := start[c], start[c+1]; j > i {
				fn(int(lo+c), arena[i:j:j])
			}
		}
		return
	}
	slices.Sort(pairs)
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
