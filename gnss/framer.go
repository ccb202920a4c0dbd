package gnss

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
}

// push consumes one byte. When the byte completes a good sentence, push returns the sentence
// from its start character up to (not including) the '*' of the checksum, aliasing the
// framer's buffer: it is valid until the next call. Otherwise it returns nil; rejected lines
// are counted in stats.
func (f *framer) push(c byte) []byte {
	switch f.state {
	case stateHunt:
		if c == '$' || c == '!' {
			f.buf[0], f.n, f.state = c, 1, stateLine
		} else if c != '\r' && c != '\n' {
			f.stats.Garbage++
		}
		return nil
	case stateDiscard:
		if c == '\r' || c == '\n' {
			f.state = stateHunt
		} else if c == '$' || c == '!' {
			f.buf[0], f.n, f.state = c, 1, stateLine
		}
		return nil
	}
	switch {
	case c == '\r' || c == '\n':
		f.state = stateHunt
		return f.end()
	case c == '$' || c == '!':
		// A new start before the end of line: the previous sentence was cut off.
		f.stats.Rejected[ReasonTruncated]++
		f.buf[0], f.n = c, 1
		return nil
	case c < 0x20 || c > 0x7e:
		f.stats.Rejected[ReasonBadByte]++
		f.state = stateDiscard
		return nil
	case f.n == len(f.buf):
		f.stats.Rejected[ReasonTooLong]++
		f.state = stateDiscard
		return nil
	}
	f.buf[f.n] = c
	f.n++
	return nil
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
	// The checksum is the XOR of every byte between the start character and '*'.
	var sum byte
	star := -1
	for i := 1; i < len(line); i++ {
		if line[i] == '*' {
			star = i
			break
		}
		sum ^= line[i]
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
	return line[:star]
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
