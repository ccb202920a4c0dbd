package storage

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const (
	tFix   Type = 1
	tFrame Type = 2
)

// retentionLog writes five segments, each started by the age roll (SegmentAge is the
// frames' MaxAge, an hour): fixes, fixes, frames, fixes, fixes. Fixes have no MaxAge.
// It returns the options (clock at the last record) and the seqs of fixes and frames.
func retentionLog(t *testing.T, dir string, o Options) (fixes, frames []uint64) {
	t.Helper()
	clk := o.Clock.(*fakeClock)
	l := mustOpen(t, dir, o)
	for _, typ := range []Type{tFix, tFix, tFrame, tFix, tFix} {
		for range 3 {
			seq := l.Stats().NextSeq
			if _, err := l.Append(typ, clk.Now(), payloadFor(seq)); err != nil {
				t.Fatal(err)
			}
			if typ == tFix {
				fixes = append(fixes, seq)
			} else {
				frames = append(frames, seq)
			}
			clk.Add(time.Minute)
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return fixes, frames
}

func retentionOptions() Options {
	o := testOptions()
	o.Clock = &fakeClock{t: t0}
	o.MaxAge = map[Type]time.Duration{tFrame: time.Hour}
	return o
}

// logState reads dir: every record's seq (payloads checked), the problems Segments
// reports, and the segments that are tombstones.
func logState(t *testing.T, dir string) (seqs []uint64, problems []error, tombs []SegmentInfo) {
	t.Helper()
	r, _ := NewReader(dir, testKey)
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		for _, e := range []error{s.Err, s.Chain} {
			if e != nil {
				problems = append(problems, e)
			}
		}
		if s.Erased != nil {
			tombs = append(tombs, s)
		}
		if s.Err != nil {
			continue
		}
		rep, err := r.Scan(s.ID, func(rec *Record) error {
			if !bytes.Equal(rec.Payload, payloadFor(rec.Seq)) {
				t.Fatalf("record %d: wrong payload", rec.Seq)
			}
			seqs = append(seqs, rec.Seq)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.Err(); err != nil {
			problems = append(problems, err)
		}
	}
	return seqs, problems, tombs
}

func hasAll(have, want []uint64) bool {
	m := map[uint64]bool{}
	for _, s := range have {
		m[s] = true
	}
	for _, s := range want {
		if !m[s] {
			return false
		}
	}
	return true
}

// TestRetentionTombstone: MaxAge erases a segment in the middle of the log (frames expire,
// older fixes are kept). It leaves a tombstone that Reader lists with what it erased and
// that is not a chain break, across a reopen; deleting the tombstone, or a segment before
// it, or destroying a middle segment's key is still reported; once the tombstone is the
// oldest file it is removed.
func TestRetentionTombstone(t *testing.T) {
	dir := t.TempDir()
	o := retentionOptions()
	fixes, frames := retentionLog(t, dir, o)
	check := func(what string) {
		t.Helper()
		seqs, problems, tombs := logState(t, dir)
		if len(problems) != 0 {
			t.Fatalf("%s: healthy log with retention reports %v", what, problems)
		}
		if !hasAll(seqs, fixes) || hasAll(seqs, frames[:1]) {
			t.Fatalf("%s: read %v, want fixes %v and no frame %v", what, seqs, fixes, frames)
		}
		if len(tombs) != 1 || tombs[0].ID != 3 || tombs[0].Records != 3 || tombs[0].FirstSeq != frames[0] || tombs[0].LastSeq != frames[2] ||
			!tombs[0].Erased.First.Equal(t0.Add(2*time.Hour+6*time.Minute)) || !tombs[0].Erased.Last.Equal(t0.Add(2*time.Hour+8*time.Minute)) {
			t.Fatalf("%s: tombstones %+v, want segment 3 with frames %v", what, tombs, frames)
		}
		if fi, err := os.Stat(tombs[0].Path); err != nil || fi.Size() != tombOffset()+tombSize {
			t.Fatalf("%s: tombstone file: %v, %v", what, fi, err)
		}
	}
	check("after Close")
	l := mustOpen(t, dir, o)
	if r := l.Recovery(); len(r.Unreadable) != 0 || r.Erased != 0 {
		t.Fatalf("reopen: %+v", r)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	check("after reopen")

	tamper := []struct {
		name string
		do   func(dir string)
	}{
		{"tombstone deleted", func(dir string) { os.Remove(filepath.Join(dir, segName(3))) }},
		{"segment before the tombstone deleted", func(dir string) { os.Remove(filepath.Join(dir, segName(2))) }},
		{"middle segment's key destroyed", func(dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, segName(4)), os.O_RDWR, 0)
			f.WriteAt(make([]byte, saltSize+wrappedKeySize), offSalt)
			f.Close()
		}},
		{"tombstone copied over another segment", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, segName(3)))
			os.WriteFile(filepath.Join(dir, segName(2)), b, 0o600)
		}},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			c := t.TempDir()
			copyDir(t, dir, c)
			tt.do(c)
			_, problems, _ := logState(t, c)
			if len(problems) == 0 {
				t.Fatal("not reported")
			}
			for _, p := range problems {
				if !errors.Is(p, ErrChain) {
					t.Fatalf("reported as %v, want ErrChain", p)
				}
			}
			t.Log(problems)
		})
	}
	// A destroyed key in the middle is set aside by Open, not erased.
	c := t.TempDir()
	copyDir(t, dir, c)
	tamper[2].do(c)
	l = mustOpen(t, c, o)
	if r := l.Recovery(); len(r.Unreadable) != 1 || !errors.Is(r.Unreadable[0], ErrChain) || r.Erased != 0 {
		t.Fatalf("Open of a log with a middle key destroyed: %+v", r)
	}
	l.Close()

	// Fixes expire too: everything sealed is erased from the oldest on, the tombstone
	// goes once it is the oldest, and no tombstone is left.
	o.MaxAge = map[Type]time.Duration{tFrame: time.Hour, tFix: time.Hour}
	o.Clock.(*fakeClock).Add(3 * time.Hour)
	l = mustOpen(t, dir, o)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seqs, problems, tombs := logState(t, dir)
	if len(seqs) != 0 || len(problems) != 0 || len(tombs) != 0 {
		t.Fatalf("after every type expired: records %v, problems %v, tombstones %v", seqs, problems, tombs)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCrashBury cuts the power before every file operation of a burial (and inside each
// write, and with unsynced operations lost), then opens the log: no fix is lost, nothing
// is set aside or reported as a chain break, and the expired frames are erased.
func TestCrashBury(t *testing.T) {
	src := t.TempDir()
	rfs := &recFS{}
	o := retentionOptions()
	o.MaxAge = map[Type]time.Duration{tFrame: 100 * time.Hour} // nothing expires yet
	o.SegmentAge = time.Hour
	o.fs = rfs
	fixes, frames := retentionLog(t, src, o)
	start := len(rfs.snapshot())
	o.MaxAge[tFrame] = time.Hour
	l := mustOpen(t, src, o) // buries segment 3
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ops := rfs.snapshot()
	var points []crashPoint
	for _, cp := range crashPoints(ops, rand.New(rand.NewPCG(3, 4))) {
		if cp.n >= start {
			points = append(points, cp)
		}
	}
	o.fs = nil
	for _, cp := range points {
		prefix := ops[:cp.n]
		if cp.unsynced {
			prefix = dropUnsynced(prefix)
		}
		dst := t.TempDir()
		if err := replay(append(append([]op(nil), prefix...), cp.partial...), src, dst); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dst, o)
		if err != nil {
			t.Fatalf("crash %s at op %d: Open: %v", cp.what, cp.n, err)
		}
		rec := l.Recovery()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		seqs, problems, _ := logState(t, dst)
		if len(rec.Unreadable) != 0 || len(problems) != 0 || !hasAll(seqs, fixes) || hasAll(seqs, frames[:1]) {
			t.Fatalf("crash %s at op %d (%v): recovery %+v, problems %v, read %v (fixes %v, frames %v)",
				cp.what, cp.n, ops[min(cp.n, len(ops)-1)].kind, rec, problems, seqs, fixes, frames)
		}
	}
	t.Logf("%d crash points in %d ops of the burial", len(points), len(ops)-start)
}
