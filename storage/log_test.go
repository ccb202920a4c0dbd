package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testKey = bytes.Repeat([]byte{0x42}, KeySize)

// fakeClock is a settable Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// testOptions are small segments so tests roll often; the window is long so only Sync
// writes (tests never depend on timing).
func testOptions() Options {
	return Options{
		Key:          testKey,
		SegmentSize:  16 << 10,
		BufferSize:   4 << 10,
		SyncInterval: time.Hour,
		Clock:        &fakeClock{t: t0},
	}
}

// payloadFor is the deterministic payload of record seq, of varying length. Beyond the 40
// records of the golden logs, every 11th payload is over 1 KiB.
func payloadFor(seq uint64) []byte {
	n := int(seq*37%300) + 1
	if seq > 40 && seq%11 == 0 {
		n = 1<<10 + int(seq%400)
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(seq*7 + uint64(i))
	}
	return p
}

func mustOpen(t testing.TB, dir string, o Options) *Log {
	t.Helper()
	l, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func appendN(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		seq := l.Stats().NextSeq
		got, err := l.Append(Type(1+seq%3), t0.Add(time.Duration(seq)*time.Second), payloadFor(seq))
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if got != seq {
			t.Fatalf("Append seq = %d, want %d", got, seq)
		}
	}
}

// appendSyncing appends n records like appendN and calls Sync after every every-th.
func appendSyncing(t testing.TB, l *Log, n, every int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		appendN(t, l, 1)
		if i%every == 0 {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// readAll reads every record of dir and checks each against payloadFor.
func readAll(t testing.TB, dir string, key []byte) (seqs []uint64, reps []ScanReport) {
	t.Helper()
	r, err := NewReader(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if s.Err != nil {
			t.Fatalf("segment %016x: %v", s.ID, s.Err)
		}
		rep, err := r.Scan(s.ID, func(rec *Record) error {
			if want := payloadFor(rec.Seq); !bytes.Equal(rec.Payload, want) {
				return fmt.Errorf("seq %d: payload %x, want %x", rec.Seq, rec.Payload, want)
			}
			if rec.Type != Type(1+rec.Seq%3) || !rec.Time.Equal(t0.Add(time.Duration(rec.Seq)*time.Second)) {
				return fmt.Errorf("seq %d: type %d time %v", rec.Seq, rec.Type, rec.Time)
			}
			seqs = append(seqs, rec.Seq)
			return nil
		})
		if err != nil {
			t.Fatalf("Scan %016x: %v", s.ID, err)
		}
		reps = append(reps, rep)
	}
	return seqs, reps
}

func checkSeqs(t testing.TB, seqs []uint64, from, to uint64) {
	t.Helper()
	if len(seqs) != int(to-from+1) {
		t.Fatalf("read %d records, want %d (%d..%d): %v", len(seqs), to-from+1, from, to, seqs)
	}
	for i, s := range seqs {
		if s != from+uint64(i) {
			t.Fatalf("record %d has seq %d, want %d", i, s, from+uint64(i))
		}
	}
}

func TestAppendReopenRead(t *testing.T) {
	for _, c := range []Cipher{AES256GCM, XChaCha20Poly1305} {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			o := testOptions()
			o.Cipher = c
			l := mustOpen(t, dir, o)
			appendN(t, l, 500)
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if d := l.Durable(); d != 500 {
				t.Fatalf("Durable = %d, want 500", d)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Append(1, t0, nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("Append after Close: %v, want ErrClosed", err)
			}
			l = mustOpen(t, dir, o)
			if rec := l.Recovery(); rec.Scanned != 0 || len(rec.Cut) != 0 {
				t.Fatalf("clean reopen recovered %+v", rec)
			}
			appendN(t, l, 100)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			seqs, reps := readAll(t, dir, testKey)
			checkSeqs(t, seqs, 1, 600)
			for _, r := range reps {
				if err := r.Err(); err != nil {
					t.Fatal(err)
				}
			}
			segs, _ := (&Reader{dir: dir, devKey: testKey}).Segments()
			if len(segs) < 3 {
				t.Fatalf("%d segments, want the 16 KiB segments to roll", len(segs))
			}
			for _, s := range segs {
				if !s.Sealed || s.Cipher != c {
					t.Fatalf("segment %+v not sealed with %v", s, c)
				}
			}
		})
	}
}

func TestWrongKey(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions())
	appendN(t, l, 10)
	l.Close()
	other := bytes.Repeat([]byte{7}, KeySize)
	o := testOptions()
	o.Key = other
	if _, err := Open(dir, o); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with wrong key: %v, want ErrWrongKey", err)
	}
	r, _ := NewReader(dir, other)
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if !errors.Is(s.Err, ErrWrongKey) {
			t.Fatalf("segment %016x: %v, want ErrWrongKey", s.ID, s.Err)
		}
		n := 0
		if _, err := r.Scan(s.ID, func(*Record) error { n++; return nil }); !errors.Is(err, ErrWrongKey) || n != 0 {
			t.Fatalf("Scan with wrong key: %d records, %v", n, err)
		}
	}
	if _, err := NewReader(dir, other[:16]); !errors.Is(err, ErrKeySize) {
		t.Fatalf("short key: %v", err)
	}
}

