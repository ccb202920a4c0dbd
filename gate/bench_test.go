package gate

import (
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
)

// BenchmarkGate measures the loop's own cost per fix and per frame (decision, record
// encoding, handing to the store), with the storage cost left out (an in-memory store), on
// the Beidaihe drive: 10 Hz fixes from the real decoder, 1080p MJPEG frames at 30 fps.
func BenchmarkGate(b *testing.B) {
	b.Run("fix", func(b *testing.B) {
		store := &memStore{last: make([]byte, 0, 1<<20)}
		d := newDrive(b, store, "licensed")
		samples := route()
		fixes := make([]gnss.Fix, 0, len(samples))
		for i := range samples {
			d.decode(&samples[i], func(f *gnss.Fix) { fixes = append(fixes, *f) })
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			f := fixes[i%len(fixes)]
			f.Received = d.now // fresh: the measured path decides and stores
			d.loop.HandleFix(&f)
		}
	})
	b.Run("frame-1080p", func(b *testing.B) {
		store := &memStore{last: make([]byte, 0, 1<<20)}
		d := newLargeFrameDrive(b, store, "licensed", 1920, 1080)
		samples := route()
		for i := range 5 {
			d.epoch(&samples[i])
		}
		b.SetBytes(int64(len(d.frame)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			// One frame between the two newest fixes, as at 30 fps with a 10 Hz receiver.
			d.commitFrame(d.now.Add(-time.Millisecond))
			d.loop.drainFrames()
			if i == 0 && d.loop.Counters.FramesKept.Load() == 0 {
				b.Fatal("the frame was not kept: the measured path is not the storing one")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*30/1e9*100, "core%@30fps")
	})
}
