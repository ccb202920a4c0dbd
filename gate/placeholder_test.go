package gate

import (
	"sync/atomic"
	"testing"

	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// TestPlaceholdersFillDroppedFixes drives through Beidaihe into a real log: every fix the
// policy dropped (deny zone, margin, no fix) left a placeholder in its place, so fixes and
// placeholders together are one per epoch, and a fix record and a placeholder have the
// same size (record.FixSize).
func TestPlaceholdersFillDroppedFixes(t *testing.T) {
	dir := t.TempDir()
	key := make([]byte, storage.KeySize)
	log, err := storage.Open(dir, storage.Options{Key: key, Clock: fixedClock(driveStart)})
	if err != nil {
		t.Fatal(err)
	}
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
	r, err := storage.NewReader(dir, key)
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
	if uint64(placeholders) != c.FixesDropped.Load() || uint64(placeholders) != st.Placeholders || uint64(fixes+placeholders) != c.Fixes.Load() {
		t.Fatalf("%d fixes in, %d stored, %d dropped, %d placeholders (log says %d): want one record or placeholder per fix",
			c.Fixes.Load(), fixes, c.FixesDropped.Load(), placeholders, st.Placeholders)
	}
}

// TestDroppedFixZeroAlloc: a dropped fix and its placeholder allocate nothing.
func TestDroppedFixZeroAlloc(t *testing.T) {
	key := make([]byte, storage.KeySize)
	log, err := storage.Open(t.TempDir(), storage.Options{Key: key, Clock: fixedClock(driveStart)})
	if err != nil {
		t.Fatal(err)
	}
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
	key := make([]byte, storage.KeySize)
	log, err := storage.Open(t.TempDir(), storage.Options{Key: key, Clock: fixedClock(driveStart)})
	if err != nil {
		t.Fatal(err)
	}
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
