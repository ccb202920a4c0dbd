package storage

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden segment files in testdata")

// goldenKey is the fixed device key of the golden logs. Test data only.
var goldenKey = []byte("geogate golden test key, v1 fmt!")

// goldenDirs are logs of every format version. Later releases must keep reading them:
// -update only rewrites those of the current version; never regenerate them after a
// release, add new directories for new versions instead.
var goldenDirs = []struct {
	dir     string
	version int
	cipher  Cipher
	torn    bool // last segment left unsealed with a torn tail, as after a power cut
}{
	{"testdata/v1-aes-gcm", 1, AES256GCM, false},
	{"testdata/v1-xchacha", 1, XChaCha20Poly1305, false},
	{"testdata/v1-torn", 1, AES256GCM, true},
	{"testdata/v2-aes-gcm", 2, AES256GCM, false},
	{"testdata/v2-xchacha", 2, XChaCha20Poly1305, false},
	{"testdata/v2-torn", 2, AES256GCM, true},
}

func writeGolden(t *testing.T, dir string, c Cipher, torn bool) {
	os.RemoveAll(dir)
	o := Options{Key: goldenKey, Cipher: c, SegmentSize: 4 << 10, BufferSize: 2 << 10, SyncInterval: time.Hour, Clock: &fakeClock{t: t0}}
	l := mustOpen(t, dir, o)
	for i := 1; i <= 40; i++ {
		seq := l.Stats().NextSeq
		if _, err := l.Append(Type(1+seq%3), t0.Add(time.Duration(seq)*time.Second), payloadFor(seq)); err != nil {
			t.Fatal(err)
		}
		if i%8 == 0 { // a fix-sized placeholder now and then
			if _, err := l.AppendPlaceholder(t0.Add(time.Duration(seq)*time.Second+time.Second/2), 48); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if !torn {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		// Power cut: the segment stays unsealed and preallocated; add a torn frame.
		l.mu.Lock()
		path := l.seg.path
		off := l.seg.appendOff
		l.mu.Unlock()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte{0x33, 0, 0, 0, 1, 0, 0, 0, 41, 0, 0, 0}, off)
		f.Truncate(off + 600) // shrink the preallocation to keep testdata small
		f.Close()
	}
	os.Remove(filepath.Join(dir, "LOCK"))
}

func goldenText(t *testing.T, dir string) string {
	t.Helper()
	r, err := NewReader(dir, goldenKey)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range segs {
		fmt.Fprintf(&b, "segment %016x sealed=%v cipher=%v records=%d seq=%d-%d err=%v\n", s.ID, s.Sealed, s.Cipher, s.Records, s.FirstSeq, s.LastSeq, s.Err)
		if s.Chain != nil {
			fmt.Fprintf(&b, "chain: %v\n", s.Chain)
		}
		if e := s.Erased; e != nil {
			fmt.Fprintf(&b, "erased by retention at %s: records from %s to %s\n", e.At.UTC().Format(time.RFC3339Nano), e.First.UTC().Format(time.RFC3339Nano), e.Last.UTC().Format(time.RFC3339Nano))
		}
		rep, err := r.Scan(s.ID, func(rec *Record) error {
			fmt.Fprintf(&b, "%d %d %s %x\n", rec.Seq, rec.Type, rec.Time.UTC().Format(time.RFC3339Nano), rec.Payload)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Placeholders > 0 || s.Placeholders > 0 {
			fmt.Fprintf(&b, "placeholders: %d (index: %d)\n", rep.Placeholders, s.Placeholders)
		}
		fmt.Fprintf(&b, "damage: %v\n", rep.Err())
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, g := range goldenDirs {
		t.Run(filepath.Base(g.dir), func(t *testing.T) {
			want := g.dir + ".golden"
			if *update && g.version == formatVersion {
				writeGolden(t, g.dir, g.cipher, g.torn)
				if err := os.WriteFile(want, []byte(goldenText(t, g.dir)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if got := goldenText(t, g.dir); got != string(exp) {
				t.Fatalf("reading %s:\n%s\nwant (%s):\n%s", g.dir, got, want, exp)
			}
			r, _ := NewReader(g.dir, goldenKey)
			segs, _ := r.Segments()
			for _, s := range segs {
				if int(s.Version) != g.version || s.Chain != nil {
					t.Fatalf("segment %016x: version %d, want %d; chain: %v", s.ID, s.Version, g.version, s.Chain)
				}
			}
			// Every record is there and intact.
			var n int
			for _, line := range strings.Split(string(exp), "\n") {
				var seq uint64
				var typ int
				var ts string
				var p []byte
				if _, err := fmt.Sscanf(line, "%d %d %s %x", &seq, &typ, &ts, &p); err == nil {
					if !bytes.Equal(p, payloadFor(seq)) {
						t.Fatalf("golden record %d has the wrong payload", seq)
					}
					n++
				}
			}
			if n != 40 {
				t.Fatalf("golden holds %d records, want 40", n)
			}
		})
	}
}

// TestGoldenRecover opens a copy of the torn golden log: recovery cuts the tail, seals the
// segment and keeps all 40 records.
func TestGoldenRecover(t *testing.T) {
	dir := t.TempDir()
	ents, _ := os.ReadDir("testdata/v1-torn")
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join("testdata/v1-torn", e.Name()))
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600)
	}
	o := testOptions()
	o.Key = goldenKey
	l := mustOpen(t, dir, o)
	rec := l.Recovery()
	if rec.Scanned != 1 || len(rec.Cut) != 1 || len(rec.Damaged) != 0 {
		t.Fatalf("Recovery = %+v, want one scanned segment with one cut tail", rec)
	}
	if got := l.Stats().NextSeq; got != 41 {
		t.Fatalf("NextSeq = %d, want 41", got)
	}
	l.Close()
}

// FuzzScan feeds arbitrary segment bodies behind a valid golden header: the scanner must
// not panic, and only authentic records (which the fuzzer cannot forge) may come out.
func FuzzScan(f *testing.F) {
	paths, _ := filepath.Glob("testdata/v*-*/*.seg")
	if len(paths) == 0 {
		f.Fatal("no golden segments")
	}
	var hdr []byte
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if i == 0 {
			hdr = b[:headerSize]
			f.Add(b[headerSize:])
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append(append([]byte(nil), hdr...), body...)
		rep, err := scanImage("fuzz", data, goldenKey, func(rec *Record) error {
			if !bytes.Equal(rec.Payload, payloadFor(rec.Seq)) {
				t.Fatalf("record %d with a forged payload", rec.Seq)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rep.Damaged {
			if d.Offset < 0 || d.Length < 0 || d.Offset+d.Length > int64(len(data)) {
				t.Fatalf("damage out of range: %+v", d)
			}
		}
	})
}

// TestGoldenRetention reads a golden log in which retention buried a segment in the middle
// (testdata/v2-retention: fixes, fixes, frames erased by MaxAge, fixes, fixes): the
// tombstone's format stays readable, it keeps the chain, and it lists what was erased.
func TestGoldenRetention(t *testing.T) {
	const dir = "testdata/v2-retention"
	want := dir + ".golden"
	if *update && formatVersion == 2 {
		os.RemoveAll(dir)
		o := retentionOptions()
		o.Key = goldenKey
		retentionLog(t, dir, o)
		os.Remove(filepath.Join(dir, "LOCK"))
		if err := os.WriteFile(want, []byte(goldenText(t, dir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := goldenText(t, dir); got != string(exp) {
		t.Fatalf("reading %s:\n%s\nwant (%s):\n%s", dir, got, want, exp)
	}
	if !strings.Contains(string(exp), "erased by retention") {
		t.Fatalf("%s holds no tombstone", want)
	}
}
