package policy

import (
	"fmt"
	"math"
)

// GCJ-02 is the datum Chinese maps publish: WGS-84 shifted by a published, deliberately
// non-linear offset of about 100-700 m. The forward formula below is the widely published
// one (Krasovsky ellipsoid constants, as in googollee/eviltransform and hujiulong/gcoord);
// the operation order follows eviltransform so results agree bit for bit with it.
const (
	gcjA  = 6378245.0              // Krasovsky 1940 semi-major axis, metres
	gcjEE = 0.00669342162296594323 // Krasovsky 1940 first eccentricity squared
)

// The box outside which every public GCJ-02 implementation leaves coordinates unchanged.
// Decide uses the policy's region outline instead; these functions keep the box so that
// they agree with those implementations for any input.
const (
	gcjMinLon, gcjMaxLon = 72.004, 137.8347
	gcjMinLat, gcjMaxLat = 0.8293, 55.8271
)

// inGCJBox reports whether (lat, lon) is inside the box the published formula applies to.
// Box edges count as inside, as in eviltransform.
func inGCJBox(lat, lon float64) bool {
	return lon >= gcjMinLon && lon <= gcjMaxLon && lat >= gcjMinLat && lat <= gcjMaxLat
}

func gcjTransform(x, y float64) (lat, lon float64) {
	xy := x * y
	absX := math.Sqrt(math.Abs(x))
	xPi := x * math.Pi
	yPi := y * math.Pi
	d := 20.0*math.Sin(6.0*xPi) + 20.0*math.Sin(2.0*xPi)
	lat, lon = d, d
	lat += 20.0*math.Sin(yPi) + 40.0*math.Sin(yPi/3.0)
	lon += 20.0*math.Sin(xPi) + 40.0*math.Sin(xPi/3.0)
	lat += 160.0*math.Sin(yPi/12.0) + 320*math.Sin(yPi/30.0)
	lon += 150.0*math.Sin(xPi/12.0) + 300.0*math.Sin(xPi/30.0)
	lat *= 2.0 / 3.0
	lon *= 2.0 / 3.0
	lat += -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*xy + 0.2*absX
	lon += 300.0 + x + 2.0*y + 0.1*x*x + 0.1*xy + 0.1*absX
	return lat, lon
}

