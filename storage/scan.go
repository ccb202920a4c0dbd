package storage

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"time"
)

// Damage describes bytes of a segment that did not authenticate: a corrupt record inside
// the segment, or a torn or corrupt tail. Nothing in such a range is ever returned.
type Damage struct {
	// Segment is the segment id; Path its file.
	Segment uint64
	Path    string
	// Offset and Length locate the damaged bytes in the file.
	Offset, Length int64
	// Seq is the sequence number the frame header claims, 0 if the header itself is bad.
	Seq uint64
	// Reason says what failed.
	Reason string
}

// Error formats the damage as "storage: segment ID (PATH) offset N: REASON".
func (d Damage) Error() string {
	return fmt.Sprintf("storage: segment %016x (%s) offset %d, %d bytes: %s", d.Segment, d.Path, d.Offset, d.Length, d.Reason)
}

// Unwrap makes errors.Is(d, ErrCorrupt) true.
func (d Damage) Unwrap() error { return ErrCorrupt }

// scanResult is what a scan of one segment image found.
type scanResult struct {
	stats segStats
	// end is the offset just past the last authenticated record: where a recovered
	// segment is cut and sealed.
	end int64
	// damaged are corrupt ranges before end; tail is the non-zero garbage after end.
	damaged []Damage
	tail    *Damage
	// placeholders counts the placeholders, which are not emitted.
	placeholders int
	// sealed is true when an authentic index record and trailer end the segment.
	sealed bool
	index  segStats
	// chain is the chain frame's link, if hasChain: a version-2 segment without one was cut
	// or damaged right after its header.
	chain    chainLink
	hasChain bool
}

// scanner authenticates and walks the frames of one segment image held in memory.
type scanner struct {
	data  []byte
	segID uint64
	path  string
	aead  cipher.AEAD
	// v is the segment's format version: 2 seals type and time and starts with a chain
	// frame, 1 has them in the clear and no chain frame.
	v     uint16
	nonce [24]byte
	ad    [v1ADSize]byte
	buf   []byte
}

// parse is parseFrameHeader for the segment's version.
func (s *scanner) parse(b []byte) (frameHeader, bool) { return parseFrameHeader(b, s.v) }

// open authenticates the frame at off with header f and returns its payload (valid until
// the next call). For version 2 it sets f's type and time from the sealed body, and
// refuses a type that does not fit the seq (records below indexSeq, chain 0, index above).
func (s *scanner) open(off int, f *frameHeader) ([]byte, bool) {
	end := off + f.size()
	if end > len(s.data) || end < off {
		return nil, false
	}
	frame := s.data[off:end]
	body := frame[f.hdrLen:]
	n := s.nonce[:s.aead.NonceSize()]
	var ad []byte
	if s.v < 2 {
		ad = putADV1(&s.ad, s.segID, frame)
		putNonce(n, f.seq, v1Fill(f.typ))
	} else {
		ad = putAD(&s.ad, s.segID, frame)
		putNonce(n, f.seq, 0)
	}
	if cap(s.buf) < len(body) {
		// Grown here, not by Open, so that frames failing authentication allocate nothing.
		s.buf = make([]byte, 0, len(body))
	}
	pt, err := s.aead.Open(s.buf[:0], n, body, ad)
	if err != nil {
		return nil, false
	}
	s.buf = pt[:0]
	if s.v < 2 {
		return pt, true
	}
	typ := Type(binary.LittleEndian.Uint16(pt))
	switch f.typ { // from the seq
	case typeChain, typeIndex:
		if typ != f.typ {
			return nil, false
		}
	default:
		if typ == 0 || (typ > MaxType && typ != typePlaceholder) {
			return nil, false
		}
	}
	f.typ, f.time = typ, int64(binary.LittleEndian.Uint64(pt[2:]))
	return pt[innerSize:], true
}

// valid reports whether a frame that authenticates starts at off, with seq > after (for
// records; the index record's seq is random).
func (s *scanner) valid(off int, after uint64) (frameHeader, []byte, bool) {
	f, ok := s.parse(s.data[off:])
	if !ok || (f.typ != typeIndex && f.seq <= after) {
		return f, nil, false
	}
	pt, ok := s.open(off, &f)
	return f, pt, ok
}

// plausible is the cheapest test of a frame header at off, inlined into resync's loop over
// every offset: a length that fits (version 1: zero flags too). parseFrameHeader checks
// it again, with the CRC.
func (s *scanner) plausible(off int) bool {
	b := s.data[off:]
	if len(b) < frameHeaderSize {
		return false
	}
	n := binary.LittleEndian.Uint32(b)
	if s.v < 2 {
		return len(b) >= v1HeaderSize && b[6]|b[7] == 0 && n <= maxPayload
	}
	return n >= innerSize && uint64(n) <= uint64(len(b))
}

