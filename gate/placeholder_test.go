package gate

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// TestPlaceholdersFillDroppedFixes drives through Beidaihe into a real log: every fix the
// policy dropped (deny zone, margin, no fix) left a placeholder in its place, so fixes and
// placeholders together are one per epoch, and a fix record and a placeholder have the
// same size (record.FixSize). The licensed tier stores every frame, so every frame dropped
// for where the car was left one too (TestPlaceholdersFillDroppedFrames checks their sizes
// and cadence).
func TestPlaceholdersFillDroppedFixes(t *testing.T) {
	dir := t.TempDir()
	log := openDriveLog(t, dir)
	d := newDrive(t, log, "licensed")
	samples := route()
	for i := range samples {
		if i%50 == 7 {
			samples[i].NoFix = true // a few epochs without a position
		}
		d.epoch(&samples[i])
	}
	st := log.Stats()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := storage.NewReader(dir, driveKey)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	var fixes, placeholders int
	for _, s := range segs {
		placeholders += s.Placeholders
		rep, err := r.Scan(s.ID, func(rec *storage.Record) error {
			if rec.Type == record.TypeFix {
				if len(rec.Payload) != record.FixSize {
					t.Fatalf("fix record of %d bytes, placeholders have %d", len(rec.Payload), record.FixSize)
				}
				fixes++
			}
			return nil
		})
		if err != nil || rep.Err() != nil {
			t.Fatal(err, rep.Err())
		}
	}
	c := &d.loop.Counters
	if c.FixDrops(PolicyReason(policy.ReasonZoneDeny)) == 0 || c.FixDrops(PolicyReason(policy.ReasonNoFix))+c.FixDrops(PolicyReason(policy.ReasonInvalid)) == 0 {
		t.Fatalf("the drive dropped no fix for the zone or for lack of a position: the test does not test")
	}
	var framePlaces uint64
	for _, r := range []policy.Reason{policy.ReasonZoneDeny, policy.ReasonZoneCoarsen} {
		framePlaces += c.FrameDrops(PolicyReason(r))
	}
	if framePlaces == 0 || c.FrameDrops(PolicyReason(policy.ReasonNoFix)) == 0 {
		t.Fatalf("no frame dropped for the zone or for lack of a position: the test does not test")
	}
	if uint64(placeholders) != c.FixesDropped.Load()+framePlaces || uint64(placeholders) != st.Placeholders || c.FixesDropped.Load()+uint64(fixes) != c.Fixes.Load() {
		t.Fatalf("%d fixes in, %d stored, %d dropped; %d frames dropped for the zone; %d placeholders (log says %d): want one record or placeholder per fix, and one per frame dropped for the zone",
			c.Fixes.Load(), fixes, c.FixesDropped.Load(), framePlaces, placeholders, st.Placeholders)
	}
}

// TestDroppedFixZeroAlloc: a dropped fix and its placeholder allocate nothing.
func TestDroppedFixZeroAlloc(t *testing.T) {
	log := openDriveLog(t, t.TempDir())
	defer log.Close()
	d := newDrive(t, log, "licensed")
	samples := route()
	for i := range 20 {
		samples[i].NoFix = true
		d.epoch(&samples[i])
	}
	i := 20
	before := log.Stats().Placeholders
	allocs := testing.AllocsPerRun(200, func() {
		s := samples[i%len(samples)]
		s.NoFix = true
		d.decode(&s, d.loop.HandleFix)
		d.now = d.now.Add(100e6)
		i++
	})
	if allocs != 0 {
		t.Errorf("dropped fix with placeholder: %v allocs, want 0", allocs)
	}
	if log.Stats().Placeholders == before {
		t.Fatal("no placeholder was appended: the measured path was not the dropping one")
	}
}

// TestPlaceholdersFillBacklog: fixes dropped before the loop (the reader's channel was full)
// leave a placeholder each once the loop runs again, and none twice; a dropped fix's
// placeholder allocates nothing.
func TestPlaceholdersFillBacklog(t *testing.T) {
	log := openDriveLog(t, t.TempDir())
	defer log.Close()
	d := newDrive(t, log, "licensed")
	var backlog atomic.Uint64
	d.loop.cfg.Backlog = &backlog
	samples := route()
	for i := range 10 {
		d.epoch(&samples[i])
	}
	before := log.Stats().Placeholders
	backlog.Add(7)
	d.loop.fillBacklog()
	d.loop.fillBacklog() // nothing new: nothing more
	if got := log.Stats().Placeholders - before; got != 7 {
		t.Fatalf("%d placeholders for 7 fixes dropped before the loop, want 7", got)
	}
	allocs := testing.AllocsPerRun(100, func() {
		backlog.Add(1)
		d.loop.fillBacklog()
	})
	if allocs != 0 {
		t.Errorf("fillBacklog allocates %.1f times per dropped fix, want 0", allocs)
	}
	if got := log.Stats().Placeholders - before; got != 7+101 {
		t.Errorf("%d placeholders after 108 fixes dropped before the loop, want 108", got)
	}
}

// sizeStore records what a Store was given, as someone without the key sees it on disk: a
// sealed record's size and its order, whether it is a record or a placeholder (which it
// notes for the test only). Its slice is preallocated, so it allocates nothing.
type sizeStore struct {
	mu   sync.Mutex
	recs []sized
}

type sized struct {
	placeholder bool
	typ         storage.Type
	size        int
	at          time.Time
}

