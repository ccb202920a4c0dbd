package policy

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Distances use a local equirectangular approximation on a sphere of the mean Earth radius:
// around a query point at latitude phi, one degree of latitude is mPerDeg metres and one
// degree of longitude is mPerDeg*cos(phi) metres. Over the few kilometres a margin spans the
// error against the geodesic distance is below 0.5 % (ellipsoid flattening dominates), which
// margins must absorb: set them 1 % larger than the legal minimum.
const (
	earthRadiusM = 6371008.8 // IUGG mean Earth radius, metres
	mPerDeg      = earthRadiusM * math.Pi / 180
	deg2rad      = math.Pi / 180
)

// orient is twice the signed area of (a, b, c): > 0 when c is left of a->b. The conversions
// round each product on its own: without them Go may fuse a multiply-subtract (it does on
// arm64), differently at different call sites, and the index relies on a query computing
// the same signs the build did.
func orient(ax, ay, bx, by, cx, cy float64) float64 {
	return float64((bx-ax)*(cy-ay)) - float64((by-ay)*(cx-ax))
}

// crosses reports whether segment p->q crosses segment a->b. Points exactly on a line count
// as right of it (orient <= 0), consistently, which is a symbolic perturbation: parity counts
// stay correct when a vertex lies exactly on p->q.
func crosses(px, py, qx, qy, ax, ay, bx, by float64) bool {
	if (orient(px, py, qx, qy, ax, ay) > 0) == (orient(px, py, qx, qy, bx, by) > 0) {
		return false
	}
	return (orient(ax, ay, bx, by, px, py) > 0) != (orient(ax, ay, bx, by, qx, qy) > 0)
}

// segDist2 is the squared distance from the origin to segment a->b (already scaled to metres).
func segDist2(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = -(ax*dx + ay*dy) / l2
		t = min(max(t, 0), 1)
	}
	x, y := ax+t*dx, ay+t*dy
	return x*x + y*y
}

// checkRing validates one ring and returns it without consecutive duplicate positions.
// strict also rejects self-intersections.
func checkRing(r Ring, strict bool) (Ring, error) {
	if len(r) == 0 {
		return nil, fmt.Errorf("%w: no positions (a ring lists at least 3 distinct positions, then the first again)", ErrDegenerateRing)
	}
	for i, p := range r {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) ||
			p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
			return nil, fmt.Errorf("%w: position %d is [%v, %v]", ErrBadCoordinate, i, p[0], p[1])
		}
	}
	if r[0] != r[len(r)-1] {
		return nil, fmt.Errorf("%w: last position %v differs from first %v (a ring ends by repeating its first position)", ErrUnclosedRing, r[len(r)-1], r[0])
	}
	out := make(Ring, 0, len(r))
	for _, p := range r {
		if len(out) == 0 || out[len(out)-1] != p {
			out = append(out, p)
		}
	}
	if len(out) < 4 {
		return nil, fmt.Errorf("%w: %d positions, %d distinct: a ring encloses an area only with at least 3 distinct positions, then the first again",
			ErrDegenerateRing, len(r), max(len(out)-1, 1))
	}
	for i := 0; i+1 < len(out); i++ {
		if d := math.Abs(out[i+1][0] - out[i][0]); d > 180 {
			return nil, fmt.Errorf("%w: edge %d from %v to %v spans %v degrees of longitude, so it would be read the long way round the globe: split the polygon at 180 degrees into the parts east and west of it, as a MultiPolygon (RFC 7946 section 3.1.9)",
				ErrAntimeridian, i, out[i], out[i+1], d)
		}
	}
	if !strict {
		return out, nil
	}
	if i, j, ok := selfIntersection(out); ok {
		return nil, fmt.Errorf("%w: edges %d and %d meet near [%v, %v]", ErrSelfIntersection, i, j, out[i][0], out[i][1])
	}
	return out, nil
}

// segsTouch reports whether closed segments a->b and c->d share any point.
func segsTouch(a, b, c, d [2]float64) bool {
	o1 := orient(a[0], a[1], b[0], b[1], c[0], c[1])
	o2 := orient(a[0], a[1], b[0], b[1], d[0], d[1])
	o3 := orient(c[0], c[1], d[0], d[1], a[0], a[1])
	o4 := orient(c[0], c[1], d[0], d[1], b[0], b[1])
	if ((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)) {
		return true
	}
	on := func(p, q, r [2]float64) bool { // r on segment p-q, given collinear
		return min(p[0], q[0]) <= r[0] && r[0] <= max(p[0], q[0]) && min(p[1], q[1]) <= r[1] && r[1] <= max(p[1], q[1])
	}
	return (o1 == 0 && on(a, b, c)) || (o2 == 0 && on(a, b, d)) || (o3 == 0 && on(c, d, a)) || (o4 == 0 && on(c, d, b))
}

// selfIntersection finds two non-adjacent edges of a closed ring (no consecutive duplicates)
// that touch, with a sweep over x: O(n log n) plus the pairs whose x-ranges overlap. Adjacent
// edges are checked for folding back onto each other.
func selfIntersection(r Ring) (int, int, bool) {
	n := len(r) - 1 // edges
	// Edges in order of their west ends (ties by index, so the edges reported do not depend
	// on the sort), each with its key beside it: sort.Slice of indices through a closure was
	// a tenth of compiling the 1 M-vertex set.
	type west struct {
		x float64
		e int32
	}
	order := make([]west, n)
	for i := range order {
		order[i] = west{min(r[i][0], r[i+1][0]), int32(i)}
	}
	slices.SortFunc(order, func(a, b west) int {
		if c := cmp.Compare(a.x, b.x); c != 0 {
			return c
		}
		return cmp.Compare(a.e, b.e)
	})
	maxx := func(i int32) float64 { return max(r[i][0], r[i+1][0]) }
	active := make([]int32, 0, 64)
	for _, w := range order {
		x0, e := w.x, w.e
		k := 0
		for _, a := range active {
			if maxx(a) >= x0 {
				active[k] = a
				k++
			}
		}
		active = active[:k]
		ey0, ey1 := min(r[e][1], r[e+1][1]), max(r[e][1], r[e+1][1])
		for _, a := range active {
			if max(r[a][1], r[a+1][1]) < ey0 || min(r[a][1], r[a+1][1]) > ey1 {
				continue
			}
			i, j := int(min(a, e)), int(max(a, e))
			if j == i+1 || (i == 0 && j == n-1) {
				// Adjacent: they share one vertex; they must not fold back onto each other.
				var p, s, q [2]float64 // p-s-q with s the shared vertex
				if j == i+1 {
					p, s, q = r[i], r[j], r[j+1]
				} else {
					p, s, q = r[n-1], r[0], r[1]
				}
				if orient(p[0], p[1], s[0], s[1], q[0], q[1]) == 0 &&
					(q[0]-s[0])*(p[0]-s[0])+(q[1]-s[1])*(p[1]-s[1]) > 0 {
					return i, j, true
				}
				continue
			}
			if segsTouch(r[i], r[i+1], r[j], r[j+1]) {
				return i, j, true
			}
		}
		active = append(active, e)
	}
	return 0, 0, false
}
