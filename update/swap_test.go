package update

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/cputime"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/storage"
)

// bigZones returns a zone file of about size bytes: small deny squares on a grid over the
// Tibetan plateau, far from the fixes the tests decide (30 N, 100 E).
func bigZones(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := 0; b.Len() < size; i++ {
		x, y := 80+float64(i%200)*0.05, 32+float64(i/200)*0.05
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"id":"big%d","action":"deny"},"geometry":{"type":"Polygon","coordinates":[[[%.4f,%.4f],[%.4f,%.4f],[%.4f,%.4f],[%.4f,%.4f],[%.4f,%.4f]]]}}`+"\n",
			i, x, y, x+0.02, y, x+0.02, y+0.02, x, y+0.02, x, y)
	}
	b.WriteString("]}\n")
	return []byte(b.String())
}

// bigRings returns a zone file of about size bytes shaped like real outlines: a few deny
// zones with thousands of vertices each (regular 4000-gons of 0.2 degree radius).
func bigRings(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"id":"ring%d","action":"deny"},"geometry":{"type":"Polygon","coordinates":[[`, i)
		cx, cy := 80+float64(i%10), 32+float64(i/10)
		const n = 4000
		for k := 0; k <= n; k++ {
			th := 2 * math.Pi * float64(k%n) / n
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "[%.6f,%.6f]", cx+0.2*math.Cos(th), cy+0.2*math.Sin(th))
		}
		b.WriteString("]]}}\n")
	}
	b.WriteString("]}\n")
	return []byte(b.String())
}

// countStore counts appended records.
type countStore struct {
	mu sync.Mutex
	n  int
}

func (s *countStore) Append(storage.Type, time.Time, []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return uint64(s.n), nil
}

// TestSwapUnderLoad drives fixes through the gate while 1 MB bundles are installed one
// after the other: not one fix is decided without a policy, and every one is stored.
func TestSwapUnderLoad(t *testing.T) {
	a := testKey('a')
	src := t.TempDir()
	in, h := newInstaller(t, t.TempDir(), &fixedClock{t0}, 1, a)
	extra := bigZones(1 << 20)
	if _, err := in.Install(writeBundle(t, src, "v1", bundleOpts{version: 1, extra: extra}, a)); err != nil {
		t.Fatal(err)
	}
	fixes := make(chan gnss.Fix)
	store := &countStore{}
	loop := gate.New(gate.Config{Fixes: fixes, Policy: h, Tier: "public", Store: store, Now: func() time.Time { return t0 }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(ctx) }()
	stop := make(chan struct{})
	fed := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				fed <- n
				return
			case fixes <- gnss.Fix{Has: gnss.HasPos, Valid: true, Lat: 30, Lon: 100, Received: t0}:
				n++
			}
		}
	}()
	const installs = 5
	for v := 2; v < 2+installs; v++ {
		if _, err := in.Install(writeBundle(t, src, fmt.Sprintf("v%d", v), bundleOpts{version: v, extra: extra}, a)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	n := <-fed
	// The unbuffered channel handed every fix to the loop; let it finish the last one.
	for deadline := time.Now().Add(10 * time.Second); loop.Counters.Fixes.Load() < uint64(n) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	c := &loop.Counters
	noPolicy := c.FixDrops(gate.PolicyReason(policy.ReasonNoPolicy))
	t.Logf("%d fixes through %d installs of %d KiB bundles: %d decided without a policy, %d kept", n, installs, len(extra)>>10, noPolicy, c.FixesKept.Load()+c.FixesCoarsened.Load())
	if n < installs || noPolicy != 0 || c.FixesDropped.Load() != 0 || version(h) != 1+installs {
		t.Errorf("fixes %d, dropped %d (no policy %d), running v%d", n, c.FixesDropped.Load(), noPolicy, version(h))
	}
}

// BenchmarkInstall1MB measures an install of a signed bundle of about 1 MiB: copy, fsync,
// verify, compile, commit, swap (the goal is < 50 ms).
// Two shapes of 1 MiB: thousands of small zones, and a few outlines of thousands of vertices.
func BenchmarkInstall1MB(b *testing.B) {
	b.Run("4000-small-zones", func(b *testing.B) { benchInstall(b, bigZones(1<<20)) })
	b.Run("outlines", func(b *testing.B) { benchInstall(b, bigRings(1<<20)) })
}

func benchInstall(b *testing.B, extra []byte) {
	a := testKey('a')
	src := b.TempDir()
	in, _ := newInstaller(b, b.TempDir(), &fixedClock{t0}, 1, a)
	b.ReportAllocs()
	b.SetBytes(int64(len(extra)))
	var cpu time.Duration
	n := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		dir := writeBundle(b, src, fmt.Sprintf("v%d", i+1), bundleOpts{version: i + 1, extra: extra}, a)
		b.StartTimer()
		c0 := cputime.Process()
		if _, err := in.Install(dir); err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Process() - c0
		n++
	}
	// The CPU time the process spent per install (garbage collection included): on a shared
	// machine it moves much less than the wall time other tenants stretch.
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(n), "cpu-ms/op")
}