// gcjDelta returns the GCJ-02 offset at a WGS-84 point, with no box test.
func gcjDelta(lat, lon float64) (dLat, dLon float64) {
	dLat, dLon = gcjTransform(lon-105.0, lat-35.0)
	radLat := lat / 180.0 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - gcjEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((gcjA * (1 - gcjEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (dLon * 180.0) / (gcjA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dLat, dLon
}

// toGCJ applies the forward formula with no box test. It does not allocate.
func toGCJ(lat, lon float64) (float64, float64) {
	dLat, dLon := gcjDelta(lat, lon)
	return lat + dLat, lon + dLon
}

// gcjInverseTol is the convergence limit of the iterative inverse in degrees: 1e-12 degree
// is about 0.1 micrometre, five orders below the 1e-7 degree the policy promises.
const gcjInverseTol = 1e-12

// gcjInverseMaxIter bounds the iteration. The offset's derivative is below 1e-3 per degree,
// so each step gains about three digits and 3-4 steps suffice; 30 only guards odd inputs.
const gcjInverseMaxIter = 30

// fromGCJ inverts toGCJ by fixed-point iteration, with no box test. It does not allocate.
func fromGCJ(lat, lon float64) (float64, float64) {
	wLat, wLon := lat, lon
	for range gcjInverseMaxIter {
		gLat, gLon := toGCJ(wLat, wLon)
		eLat, eLon := gLat-lat, gLon-lon
		wLat -= eLat
		wLon -= eLon
		if math.Abs(eLat) < gcjInverseTol && math.Abs(eLon) < gcjInverseTol {
			break
		}
	}
	return wLat, wLon
}

// WGS84ToGCJ02 converts a WGS-84 position (degrees) to GCJ-02 with the published formula.
// Outside the formula's box (longitude 72.004-137.8347, latitude 0.8293-55.8271) the position
// is returned unchanged, as every public implementation does. Decide applies the formula only
// inside the policy's region outline, which is tighter than the box. It does not allocate.
func WGS84ToGCJ02(lat, lon float64) (gcjLat, gcjLon float64) {
	if !inGCJBox(lat, lon) {
		return lat, lon
	}
	return toGCJ(lat, lon)
}

// GCJ02ToWGS84 is the exact inverse of WGS84ToGCJ02: it iterates until the forward formula
// reproduces the input to 1e-12 degree (far better than the 1e-7 degree the tests demand).
// Outside the box the position is returned unchanged. It does not allocate.
func GCJ02ToWGS84(lat, lon float64) (wgsLat, wgsLon float64) {
	if !inGCJBox(lat, lon) {
		return lat, lon
	}
	return fromGCJ(lat, lon)
}

// A zone drawn in GCJ-02 has straight edges in GCJ-02 coordinates, but the offset is not
// linear: the exact WGS-84 image of a drawn edge is a curve, up to metres from the chord
// between its converted ends (4 m in the middle of a 10 km edge near Beidaihe). Converting
// only the vertices would leave a sliver of the drawn zone outside the compiled one, so
// gcjZoneRingToWGS84 halves each drawn edge until every piece's converted midpoint and
// quarter points lie within gcjDensifyTolM of the piece's chord.
const (
	// gcjDensifyTolM is how far, in metres, a piece's converted midpoint and quarter points
	// may lie from its chord. docs/POLICY.md promises that the densified outline lies within
	// 0.05 m of the drawn one's exact image; the probes stay five times below that, and
	// TestGCJ02ZoneDenseReference measures the deviation against every drawn edge sampled
	// each metre and converted point by point.
	gcjDensifyTolM = 0.01
	// gcjDensifyMaxDepth bounds the halving: 2^-24 of the longest edge the GCJ-02 box holds
	// (its diagonal, about 8,000 km) is 0.5 m, and the offset bends (at most about 5,000 m
	// per square degree) a 0.5 m piece by less than a micrometre.
	gcjDensifyMaxDepth = 24
	// maxDensifyVertices bounds the vertices densification adds to one bundle: 4 Mi
	// ([2]float64, 64 MiB), four times the 1-million-vertex set the index is sized for. A
	// drawn edge needs one vertex per 300-700 m, so only zigzags across the country reach it.
	maxDensifyVertices = 1 << 22
)

// gcjZoneRingToWGS84 validates the GCJ-02 ring r as drawn (so that errors name the author's
// positions and edges), checks that it lies where GCJ-02 differs from WGS-84 (the formula's
// box), and returns its exact image in WGS-84, densified: every vertex converted with the
// exact inverse, and each edge's image approximated by pieces within gcjDensifyTolM of it.
// budget is decremented by the vertices added.
func gcjZoneRingToWGS84(r Ring, budget *int) (Ring, error) {
	r, err := checkRing(r, true)
	if err != nil {
		return nil, err
	}
	for i, p := range r {
		if !inGCJBox(p[1], p[0]) {
			return nil, fmt.Errorf("%w: position %d [%v, %v] of a GCJ-02 zone lies outside longitude %v-%v, latitude %v-%v, where GCJ-02 differs from WGS-84: give this zone in WGS-84",
				ErrBadCoordinate, i, p[0], p[1], gcjMinLon, gcjMaxLon, gcjMinLat, gcjMaxLat)
		}
	}
	wgs := func(g [2]float64) [2]float64 {
		lat, lon := fromGCJ(g[1], g[0])
		return [2]float64{lon, lat}
	}
	out := make(Ring, 0, len(r))
	for i := 0; i+1 < len(r); i++ {
		a, b := r[i], r[i+1]
		wa := wgs(a)
		out = append(out, wa)
		if out, err = densifyGCJ(out, a, b, wa, wgs(b), wgs(lerp(a, b, 0.5)), 0, budget); err != nil {
			return nil, fmt.Errorf("edge %d: %w", i, err)
		}
	}
	return append(out, out[0]), nil
}

// densifyGCJ appends to out the vertices that approximate the WGS-84 image of the GCJ-02
// piece ga-gb between (not including) its converted ends wa and wb; wm is the image of its
// midpoint.
func densifyGCJ(out Ring, ga, gb, wa, wb, wm [2]float64, depth int, budget *int) (Ring, error) {
	if depth >= gcjDensifyMaxDepth {
		return out, nil
	}
	q1, q3 := lerp(ga, gb, 0.25), lerp(ga, gb, 0.75)
	lat1, lon1 := fromGCJ(q1[1], q1[0])
	lat3, lon3 := fromGCJ(q3[1], q3[0])
	w1, w3 := [2]float64{lon1, lat1}, [2]float64{lon3, lat3}
	if chordDistM(wa, wb, wm) <= gcjDensifyTolM && chordDistM(wa, wb, w1) <= gcjDensifyTolM && chordDistM(wa, wb, w3) <= gcjDensifyTolM {
		return out, nil
	}
	if *budget <= 0 {
		return nil, fmt.Errorf("%w: GCJ-02 zones need more than %d added vertices to follow their drawn edges within %v m: draw long edges in WGS-84, or shorter",
			ErrInvalid, maxDensifyVertices, gcjDensifyTolM)
	}
	*budget--
	gm := lerp(ga, gb, 0.5)
	out, err := densifyGCJ(out, ga, gm, wa, wm, w1, depth+1, budget)
	if err != nil {
		return nil, err
	}
	out = append(out, wm)
	return densifyGCJ(out, gm, gb, wm, wb, w3, depth+1, budget)
}

func lerp(a, b [2]float64, t float64) [2]float64 {
	return [2]float64{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
}

// chordDistM is the distance in metres from p to the segment a-b (all [lon, lat]), in the
// local equirectangular metres around p that margins use.
func chordDistM(a, b, p [2]float64) float64 {
	kx := mPerDeg * math.Cos(p[1]*deg2rad)
	return math.Sqrt(segDist2((a[0]-p[0])*kx, (a[1]-p[1])*mPerDeg, (b[0]-p[0])*kx, (b[1]-p[1])*mPerDeg))
}
