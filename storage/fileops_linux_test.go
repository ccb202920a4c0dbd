package storage

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages returns how many pages of the file's first n bytes are in the page cache.
func residentPages(t *testing.T, path string, n int) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (n+pageSize-1)/pageSize)
	// x/sys/unix has no Mincore wrapper.
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(n), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	r := 0
	for _, v := range vec {
		r += int(v & 1)
	}
	return r
}

// TestSyncedPagesDropped: once a batch is durable the log frees the page cache its
// writes took (it never reads them back), except the page the next batch continues.
func TestSyncedPagesDropped(t *testing.T) {
	dir := t.TempDir()
	// Does this file system drop clean pages on POSIX_FADV_DONTNEED at all (tmpfs does not)?
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(probe, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Sync()
	(&osFile{f}).Drop(0, 0)
	f.Close()
	if residentPages(t, probe, 64<<10) != 0 {
		t.Skipf("%s keeps clean pages after POSIX_FADV_DONTNEED (tmpfs does): nothing to measure here", dir)
	}
	os.Remove(probe)

	o := testOptions()
	o.SegmentSize, o.BufferSize = 4<<20, 64<<10
	l := mustOpen(t, dir, o)
	defer l.Close()
	appendSyncing(t, l, 2000, 500) // about 1 MiB
	l.mu.Lock()
	path, end := l.seg.path, int(l.seg.appendOff)
	l.mu.Unlock()
	if r := residentPages(t, path, end); r > 1 {
		t.Fatalf("%d pages of %d synced bytes still in the page cache, want at most 1", r, end)
	}
}
