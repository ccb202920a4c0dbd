package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/geogate/geogate/internal/testtool"
	"golang.org/x/sys/unix"
)

// smallTmpfs mounts a tmpfs of size bytes for the test; without root it skips, or fails in CI.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		testtool.Need(t, "a tmpfs mount", err, "run the tests as root, as CI does")
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestNoSpaceRealTmpfs fills a real 1 MiB file system: fallocate fails with ENOSPC and
// the log evicts the oldest sealed segments above its floor (one segment here) to make
// room, keeping the newest records; with nothing to evict it refuses with ErrNoSpace.
func TestNoSpaceRealTmpfs(t *testing.T) {
	dir := smallTmpfs(t, "1m")
	o := testOptions()
	o.SegmentSize = 192 << 10
	o.BufferSize = 16 << 10
	o.KeepSegments = 1
	l := mustOpen(t, dir, o)
	for i := 0; i < 40; i++ { // ~3 MiB through a 1 MiB disk
		appendN(t, l, 300)
		if err := l.Sync(); err != nil {
			t.Fatalf("Sync %d: %v", i, err)
		}
	}
	if l.Stats().Erased == 0 {
		t.Fatal("nothing evicted on a full disk")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seqs, _ := readAll(t, dir, testKey)
	if len(seqs) == 0 || seqs[len(seqs)-1] != 12000 {
		t.Fatalf("newest records lost on a full disk: read %d records", len(seqs))
	}
	checkSeqs(t, seqs, seqs[0], 12000)

	// A segment larger than the whole disk: nothing to evict, Open refuses cleanly and
	// leaves no half-created file.
	o.SegmentSize = 4 << 20
	o.Quota = 0
	os.RemoveAll(filepath.Join(dir, "log2"))
	if _, err := Open(filepath.Join(dir, "log2"), o); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Open on a too small disk: %v, want ErrNoSpace", err)
	}
	if d, _ := listSegments(filepath.Join(dir, "log2")); len(d.ids)+len(d.tmps) != 0 {
		t.Fatalf("refused Open left files: %+v", d)
	}
}

// TestNoSpaceOtherWriter is the reproduction of issue 17 on a real 4 MiB tmpfs with 1 MiB
// segments: another writer fills the disk with 64 KiB files between the log's batches. The
// log once erased every segment, the one sealed moments earlier included, and stayed
// failed after the files were deleted. Now it keeps its floor, drops and counts records
// while the disk is full, and writes again by itself once space returns: every record
// acknowledged before, during and after is read back.
func TestNoSpaceOtherWriter(t *testing.T) {
	mnt := smallTmpfs(t, "4m")
	dir := filepath.Join(mnt, "log")
	clk := &fakeClock{t: t0}
	o := testOptions()
	o.Clock = clk
	o.SegmentSize = 1 << 20
	o.BufferSize = 64 << 10
	o.KeepSegments = 3
	l := mustOpen(t, dir, o)
	var acked []uint64 // WaitDurable returned nil
	var lost int       // WaitDurable returned ErrNoSpace
	appendSome := func(n int) error {
		var seqs []uint64
		var err error
		for i := 0; i < n && err == nil; i++ {
			seq := l.Stats().NextSeq
			if _, err = l.Append(Type(1+seq%3), t0.Add(time.Duration(seq)*time.Second), payloadFor(seq)); err == nil {
				seqs = append(seqs, seq)
			}
		}
		if serr := l.Sync(); err == nil {
			err = serr
		}
		for _, s := range seqs {
			switch werr := l.WaitDurable(s); {
			case werr == nil:
				acked = append(acked, s)
			case errors.Is(werr, ErrNoSpace):
				lost++
			default:
				t.Fatalf("WaitDurable(%d): %v", s, werr)
			}
		}
		return err
	}
	var filler []string
	fill := func() bool { // one 64 KiB file; false once the disk is full
		p := filepath.Join(mnt, fmt.Sprintf("filler-%04d", len(filler)))
		err := os.WriteFile(p, bytes.Repeat([]byte{0xee}, 64<<10), 0o600)
		filler = append(filler, p)
		return err == nil
	}
	// The log and the other writer take turns until the disk is full.
	var full error
	for round := 0; round < 200 && full == nil; round++ {
		full = appendSome(60)
		fill()
	}
	if !errors.Is(full, ErrNoSpace) {
		t.Fatalf("the disk never filled: %v", full)
	}
	for fill() {
	}
	st := l.Stats()
	if !st.Full || st.Erased != 0 {
		t.Fatalf("Stats on a full disk: %+v, want Full and nothing erased below the floor", st)
	}
	if _, err := l.Append(1, t0, []byte("x")); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Append on a full disk: %v, want ErrNoSpace", err)
	}
	if l.Stats().Dropped <= st.Dropped {
		t.Fatal("refused record not counted")
	}
	// Space returns; after the backoff the log writes again by itself.
	for _, p := range filler {
		os.Remove(p)
	}
	clk.Add(fullRetryMax)
	if err := appendSome(500); err != nil {
		t.Fatalf("appends after space returned: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, o) // seals the segment given up on the full disk
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seqs, reps := readAll(t, dir, testKey)
	have := map[uint64]bool{}
	for _, s := range seqs {
		have[s] = true
	}
	for _, s := range acked {
		if !have[s] {
			t.Fatalf("acknowledged record %d lost (%d acknowledged, %d read)", s, len(acked), len(seqs))
		}
	}
	for _, r := range reps {
		if err := r.Err(); err != nil {
			t.Fatalf("damage: %v", err)
		}
	}
	if lost == 0 || uint64(lost) > st.Dropped {
		t.Fatalf("%d records reported lost, %d counted dropped", lost, st.Dropped)
	}
	t.Logf("%d records acknowledged, %d read, %d appended and lost, %d dropped while full", len(acked), len(seqs), lost, st.Dropped)
}
