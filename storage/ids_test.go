package storage

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStraySegmentID: a planted fffffffffffffffe.seg once made the next id wrap to 0 and
// new segments be renamed over sealed ones. An id out of range is reported and left
// alone; ids go on from the log's own; every record survives.
func TestStraySegmentID(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.SegmentSize = 8 << 10
	o.BufferSize = 2 << 10
	l := mustOpen(t, dir, o)
	appendN(t, l, 40)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A copy of a real segment under an id at the top of the range.
	real, err := os.ReadFile(filepath.Join(dir, segName(d.ids[0])))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fffffffffffffffe.seg", "ffffffffffffffff.seg", "0000000000000000.seg"} {
		if err := os.WriteFile(filepath.Join(dir, name), real, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l = mustOpen(t, dir, o)
	if got := l.Recovery().Stray; len(got) != 3 {
		t.Fatalf("Recovery.Stray = %v, want the 3 planted files", got)
	}
	appendN(t, l, 120) // several rolls
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fffffffffffffffe.seg", "ffffffffffffffff.seg", "0000000000000000.seg"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(b, real) {
			t.Fatalf("%s changed or gone: %v", name, err)
		}
	}
	d, _ = listSegments(dir)
	if last := d.ids[len(d.ids)-1]; last >= maxSegID || len(d.ids) < 3 {
		t.Fatalf("segment ids %x", d.ids)
	}
	seqs, _ := readAll(t, dir, testKey)
	checkSeqs(t, seqs, 1, 160)
}

// TestRenameNeverReplaces: the file-ops seam refuses to rename over a file.
func TestRenameNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("a"), 0o600)
	os.WriteFile(b, []byte("b"), 0o600)
	if err := (osFS{}).Rename(a, b); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Rename over a file: %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(b); string(got) != "b" {
		t.Fatalf("target overwritten: %q", got)
	}
	if err := linkRename(a, b); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("linkRename over a file: %v, want fs.ErrExist", err)
	}
	if err := (osFS{}).Rename(a, filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
}

// TestCreateNeverReplaces: a file already at the next segment's name makes the roll fail
// instead of replacing it.
func TestCreateNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	l := mustOpen(t, dir, o)
	defer l.Close()
	l.mu.Lock()
	next := filepath.Join(dir, segName(l.nextID))
	l.mu.Unlock()
	if err := os.WriteFile(next, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	seg, err := l.newSegment()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.create(seg); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("create over a file: %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(next); string(got) != "precious" {
		t.Fatalf("file replaced: %q", got)
	}
	if _, err := os.Stat(next + tmpExt); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
}

// TestQuarantineSwappedNames: two sealed segments' file names swapped. Each header names
// the other id: Open sets both aside under the quarantine name, reports them, and erases
// neither; renamed back, every record reads again.
func TestQuarantineSwappedNames(t *testing.T) {
	dir := t.TempDir()
	paths := sealedLog(t, dir, 100)
	if len(paths) < 3 {
		t.Fatalf("want 3 segments, have %d", len(paths))
	}
	a, b := paths[0], paths[1]
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	os.Rename(a, a+".x")
	os.Rename(b, a)
	os.Rename(a+".x", b)
	o := testOptions()
	o.SegmentSize = 8 << 10
	o.BufferSize = 2 << 10
	l := mustOpen(t, dir, o)
	rec := l.Recovery()
	l.Close()
	if len(rec.Unreadable) != 2 || !errors.Is(rec.Unreadable[0], ErrChain) || !strings.Contains(rec.Unreadable[0].Error(), quarantineExt) {
		t.Fatalf("Recovery.Unreadable = %v, want both segments set aside", rec.Unreadable)
	}
	if got, _ := os.ReadFile(b + quarantineExt); !bytes.Equal(got, ab) {
		t.Fatal("quarantined segment changed")
	}
	if got, _ := os.ReadFile(a + quarantineExt); !bytes.Equal(got, bb) {
		t.Fatal("quarantined segment changed")
	}
	if err := os.Rename(b+quarantineExt, a); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(a+quarantineExt, b); err != nil {
		t.Fatal(err)
	}
	seqs, _ := readAll(t, dir, testKey)
	checkSeqs(t, seqs, 1, 100)
}

// TestScanForeignFrames: a segment's frames under another segment's header (headers
// swapped) authenticate nowhere; the scan returns nothing, reports the whole body as one
// range, and swapped back the segment reads whole.
func TestScanForeignFrames(t *testing.T) {
	dir := t.TempDir()
	paths := sealedLog(t, dir, 100)
	a, _ := os.ReadFile(paths[0])
	img, _ := os.ReadFile(paths[1])
	orig := bytes.Clone(img)
	copy(img, a[:headerSize])
	var n int
	rep, err := scanImage(paths[1], img, testKey, func(*Record) error { n++; return nil })
	if err != nil || n != 0 {
		t.Fatalf("scan: %d records, %v", n, err)
	}
	if rep.Tail == nil || rep.Tail.Offset != headerSize || rep.Tail.Length != int64(len(img)-headerSize) || len(rep.Damaged) != 0 {
		t.Fatalf("report: %+v, tail %+v", rep.Damaged, rep.Tail)
	}
	rep, err = scanImage(paths[1], orig, testKey, func(*Record) error { n++; return nil })
	if err != nil || rep.Err() != nil || n == 0 {
		t.Fatalf("original: %d records, %v, %v", n, err, rep.Err())
	}
}
