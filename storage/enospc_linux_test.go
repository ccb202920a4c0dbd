package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

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
// the log evicts the oldest sealed segments to make room, keeping the newest records; with
// nothing to evict it refuses with ErrNoSpace.
func TestNoSpaceRealTmpfs(t *testing.T) {
	dir := smallTmpfs(t, "1m")
	o := testOptions()
	o.SegmentSize = 192 << 10
	o.BufferSize = 16 << 10
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
	if ids, tmps, _ := listSegments(filepath.Join(dir, "log2")); len(ids)+len(tmps) != 0 {
		t.Fatalf("refused Open left files: %v %v", ids, tmps)
	}
}