// resync finds the first offset in (off, end) where an authentic frame starts, or -1.
// Every offset is tried once, and a candidate costs one CRC (and an AEAD open only if the
// CRC matches), so a scan that resyncs over a whole segment stays linear in its size.
func (s *scanner) resync(off, end int, after uint64) int {
	end = min(end, len(s.data)-frameOverhead+1)
	for q := off + 1; q < end; q++ {
		if s.data[q] == 0 {
			// Skip a run of zeros: a header that is all zero is invalid (length 0; version 1:
			// type 0), so the next candidate starts at most a header's size before the next
			// non-zero byte.
			nz := nextNonZero(s.data[q:])
			if nz < 0 {
				return -1
			}
			if nz > v1HeaderSize {
				q += nz - v1HeaderSize
				if q >= end {
					return -1
				}
			}
		}
		if s.plausible(q) {
			if _, _, ok := s.valid(q, after); ok {
				return q
			}
		}
	}
	return -1
}

// scan walks the frames from the end of the header, calling emit for every authentic
// record in order. A corrupt record whose header is intact is skipped by its length; a
// corrupt header is skipped by searching for the next authentic frame. Zeros end the log.
func (s *scanner) scan(emit func(*Record) error) (scanResult, error) {
	var r scanResult
	r.end = headerSize
	var last uint64
	var rec Record
	var merged []int // frames in each damaged range
	off := headerSize
	if s.v >= 2 {
		if f, ok := s.parse(s.data[off:]); ok && f.typ == typeChain && f.seq == 0 {
			if pt, ok := s.open(off, &f); ok {
				r.chain, r.hasChain = decodeChain(pt)
				if r.hasChain {
					off += f.size()
					r.end = int64(off)
				}
			}
		}
	}
	for off < len(s.data) {
		rest := s.data[off:]
		if allZero(rest) {
			break
		}
		f, pt, ok := s.valid(off, last)
		if ok && f.typ == typeIndex {
			idx, good := decodeStats(pt)
			end := off + f.size()
			if io, t := isTrailer(s.data[end:]); good && t && io == int64(off) {
				r.index, r.sealed = idx, true
				r.end = int64(off)
				return r, nil
			}
			// An index not followed by its trailer: a torn seal. Data ends before it, so a
			// reseal overwrites it (with a fresh random nonce).
			r.end = int64(off)
			off = end
			continue
		}
		if ok {
			r.stats.add(f.typ, f.seq, f.time)
			last = f.seq
			off += f.size()
			r.end = int64(off)
			if f.typ == typePlaceholder {
				r.placeholders++
				continue
			}
			if emit != nil {
				rec = Record{Seq: f.seq, Type: f.typ, Time: time.Unix(0, f.time), Payload: pt}
				if err := emit(&rec); err != nil {
					return r, err
				}
			}
			continue
		}
		// Not authentic. If the header is intact, skip the frame by its length; else search.
		d := Damage{Segment: s.segID, Path: s.path, Offset: int64(off)}
		next := -1
		if hf, hok := s.parse(rest); hok && off+hf.size() <= len(s.data) && hf.seq > last {
			d.Seq = hf.seq // the reason is written once the range is known
			next = off + hf.size()
			// An authentic frame inside the claimed extent means the length was wrong after
			// all: trust the authentic frame. Only the extent is searched: the search of a
			// whole segment per damaged frame was quadratic (a segment under another's header
			// fails every frame).
			if q := s.resync(off, next, last); q >= 0 {
				next = q
			}
		} else {
			d.Reason = "bad frame header"
			next = s.resync(off, len(s.data), last)
		}
		if next < 0 {
			next = len(s.data)
		}
		d.Length = int64(next - off)
		if k := len(r.damaged) - 1; k >= 0 && r.damaged[k].Offset+r.damaged[k].Length == d.Offset {
			// Damage right after damage (a segment under another's key fails every frame):
			// one range, so the report stays as small as the damage is contiguous.
			r.damaged[k].Length += d.Length
			merged[k]++
		} else {
			r.damaged = append(r.damaged, d)
			merged = append(merged, 1)
		}
		off = next
	}
	for k, n := range merged {
		switch d := &r.damaged[k]; {
		case n > 1:
			d.Reason = fmt.Sprintf("%d consecutive frames fail authentication or have bad headers", n)
		case d.Seq != 0:
			d.Reason = fmt.Sprintf("record seq %d fails authentication", d.Seq)
		}
	}
	// Damage after the last authentic record is the tail, not a hole.
	for len(r.damaged) > 0 && r.damaged[len(r.damaged)-1].Offset >= r.end {
		r.damaged = r.damaged[:len(r.damaged)-1]
	}
	if nz := lastNonZero(s.data); nz >= int(r.end) {
		r.tail = &Damage{Segment: s.segID, Path: s.path, Offset: r.end, Length: int64(nz+1) - r.end, Reason: "torn or corrupt tail"}
	}
	return r, nil
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func nextNonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}

func lastNonZero(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return i
		}
	}
	return -1
}
