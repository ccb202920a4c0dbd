package gate

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/policy/policytest"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// samplePolicy loads the bundle shipped in examples/policy.
func samplePolicy(t testing.TB) *policy.Holder {
	t.Helper()
	var h policy.Holder
	if _, err := h.Reload(os.DirFS("../examples/policy"), nil); err != nil {
		t.Fatal(err)
	}
	return &h
}

// jpegFrame renders one real JPEG with the camera's synthetic source.
func jpegFrame(t testing.TB, w, h int) []byte {
	t.Helper()
	src, err := camera.NewSynthetic(camera.Config{Width: w, Height: h, FPS: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	buf := make([]byte, src.MaxFrameBytes())
	f, err := src.ReadFrame(buf)
	if err != nil {
		t.Fatal(err)
	}
	return f.Data
}

// drive is a simulated run: a receiver at 10 Hz played through the real decoder, a camera
// at 30 fps, one loop, all on a simulated clock.
type drive struct {
	t     testing.TB
	now   time.Time
	dec   *gnss.Decoder
	ring  *camera.Ring
	loop  *Loop
	gen   sim.Generator
	nmea  []byte
	frame []byte
	idx   [4]byte
	w, h  int
	fix   gnss.Fix

	// With truth set, the drive records the ground truth an independent oracle needs: each
	// frame's capture time on the route's clock (the frame carries its index after the
	// JPEG), so its true position comes from the route, not from the loop's interpolation
	// of the fixes it decoded.
	truth     bool
	route     []sim.Sample
	captureAt time.Time // route time of the frame being captured
	captured  []time.Time
}

// mPerDeg is metres per degree of latitude on the mean-radius sphere, the policy's model.
const mPerDeg = 6371008.8 * math.Pi / 180

// driveStart is when every simulated drive starts: a fixed date, in November, when the sample
// bundle's summer window is closed.
var driveStart = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)

// fixedClock is a storage.Clock stopped at one instant.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func newDrive(t testing.TB, store Store, tier string) *drive {
	d := &drive{t: t, now: driveStart, dec: gnss.NewDecoder(gnss.Config{})}
	d.frame, d.w, d.h = jpegFrame(t, 64, 48), 64, 48
	d.ring = camera.NewRing(8, 4096)
	d.loop = New(Config{
		Frames: d.ring, Policy: samplePolicy(t), Tier: tier, Store: store,
		Now: func() time.Time { return d.now }, MaxFrameBytes: 4096,
		Tick: make(chan time.Time),
	})
	d.nmea = make([]byte, 0, 1024)
	return d
}

// driveKey is the device key of the drives' logs.
var driveKey = make([]byte, storage.KeySize)

