package gnss

import (
	"encoding/binary"
	"math/bits"
)

// NMEA 0183 line lengths. The standard caps a sentence at 82 characters including the
// leading '$' and the trailing CR LF, so 80 characters from '$' through the checksum. Real
// receivers overrun it: u-blox high-precision mode, Unicore and Septentrio add digits and
// fields, and NMEA 4.11 GSV/GSA lines with signal and system IDs reach 90. Lines up to
// MaxSentence are accepted (and counted in Stats.LongLines when over the standard's limit);
// longer lines are dropped whole and counted as ReasonTooLong.
const (
	// MaxNMEA is the standard's limit for a sentence from '$' through the checksum (82 - CR LF).
	MaxNMEA = 80
	// MaxSentence is the longest sentence accepted, twice the standard's limit: roomy for
	// every overrunning receiver seen in the gpsd corpus, small enough for a fixed buffer.
	MaxSentence = 2 * MaxNMEA
)

// framerState is where the framer is inside the byte stream.
type framerState uint8

const (
	stateHunt    framerState = iota // between sentences: skip bytes until '$' or '!'
	stateLine                       // collecting a sentence
	stateDiscard                    // dropping the rest of a rejected line until CR or LF
)

// framer cuts an arbitrary byte stream into NMEA sentences. It resyncs on every '$' or '!'
// start character, ends a sentence at CR or LF (so CR, LF and CR LF all work), drops lines
// with control or binary bytes (NUL, escape codes, binary protocols), drops lines longer than
// MaxSentence, and verifies the checksum. It owns one fixed buffer and never allocates.
type framer struct {
	buf          [MaxSentence]byte
	n            int
	state        framerState
	noChecksumOK bool
	stats        *Stats
	fields       fieldSplit // the fields of the line being collected or last completed
	sum          byte       // XOR of the line's bytes after the start character
	star         int        // index of the '*' in buf, -1 before it
}

// begin starts collecting a line at start character c.
func (f *framer) begin(c byte) {
	f.buf[0], f.n, f.state = c, 1, stateLine
	f.sum, f.star, f.fields.n = 0, -1, 0
}

// Byte classes for the framer's inner loops.
const (
	classText  = iota // printable ASCII other than those below
	classComma        // ',' field separator
	classStar         // '*' checksum delimiter
	classStart        // '$' or '!'
	classEOL          // CR or LF
	classBad          // control or non-ASCII byte
)

var byteClass = func() (t [256]uint8) {
	for i := range t {
		switch {
		case i == ',':
			t[i] = classComma
		case i == '*':
			t[i] = classStar
		case i == '$' || i == '!':
			t[i] = classStart
		case i == '\r' || i == '\n':
			t[i] = classEOL
		case i < 0x20 || i > 0x7e:
			t[i] = classBad
		}
	}
	return t
}()

// wordLoop enables the loops that test eight bytes at once as a 64-bit word (SWAR, "SIMD
// within a register") where a word is 64 bits. On 32-bit ARM each 64-bit operation is two or
// more instructions and the byte loops are kept; FuzzFramer checks the two against each other.
const wordLoop = bits.UintSize == 64

// Constants of the word loops: every byte 0x01, 0x80 and 0x7f.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lows  = 0x7f7f7f7f7f7f7f7f
)

// special reports whether w has a byte that is not plain text for the word-at-a-time loop:
// below '+' (controls, CR, LF, space, '!', '$', '*' and a few punctuation marks) or above
// '~'. Such a word goes through the byte loop, which knows what each byte means.
func special(w uint64) bool {
	below := (w - '+'*ones) &^ w       // a byte < '+' sets its high bit (exact for "any")
	above := (w + (0x7f-'~')*ones) | w // a byte > '~' sets its high bit
	return (below|above)&highs != 0
}

// commas returns a mask with the high bit of each ',' byte of w set, and nothing else.
func commas(w uint64) uint64 {
	t := w ^ ','*ones
	return ^((t&lows + lows) | t | lows)
}

// commaOffsets and commaCount map the eight-bit mask of a word's commas (bit k: byte k) to
// the offsets of its set bits, one per byte in increasing order, and to how many there are.
var commaOffsets, commaCount = func() (off [256]uint64, n [256]uint8) {
	for m := range off {
		for k := range 8 {
			if m&(1<<k) != 0 {
				off[m] |= uint64(k) << (8 * n[m])
				n[m]++
			}
		}
	}
	return off, n
}()

