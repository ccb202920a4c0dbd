package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/cputime"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/tidwall/rtree"
)

// Benchmarks compare, on the same random fixes, geogate's Decide with the reference
// libraries doing only the containment part of the work:
//
//   - orb:       planar.MultiPolygonContains over every zone in precedence order (brute force)
//   - rtree+orb: tidwall/rtree over the zones' bounding boxes, then orb on the candidates
//
// on three zone sets: (a) the sample bundle, (b) the 34 China province outlines as zones,
// (c) 3,000 generated polygons with 1,000,000 vertices. Each benchmark also reports the
// median latency (p50-ns) from batches of benchBatch decisions.

const (
	benchFixes = 1 << 14 // distinct random fixes per zone set
	benchBatch = 64      // decisions per timed batch for the p50
)

// benchNow stamps the fixes and is the decision time: read from the clock, like the fixes
// the gate decides (gnss stamps Received with the system clock), so that the freshness check
// takes its monotonic path as in production, not the slower wall-clock one of a time.Date.
// Its wall reading is moved to a fixed date in November, so the sample bundle's summer window
// is closed whatever the machine's date and every run decides the same.
var benchNow = func() time.Time {
	now := time.Now()
	return now.Add(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC).Sub(now.Round(0))) // Add keeps the monotonic reading
}()

type benchSet struct {
	name  string
	spec  *Spec
	p     *Policy
	mps   []orb.MultiPolygon // in p's precedence order
	tree  rtree.RTreeG[int]
	fixes []gnss.Fix
}

var (
	benchOnce sync.Once
	benchSets []*benchSet
	benchErr  error
)

// chinaSpec returns the 34 province-level outlines of china_100000_full.json (GCJ-02,
// converted to WGS-84) as deny zones; the nine-dash "JD" strokes are left out.
func chinaSpec() (*Spec, error) {
	raw, err := os.ReadFile("testdata/geo/china_100000_full.json")
	if err != nil {
		return nil, err
	}
	zs, err := readGeoJSON(raw, "china_100000_full.json", true, GCJ02, nil)
	if err != nil {
		return nil, err
	}
	spec := testSpec(nil)
	for i, z := range zs[:34] {
		z.ID, z.Rule = fmt.Sprintf("province-%d", i), RuleDeny
		spec.Zones = append(spec.Zones, z)
	}
	return spec, nil
}

// generatedSpec returns nPoly polygons with nVert vertices in total, spread over China's
// box, mean radius 2-20 km, rules mixed; deterministic for a seed. Each outline is a circle
// wobbled by three random low harmonics (+-30 %) plus 1 % vertex noise, so that edges run
// along the boundary as in real district outlines (see wobblyRing). Every tenth polygon is
// drawn in GCJ-02 with an eighth of an even share of the vertices (edges of 0.4-4 km, as a
// hand-drawn zone has) and converted as Load converts it, densified; the WGS-84 polygons
// share the vertices left.
func generatedSpec(seed uint64, nPoly, nVert int) *Spec {
	rng := rand.New(rand.NewPCG(seed, 99))
	spec := testSpec(make([]Zone, nPoly))
	budget := maxDensifyVertices
	type site struct{ lon, lat, r float64 }
	sites := make([]site, nPoly)
	for i := range sites {
		sites[i] = site{75 + rng.Float64()*58, 20 + rng.Float64()*30, 2000 + rng.Float64()*18000}
	}
	left, leftPoly := nVert, nPoly
	for pass := range 2 { // GCJ-02 polygons first: the WGS-84 ones make up the total
		for i, st := range sites {
			gcj := i%10 == 9
			if gcj != (pass == 0) {
				continue
			}
			n := left / leftPoly
			if gcj {
				n = max(nVert/nPoly/8, 8)
			}
			ring := wobblyRing(rng, st.lon, st.lat, st.r, n)
			if gcj {
				var err error
				if ring, err = gcjZoneRingToWGS84(ring, &budget); err != nil {
					panic("BUG: generated GCJ-02 zone: " + err.Error())
				}
			}
			left -= len(ring) - 1
			leftPoly--
			z := Zone{ID: fmt.Sprintf("gen-%d", i), Rule: Rule(i % 3), Polygons: []Polygon{{ring}}}
			if z.Rule == RuleCoarsen {
				z.PrecisionM = 1000
			}
			spec.Zones[i] = z
		}
	}
	return spec
}

