package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The log file: a 16-byte header, then one frame per entry, back to back.
//
//	header: magic "GGAUDIT\n" (8) | format version uint32 LE (4) | reserved zero (4)
//	frame:  payload length uint32 LE (4) | CRC32C of the payload uint32 LE (4) | payload
//
// The payload is the entry's JSON (AppendJSON), and it is exactly the Merkle tree's leaf.
const (
	headerSize = 16
	frameHead  = 8 // length + CRC32C
	logName    = "log"
	cpName     = "checkpoint"
	pubName    = "key.pub"
)

// magic starts the log file. The newline catches text-mode mangling; "GGAUDIT" keeps it
// apart from the data log's "GGSEG".
var magic = [8]byte{'G', 'G', 'A', 'U', 'D', 'I', 'T', '\n'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendHeader(dst []byte) []byte {
	dst = append(dst, magic[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, FormatVersion)
	return binary.LittleEndian.AppendUint32(dst, 0)
}

// checkHeader checks a log file's header.
func checkHeader(b []byte) error {
	if len(b) < headerSize || !bytes.Equal(b[:8], magic[:]) {
		return fmt.Errorf("%w: not a geogate audit log (bad header)", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != FormatVersion {
		return fmt.Errorf("%w: log format %d, this geogate reads %d", ErrVersion, v, FormatVersion)
	}
	if binary.LittleEndian.Uint32(b[12:]) != 0 {
		return fmt.Errorf("%w: reserved header bytes set", ErrCorrupt)
	}
	return nil
}

// putFrameHead fills the 8 bytes before payload in buf (buf = head + payload).
func putFrameHead(buf []byte) {
	p := buf[frameHead:]
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(p)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(p, castagnoli))
}

// nextFrame returns the payload of the frame at the start of b and the frame's total size.
// torn is true when b ends inside the frame (a write cut short); otherwise a non-nil error
// means the frame is damaged.
func nextFrame(b []byte) (payload []byte, size int, torn bool, err error) {
	if len(b) < frameHead {
		return nil, 0, true, fmt.Errorf("%w: %d bytes of a frame header", ErrTorn, len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > MaxEntry {
		return nil, 0, false, fmt.Errorf("%w: frame length %d", ErrCorrupt, n)
	}
	if len(b) < frameHead+int(n) {
		return nil, 0, true, fmt.Errorf("%w: %d of %d payload bytes", ErrTorn, len(b)-frameHead, n)
	}
	p := b[frameHead : frameHead+int(n)]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, false, fmt.Errorf("%w: frame checksum mismatch", ErrCorrupt)
	}
	return p, frameHead + int(n), false, nil
}

// seqPrefix is how every entry starts, up to its sequence number.
var seqPrefix = []byte(`{"v":1,"seq":`)

// quickSeq reads the sequence number of an encoded entry without decoding the rest: the
// writer checks it when it opens the log (the full check is Verify's).
func quickSeq(p []byte) (uint64, bool) {
	if !bytes.HasPrefix(p, seqPrefix) {
		return 0, false
	}
	var n uint64
	digits := 0
	for _, c := range p[len(seqPrefix):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
		digits++
	}
	return n, digits > 0
}
