package gnss

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// Reason says why a sentence was rejected.
type Reason uint8

// Rejection reasons. A rejected sentence is dropped whole: nothing of it reaches a Fix.
const (
	ReasonNone       Reason = iota // not rejected
	ReasonChecksum                 // checksum missing digits or not matching
	ReasonNoChecksum               // no "*hh" checksum and Config.NoChecksumOK is false
	ReasonTruncated                // line cut off by a new '$'/'!' or by the end of the stream
	ReasonBadByte                  // control or binary byte inside the line (NUL, ESC, binary protocol)
	ReasonTooLong                  // line longer than MaxSentence
	ReasonFieldCount               // fewer fields than the sentence type needs
	ReasonBadField                 // a field is not a number, letter or format the type allows
	ReasonRange                    // a value is outside its physical range (latitude > 90, minute 60, ...)
	NumReasons                     // number of reasons, for arrays indexed by Reason
)

var reasonNames = [NumReasons]string{"none", "checksum", "no-checksum", "truncated",
	"bad-byte", "too-long", "field-count", "bad-field", "range"}

// String returns a short lower-case name such as "checksum".
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "invalid"
}

// NumTalkers is the number of Talker bits, for arrays indexed by TalkerIndex.
const NumTalkers = 8

// TalkerIndex returns the bit number of a single-bit Talker, for indexing Stats.Talkers.
func TalkerIndex(t Talker) int { return bits.TrailingZeros16(uint16(t)) }

var talkerNames = [NumTalkers]string{"GP", "GL", "GA", "GB", "GQ", "GI", "GN", "other"}

// String returns the talker names joined by '+', e.g. "GP+GL". It allocates; it is meant for
// output, not the hot path.
func (t Talker) String() string {
	s := ""
	for i, n := range talkerNames {
		if t&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += n
		}
	}
	return s
}

// Stats counts what a Decoder has seen. All counts start at zero and only grow.
type Stats struct {
	Bytes      uint64 // bytes fed
	Garbage    uint64 // bytes outside any sentence (noise, binary data, comment lines)
	Sentences  uint64 // lines framed with a good checksum (or none, where allowed)
	Decoded    uint64 // sentences of a used type decoded and merged
	Ignored    uint64 // framed sentences of types geogate does not use (proprietary, AIS, TXT, ...)
	Fixes      uint64 // fixes completed
	LongLines  uint64 // accepted sentences longer than NMEA's MaxNMEA
	NoChecksum uint64 // accepted sentences without checksum (Config.NoChecksumOK)
	// Caution counts fixes whose navigational status is NavCaution (still Valid, flagged).
	Caution uint64
	// Unsafe counts fixes whose navigational status is NavUnsafe (not Valid: fail closed).
	Unsafe uint64
	// PosConflicts counts fixes whose epoch had two positions further apart, in latitude or
	// longitude, than one unit of the coarser one's last minute digit (10^-p/60 degree for p
	// minute decimals). The fix keeps the position of the highest posRank: more minute digits,
	// then GGA over GNS over RMC over GLL, then the first sent.
	PosConflicts uint64
	// Rejected counts dropped lines and sentences by reason.
	Rejected [NumReasons]uint64
	// Types counts decoded sentences by type (TypeOther: framed but unused standard types).
	Types [NumTypes]uint64
	// Talkers counts decoded sentences by talker, indexed by TalkerIndex.
	Talkers [NumTalkers]uint64
}

// RejectedTotal returns the sum of Rejected.
func (s *Stats) RejectedTotal() uint64 {
	var n uint64
	for _, v := range s.Rejected[1:] {
		n += v
	}
	return n
}

// Config configures a Decoder. The zero value is the strict default.
type Config struct {
	// NoChecksumOK accepts sentences without a "*hh" checksum and counts them in
	// Stats.NoChecksum. Zero value: such sentences are rejected (ReasonNoChecksum). Only
	// receivers that never send checksums need it; a serial line with noise does not.
	NoChecksumOK bool
	// DateFloor is the earliest date the receiver can legitimately report; earlier dates are
	// moved forward by GPSWeekRollover (see DefaultDateFloor). Zero value: DefaultDateFloor.
	// Replaying old captures needs an old floor, e.g. time.Date(1980, 1, 6, ...).
	DateFloor time.Time
}

