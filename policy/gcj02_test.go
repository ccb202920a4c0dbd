package policy

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// gcjTolerance is the allowed error in degrees per source of testdata/geo/gcj02_vectors.csv,
// from SOURCES.md: eviltransform, wandergis and PRCoords print the float64 formula result
// (bit-exact); gcoord's fixtures carry a systematic ~5e-6 degree error from an online
// converter, so they get 1e-5 (their own tests use 5e-5).
var gcjTolerance = map[string]float64{
	"eviltransform":            1e-9,
	"wandergis_coordtransform": 1e-9,
	"prcoords":                 1e-9,
	"gcoord":                   1e-5,
}

func TestGCJ02Vectors(t *testing.T) {
	f, err := os.Open("testdata/geo/gcj02_vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, n := range rows[0] {
		col[n] = i
	}
	num := func(r []string, name string) (float64, bool) {
		v, err := strconv.ParseFloat(r[col[name]], 64)
		return v, err == nil
	}
	fwdMax, invMax, n := map[string]float64{}, map[string]float64{}, map[string]int{}
	for _, r := range rows[1:] {
		src, name := r[col["source"]], r[col["name"]]
		tol, ok := gcjTolerance[src]
		if !ok {
			t.Fatalf("no tolerance for source %q", src)
		}
		wLat, ok1 := num(r, "wgs_lat")
		wLon, ok2 := num(r, "wgs_lon")
		gLat, ok3 := num(r, "gcj_lat")
		gLon, ok4 := num(r, "gcj_lon")
		if !(ok1 && ok2 && ok3 && ok4) {
			continue // BD-09-only rows
		}
		n[src]++
		// wandergis' gcj02towgs84 row is its one-step approximation, not an exact pair:
		// only the forward direction of the other rows is a claim about the formula.
		if name != "beijing_gcj02towgs84" {
			la, lo := WGS84ToGCJ02(wLat, wLon)
			e := max(math.Abs(la-gLat), math.Abs(lo-gLon))
			fwdMax[src] = max(fwdMax[src], e)
			if e > tol {
				t.Errorf("%s %s: WGS84ToGCJ02(%v, %v) = %v, %v; want %v, %v (err %.3g > %.3g)", src, name, wLat, wLon, la, lo, gLat, gLon, e, tol)
			}
		}
		la, lo := GCJ02ToWGS84(gLat, gLon)
		if name != "beijing_gcj02towgs84" {
			e := max(math.Abs(la-wLat), math.Abs(lo-wLon))
			invMax[src] = max(invMax[src], e)
			if e > max(tol, 1e-7) {
				t.Errorf("%s %s: GCJ02ToWGS84(%v, %v) = %v, %v; want %v, %v (err %.3g)", src, name, gLat, gLon, la, lo, wLat, wLon, e)
			}
		}
		// The inverse is exact whatever the source's accuracy: forward(inverse(g)) == g.
		fa, fo := WGS84ToGCJ02(la, lo)
		if e := max(math.Abs(fa-gLat), math.Abs(fo-gLon)); e > 1e-7 {
			t.Errorf("%s %s: round trip error %.3g degree", src, name, e)
		}
	}
	for src := range gcjTolerance {
		t.Logf("%-25s %3d pairs: max |forward error| %.3g deg, max |inverse error| %.3g deg", src, n[src], fwdMax[src], invMax[src])
		if n[src] == 0 {
			t.Errorf("no vectors for %s", src)
		}
	}
}

func TestGCJ02InverseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for range 100000 {
		lat := 18 + rng.Float64()*35
		lon := 73 + rng.Float64()*62
		gLat, gLon := WGS84ToGCJ02(lat, lon)
		wLat, wLon := GCJ02ToWGS84(gLat, gLon)
		worst = max(worst, math.Abs(wLat-lat), math.Abs(wLon-lon))
	}
	t.Logf("max inverse error over 100000 random points in China: %.3g degree", worst)
	if worst > 1e-7 {
		t.Errorf("inverse error %.3g degree > 1e-7", worst)
	}
}

func TestGCJ02OutsideBoxUnchanged(t *testing.T) {
	for _, p := range [][2]float64{{39.7392, -104.9903}, {-27.47, 153.0251}, {51.5, -0.12}, {-33.9, 18.4}, {45, 183}} {
		if la, lo := WGS84ToGCJ02(p[0], p[1]); la != p[0] || lo != p[1] {
			t.Errorf("WGS84ToGCJ02(%v) = %v, %v; want unchanged", p, la, lo)
		}
		if la, lo := GCJ02ToWGS84(p[0], p[1]); la != p[0] || lo != p[1] {
			t.Errorf("GCJ02ToWGS84(%v) = %v, %v; want unchanged", p, la, lo)
		}
	}
}

func TestGCJ02NoAllocs(t *testing.T) {
	var sink float64
	if n := testing.AllocsPerRun(100, func() {
		a, b := GCJ02ToWGS84(WGS84ToGCJ02(39.9, 116.4))
		sink += a + b
	}); n != 0 {
		t.Errorf("allocs = %v, want 0", n)
	}
}