// scan consumes bytes of p until a good sentence is complete or p is used up. It returns the
// number of bytes consumed and, when a sentence completed, the sentence from its start
// character up to (not including) the '*' of the checksum. The sentence aliases the framer's
// buffer and is valid until the next call. Rejected lines are counted in stats.
func (f *framer) scan(p []byte) (int, []byte) {
	i := 0
	for i < len(p) {
		switch f.state {
		case stateHunt:
			j := i
			for j < len(p) && byteClass[p[j]] != classStart {
				if byteClass[p[j]] != classEOL {
					f.stats.Garbage++
				}
				j++
			}
			if j == len(p) {
				return j, nil
			}
			f.begin(p[j])
			i = j + 1
		case stateDiscard:
			j := i
			for j < len(p) && byteClass[p[j]] != classEOL && byteClass[p[j]] != classStart {
				j++
			}
			if j == len(p) {
				return j, nil
			}
			if byteClass[p[j]] == classEOL {
				f.state = stateHunt
			} else {
				f.begin(p[j])
			}
			i = j + 1
		default: // stateLine
			// One pass copies the line, accumulates the checksum and cuts the fields.
			// Locals keep the loop in registers.
			j, sum, star, nf, base := i, f.sum, f.star, f.fields.n, f.n-i
			if wordLoop && star < 0 {
				// Eight bytes at a time while they are plain text and commas.
				var sum64 uint64
				for j+8 <= len(p) && nf <= maxFields-9 && base+j+8 <= len(f.buf) {
					w := binary.LittleEndian.Uint64(p[j:])
					if special(w) {
						break
					}
					sum64 ^= w
					// The commas' offsets in the word, stored all at once (bytes past the
					// last comma are overwritten by the next word's or never read). The
					// multiply gathers the eight high bits of the comma mask into one byte.
					m := (commas(w) >> 7) * 0x0102040810204080 >> 56
					binary.LittleEndian.PutUint64(f.fields.ends[nf:], commaOffsets[m]+uint64(base+j)*ones)
					nf += int(commaCount[m])
					j += 8
				}
				sum64 ^= sum64 >> 32
				sum64 ^= sum64 >> 16
				sum64 ^= sum64 >> 8
				sum ^= byte(sum64)
			}
			for ; j < len(p); j++ {
				c := p[j]
				k := byteClass[c]
				if k == classText {
					sum ^= c
					continue
				}
				if k > classStar {
					break
				}
				sum ^= c
				switch {
				case star >= 0:
				case k == classStar:
					star = base + j
				case nf < maxFields-1 && base+j < len(f.buf):
					f.fields.ends[nf] = uint8(base + j)
					nf++
				}
			}
			f.sum, f.star, f.fields.n = sum, star, nf
			if f.n+j-i > len(f.buf) {
				f.stats.Rejected[ReasonTooLong]++
				f.state = stateDiscard
				i = j
				continue
			}
			f.n += copy(f.buf[f.n:], p[i:j])
			if j == len(p) {
				return j, nil
			}
			c := p[j]
			i = j + 1
			switch byteClass[c] {
			case classEOL:
				f.state = stateHunt
				if body := f.end(); body != nil {
					return i, body
				}
			case classStart:
				// A new start before the end of line: the previous sentence was cut off.
				f.stats.Rejected[ReasonTruncated]++
				f.begin(c)
			default:
				f.stats.Rejected[ReasonBadByte]++
				f.state = stateDiscard
			}
		}
	}
	return i, nil
}

// flush ends the stream: a sentence still being collected was cut off.
func (f *framer) flush() {
	if f.state == stateLine {
		f.stats.Rejected[ReasonTruncated]++
	}
	f.state = stateHunt
}

// end checks a complete line in buf[:n] and returns its body or nil.
func (f *framer) end() []byte {
	line := f.buf[:f.n]
	if len(line) < 2 { // a lone '$' or '!'
		f.stats.Rejected[ReasonTruncated]++
		return nil
	}
	// The checksum is the XOR of every byte between the start character and '*'; scan
	// accumulated every byte, so take back the ones from '*' on.
	sum, star, fs := f.sum, f.star, &f.fields
	if star >= 0 {
		for _, c := range line[star:] {
			sum ^= c
		}
	}
	switch {
	case star < 0:
		if !f.noChecksumOK {
			f.stats.Rejected[ReasonNoChecksum]++
			return nil
		}
		f.stats.NoChecksum++
		star = len(line)
	case star+3 != len(line):
		// "*" must be followed by exactly two hex digits; some receivers pad with spaces.
		if !(star+3 < len(line) && allSpaces(line[star+3:])) {
			f.stats.Rejected[ReasonChecksum]++
			return nil
		}
		fallthrough
	default:
		hi, ok1 := unhex(line[star+1])
		lo, ok2 := unhex(line[star+2])
		if !ok1 || !ok2 || hi<<4|lo != sum {
			f.stats.Rejected[ReasonChecksum]++
			return nil
		}
	}
	if len(line) > MaxNMEA {
		f.stats.LongLines++
	}
	f.stats.Sentences++
	fs.ends[fs.n] = uint8(star)
	fs.n++
	fs.line = line[:star]
	return fs.line
}

func allSpaces(b []byte) bool {
	for _, c := range b {
		if c != ' ' {
			return false
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