func (s *sizeStore) Append(typ storage.Type, at time.Time, p []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, sized{typ: typ, size: len(p), at: at})
	return uint64(len(s.recs)), nil
}

func (s *sizeStore) AppendPlaceholder(at time.Time, size int) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, sized{placeholder: true, size: size, at: at})
	return uint64(len(s.recs)), nil
}

// TestPlaceholdersFillDroppedFrames drives the public tier (5 frames a second of a 30 fps
// camera) through Beidaihe: the frames dropped for the zone, its margin and the coarsened
// fixes around them leave placeholders of a stored frame record's size at the tier's rate, so
// every second of the drive has the same number of frame-sized records, inside the zone or
// not. A zone-dropped frame and its placeholder allocate nothing.
func TestPlaceholdersFillDroppedFrames(t *testing.T) {
	store := &sizeStore{recs: make([]sized, 0, 1<<16)}
	d := newDrive(t, store, "public")
	samples := route()
	for i := range samples {
		if i%50 == 7 {
			samples[i].NoFix = true
		}
		d.epoch(&samples[i])
	}
	frameSize := record.FrameHeaderSize + len(d.frame)
	perSecond := map[int64]int{}
	var stored, placed int
	for _, r := range store.recs {
		switch {
		case r.placeholder && r.size == record.FixSize:
		case r.placeholder:
			if r.size != frameSize {
				t.Fatalf("placeholder of %d bytes: neither a fix's (%d) nor a frame's (%d)", r.size, record.FixSize, frameSize)
			}
			placed++
		case r.typ == record.TypeFrame:
			if r.size != frameSize {
				t.Fatalf("frame record of %d bytes, want %d", r.size, frameSize)
			}
			stored++
		default:
			continue
		}
		if r.size == frameSize {
			perSecond[r.at.Unix()]++
		}
	}
	c := &d.loop.Counters
	if stored < 100 || placed < 100 || c.FrameDrops(PolicyReason(policy.ReasonNoFix))+c.FrameDrops(PolicyReason(policy.ReasonStale)) == 0 {
		t.Fatalf("%d frames stored, %d placed, %d dropped without a position: the drive does not test", stored, placed,
			c.FrameDrops(PolicyReason(policy.ReasonNoFix))+c.FrameDrops(PolicyReason(policy.ReasonStale)))
	}
	first, last := samples[0].Time.Unix(), samples[len(samples)-1].Time.Unix()
	counts := map[int]int{}
	for sec := first + 1; sec < last; sec++ {
		counts[perSecond[sec]]++
	}
	// The tier's 5 a second, by the camera's clock; the drive's local clock runs 1% fast
	// against the receiver's (101 ms per 100 ms epoch), so some receiver seconds hold 6.
	for n := range counts {
		if n != 5 && n != 6 {
			t.Errorf("frame-sized records per second of the drive (records: seconds): %v; want the tier's 5 (or 6) in every second, inside the zone or not", counts)
			break
		}
	}
	t.Logf("%d frames stored, %d placeholders of a frame's size; records a second: %v", stored, placed, counts)

	// Inside the zone: every frame is dropped and some are placed, without allocating.
	inside := samples[len(samples)/2]
	if d.loop.frameEng.Decide(&gnss.Fix{Lat: inside.Lat, Lon: inside.Lon, Valid: true, Has: gnss.HasPos, Received: d.now}, d.now).Reason != policy.ReasonZoneDeny {
		t.Fatal("the middle of the route is not in the deny zone")
	}
	before := len(store.recs)
	allocs := testing.AllocsPerRun(50, func() {
		s := inside
		s.Time = d.now
		d.epoch(&s)
	})
	if allocs != 0 || len(store.recs) == before {
		t.Errorf("zone-dropped frames: %.1f allocs per epoch, %d placeholders: want 0 allocs and some placeholders", allocs, len(store.recs)-before)
	}
}

// TestFramePlaceholderSizeDownscaled: where the tier stores frames downscaled, a zone-dropped
// frame's placeholder has the size its downscaled record would have had (the camera's frame is
// the same JPEG throughout here, so exactly that of the stored ones).
func TestFramePlaceholderSizeDownscaled(t *testing.T) {
	store := &sizeStore{recs: make([]sized, 0, 1<<16)}
	d := newLargeFrameDrive(t, store, "public", 1280, 720)
	d.loop.startScaler()
	samples := route()
	placed := func() (n int) {
		store.mu.Lock()
		defer store.mu.Unlock()
		for _, r := range store.recs {
			if r.placeholder && r.size != record.FixSize {
				n++
			}
		}
		return n
	}
	for i := 0; i < len(samples) && placed() < 20; i++ {
		d.epoch(&samples[i])
	}
	d.loop.stopScaler()
	var storedSize int
	sizes := map[int]int{}
	for _, r := range store.recs {
		switch {
		case r.typ == record.TypeFrame:
			storedSize = r.size
		case r.placeholder && r.size != record.FixSize:
			sizes[r.size]++
		}
	}
	if storedSize == 0 || storedSize >= record.FrameHeaderSize+len(d.frame) || len(sizes) == 0 {
		t.Fatalf("stored frame record %d bytes (captured %d), placeholders %v: nothing downscaled or placed", storedSize, len(d.frame), sizes)
	}
	for size := range sizes {
		if size != storedSize {
			t.Errorf("placeholders of sizes %v, downscaled frame records of %d bytes", sizes, storedSize)
		}
	}
}