func TestAppendErrors(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions())
	defer l.Close()
	tests := []struct {
		name string
		typ  Type
		n    int
		want error
	}{
		{"type zero", 0, 1, ErrType},
		{"reserved type", MaxType + 1, 1, ErrType},
		{"too large", 1, 64 << 10, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(tt.typ, t0, make([]byte, tt.n)); !errors.Is(err, tt.want) {
				t.Fatalf("Append: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAppendAllocs(t *testing.T) {
	for _, c := range []Cipher{AES256GCM, XChaCha20Poly1305} {
		t.Run(c.String(), func(t *testing.T) {
			o := testOptions()
			o.Cipher = c
			o.SegmentSize, o.BufferSize = 64<<20, 8<<20
			l := mustOpen(t, t.TempDir(), o)
			defer l.Close()
			for _, n := range []int{64, 2 << 10} { // a fix record, a small frame
				p := make([]byte, n)
				i := 0
				// Every 100th call also waits until the sealer and the flusher have made
				// everything durable, so their work is inside the count.
				allocs := testing.AllocsPerRun(1000, func() {
					if _, err := l.Append(1, t0, p); err != nil {
						t.Fatal(err)
					}
					if i++; i%100 == 0 {
						if err := l.Sync(); err != nil {
							t.Fatal(err)
						}
					}
				})
				if allocs != 0 {
					t.Fatalf("Append of %d bytes allocates %v times per call", n, allocs)
				}
			}
			if l.Stats().Syncs == 0 {
				t.Fatal("nothing was written during the count")
			}
			if a := testing.AllocsPerRun(100, func() { _ = l.Durable() }); a != 0 {
				t.Fatalf("Durable allocates %v times per call", a)
			}
		})
	}
}

func TestConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.SyncInterval = 0 // default window: exercises the ticker path too
	l := mustOpen(t, dir, o)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				if _, err := l.Append(1, t0, make([]byte, 100)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r, _ := NewReader(dir, testKey)
	segs, _ := r.Segments()
	var n int
	var last uint64
	for _, s := range segs {
		if _, err := r.Scan(s.ID, func(rec *Record) error {
			if rec.Seq != last+1 {
				return fmt.Errorf("seq %d after %d", rec.Seq, last)
			}
			last = rec.Seq
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1200 {
		t.Fatalf("read %d records, want 1200", n)
	}
}

func TestTempFileRemoved(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segName(9)+tmpExt), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := mustOpen(t, dir, testOptions())
	defer l.Close()
	if r := l.Recovery(); r.TempRemoved != 1 {
		t.Fatalf("Recovery %+v, want TempRemoved 1", r)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions())
	if _, err := Open(dir, testOptions()); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	l.Close()
	l = mustOpen(t, dir, testOptions())
	if _, err := LockDir(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("LockDir of an open log: %v, want ErrLocked", err)
	}
	l.Close()
	release, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, testOptions()); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open under LockDir: %v, want ErrLocked", err)
	}
	release()
	mustOpen(t, dir, testOptions()).Close()
}

// TestSealers: with buffers large enough for the first sealer to encrypt the fill buffer
// behind Append (in sealChunk runs, while Append adds frames after them), and Append
// faster than one sealer so that the others help with handed-off batches, every record
// reads back intact, and (given two CPUs) both kinds of runs did happen.
func TestSealers(t *testing.T) {
	o := testOptions()
	o.SegmentSize, o.BufferSize = 4<<20, 1<<20
	dir := t.TempDir()
	l := mustOpen(t, dir, o)
	const n = 100000
	appendSyncing(t, l, n, 25000)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seqs, _ := readAll(t, dir, testKey)
	checkSeqs(t, seqs, 1, n)
	t.Logf("%d runs sealed ahead of a hand-off, %d by helping sealers", l.ahead.Load(), l.helped.Load())
	if runtime.GOMAXPROCS(0) == 1 {
		return // on one CPU the sealer runs only when Append waits: nothing overlaps
	}
	if l.ahead.Load() == 0 {
		t.Error("the first sealer never encrypted frames ahead of a hand-off")
	}
	if l.helped.Load() == 0 {
		t.Error("with several CPUs, no other sealer ever helped")
	}
}

// TestNoPlaintextOnDisk: nothing of a payload reaches a segment file in the clear, whether
// the log is closed or cut off with buffered records.
func TestNoPlaintextOnDisk(t *testing.T) {
	marker := []byte("PLAINTEXT-MARKER-31.2304N-121.4737E")
	for _, c := range []Cipher{AES256GCM, XChaCha20Poly1305} {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			o := testOptions()
			o.Cipher = c
			l := mustOpen(t, dir, o)
			for i := 0; i < 200; i++ {
				if _, err := l.Append(1, t0, marker); err != nil {
					t.Fatal(err)
				}
				if i%50 == 0 {
					l.Sync()
				}
			}
			l.Close()
			d, _ := listSegments(dir)
			for _, id := range d.ids {
				b, err := os.ReadFile(filepath.Join(dir, segName(id)))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, marker[:16]) {
					t.Fatalf("segment %016x holds plaintext", id)
				}
			}
		})
	}
}

