package storage

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// bigSegments writes n segments of DefaultSegmentSize full of 64-byte records into dir and
// returns their paths. The last one is left unsealed (a power cut) if cut is set.
func bigSegments(tb testing.TB, dir string, n int, cut bool) []string {
	tb.Helper()
	o := Options{Key: testKey, SyncInterval: time.Hour, Clock: &fakeClock{t: t0}}
	l := mustOpen(tb, dir, o)
	p := make([]byte, 64)
	for i := 0; ; i++ {
		l.mu.Lock()
		id := l.seg.id
		l.mu.Unlock()
		if id > uint64(n) {
			break
		}
		if _, err := l.Append(1, t0.Add(time.Duration(i)*time.Millisecond), p); err != nil {
			tb.Fatal(err)
		}
		if cut && id == uint64(n) && l.seg.appendOff > DefaultSegmentSize-(64<<10) {
			break
		}
	}
	if err := l.Sync(); err != nil {
		tb.Fatal(err)
	}
	if cut {
		l.powerCut()
	} else if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
	var paths []string
	for id := uint64(1); id <= uint64(n); id++ {
		paths = append(paths, filepath.Join(dir, segName(id)))
	}
	return paths
}

// BenchmarkScanSwappedHeader is store verify of a 16 MiB segment whose header was swapped
// with another segment's: the data key unwraps, and not one frame authenticates. The search
// for the next authentic frame once started over at every damaged frame: 18 s at 2,000
// records, quadratic. It is now one pass.
func BenchmarkScanSwappedHeader(b *testing.B) {
	dir := b.TempDir()
	paths := bigSegments(b, dir, 2, false)
	a, err := os.ReadFile(paths[0])
	if err != nil {
		b.Fatal(err)
	}
	img, err := os.ReadFile(paths[1])
	if err != nil {
		b.Fatal(err)
	}
	copy(img, a[:headerSize])
	b.SetBytes(int64(len(img)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var n int
		rep, err := scanImage(paths[1], img, testKey, func(*Record) error { n++; return nil })
		if err != nil || n != 0 || rep.Err() == nil {
			b.Fatalf("scan of a swapped segment: %d records, %v, %v", n, err, rep.Err())
		}
	}
}

// BenchmarkRecoverDamaged is Open after a power cut of a log whose unsealed 16 MiB segment
// has 256 flipped bytes (bad frame headers and payloads): scan, cut, seal, and the new
// segment's preallocation. The goal is well under a second.
func BenchmarkRecoverDamaged(b *testing.B) {
	src := b.TempDir()
	paths := bigSegments(b, src, 1, true)
	img, err := os.ReadFile(paths[0])
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	end := lastNonZero(img)
	for range 256 {
		img[headerSize+rng.IntN(end-headerSize)] ^= 0x10
	}
	o := Options{Key: testKey, SyncInterval: time.Hour, Clock: &fakeClock{t: t0}}
	b.SetBytes(int64(len(img)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "log")
		os.Mkdir(dir, 0o700)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(paths[0])), img, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		l, err := Open(dir, o)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rec := l.Recovery()
		if rec.Scanned != 1 || len(rec.Damaged) == 0 || len(rec.Unreadable) != 0 {
			b.Fatalf("recovery: %+v", rec)
		}
		l.Close()
		b.StartTimer()
	}
}
