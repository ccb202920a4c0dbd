package storage

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// TestPlaceholder: placeholders take seqs like records, Scan skips and counts them, the
// index and the tools count them apart, Stats counts them, and a reopen keeps them.
func TestPlaceholder(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions())
	var want []uint64
	for i := range 30 {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if i%3 == 2 {
			if _, err := l.AppendPlaceholder(at, 48); err != nil {
				t.Fatal(err)
			}
			continue
		}
		seq := l.Stats().NextSeq
		if _, err := l.Append(tFix, at, payloadFor(seq)); err != nil {
			t.Fatal(err)
		}
		want = append(want, seq)
	}
	if _, err := l.AppendPlaceholder(t0, l.maxPayload+1); err != ErrTooLarge {
		t.Fatalf("AppendPlaceholder too large: %v", err)
	}
	if st := l.Stats(); st.Placeholders != 10 || st.NextSeq != 31 {
		t.Fatalf("Stats %+v, want 10 placeholders, next seq 31", st)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r, _ := NewReader(dir, testKey)
	segs, _ := r.Segments()
	var got []uint64
	var skipped, indexed, records int
	for _, s := range segs {
		rep, err := r.Scan(s.ID, func(rec *Record) error {
			if rec.Type != tFix || !bytes.Equal(rec.Payload, payloadFor(rec.Seq)) {
				t.Fatalf("record %d: type %d, payload %x", rec.Seq, rec.Type, rec.Payload)
			}
			got = append(got, rec.Seq)
			return nil
		})
		if err != nil || rep.Err() != nil {
			t.Fatal(err, rep.Err())
		}
		skipped += rep.Placeholders
		indexed += s.Placeholders
		records += s.Records
		for _, ti := range s.Types {
			if ti.Type != tFix {
				t.Fatalf("segment %d lists type %d", s.ID, ti.Type)
			}
		}
	}
	if len(got) != len(want) || !hasAll(got, want) || skipped != 10 || indexed != 10 || records != 20 {
		t.Fatalf("read %v (want %v), %d placeholders skipped, %d in the index, %d records", got, want, skipped, indexed, records)
	}
	l = mustOpen(t, dir, testOptions())
	defer l.Close()
	if n := l.Stats().NextSeq; n != 31 {
		t.Fatalf("NextSeq after reopen %d, want 31", n)
	}
}

// TestFrameHidesTypeAndTime reads a segment's bytes as someone without the key would:
// every frame's clear part is length, seq and CRC only; records of another type and time,
// and a placeholder of a fix's size, frame alike: same length, consecutive seqs, nothing
// else in the clear that differs but the seq.
func TestFrameHidesTypeAndTime(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions())
	const fixSize = 48
	l.Append(tFix, t0, make([]byte, fixSize))
	l.AppendPlaceholder(t0.Add(100*time.Millisecond), fixSize)
	l.Append(tFrame, t0.Add(30*time.Minute), make([]byte, fixSize))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dir + "/" + segName(1))
	if err != nil {
		t.Fatal(err)
	}
	off := headerSize + chainFrameSize
	var lengths []uint32
	for seq := uint64(1); seq <= 3; seq++ {
		f := b[off:]
		if binary.LittleEndian.Uint64(f[4:]) != seq {
			t.Fatalf("frame %d: seq field %x", seq, f[4:12])
		}
		lengths = append(lengths, binary.LittleEndian.Uint32(f))
		// The sealed body starts right after length, seq and CRC: its first bytes are not
		// the type, nor the time.
		var typ [2]byte
		var ts [8]byte
		binary.LittleEndian.PutUint16(typ[:], uint16(tFix))
		binary.LittleEndian.PutUint64(ts[:], uint64(t0.UnixNano()))
		if bytes.Contains(f[:frameOverhead+fixSize], ts[:]) || bytes.Equal(f[frameHeaderSize:frameHeaderSize+2], typ[:]) {
			t.Fatalf("frame %d holds type or time in the clear: %x", seq, f[:frameOverhead])
		}
		off += frameOverhead + fixSize
	}
	if lengths[0] != lengths[1] || lengths[1] != lengths[2] {
		t.Fatalf("frame lengths %v: a placeholder must look like a fix", lengths)
	}
}

// TestAppendPlaceholderAllocs: a placeholder costs no allocation, like Append.
func TestAppendPlaceholderAllocs(t *testing.T) {
	o := testOptions()
	o.SegmentSize, o.BufferSize = 64<<20, 8<<20
	l := mustOpen(t, t.TempDir(), o)
	defer l.Close()
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := l.AppendPlaceholder(t0, 48); err != nil {
			t.Fatal(err)
		}
		if i++; i%100 == 0 {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendPlaceholder allocates %v times per call", allocs)
	}
	if l.Stats().Syncs == 0 {
		t.Fatal("nothing was written during the count")
	}
}

// TestIndexHidesTypes: the index frame of a segment of fixes and that of a segment with
// fixes, a placeholder and a frame have the same length (the index is padded), so its
// length does not tell whether a segment holds placeholders.
func TestIndexHidesTypes(t *testing.T) {
	dir := t.TempDir()
	for _, types := range [][]Type{{tFix, tFix, tFix}, {tFix, typePlaceholder, tFrame}} {
		l := mustOpen(t, dir, testOptions())
		for _, typ := range types {
			var err error
			if typ == typePlaceholder {
				_, err = l.AppendPlaceholder(t0, 48)
			} else {
				_, err = l.Append(typ, t0, make([]byte, 48))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var lengths []int64
	for id := uint64(1); id <= 2; id++ {
		b, err := os.ReadFile(dir + "/" + segName(id))
		if err != nil {
			t.Fatal(err)
		}
		off, ok := isTrailer(b[len(b)-trailerSize:])
		if !ok {
			t.Fatalf("segment %d not sealed", id)
		}
		lengths = append(lengths, int64(len(b)-trailerSize)-off)
	}
	if lengths[0] != lengths[1] {
		t.Fatalf("index frame lengths %v differ with the types a segment holds", lengths)
	}
}
