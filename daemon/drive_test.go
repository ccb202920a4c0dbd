package daemon

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

// TestDriveReader reads the built-in drive through the epoch-at-a-time reader, in odd-sized
// reads, twice with a rewind in between, and compares it with BeidaiheDrive's bytes.
func TestDriveReader(t *testing.T) {
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	want := BeidaiheDrive(start)
	d := &driveReader{start: start}
	for pass := range 2 {
		got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(d, 1000)))
		if err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(struct{ io.Reader }{d}) // ReadAll's growing reads
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rest...)
		if !bytes.Equal(got, want) {
			t.Fatalf("pass %d: %d bytes differ from BeidaiheDrive's %d", pass, len(got), len(want))
		}
		if n, err := d.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("pass %d: Read at the end = %d, %v; want 0, EOF", pass, n, err)
		}
		if _, err := d.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Seek(10, io.SeekStart); err == nil {
		t.Error("Seek(10, SeekStart) succeeded; the drive seeks to its start only")
	}
}