// wobblyRing returns a closed simple ring of n vertices around (lon, lat), mean radius r
// metres: r * (1 + sum of three harmonics of amplitude 0.1 each) * (1 +- 1 % noise). The
// radius stays positive and the angle increases, so the ring is simple.
func wobblyRing(rng *rand.Rand, lon, lat, r float64, n int) Ring {
	var ph [3]float64
	for i := range ph {
		ph[i] = rng.Float64() * 2 * math.Pi
	}
	kx := mPerDeg * math.Cos(lat*deg2rad)
	ring := make(Ring, 0, n+1)
	for k := range n {
		a := 2 * math.Pi * float64(k) / float64(n)
		rr := r * (1 + 0.1*math.Sin(2*a+ph[0]) + 0.1*math.Sin(3*a+ph[1]) + 0.1*math.Sin(5*a+ph[2])) * (1 + 0.01*(rng.Float64()-0.5))
		ring = append(ring, [2]float64{lon + rr*math.Cos(a)/kx, lat + rr*math.Sin(a)/mPerDeg})
	}
	return append(ring, ring[0])
}

func newBenchSet(name string, spec *Spec, p *Policy) *benchSet {
	s := &benchSet{name: name, spec: spec, p: p}
	byID := map[string]*Zone{}
	for i := range spec.Zones {
		byID[spec.Zones[i].ID] = &spec.Zones[i]
	}
	for i, zi := range p.zones {
		mp := toOrb(byID[zi.id].Polygons)
		s.mps = append(s.mps, mp)
		b := mp.Bound()
		s.tree.Insert(b.Min, b.Max, i)
	}
	// Half the fixes uniform over the zones' box, half within ~2 km of a random vertex
	// (where edge tests happen).
	rng := rand.New(rand.NewPCG(42, 43))
	ix := p.zoneIx
	for i := range benchFixes {
		x := ix.minX + rng.Float64()*float64(ix.nx)*ix.cellW
		y := ix.minY + rng.Float64()*float64(ix.ny)*ix.cellH
		if i%2 == 1 {
			v := rng.IntN(len(ix.pts) / 2)
			vx, vy := ix.vertex(v)
			x = vx + (rng.Float64()-0.5)*0.05
			y = vy + (rng.Float64()-0.5)*0.04
		}
		s.fixes = append(s.fixes, *fixAt(y, x, benchNow))
	}
	return s
}

func loadBenchSets() ([]*benchSet, error) {
	benchOnce.Do(func() {
		sample, err := ReadSpec(os.DirFS("../examples/policy"), nil)
		if err != nil {
			benchErr = err
			return
		}
		china, err := chinaSpec()
		if err != nil {
			benchErr = err
			return
		}
		gen := generatedSpec(1, 3000, 1_000_000)
		for _, c := range []struct {
			name   string
			spec   *Spec
			strict bool
		}{{"a-sample", sample, true}, {"b-china34", china, false}, {"c-gen3000x1M", gen, true}} {
			p, err := compile(c.spec, c.strict)
			if err != nil {
				benchErr = err
				return
			}
			benchSets = append(benchSets, newBenchSet(c.name, c.spec, p))
		}
	})
	return benchSets, benchErr
}

// runP50 runs op b.N times in batches and reports the median ns per op of the batches.
func runP50(b *testing.B, op func(i int)) {
	per := make([]float64, 0, b.N/benchBatch+1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		n := min(benchBatch, b.N-i)
		start := time.Now()
		for k := range n {
			op(i + k)
		}
		per = append(per, float64(time.Since(start).Nanoseconds())/float64(n))
		i += n
	}
	b.StopTimer()
	slices.Sort(per)
	b.ReportMetric(per[len(per)/2], "p50-ns")
}

var benchSink int

