package camera_test

import (
	"sync"
	"testing"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/internal/cputime"
)

// frames1080p holds one synthetic 1080p source per format, rendered once for all benchmarks.
var (
	frames1080pOnce sync.Once
	frames1080p     map[camera.Format]*camera.Synthetic
)

func synthetic1080p(b *testing.B, f camera.Format) *camera.Synthetic {
	frames1080pOnce.Do(func() {
		frames1080p = map[camera.Format]*camera.Synthetic{}
		for _, f := range []camera.Format{camera.MJPEG, camera.YUYV, camera.NV12} {
			s, err := camera.NewSynthetic(camera.Config{Format: f, FPS: -1}, nil)
			if err != nil {
				b.Fatal(err)
			}
			frames1080p[f] = s
		}
	})
	return frames1080p[f]
}

// coreShare reports the share of one CPU core that b's per-op cost takes at 30 frames per
// second, from wall time (ns/op) as "core%@30fps", and from the process's CPU time since cpu0
// (user + system, all threads, GC included) as "cpu-ns/op".
func coreShare(b *testing.B, cpu0 time.Duration) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns*30/1e9*100, "core%@30fps")
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkPassThrough1080p is the per-frame cost of 1080p MJPEG pass-through: synthetic
// source -> Ring buffer -> consumer -> copy into an in-memory sink, buffer released. Two copies
// of each JPEG (into the ring, into the sink), as on a unit (driver buffer -> ring -> storage).
func BenchmarkPassThrough1080p(b *testing.B) {
	src := synthetic1080p(b, camera.MJPEG)
	ring := camera.NewRing(8, src.MaxFrameBytes())
	sink := make([]byte, src.MaxFrameBytes())
	b.SetBytes(int64(src.MaxFrameBytes()))
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		f, err := src.ReadFrame(ring.Buffer())
		if err != nil {
			b.Fatal(err)
		}
		ring.Commit(f)
		g, ok, _ := ring.TryRecv()
		if !ok {
			b.Fatal("no frame")
		}
		copy(sink, g.Data)
		ring.Release(g)
	}
	coreShare(b, cpu0)
	b.ReportMetric(float64(src.MaxFrameBytes()), "jpeg-bytes")
}

// BenchmarkRing is the ring's own cost per frame: Commit, Recv, Release, no pixel copies.
func BenchmarkRing(b *testing.B) {
	ring := camera.NewRing(8, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf := ring.Buffer()
		ring.Commit(camera.Frame{Data: buf[:1]})
		f, _, _ := ring.TryRecv()
		ring.Release(f)
	}
}

// BenchmarkScale1080p is the cost of reducing a 1080p frame to 1.2 megapixels (1460x820).
// MJPEG decodes and re-encodes, and allocates inside image/jpeg.Decode; YUYV and NV12 do not
// allocate.
func BenchmarkScale1080p(b *testing.B) {
	for _, f := range []camera.Format{camera.MJPEG, camera.YUYV, camera.NV12} {
		b.Run(f.String(), func(b *testing.B) {
			src := synthetic1080p(b, f)
			in, err := src.ReadFrame(make([]byte, src.MaxFrameBytes()))
			if err != nil {
				b.Fatal(err)
			}
			s := &camera.Scaler{MaxPixels: 1_200_000}
			dst := make([]byte, 1920*1080*2)
			b.SetBytes(int64(len(in.Data)))
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				if _, err := s.Scale(dst, in); err != nil {
					b.Fatal(err)
				}
			}
			coreShare(b, cpu0)
		})
	}
}
