package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// sealedLog writes n records into dir and closes it; it returns the segment paths.
func sealedLog(t *testing.T, dir string, n int) []string {
	t.Helper()
	o := testOptions()
	o.SegmentSize = 8 << 10
	o.BufferSize = 2 << 10
	l := mustOpen(t, dir, o)
	appendN(t, l, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, id := range d.ids {
		paths = append(paths, filepath.Join(dir, segName(id)))
	}
	return paths
}

// TestBitFlip flips one bit at every byte of a sealed segment and checks that the
// segment either refuses to open (header) or returns every record but at most the one the
// flip hit, that the damage is reported, and that no corrupt record is ever returned.
func TestBitFlip(t *testing.T) {
	dir := t.TempDir()
	paths := sealedLog(t, dir, 60)
	orig, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	r, _ := NewReader(dir, testKey)
	var all []uint64
	if _, err := r.Scan(1, func(rec *Record) error { all = append(all, rec.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	step := 1
	if testing.Short() {
		step = 7
	}
	var headerRefused, recordLost, allKept int
	for i := 0; i < len(orig); i += step {
		img := bytes.Clone(orig)
		img[i] ^= 1 << (i % 8)
		var got []uint64
		rep, err := scanImage(paths[0], img, testKey, func(rec *Record) error {
			if !bytes.Equal(rec.Payload, payloadFor(rec.Seq)) {
				t.Fatalf("flip at %d: corrupt record %d returned", i, rec.Seq)
			}
			got = append(got, rec.Seq)
			return nil
		})
		if err != nil {
			if i >= headerSize || !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotSegment) && !errors.Is(err, ErrVersion) {
				t.Fatalf("flip at %d: Scan: %v", i, err)
			}
			if len(got) != 0 {
				t.Fatalf("flip at %d: records returned from a refused segment", i)
			}
			headerRefused++
			continue
		}
		if rep.Err() == nil {
			t.Fatalf("flip at %d: not reported", i)
		}
		switch len(all) - len(got) {
		case 0:
			allKept++
		case 1:
			recordLost++
		default:
			t.Fatalf("flip at %d: %d of %d records read, report %v", i, len(got), len(all), rep.Err())
		}
	}
	t.Logf("%d flips: %d refused the segment (header), %d lost one record, %d lost none", (len(orig)+step-1)/step, headerRefused, recordLost, allKept)
}

func TestCorruptHeaderOnOpen(t *testing.T) {
	dir := t.TempDir()
	paths := sealedLog(t, dir, 60)
	img, _ := os.ReadFile(paths[0])
	img[offWrapped+3] ^= 0x10
	os.WriteFile(paths[0], img, 0o600)
	l := mustOpen(t, dir, testOptions())
	defer l.Close()
	rec := l.Recovery()
	if len(rec.Unreadable) != 1 || !errors.Is(rec.Unreadable[0], ErrCorrupt) {
		t.Fatalf("Recovery.Unreadable = %v, want one ErrCorrupt", rec.Unreadable)
	}
}
