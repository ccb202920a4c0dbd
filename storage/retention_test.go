package storage

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestQuota(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.Quota = 3 * o.SegmentSize
	l := mustOpen(t, dir, o)
	for i := 0; i < 40; i++ {
		appendN(t, l, 20)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := dirBytes(t, dir); got > o.Quota {
		t.Fatalf("log holds %d bytes, quota %d", got, o.Quota)
	}
	if l.Stats().Erased == 0 {
		t.Fatal("nothing erased")
	}
	seqs, _ := readAll(t, dir, testKey)
	if len(seqs) == 0 || seqs[len(seqs)-1] != 800 {
		t.Fatalf("newest records lost: %v", seqs)
	}
	checkSeqs(t, seqs, seqs[0], 800)
}

func TestMaxAgePerType(t *testing.T) {
	const fix, frame = Type(1), Type(2)
	dir := t.TempDir()
	clk := &fakeClock{t: t0}
	o := testOptions()
	o.Clock = clk
	o.MaxAge = map[Type]time.Duration{frame: time.Hour}
	l := mustOpen(t, dir, o)
	app := func(typ Type) {
		t.Helper()
		if _, err := l.Append(typ, clk.Now(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	app(fix) // segment 1: fixes only
	clk.Add(2 * time.Hour)
	app(fix) // the age roll: segment 2 gets a fix and a frame
	app(frame)
	clk.Add(2 * time.Hour)
	app(fix) // roll again: segment 3 (current) gets a fix
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r, _ := NewReader(dir, testKey)
	segs, _ := r.Segments()
	var got []uint64
	for _, s := range segs {
		if s.Erased == nil {
			got = append(got, s.FirstSeq)
		}
	}
	// Segment 2 held a frame older than an hour: erased with its fix, a tombstone left
	// between the two others. Fixes have no MaxAge.
	if len(got) != 2 || got[0] != 1 || got[1] != 4 || len(segs) != 3 || segs[1].Erased == nil || segs[1].FirstSeq != 2 {
		t.Fatalf("live segments start at seqs %v, want [1 4]; segments %+v", got, segs)
	}
}

// TestHold: a held segment outlives its MaxAge until it is released; the others go.
func TestHold(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: t0}
	o := testOptions()
	o.Clock = clk
	o.MaxAge = map[Type]time.Duration{1: time.Hour}
	var released atomic.Bool
	o.Hold = func(id uint64) bool { return id == 1 && !released.Load() }
	l := mustOpen(t, dir, o)
	for i := range 3 { // segments 1 and 2 sealed by age, 3 current
		if i > 0 {
			clk.Add(2 * time.Hour)
		}
		if _, err := l.Append(1, clk.Now(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	firstSeqs := func() []uint64 {
		t.Helper()
		r, _ := NewReader(dir, testKey)
		segs, _ := r.Segments()
		var got []uint64
		for _, s := range segs {
			if s.Erased == nil { // a tombstone stands for an erased middle segment
				got = append(got, s.FirstSeq)
			}
		}
		return got
	}
	// Segment 2 expired and went (a tombstone keeps the chain); segment 1 expired too but is held.
	if g := firstSeqs(); len(g) != 2 || g[0] != 1 || g[1] != 3 {
		t.Fatalf("held: segments start at seqs %v, want [1 3]", g)
	}
	released.Store(true)
	l = mustOpen(t, dir, o)
	if _, err := l.Append(1, clk.Now(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if g := firstSeqs(); len(g) == 0 || g[0] == 1 {
		t.Fatalf("released: segments start at seqs %v, segment 1 still there", g)
	}
}

// TestEraseOrder checks crypto-erasure: the wrapped key is overwritten and synced before
// the file is unlinked and the directory synced.
func TestEraseOrder(t *testing.T) {
	dir := t.TempDir()
	rfs := &recFS{}
	o := testOptions()
	o.Quota = 2 * o.SegmentSize
	o.fs = rfs
	l := mustOpen(t, dir, o)
	appendN(t, l, 300)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, segName(1))
	var seq []opKind
	for _, o := range rfs.snapshot() {
		if o.path != victim && o.kind != opSyncDir {
			continue
		}
		if len(seq) == 0 && !(o.kind == opWrite && o.off == offSalt) {
			continue
		}
		seq = append(seq, o.kind)
		if len(seq) == 4 {
			break
		}
	}
	want := []opKind{opWrite, opSync, opRemove, opSyncDir}
	if len(seq) != 4 || seq[0] != want[0] || seq[1] != want[1] || seq[2] != want[2] || seq[3] != want[3] {
		t.Fatalf("erasure ops %v, want %v", seq, want)
	}
}

func TestInterruptedErasure(t *testing.T) {
	dir := t.TempDir()
	paths := sealedLog(t, dir, 120)
	f, err := os.OpenFile(paths[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(make([]byte, saltSize+wrappedKeySize), offSalt) // power cut before the unlink
	f.Close()
	l := mustOpen(t, dir, testOptions())
	defer l.Close()
	if r := l.Recovery(); r.Erased != 1 {
		t.Fatalf("Recovery %+v, want Erased 1", r)
	}
	if _, err := os.Stat(paths[0]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("erased segment still there: %v", err)
	}
}

func TestNoSpaceEvicts(t *testing.T) {
	dir := t.TempDir()
	rfs := &recFS{}
	o := testOptions()
	o.fs = rfs
	l := mustOpen(t, dir, o)
	appendN(t, l, 300) // several sealed segments
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	rfs.mu.Lock()
	rfs.enospc = 1
	rfs.mu.Unlock()
	appendN(t, l, 5)
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync with one ENOSPC and segments to evict: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Stats().Erased != 1 {
		t.Fatalf("erased %d segments, want 1", l.Stats().Erased)
	}
	seqs, _ := readAll(t, dir, testKey)
	checkSeqs(t, seqs, seqs[0], 305)
}

// TestNoSpaceDropsAndResumes: through the seam, every write (the table's first row) or
// every fallocate of a new segment (the second) fails with ENOSPC and the floor allows no
// erasure. The log drops and counts records instead of failing, reports the ones it lost,
// keeps everything durable, and writes again once the backoff has passed and space returned.
func TestNoSpaceDropsAndResumes(t *testing.T) {
	tests := []struct {
		name  string
		roll  bool // fill the disk only when the next segment is created
		fault func(r *recFS)
	}{
		{"write", false, func(r *recFS) { r.enospc = 1 << 30 }},
		{"fallocate", true, func(r *recFS) { r.allocENOSPC = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rfs := &recFS{}
			clk := &fakeClock{t: t0}
			o := testOptions()
			o.fs, o.Clock = rfs, clk
			l := mustOpen(t, dir, o)
			appendN(t, l, 20)
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			rfs.mu.Lock()
			tt.fault(rfs)
			rfs.mu.Unlock()
			first := l.Stats().NextSeq
			n := 5
			if tt.roll {
				n = 200 // past the end of the segment
			}
			var err error
			for i := 0; i < n && err == nil; i++ {
				seq := l.Stats().NextSeq
				_, err = l.Append(Type(1+seq%3), t0.Add(time.Duration(seq)*time.Second), payloadFor(seq))
			}
			if serr := l.Sync(); !errors.Is(serr, ErrNoSpace) && !errors.Is(err, ErrNoSpace) {
				t.Fatalf("Sync on a full disk: %v, Append: %v, want ErrNoSpace", serr, err)
			}
			if _, err := l.Append(1, t0, []byte("x")); !errors.Is(err, ErrNoSpace) {
				t.Fatalf("Append on a full disk: %v, want ErrNoSpace", err)
			}
			st := l.Stats()
			if !st.Full || st.Dropped == 0 || st.Erased != 0 {
				t.Fatalf("Stats on a full disk: %+v", st)
			}
			durable := l.Durable()
			for s := first; s < l.Stats().NextSeq; s++ {
				if err := l.WaitDurable(s); err != nil && !errors.Is(err, ErrNoSpace) {
					t.Fatalf("WaitDurable(%d): %v", s, err)
				} else if err == nil && s > durable {
					t.Fatalf("record %d durable above Durable %d", s, durable)
				}
			}
			// Space returns, but the backoff has not passed: still dropping.
			rfs.mu.Lock()
			rfs.enospc, rfs.allocENOSPC = 0, false
			rfs.mu.Unlock()
			if _, err := l.Append(1, t0, []byte("x")); !errors.Is(err, ErrNoSpace) {
				t.Fatalf("Append before the backoff: %v, want ErrNoSpace", err)
			}
			clk.Add(fullRetryMin)
			resumed := l.Stats().NextSeq
			appendN(t, l, 30)
			if err := l.Sync(); err != nil {
				t.Fatalf("Sync after space returned: %v", err)
			}
			if l.Stats().Full {
				t.Fatal("still full")
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			o.fs = nil
			l = mustOpen(t, dir, o)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			seqs, reps := readAll(t, dir, testKey)
			have := map[uint64]bool{}
			for _, s := range seqs {
				have[s] = true
			}
			for s := uint64(1); s <= durable; s++ {
				if !have[s] && s < first {
					t.Fatalf("durable record %d lost", s)
				}
			}
			for s := resumed; s < resumed+30; s++ {
				if !have[s] {
					t.Fatalf("record %d appended after the disk had room again lost", s)
				}
			}
			for _, r := range reps {
				if err := r.Err(); err != nil {
					t.Fatalf("the full disk left damage: %v", err)
				}
			}
		})
	}
}

// TestSyncEIO: a failed fdatasync fails the log for good (the kernel may have dropped the
// dirty pages), and nothing after it is reported durable.
func TestSyncEIO(t *testing.T) {
	rfs := &recFS{}
	o := testOptions()
	o.fs = rfs
	l := mustOpen(t, t.TempDir(), o)
	appendN(t, l, 10)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	rfs.mu.Lock()
	rfs.eio = true
	rfs.mu.Unlock()
	appendN(t, l, 5)
	if err := l.Sync(); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync after EIO: %v, want ErrFailed wrapping EIO", err)
	}
	if _, err := l.Append(1, t0, nil); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append after EIO: %v", err)
	}
	if d := l.Durable(); d != 10 {
		t.Fatalf("Durable = %d, want 10", d)
	}
	l.Close()
}
