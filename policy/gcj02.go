package policy

import "math"

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