func BenchmarkDecide(b *testing.B) {
	sets, err := loadBenchSets()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range sets {
		h := &Holder{}
		if err := h.Swap(s.p); err != nil {
			b.Fatal(err)
		}
		for _, tier := range []string{"licensed", "public"} {
			b.Run(s.name+"/geogate-"+tier, func(b *testing.B) {
				e := h.NewEngine(tier)
				runP50(b, func(i int) {
					d := e.Decide(&s.fixes[i%benchFixes], benchNow)
					benchSink += int(d.Reason)
				})
			})
		}
		// The two halves of the fixes apart: uniform over the box (even indices) and near a
		// boundary (odd indices, where edges are tested).
		for half, name := range []string{"uniform", "near-edge"} {
			b.Run(s.name+"/geogate-licensed-"+name, func(b *testing.B) {
				e := h.NewEngine("licensed")
				runP50(b, func(i int) {
					d := e.Decide(&s.fixes[(2*i+half)%benchFixes], benchNow)
					benchSink += int(d.Reason)
				})
			})
		}
		// The same decisions over only 256 distinct fixes: the index parts they touch stay in
		// cache, as along a real drive, which separates compute from memory latency.
		b.Run(s.name+"/geogate-licensed-hot256", func(b *testing.B) {
			e := h.NewEngine("licensed")
			runP50(b, func(i int) {
				d := e.Decide(&s.fixes[i%256], benchNow)
				benchSink += int(d.Reason)
			})
		})
		// The machine's floor for a decision that needs the index from memory: one random
		// dependent load over an array as large as this set's index.
		b.Run(s.name+"/ref-memory-load", func(b *testing.B) {
			chase := chaseRing(s.p.Summary().IndexBytes)
			k := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				k = chase[k]
			}
			benchSink += k
		})
		b.Run(s.name+"/orb-bruteforce", func(b *testing.B) {
			runP50(b, func(i int) {
				f := &s.fixes[i%benchFixes]
				pt := orb.Point{f.Lon, f.Lat}
				for z, mp := range s.mps {
					if planar.MultiPolygonContains(mp, pt) {
						benchSink += z
						break
					}
				}
			})
		})
		b.Run(s.name+"/rtree+orb", func(b *testing.B) {
			runP50(b, func(i int) {
				f := &s.fixes[i%benchFixes]
				pt := [2]float64{f.Lon, f.Lat}
				best := math.MaxInt
				s.tree.Search(pt, pt, func(_, _ [2]float64, z int) bool {
					if z < best && planar.MultiPolygonContains(s.mps[z], orb.Point(pt)) {
						best = z
					}
					return true
				})
				benchSink += best
			})
		})
	}
}

// chaseRing returns an array of size bytes whose first word in each 64-byte cache line
// links to another line, all in one random cycle: following it makes each load depend on
// the one before, so the time per step is the memory latency at that size.
func chaseRing(size int) []int {
	n := max(size/64, 2)
	perm := rand.New(rand.NewPCG(7, 8)).Perm(n)
	ring := make([]int, 8*n)
	for i, p := range perm {
		ring[8*p] = 8 * perm[(i+1)%n]
	}
	return ring
}

// BenchmarkCompile measures compiling each zone set (validation included) and reports the
// heap the compiled policy keeps (heap-B), the index's own estimate (index-B) and the CPU
// time of the process per compile (cpu-ms/op, garbage collection included).
func BenchmarkCompile(b *testing.B) {
	sets, err := loadBenchSets()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range sets {
		b.Run(s.name, func(b *testing.B) {
			strict := s.name != "b-china34"
			var ms runtime.MemStats
			var heap float64
			var cpu time.Duration
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				b.StartTimer()
				c0 := cputime.Process()
				p, err := compile(s.spec, strict)
				if err != nil {
					b.Fatal(err)
				}
				cpu += cputime.Process() - c0
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				heap = float64(ms.HeapAlloc) - float64(before)
				runtime.KeepAlive(p)
				b.ReportMetric(float64(p.Summary().IndexBytes), "index-B")
				b.ReportMetric(float64(p.Summary().Vertices), "vertices")
				b.StartTimer()
			}
			b.ReportMetric(heap, "heap-B")
			b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkGenerate measures building the (c) zone set itself, the densification of its
// GCJ-02 zones included.
func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	var spec *Spec
	for range b.N {
		spec = generatedSpec(1, 3000, 1_000_000)
	}
	gcj := 0 // vertices of the densified GCJ-02 zones (every tenth)
	for i := 9; i < len(spec.Zones); i += 10 {
		gcj += countVertices(spec.Zones[i].Polygons)
	}
	b.ReportMetric(float64(gcj), "gcj02-vertices")
}

// BenchmarkGCJDensify converts one GCJ-02 zone as Load does: a pentagon 10 km (then 50 km)
// across near Beidaihe, every edge densified.
func BenchmarkGCJDensify(b *testing.B) {
	for _, size := range []float64{10e3, 50e3} {
		kx := mPerDeg * math.Cos(39.9*deg2rad)
		var drawn Ring
		for k := range 5 {
			a := 2 * math.Pi * float64(k) / 5
			drawn = append(drawn, [2]float64{119.4 + size/2*math.Cos(a)/kx, 39.9 + size/2*math.Sin(a)/mPerDeg})
		}
		drawn = append(drawn, drawn[0])
		b.Run(fmt.Sprintf("%gkm", size/1000), func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for range b.N {
				budget := maxDensifyVertices
				r, err := gcjZoneRingToWGS84(drawn, &budget)
				if err != nil {
					b.Fatal(err)
				}
				n = len(r) - 1
			}
			b.ReportMetric(float64(n), "vertices")
		})
	}
}