// openDriveLog opens a log in dir under driveKey, on the drives' fixed clock.
func openDriveLog(t testing.TB, dir string) *storage.Log {
	t.Helper()
	log, err := storage.Open(dir, storage.Options{Key: driveKey, Clock: fixedClock(driveStart)})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// newLargeFrameDrive is newDrive with the camera at w x h (a real JPEG of that size) and
// buffers of 1 MiB for its frames.
func newLargeFrameDrive(t testing.TB, store Store, tier string, w, h int) *drive {
	d := newDrive(t, store, tier)
	d.frame, d.w, d.h = jpegFrame(t, w, h), w, h
	d.ring = camera.NewRing(8, 1<<20)
	d.loop = New(Config{Frames: d.ring, Policy: samplePolicy(t), Tier: tier, Store: store,
		Now: func() time.Time { return d.now }, MaxFrameBytes: 1 << 20})
	return d
}

// epoch plays one 100 ms receiver epoch: three frames captured during it, then the
// epoch's sentences arriving at its end.
func (d *drive) epoch(s *sim.Sample) {
	for i := 0; i < 3; i++ {
		d.captureAt = s.Time.Add(time.Duration(i) * 100 * time.Millisecond / 3)
		d.commitFrame(d.now)
		d.now = d.now.Add(100 * time.Millisecond / 3)
		d.loop.drainFrames()
	}
	d.now = d.now.Add(time.Millisecond)
	d.decode(s, func(f *gnss.Fix) {
		d.loop.HandleFix(f)
		d.loop.drainFrames()
	})
}

// commitFrame has the camera deliver d.frame captured at t.
func (d *drive) commitFrame(t time.Time) {
	buf := d.ring.Buffer()
	n := copy(buf, d.frame)
	if d.truth {
		// After the JPEG's end marker, where decoders do not look: the frame's index.
		n += copy(buf[n:], binary.LittleEndian.AppendUint32(d.idx[:0], uint32(len(d.captured))))
		d.captured = append(d.captured, d.captureAt)
	}
	d.ring.Commit(camera.Frame{Data: buf[:n], Width: d.w, Height: d.h, Format: camera.MJPEG, Captured: t})
}

// truePosition is where the car was at route time t: on the straight road between the
// route's samples around t (after the last one, on along the last stretch of road).
func (d *drive) truePosition(t time.Time) (lat, lon float64, ok bool) {
	i := sort.Search(len(d.route), func(i int) bool { return d.route[i].Time.After(t) })
	if i == 0 || len(d.route) < 2 {
		return 0, 0, false
	}
	i = min(i, len(d.route)-1)
	a, b := d.route[i-1], d.route[i]
	k := float64(t.Sub(a.Time)) / float64(b.Time.Sub(a.Time))
	return a.Lat + k*(b.Lat-a.Lat), a.Lon + k*(b.Lon-a.Lon), true
}

// decode feeds the epoch's sentences through the real decoder at d.now and hands over every
// fix they complete.
func (d *drive) decode(s *sim.Sample, fn func(*gnss.Fix)) {
	d.nmea = d.gen.AppendEpoch(d.nmea[:0], s)
	for p := d.nmea; len(p) > 0; {
		n, ready := d.dec.Feed(p, d.now)
		p = p[n:]
		for ready {
			var ok bool
			if d.fix, ok = d.dec.Next(); !ok {
				break
			}
			fn(&d.fix) // a field, not a local: passing a local's address to fn would allocate it
		}
	}
}

// route is a drive from east of Beidaihe, west through the district, then north out of it.
func route() []sim.Sample {
	return sim.Route(driveStart, 10, 30,
		sim.Point{Lat: 39.86, Lon: 119.58}, sim.Point{Lat: 39.86, Lon: 119.42}, sim.Point{Lat: 39.95, Lon: 119.42})
}

// TestDriveThroughBeidaihe is the proof of the issue: with the camera at 30 fps and the
// receiver at 10 Hz, nothing captured inside the deny zone or its margin reaches storage,
// and fixes and frames before and after it do.
func TestDriveThroughBeidaihe(t *testing.T) {
	dir := t.TempDir()
	log := openDriveLog(t, dir)
	d := newDrive(t, log, "licensed")
	samples := route()
	d.truth, d.route = true, samples
	for i := range samples {
		d.epoch(&samples[i])
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}

	zone, err := policytest.LoadZone("../examples/policy/zones.geojson", "beidaihe")
	if err != nil {
		t.Fatal(err)
	}
	// maxLagM is how far the car drives in two epochs, plus a metre for arithmetic and the
	// simulated serial delay: the most a frame's stored position may trail its true one.
	const maxLagM = 2*0.1*30 + 1
	var fixes, frames, frameBefore, frameAfter, fixBefore, fixAfter int
	worst, closest := 0.0, math.Inf(1)
	r, err := storage.NewReader(dir, driveKey)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		_, err := r.Scan(s.ID, func(rec *storage.Record) error {
			var lat, lon float64
			switch rec.Type {
			case record.TypeFix:
				f, err := record.DecodeFix(rec.Payload)
				if err != nil {
					t.Fatalf("seq %d: %v", rec.Seq, err)
				}
				if f.Datum != policy.WGS84 {
					t.Fatalf("licensed tier stored datum %v", f.Datum)
				}
				lat, lon = f.Lat, f.Lon
				fixes++
				if lon > 119.55 {
					fixBefore++
				} else if lat > 39.92 {
					fixAfter++
				}
			case record.TypeFrame:
				h, img, err := record.DecodeFrame(rec.Payload)
				if err != nil {
					t.Fatalf("seq %d: %v", rec.Seq, err)
				}
				if len(img) != len(d.frame)+4 || string(img[:len(d.frame)]) != string(d.frame) {
					t.Fatalf("seq %d: frame bytes differ from the captured JPEG", rec.Seq)
				}
				// The oracle: where the car truly was when this frame was captured, from
				// the route, not from the loop's interpolation of decoded fixes.
				n := binary.LittleEndian.Uint32(img[len(d.frame):])
				tlat, tlon, ok := d.truePosition(d.captured[n])
				if !ok {
					t.Fatalf("seq %d: frame %d captured at %v, outside the fixes: stored without a position", rec.Seq, n, d.captured[n])
				}
				// The loop places a frame by the fixes' arrival, which lags the epoch they
				// describe: the decoder completes an epoch when the next one's sentences
				// arrive, so up to two epochs at 30 m/s (6 m). Nothing captured may lie
				// within the margin less that lag.
				if out := zone.MetresOutside(tlat, tlon); out <= zone.MarginM-maxLagM {
					t.Fatalf("seq %d: frame %d was captured %.0f m from the zone (margin %.0f m)", rec.Seq, n, out, zone.MarginM)
				}
				dm := math.Hypot((h.Lat-tlat)*mPerDeg, (h.Lon-tlon)*mPerDeg*math.Cos(tlat*math.Pi/180))
				if dm > maxLagM {
					t.Fatalf("seq %d: frame %d stored at %.6f,%.6f, %.1f m from where it was captured (%.6f,%.6f)", rec.Seq, n, h.Lat, h.Lon, dm, tlat, tlon)
				}
				worst = max(worst, dm)
				closest = min(closest, zone.MetresOutside(tlat, tlon))
				lat, lon = h.Lat, h.Lon
				frames++
				if lon > 119.55 {
					frameBefore++
				} else if lat > 39.92 {
					frameAfter++
				}
			default:
				t.Fatalf("unexpected record type %d", rec.Type)
			}
			if out := zone.MetresOutside(lat, lon); out <= zone.MarginM {
				t.Fatalf("seq %d type %d stored %.0f m from the zone (margin %.0f m)", rec.Seq, rec.Type, out, zone.MarginM)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("frames stored: at most %.1f m from where they were captured; captured %.0f m or more from the zone", worst, closest)
	c := &d.loop.Counters
	t.Logf("%d epochs: fixes stored %d (dropped %d, zone-deny %d); frames stored %d of %d (dropped %d, zone-deny %d)",
		len(samples), fixes, c.FixesDropped.Load(), c.FixDrops(PolicyReason(policy.ReasonZoneDeny)),
		frames, c.Frames.Load(), c.FramesDropped.Load(), c.FrameDrops(PolicyReason(policy.ReasonZoneDeny)))
	if fixBefore < 100 || fixAfter < 100 || frameBefore < 300 || frameAfter < 300 {
		t.Errorf("want data before and after the zone: fixes %d/%d, frames %d/%d", fixBefore, fixAfter, frameBefore, frameAfter)
	}
	if c.FixDrops(PolicyReason(policy.ReasonZoneDeny)) < 1000 || c.FrameDrops(PolicyReason(policy.ReasonZoneDeny)) < 3000 {
		t.Errorf("the drive crossed the zone but few drops were counted")
	}
	if got, want := uint64(fixes+frames), c.Records.Load(); got != want {
		t.Errorf("read back %d records, loop stored %d", got, want)
	}
}

// memStore is a Store that keeps only the last frame record, in a preallocated buffer.
type memStore struct {
	mu      sync.Mutex
	n       int
	last    []byte
	lastFix [record.FixSize]byte
}

func (m *memStore) Append(typ storage.Type, _ time.Time, p []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	if typ == record.TypeFrame {
		m.last = append(m.last[:0], p...)
	} else {
		copy(m.lastFix[:], p)
	}
	return uint64(m.n), nil
}

func TestLoopZeroAlloc(t *testing.T) {
	store := &memStore{last: make([]byte, 0, 8192)}
	d := newDrive(t, store, "licensed")
	samples := route()
	for i := 0; i < 20; i++ {
		d.epoch(&samples[i])
	}
	i := 20
	allocs := testing.AllocsPerRun(200, func() {
		d.epoch(&samples[i])
		i++
	})
	if allocs != 0 {
		t.Errorf("fix+frame path: %v allocs per epoch, want 0", allocs)
	}
	if store.n == 0 || d.loop.Counters.FramesKept.Load() == 0 {
		t.Fatal("nothing was stored: the measured path was not the storing one")
	}
}

func TestFailClosed(t *testing.T) {
	samples := route()
	t.Run("no store", func(t *testing.T) {
		d := newDrive(t, nil, "licensed")
		for i := 0; i < 30; i++ {
			d.epoch(&samples[i])
		}
		c := &d.loop.Counters
		if c.Records.Load() != 0 || c.FixDrops(ReasonNoStore) == 0 || c.FrameDrops(ReasonNoStore) == 0 {
			t.Errorf("records %d, no-store %d/%d", c.Records.Load(), c.FixDrops(ReasonNoStore), c.FrameDrops(ReasonNoStore))
		}
		if c.Fixes.Load() != c.FixesDropped.Load() || c.Frames.Load() != c.FramesDropped.Load() {
			t.Errorf("fixes %d dropped %d, frames %d dropped %d: every unstored one must count as dropped",
				c.Fixes.Load(), c.FixesDropped.Load(), c.Frames.Load(), c.FramesDropped.Load())
		}
	})
	t.Run("no policy", func(t *testing.T) {
		store := &memStore{}
		d := newDrive(t, store, "licensed")
		d.loop = New(Config{Frames: d.ring, Policy: &policy.Holder{}, Store: store, Now: func() time.Time { return d.now }, MaxFrameBytes: 4096})
		for i := 0; i < 30; i++ {
			d.epoch(&samples[i])
		}
		if store.n != 0 || d.loop.Counters.FixDrops(PolicyReason(policy.ReasonNoPolicy)) == 0 || d.loop.Counters.FrameDrops(PolicyReason(policy.ReasonNoPolicy)) == 0 {
			t.Errorf("stored %d without a policy", store.n)
		}
	})
	t.Run("no fix", func(t *testing.T) {
		store := &memStore{}
		d := newDrive(t, store, "licensed")
		for i := 0; i < 30; i++ {
			s := samples[i]
			s.NoFix = true
			d.epoch(&s)
		}
		if store.n != 0 || d.loop.Counters.FixesDropped.Load() == 0 || d.loop.Counters.FramesDropped.Load() == 0 {
			t.Errorf("stored %d without a position", store.n)
		}
	})
	t.Run("fixes stop", func(t *testing.T) {
		store := &memStore{}
		d := newDrive(t, store, "licensed")
		for i := 0; i < 10; i++ {
			d.epoch(&samples[i])
		}
		kept := d.loop.Counters.FramesKept.Load()
		// The receiver goes quiet; the camera goes on for 3 s.
		for i := 0; i < 90; i++ {
			d.now = d.now.Add(time.Second / 30)
			d.commitFrame(d.now)
			d.loop.drainFrames()
		}
		if got := d.loop.Counters.FramesKept.Load(); got != kept {
			t.Errorf("%d frames stored after the fixes stopped", got-kept)
		}
		if d.loop.Counters.FrameDrops(PolicyReason(policy.ReasonStale)) == 0 {
			t.Error("frames waiting for a fix that never came were not dropped as stale")
		}
		if st := d.loop.Status(); !st.HaveFix {
			t.Fatalf("status before the tick already says no fix: %+v", st)
		}
		d.loop.noFixState()
		if st := d.loop.Status(); st.HaveFix || st.Reason != policy.ReasonNoFix {
			t.Errorf("3 s without fixes, status still %+v", st)
		}
	})
	t.Run("power fail", func(t *testing.T) {
		store := &memStore{}
		d := newDrive(t, store, "licensed")
		for i := 0; i < 10; i++ {
			d.epoch(&samples[i])
		}
		n := store.n
		d.loop.PowerFail()
		for i := 10; i < 20; i++ {
			d.epoch(&samples[i])
		}
		if store.n != n || d.loop.Counters.FixDrops(ReasonPowerFail) == 0 {
			t.Errorf("stored %d records after power-fail", store.n-n)
		}
	})
}

func TestPublicTierCoarsensAndDownscales(t *testing.T) {
	store := &memStore{last: make([]byte, 0, 1<<20)}
	d := newLargeFrameDrive(t, store, "public", 1280, 720)
	d.loop.startScaler()
	samples := route()
	for i := 0; i < 5; i++ {
		d.epoch(&samples[i])
	}
	d.loop.stopScaler()
	if d.loop.Counters.FramesDownscaled.Load() == 0 {
		t.Fatalf("no frame downscaled: %+v", d.loop.Counters.FramesKept.Load())
	}
	h, img, err := record.DecodeFrame(store.last)
	if err != nil {
		t.Fatalf("last record: %v", err)
	}
	if int(h.Width)*int(h.Height) > 307200 || h.Format != camera.MJPEG || len(img) == 0 {
		t.Errorf("downscaled frame %dx%d %v", h.Width, h.Height, h.Format)
	}
	if h.Datum != policy.GCJ02 || h.PrecisionM != 50 {
		t.Errorf("public tier in China: datum %v precision %v", h.Datum, h.PrecisionM)
	}
	fix, err := record.DecodeFix(store.lastFix[:])
	if err != nil {
		t.Fatal(err)
	}
	if fix.Action != policy.Coarsen || fix.HasSpeed || fix.HasAlt || fix.Speed != 0 || fix.Alt != 0 {
		t.Errorf("a coarsened fix kept precise motion data: %+v", fix)
	}
}

func TestRunStopsAndReleases(t *testing.T) {
	fixes := make(chan gnss.Fix, 1)
	ring := camera.NewRing(4, 64)
	l := New(Config{Fixes: fixes, Frames: ring, Policy: samplePolicy(t), Now: func() time.Time { return driveStart }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	buf := ring.Buffer()
	ring.Commit(camera.Frame{Data: buf[:1], Captured: driveStart})
	fixes <- gnss.Fix{Received: driveStart}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := ring.Stats(); st.Held != 0 {
		t.Errorf("frames still held after Run: %+v", st)
	}
}

// TestCountersAddUp checks the counters' invariant: once the loop has stopped, every fix it
// took is kept, coarsened or dropped, every frame too, and the drops by reason add up to the
// drops; frames still waiting for their fix or queued in the ring at the stop count as
// "shutdown" drops.
func TestCountersAddUp(t *testing.T) {
	samples := route()
	for _, tt := range []struct {
		name     string
		tier     string
		noStore  bool
		epochs   int
		wantKeep bool // some records kept (licensed), else coarsened (public)
	}{
		{"licensed", "licensed", false, 60, true},
		{"public", "public", false, 60, false},
		{"no store", "licensed", true, 30, false},
		{"through the zone", "licensed", false, len(samples), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var store Store = &memStore{last: make([]byte, 0, 8192)}
			if tt.noStore {
				store = nil
			}
			d := newDrive(t, store, tt.tier)
			d.loop.startScaler()
			for i := 0; i < tt.epochs; i++ {
				d.epoch(&samples[i])
			}
			// Two frames after the last fix wait for the next one; two more stay in the ring.
			for range 2 {
				d.now = d.now.Add(10 * time.Millisecond)
				d.commitFrame(d.now)
				d.loop.drainFrames()
			}
			d.commitFrame(d.now)
			d.commitFrame(d.now)
			d.loop.stop()

			c := &d.loop.Counters
			fixDrops, frameDrops := uint64(0), uint64(0)
			for r := range NumReasons {
				fixDrops += c.FixDrops(r)
				frameDrops += c.FrameDrops(r)
			}
			if got := c.FixesKept.Load() + c.FixesCoarsened.Load() + c.FixesDropped.Load(); got != c.Fixes.Load() || c.Fixes.Load() != uint64(tt.epochs) {
				t.Errorf("fixes: kept %d + coarsened %d + dropped %d = %d, want %d fixes (%d epochs)",
					c.FixesKept.Load(), c.FixesCoarsened.Load(), c.FixesDropped.Load(), got, c.Fixes.Load(), tt.epochs)
			}
			if got := c.FramesKept.Load() + c.FramesCoarsened.Load() + c.FramesDropped.Load(); got != c.Frames.Load() || c.Frames.Load() != uint64(3*tt.epochs+4) {
				t.Errorf("frames: kept %d + coarsened %d + dropped %d = %d, want %d frames (%d committed)",
					c.FramesKept.Load(), c.FramesCoarsened.Load(), c.FramesDropped.Load(), got, c.Frames.Load(), 3*tt.epochs+4)
			}
			if fixDrops != c.FixesDropped.Load() || frameDrops != c.FramesDropped.Load() {
				t.Errorf("drops by reason add up to %d fixes and %d frames, want %d and %d", fixDrops, frameDrops, c.FixesDropped.Load(), c.FramesDropped.Load())
			}
			if got := c.FrameDrops(ReasonShutdown); got != 4 {
				t.Errorf("%d frames dropped as shutdown, want the 4 still waiting", got)
			}
			if c.FrameDrops(PolicyReason(policy.ReasonOK)) != 0 || c.FixDrops(PolicyReason(policy.ReasonOK)) != 0 {
				t.Error("drops counted with reason ok")
			}
			stored := c.FixesKept.Load() + c.FramesKept.Load()
			if !tt.wantKeep {
				stored = c.FixesCoarsened.Load() + c.FramesCoarsened.Load()
			}
			if (stored > 0) != !tt.noStore || c.Records.Load() != c.FixesKept.Load()+c.FixesCoarsened.Load()+c.FramesKept.Load()+c.FramesCoarsened.Load() {
				t.Errorf("records %d; kept %d/%d, coarsened %d/%d (fixes/frames)", c.Records.Load(),
					c.FixesKept.Load(), c.FramesKept.Load(), c.FixesCoarsened.Load(), c.FramesCoarsened.Load())
			}
			if st := d.ring.Stats(); st.Held != 0 || st.Queued != 0 {
				t.Errorf("ring after stop: %+v, want nothing held or queued", st)
			}
		})
	}
}

// TestReasonNames checks the vocabulary: every reason has a distinct name, the gate's do not
// reuse the policy's.
func TestReasonNames(t *testing.T) {
	seen := map[string]Reason{}
	for r := range NumReasons {
		name := r.String()
		if name == "reason(?)" {
			continue
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("reasons %d and %d are both %q", prev, r, name)
		}
		seen[name] = r
	}
	for _, want := range []string{"zone-deny", "stale", "scaler-busy", "too-large", "backlog", "no-store", "shutdown"} {
		if _, ok := seen[want]; !ok {
			t.Errorf("no reason named %q", want)
		}
	}
}