// Decoder turns an NMEA 0183 byte stream into fixes: framer, sentence decoder and epoch
// merger in one value with fixed buffers. It is not safe for concurrent use: one goroutine
// feeds it. After NewDecoder, Feed, Next, Flush and Stats never allocate.
type Decoder struct {
	stats Stats
	fr    framer
	s     sentence
	m     merger
	cur   Fix // the fix Scan passes to emit
	rbuf  [readChunk]byte
}

// readChunk is Scan's read size: 512 bytes is 0.4 s of a 9600 baud line and a few sentences
// at 115200 baud, so fixes leave promptly without a syscall per byte.
const readChunk = 512

// NewDecoder returns a Decoder configured by cfg.
func NewDecoder(cfg Config) *Decoder {
	d := &Decoder{}
	d.fr.noChecksumOK = cfg.NoChecksumOK
	d.fr.stats = &d.stats
	d.m.stats = &d.stats
	d.m.floor = cfg.DateFloor
	if d.m.floor.IsZero() {
		d.m.floor = DefaultDateFloor
	}
	return d
}

// Feed consumes bytes of p until a fix is ready or p is used up, and returns how many bytes
// it consumed and whether a fix is ready. Take ready fixes with Next before feeding the rest
// of p (Feed returns 0, true while fixes wait). now is the local clock reading stored in
// Received of the fixes these bytes complete. The caller owns p; Feed copies what it keeps
// and does not allocate.
func (d *Decoder) Feed(p []byte, now time.Time) (n int, ready bool) {
	if d.m.nout > 0 {
		return 0, true
	}
	for n < len(p) {
		k, body := d.fr.scan(p[n:])
		n += k
		if body == nil {
			continue
		}
		d.sentence(now)
		if d.m.nout > 0 {
			break
		}
	}
	d.stats.Bytes += uint64(n)
	return n, d.m.nout > 0
}

// sentence decodes one framed sentence and merges it.
func (d *Decoder) sentence(now time.Time) {
	if r := decodeSentence(&d.fr.fields, &d.s); r != ReasonNone {
		d.stats.Rejected[r]++
		return
	}
	if d.s.typ == TypeOther && d.s.talker == 0 {
		d.stats.Ignored++ // proprietary or AIS
		return
	}
	d.stats.Types[d.s.typ]++
	d.stats.Talkers[TalkerIndex(d.s.talker)]++
	if d.s.typ == TypeOther {
		d.stats.Ignored++
		return
	}
	d.stats.Decoded++
	before := d.m.nout
	d.m.add(&d.s, now)
	d.stats.Fixes += uint64(d.m.nout - before)
}

// Next returns the oldest ready fix, or false when none is ready. It does not allocate.
func (d *Decoder) Next() (Fix, bool) {
	return d.m.next()
}

// Flush ends the stream: a partial line is counted as truncated and the open epoch is closed.
// It reports whether fixes are ready for Next.
func (d *Decoder) Flush(now time.Time) bool {
	d.fr.flush()
	before := d.m.nout
	d.m.close(now)
	d.stats.Fixes += uint64(d.m.nout - before)
	return d.m.nout > 0
}

// Stats returns a copy of the counters.
func (d *Decoder) Stats() Stats {
	return d.stats
}

// Scan reads r until it fails or ends and calls emit with every fix, in order. now is called
// once per read for the local clock; pass time.Now in production and a fake in tests. At the
// end of r (io.EOF) Scan flushes the last epoch and returns nil; a read error is returned
// wrapped, as is the first error emit returns. The Fix pointer is valid only during the call.
// Scan allocates nothing per read; r should block rather than return (0, nil) repeatedly.
func (d *Decoder) Scan(r io.Reader, now func() time.Time, emit func(*Fix) error) error {
	for {
		n, err := r.Read(d.rbuf[:])
		if n > 0 {
			t := now()
			if e := d.feedAll(d.rbuf[:n], t, emit); e != nil {
				return e
			}
		}
		if errors.Is(err, io.EOF) {
			d.Flush(now())
			return d.drain(emit)
		}
		if err != nil {
			return fmt.Errorf("gnss: read: %w", err)
		}
	}
}

func (d *Decoder) feedAll(p []byte, now time.Time, emit func(*Fix) error) error {
	for len(p) > 0 {
		n, ready := d.Feed(p, now)
		p = p[n:]
		if ready {
			if err := d.drain(emit); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *Decoder) drain(emit func(*Fix) error) error {
	for d.m.nout > 0 {
		d.cur, _ = d.m.next()
		if err := emit(&d.cur); err != nil {
			return err
		}
	}
	return nil
}
