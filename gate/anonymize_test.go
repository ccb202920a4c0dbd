package gate

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geogate/geogate/anonymize"
	"github.com/geogate/geogate/anonymize/anonymizetest"
	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// anonPolicy is the sample bundle with one more tier, "anonymized": full precision, frames
// stored only with faces and plates masked.
func anonPolicy(t testing.TB) *policy.Holder {
	t.Helper()
	spec, err := policy.ReadSpec(os.DirFS("../examples/policy"), nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Tiers = append(spec.Tiers, policy.Tier{Name: "anonymized", Anonymize: true})
	p, err := policy.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	var h policy.Holder
	if err := h.Swap(p); err != nil {
		t.Fatal(err)
	}
	return &h
}

// astronaut is a 640x480 photograph with one face, and that face's box (anonymize/testdata).
func astronaut(t testing.TB) ([]byte, anonymize.Box) {
	t.Helper()
	b, err := os.ReadFile("../anonymize/testdata/astronaut.jpg")
	if err != nil {
		t.Fatal(err)
	}
	return b, anonymize.Box{Class: anonymize.Face, Confidence: 900, X: 251, Y: 82, W: 83, H: 78}
}

// newAnonDrive is a drive at the anonymized tier with 640x480 frames of the astronaut.
func newAnonDrive(t testing.TB, store Store, an Anonymizer) *drive {
	d := newDrive(t, store, "anonymized")
	d.frame, _ = astronaut(t)
	d.w, d.h = 640, 480
	d.ring = camera.NewRing(8, 1<<20)
	d.loop = New(Config{Frames: d.ring, Policy: anonPolicy(t), Tier: "anonymized", Store: store,
		Now: func() time.Time { return d.now }, MaxFrameBytes: 1 << 20, Anonymizer: an, Tick: make(chan time.Time)})
	return d
}

// medianDetail is the median over r's 4x4 windows of the luma variance in each: the detail a
// mosaic removes (see anonymize's TestMaskJPEG).
func medianDetail(t *testing.T, jpg []byte, r image.Rectangle) float64 {
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	m := img.(*image.YCbCr)
	var vs []float64
	for y := r.Min.Y; y+4 <= r.Max.Y; y += 4 {
		for x := r.Min.X; x+4 <= r.Max.X; x += 4 {
			var s, s2 float64
			for yy := y; yy < y+4; yy++ {
				for xx := x; xx < x+4; xx++ {
					l := float64(m.Y[m.YOffset(xx, yy)])
					s, s2 = s+l, s2+l*l
				}
			}
			vs = append(vs, s2/16-(s/16)*(s/16))
		}
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// TestAnonymizedFrameStored runs frames of a tier that requires anonymization through the
// loop and its worker into the real encrypted log, reads the log back, and checks that every
// stored frame has the face pixelated.
func TestAnonymizedFrameStored(t *testing.T) {
	orig, face := astronaut(t)
	fake := anonymizetest.NewFake(t, anonymizetest.Answer, face)
	an := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: fake.Socket}, Deadline: 10 * time.Second}
	defer an.Close()
	dir := t.TempDir()
	log := openDriveLog(t, dir)
	d := newAnonDrive(t, log, an)
	d.loop.startScaler()
	samples := route()
	for i := range 10 {
		d.epoch(&samples[i])
	}
	d.loop.stopScaler()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	box := image.Rect(face.X, face.Y, face.X+face.W, face.Y+face.H)
	before := medianDetail(t, orig, box)
	r, err := storage.NewReader(dir, driveKey)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	for _, s := range segs {
		if _, err := r.Scan(s.ID, func(rec *storage.Record) error {
			if rec.Type != record.TypeFrame {
				return nil
			}
			frames++
			_, img, err := record.DecodeFrame(rec.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(img, orig) {
				t.Fatalf("seq %d: the captured frame was stored unmasked", rec.Seq)
			}
			if after := medianDetail(t, img, box); after > before/10 {
				t.Errorf("seq %d: local luma variance in the face box %.1f, captured %.1f: not pixelated", rec.Seq, after, before)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	c := &d.loop.Counters
	t.Logf("frames %d: stored anonymized %d, dropped busy %d, failed %d", c.Frames.Load(), frames, c.FrameDrops(ReasonAnonymizerBusy), c.FrameDrops(ReasonAnonymizer))
	if frames == 0 || uint64(frames) != c.FramesAnonymized.Load() || c.FrameDrops(ReasonAnonymizer) != 0 {
		t.Errorf("stored %d frames, counted %d anonymized, %d failed", frames, c.FramesAnonymized.Load(), c.FrameDrops(ReasonAnonymizer))
	}
	decided := c.Frames.Load() - uint64(d.loop.pn) // the last frames still wait for a fix
	if c.FramesAnonymized.Load()+c.FramesDropped.Load() != decided || c.FrameDrops(ReasonAnonymizerBusy)+c.FrameDrops(PolicyReason(policy.ReasonNoFix)) != c.FramesDropped.Load() {
		t.Errorf("frames decided %d: anonymized %d, dropped %d (busy %d, before the first fix %d): a frame went unaccounted",
			decided, c.FramesAnonymized.Load(), c.FramesDropped.Load(), c.FrameDrops(ReasonAnonymizerBusy), c.FrameDrops(PolicyReason(policy.ReasonNoFix)))
	}
}

// TestAnonymizeFailClosed: without a detector, or with one that never answers in time, no
// frame of the anonymized tier is stored, and every one is counted.
func TestAnonymizeFailClosed(t *testing.T) {
	tests := []struct {
		name string
		an   func(t *testing.T) Anonymizer
	}{
		{"no anonymizer configured", func(t *testing.T) Anonymizer { return nil }},
		{"detector not running", func(t *testing.T) Anonymizer {
			return &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: t.TempDir() + "/none.sock"}}
		}},
		{"detector slower than the deadline", func(t *testing.T) Anonymizer {
			fake := anonymizetest.NewFake(t, anonymizetest.Hang)
			return &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: fake.Socket}, Deadline: 20 * time.Millisecond}
		}},
		{"garbage answer", func(t *testing.T) Anonymizer {
			fake := anonymizetest.NewFake(t, anonymizetest.Garbage)
			return &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: fake.Socket}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &memStore{last: make([]byte, 0, 1<<20)}
			d := newAnonDrive(t, store, tt.an(t))
			d.loop.startScaler()
			samples := route()
			for i := range 10 {
				d.epoch(&samples[i])
			}
			d.loop.stopScaler()
			c := &d.loop.Counters
			if len(store.last) != 0 || c.FramesKept.Load() != 0 {
				t.Fatalf("a frame was stored: %d kept", c.FramesKept.Load())
			}
			if c.Fixes.Load() == 0 || c.FixesKept.Load() == 0 {
				t.Fatal("no fix was kept: the frames were not dropped for want of anonymization")
			}
			failed, busy := c.FrameDrops(ReasonAnonymizer), c.FrameDrops(ReasonAnonymizerBusy)
			// Every frame the policy let through (the first ones wait in vain for a fix) is
			// dropped by the gate, as failed or busy.
			if failed == 0 || failed+busy < c.Frames.Load()/2 || c.FramesKept.Load()+c.FramesCoarsened.Load() != 0 {
				t.Errorf("frames %d: failed %d + busy %d, stored %d", c.Frames.Load(), failed, busy, c.FramesKept.Load()+c.FramesCoarsened.Load())
			}
		})
	}
}

// TestAnonymizeZeroAlloc: handing frames of an anonymized tier to the worker, or dropping
// them when it is busy, adds no allocation to the loop's per-frame path.
func TestAnonymizeZeroAlloc(t *testing.T) {
	for _, busy := range []bool{false, true} {
		name := map[bool]string{false: "handed off", true: "worker busy"}[busy]
		t.Run(name, func(t *testing.T) {
			_, face := astronaut(t)
			fake := anonymizetest.NewFake(t, anonymizetest.Answer, face)
			d := newAnonDrive(t, &memStore{}, &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: fake.Socket}})
			// A worker that only releases (or never takes, when busy) frames: the measured
			// allocations are the loop's, not the JPEG codec's in the worker.
			d.loop.scaleJobs = make(chan scaleJob, 1)
			done := make(chan struct{})
			var handed atomic.Int64
			if busy {
				d.loop.scaleJobs <- scaleJob{}
				close(done)
			} else {
				go func() {
					defer close(done)
					for j := range d.loop.scaleJobs {
						handed.Add(1)
						d.ring.Release(j.frame)
					}
				}()
			}
			samples := route()
			for i := range 10 {
				d.epoch(&samples[i])
			}
			i := 10
			allocs := testing.AllocsPerRun(100, func() {
				d.epoch(&samples[i])
				i++
			})
			close(d.loop.scaleJobs)
			<-done
			c := &d.loop.Counters
			if allocs != 0 {
				t.Errorf("%v allocs per epoch, want 0", allocs)
			}
			if busy && c.FrameDrops(ReasonAnonymizerBusy) == 0 || !busy && handed.Load() == 0 {
				t.Errorf("busy drops %d, handed off %d: the measured path is not the %s one", c.FrameDrops(ReasonAnonymizerBusy), handed.Load(), name)
			}
		})
	}
}