func TestStatsCountGroupCommits(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions())
	defer l.Close()
	appendN(t, l, 10)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Syncs == 0 || st.Syncs > 10 || st.Durable != 10 {
		t.Fatalf("after 10 appends and a Sync: %+v (want 1..10 fdatasyncs, durable 10)", st)
	}
}

// holdFS passes everything to the real file system, but, once armed, holds the next
// fdatasync of a segment file until released, and reports segment writes.
type holdFS struct {
	osFS
	armed   atomic.Bool
	held    chan struct{} // receives when the held fdatasync starts
	release chan struct{} // closed to let it finish
	wrote   chan struct{} // signalled (one pending at most) after each segment write past the header
}

type holdFile struct {
	file
	fs  *holdFS
	seg bool
}

func (h *holdFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f, err := h.osFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &holdFile{f, h, strings.Contains(name, segExt)}, nil
}

func (f *holdFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.file.WriteAt(p, off)
	if f.seg && off > 0 {
		select {
		case f.fs.wrote <- struct{}{}:
		default:
		}
	}
	return n, err
}

func (f *holdFile) Datasync() error {
	if f.seg && f.fs.armed.CompareAndSwap(true, false) {
		f.fs.held <- struct{}{}
		<-f.fs.release
	}
	return f.file.Datasync()
}

// TestSyncOverlapsWrite: while the disk flushes one batch, the flusher writes the next,
// and neither is reported durable before its fdatasync returns.
func TestSyncOverlapsWrite(t *testing.T) {
	h := &holdFS{held: make(chan struct{}), release: make(chan struct{}), wrote: make(chan struct{}, 1)}
	o := testOptions()
	o.fs = h
	l := mustOpen(t, t.TempDir(), o)
	wait := func(c chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(20 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	h.armed.Store(true)
	appendN(t, l, 5)
	first := make(chan error, 1)
	go func() { first <- l.Sync() }()
	wait(h.held, "the first fdatasync")
	<-h.wrote // the first batch's write, before its fdatasync
	appendN(t, l, 5)
	second := make(chan error, 1)
	go func() { second <- l.WaitDurable(10) }()
	wait(h.wrote, "the second batch to be written during the first fdatasync")
	if d := l.Durable(); d != 0 {
		t.Fatalf("Durable = %d while the first fdatasync is held, want 0", d)
	}
	close(h.release)
	for _, c := range []chan error{first, second} {
		select {
		case err := <-c:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("timed out waiting for durability")
		}
	}
	if d := l.Durable(); d != 10 {
		t.Fatalf("Durable = %d, want 10", d)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}
