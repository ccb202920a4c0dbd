package storage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// On-disk format version 2 (version 1 is still read). docs/FORMAT.md documents every byte;
// keep the two in step.
const (
	// formatVersion is written into every new segment header. Version 2 adds the chain
	// frame that starts every segment.
	formatVersion = 2
	// minVersion is the oldest version this build reads.
	minVersion = 1
	// chainSize is the payload of a chain frame: the previous segment's id and digest.
	chainSize = 8 + sha256.Size
	// chainFrameSize is the whole chain frame.
	chainFrameSize = frameOverhead + chainSize
	// headerSize is the fixed segment header: it fits in one 512-byte sector, so the
	// header cannot be torn by a sector-atomic disk (it is also written before the file is
	// renamed into place).
	headerSize = 128
	// frameHeaderSize is the clear part of a version-2 frame: length, seq, crc. Type and
	// time are sealed (innerSize), so the clear framing tells nothing but where frames are.
	frameHeaderSize = 4 + 8 + 4
	// innerSize is what a version-2 frame seals before the payload: type and time.
	innerSize = 2 + 8
	// tagSize is the AEAD tag of both ciphers (128 bits).
	tagSize = 16
	// frameOverhead is what a record costs on disk beyond its payload (version 2).
	frameOverhead = frameHeaderSize + innerSize + tagSize
	// adSize is the associated data of a version-2 frame: segment id + length and seq.
	adSize = 8 + 12
	// v1HeaderSize and v1ADSize are the clear frame header (length, type, flags, seq, time,
	// crc) and the associated data of version 1, which is still read.
	v1HeaderSize = 28
	v1ADSize     = 8 + 24
	// indexSeq marks the seq of an index frame (version 2): its other 63 bits are random.
	// Record seqs stay below it, the chain frame has seq 0, so every frame of a segment
	// has its own nonce.
	indexSeq = 1 << 63
	// trailerSize ends a sealed segment: index frame offset + magic.
	trailerSize = 16
	// maxPayload bounds the length field so a corrupt length is recognised as such.
	maxPayload = 1 << 30
	// keyIDSize is the length of the device-key fingerprint in the header.
	keyIDSize = 8
	// saltSize is the HKDF salt of the key-wrapping key, fresh per segment.
	saltSize = 32
	// wrappedKeySize is the data key sealed by AES-256-GCM: 32 bytes + tag.
	wrappedKeySize = KeySize + tagSize
	// indexTypeSize is one per-type entry in the index record.
	indexTypeSize = 2 + 4 + 8 + 8
	// indexFixedSize is the index record before its per-type entries.
	indexFixedSize = 8 + 8 + 4 + 2
	// indexMinTypes pads the index to this many per-type entries, so that the length of
	// the index frame does not tell which types (placeholders, say) a segment holds.
	indexMinTypes = 8
)

// Byte offsets in the segment header.
const (
	offMagic   = 0
	offVersion = 8
	offCipher  = 10
	offHdrLen  = 12
	offSegID   = 16
	offCreated = 24
	offKeyID   = 32
	offSalt    = 40
	offWrapped = offSalt + saltSize              // 72
	offHdrCRC  = offWrapped + wrappedKeySize + 4 // 124
)

var (
	segMagic     = [8]byte{'G', 'G', 'S', 'E', 'G', 0, '\r', '\n'}
	trailerMagic = [8]byte{'G', 'G', 'S', 'E', 'A', 'L', '\r', '\n'}
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
)

// HKDF info strings: each derived key has its own purpose label.
const (
	infoKeyID = "geogate storage v1 key id"
	infoWrap  = "geogate storage v1 wrap"
)

// keyID returns the fingerprint of a device key: 8 bytes of HKDF-SHA256 output, which say
// whether a segment belongs to this key without revealing anything about the key.
func keyID(devKey []byte) [keyIDSize]byte {
	var id [keyIDSize]byte
	k, err := hkdf.Key(sha256.New, devKey, nil, infoKeyID, keyIDSize)
	if err != nil {
		panic("BUG: hkdf: " + err.Error())
	}
	copy(id[:], k)
	return id
}

// wrapAEAD returns the AES-256-GCM that wraps a segment's data key; its key is derived
// from the device key and the segment's random salt, so each is used once.
func wrapAEAD(devKey, salt []byte) cipher.AEAD {
	kek, err := hkdf.Key(sha256.New, devKey, salt, infoWrap, KeySize)
	if err != nil {
		panic("BUG: hkdf: " + err.Error())
	}
	return newAESGCM(kek)
}

func newAESGCM(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("BUG: aes: " + err.Error())
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic("BUG: gcm: " + err.Error())
	}
	return g
}

// recordAEAD returns the record cipher for a data key.
func recordAEAD(c Cipher, key []byte) (cipher.AEAD, error) {
	switch c {
	case AES256GCM:
		return newAESGCM(key), nil
	case XChaCha20Poly1305:
		return chacha20poly1305.NewX(key)
	}
	return nil, fmt.Errorf("storage: unknown cipher id %d: %w", uint8(c), ErrVersion)
}

// typeChain is the log's own chain frame, the first frame of every version-2 segment.
const typeChain Type = 0xFFFE

// header is a decoded segment header.
type header struct {
	version uint16
	digest  [sha256.Size]byte // chainDigest of the header
	id      uint64
	created time.Time
	cipher  Cipher
	keyID   [keyIDSize]byte
	salt    [saltSize]byte
	wrapped [wrappedKeySize]byte
	crcOK   bool
}

// erased reports whether the wrapped key was overwritten by crypto-erasure.
func (h *header) erased() bool {
	for _, b := range h.wrapped {
		if b != 0 {
			return false
		}
	}
	return true
}

// encodeHeader builds a complete header for segment id, wrapping dataKey under devKey.
func encodeHeader(id uint64, created time.Time, c Cipher, devKey, dataKey, salt []byte) [headerSize]byte {
	var b [headerSize]byte
	copy(b[offMagic:], segMagic[:])
	binary.LittleEndian.PutUint16(b[offVersion:], formatVersion)
	b[offCipher] = byte(c)
	binary.LittleEndian.PutUint32(b[offHdrLen:], headerSize)
	binary.LittleEndian.PutUint64(b[offSegID:], id)
	binary.LittleEndian.PutUint64(b[offCreated:], uint64(created.UnixNano()))
	kid := keyID(devKey)
	copy(b[offKeyID:], kid[:])
	copy(b[offSalt:], salt)
	var nonce [12]byte
	wrapAEAD(devKey, salt).Seal(b[offWrapped:offWrapped], nonce[:], dataKey, b[:offWrapped])
	binary.LittleEndian.PutUint32(b[offHdrCRC:], crc32.Checksum(b[:offHdrCRC], castagnoli))
	return b
}

// decodeHeader parses a header without the key. It checks magic, version and length.
func decodeHeader(b []byte) (header, error) {
	var h header
	if len(b) < headerSize || [8]byte(b[offMagic:offMagic+8]) != segMagic {
		return h, ErrNotSegment
	}
	h.version = binary.LittleEndian.Uint16(b[offVersion:])
	if h.version < minVersion || h.version > formatVersion {
		return h, fmt.Errorf("storage: segment format version %d (this build reads %d to %d): %w", h.version, minVersion, formatVersion, ErrVersion)
	}
	h.digest = chainDigest(b)
	if n := binary.LittleEndian.Uint32(b[offHdrLen:]); n != headerSize {
		return h, fmt.Errorf("storage: header length %d: %w", n, ErrCorrupt)
	}
	h.id = binary.LittleEndian.Uint64(b[offSegID:])
	h.created = time.Unix(0, int64(binary.LittleEndian.Uint64(b[offCreated:])))
	h.cipher = Cipher(b[offCipher])
	copy(h.keyID[:], b[offKeyID:])
	copy(h.salt[:], b[offSalt:])
	copy(h.wrapped[:], b[offWrapped:])
	h.crcOK = binary.LittleEndian.Uint32(b[offHdrCRC:]) == crc32.Checksum(b[:offHdrCRC], castagnoli)
	return h, nil
}

// unwrap checks the header against the device key (the one of the key ring whose key id
// the header names) and returns the segment's data key.
func (h *header) unwrap(raw []byte, devKey []byte) ([]byte, error) {
	if h.erased() {
		return nil, fmt.Errorf("storage: segment %016x was erased: %w", h.id, ErrCorrupt)
	}
	devKey, kid := pickKey(devKey, h.keyID)
	if kid != h.keyID {
		if !h.crcOK {
			return nil, fmt.Errorf("storage: segment %016x header checksum: %w", h.id, ErrCorrupt)
		}
		return nil, fmt.Errorf("storage: segment %016x has key id %x, the device key has key id %x: %w", h.id, h.keyID, kid, ErrWrongKey)
	}
	var nonce [12]byte
	key, err := wrapAEAD(devKey, h.salt[:]).Open(nil, nonce[:], h.wrapped[:], raw[:offWrapped])
	if err != nil {
		return nil, fmt.Errorf("storage: segment %016x data key fails authentication: %w", h.id, ErrCorrupt)
	}
	return key, nil
}

// frameHeader is a frame's header: for version 2 the clear part plus, once the frame is
// opened, the sealed type and time.
type frameHeader struct {
	length uint32 // sealed bytes before the tag: version 1 the payload, version 2 type, time and payload
	typ    Type   // version 2: typeChain or typeIndex from the seq, 0 for a record until opened
	seq    uint64
	time   int64 // version 2: 0 until opened
	hdrLen int   // clear header size of the frame's version
}

func (f *frameHeader) size() int { return f.hdrLen + int(f.length) + tagSize }

// putFrameHeader writes the 16-byte clear header of a version-2 frame into b: body is the
// length of type, time and payload.
func putFrameHeader(b []byte, body int, seq uint64) {
	_ = b[frameHeaderSize-1]
	binary.LittleEndian.PutUint32(b[0:], uint32(body))
	binary.LittleEndian.PutUint64(b[4:], seq)
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
}

// putInner writes the sealed type and time that start a version-2 frame's body.
func putInner(b []byte, typ Type, ts int64) {
	binary.LittleEndian.PutUint16(b, uint16(typ))
	binary.LittleEndian.PutUint64(b[2:], uint64(ts))
}

// parseFrameHeader decodes the clear header of a frame of format version v; ok is false
// unless its checksum and length (and, version 1, flags and type) are plausible. It does
// not authenticate anything.
func parseFrameHeader(b []byte, v uint16) (f frameHeader, ok bool) {
	if v < 2 {
		return parseFrameHeaderV1(b)
	}
	if len(b) < frameHeaderSize {
		return f, false
	}
	f.hdrLen = frameHeaderSize
	f.length = binary.LittleEndian.Uint32(b[0:])
	// The cheap check first: a resync tries every offset of a damaged range.
	if f.length < innerSize || f.length > maxPayload+innerSize || int(f.length) > len(b) {
		return f, false
	}
	if binary.LittleEndian.Uint32(b[12:]) != crc32.Checksum(b[:12], castagnoli) {
		return f, false
	}
	f.seq = binary.LittleEndian.Uint64(b[4:])
	switch {
	case f.seq == 0:
		f.typ = typeChain
	case f.seq >= indexSeq:
		f.typ = typeIndex
	}
	return f, true
}

// parseFrameHeaderV1 decodes a version-1 frame header: length, type, flags, seq, time in
// the clear.
func parseFrameHeaderV1(b []byte) (f frameHeader, ok bool) {
	if len(b) < v1HeaderSize {
		return f, false
	}
	f.hdrLen = v1HeaderSize
	f.length = binary.LittleEndian.Uint32(b[0:])
	f.typ = Type(binary.LittleEndian.Uint16(b[4:]))
	flags := binary.LittleEndian.Uint16(b[6:])
	if flags != 0 || f.typ == 0 || f.length > maxPayload || (f.typ > MaxType && f.typ != typeIndex && f.typ != typeChain) {
		return f, false
	}
	if binary.LittleEndian.Uint32(b[24:]) != crc32.Checksum(b[:24], castagnoli) {
		return f, false
	}
	f.seq = binary.LittleEndian.Uint64(b[8:])
	f.time = int64(binary.LittleEndian.Uint64(b[16:]))
	return f, true
}

// putNonce writes the nonce of a frame into n (12 or 24 bytes): seq big-endian, then zeros.
// In version 2 the seq alone keeps nonces apart (records 1 to 2^63-1, the chain frame 0,
// the index 2^63 plus 63 random bits); version 1 filled the rest with 0xff for the index
// and 0xfe for the chain frame (v1Fill).
func putNonce(n []byte, seq uint64, fill byte) {
	binary.BigEndian.PutUint64(n, seq)
	for i := 8; i < len(n); i++ {
		n[i] = fill
	}
}

// v1Fill is the nonce fill of a version-1 frame of type typ.
func v1Fill(typ Type) byte {
	switch typ {
	case typeIndex:
		return 0xff
	case typeChain:
		return 0xfe
	}
	return 0
}

// putAD writes the associated data of a version-2 frame into ad and returns it: segment
// id, then the clear header without its crc (length, seq).
func putAD(ad *[v1ADSize]byte, segID uint64, frame []byte) []byte {
	binary.LittleEndian.PutUint64(ad[0:], segID)
	copy(ad[8:], frame[:12])
	return ad[:adSize]
}

// putADV1 is putAD for version 1: segment id, then length, type, flags, seq and time.
func putADV1(ad *[v1ADSize]byte, segID uint64, frame []byte) []byte {
	binary.LittleEndian.PutUint64(ad[0:], segID)
	copy(ad[8:], frame[:24])
	return ad[:]
}

// typeStat summarises the records of one type in a segment.
type typeStat struct {
	typ      Type
	count    uint32
	min, max int64
}

// segStats summarises a segment's records; it is the payload of the index record.
type segStats struct {
	first, last uint64
	count       uint32
	types       []typeStat
}

func (s *segStats) add(typ Type, seq uint64, ts int64) {
	if s.count == 0 {
		s.first = seq
	}
	s.last = seq
	s.count++
	for i := range s.types {
		t := &s.types[i]
		if t.typ == typ {
			t.count++
			t.min = min(t.min, ts)
			t.max = max(t.max, ts)
			return
		}
	}
	s.types = append(s.types, typeStat{typ: typ, count: 1, min: ts, max: ts})
}

// encodedSize is the size of the index payload, padded to indexMinTypes entries.
func (s *segStats) encodedSize() int {
	return indexFixedSize + indexTypeSize*max(len(s.types), indexMinTypes)
}

func (s *segStats) appendTo(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, s.first)
	b = binary.LittleEndian.AppendUint64(b, s.last)
	b = binary.LittleEndian.AppendUint32(b, s.count)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s.types)))
	for _, t := range s.types {
		b = binary.LittleEndian.AppendUint16(b, uint16(t.typ))
		b = binary.LittleEndian.AppendUint32(b, t.count)
		b = binary.LittleEndian.AppendUint64(b, uint64(t.min))
		b = binary.LittleEndian.AppendUint64(b, uint64(t.max))
	}
	for range indexMinTypes - len(s.types) {
		b = append(b, make([]byte, indexTypeSize)...)
	}
	return b
}

func decodeStats(b []byte) (segStats, bool) {
	var s segStats
	if len(b) < indexFixedSize {
		return s, false
	}
	s.first = binary.LittleEndian.Uint64(b)
	s.last = binary.LittleEndian.Uint64(b[8:])
	s.count = binary.LittleEndian.Uint32(b[16:])
	n := int(binary.LittleEndian.Uint16(b[20:]))
	b = b[indexFixedSize:]
	if len(b) < n*indexTypeSize { // version 2 pads with zero entries
		return s, false
	}
	for i := 0; i < n; i++ {
		e := b[i*indexTypeSize:]
		s.types = append(s.types, typeStat{
			typ:   Type(binary.LittleEndian.Uint16(e)),
			count: binary.LittleEndian.Uint32(e[2:]),
			min:   int64(binary.LittleEndian.Uint64(e[6:])),
			max:   int64(binary.LittleEndian.Uint64(e[14:])),
		})
	}
	return s, true
}

// putTrailer writes the 16-byte trailer of a sealed segment.
func putTrailer(b []byte, indexOff int64) {
	binary.LittleEndian.PutUint64(b, uint64(indexOff))
	copy(b[8:], trailerMagic[:])
}

// isTrailer reports whether b is exactly a trailer and returns the index offset.
func isTrailer(b []byte) (int64, bool) {
	if len(b) != trailerSize || [8]byte(b[8:16]) != trailerMagic {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b)), true
}

// chainDigest is what a segment's chain frame binds of the segment before it: SHA-256 of
// that header's bytes 0-39 (magic, version, cipher, header size, id, creation time in
// nanoseconds, key id). They are authenticated by the wrapped key, and unlike the salt and
// wrapped key they survive crypto-erasure.
func chainDigest(hdr []byte) [sha256.Size]byte { return sha256.Sum256(hdr[:offSalt]) }

// chainLink is the payload of a chain frame: the segment before this one when it was
// created (id 0: none).
type chainLink struct {
	prev   uint64
	digest [sha256.Size]byte
}

func (c *chainLink) appendTo(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, c.prev)
	return append(b, c.digest[:]...)
}

func decodeChain(b []byte) (chainLink, bool) {
	var c chainLink
	if len(b) != chainSize {
		return c, false
	}
	c.prev = binary.LittleEndian.Uint64(b)
	copy(c.digest[:], b[8:])
	return c, true
}

// sealFrame builds a complete log-internal version-2 frame (index or chain) of payload p,
// sealed under aead for segment segID.
func sealFrame(aead cipher.AEAD, segID uint64, typ Type, seq uint64, ts int64, p []byte) []byte {
	body := innerSize + len(p)
	frame := make([]byte, frameHeaderSize+body+tagSize)
	putFrameHeader(frame, body, seq)
	putInner(frame[frameHeaderSize:], typ, ts)
	copy(frame[frameHeaderSize+innerSize:], p)
	var ad [v1ADSize]byte
	nonce := make([]byte, aead.NonceSize())
	putNonce(nonce, seq, 0)
	pt := frame[frameHeaderSize : frameHeaderSize+body]
	aead.Seal(pt[:0], nonce, pt, putAD(&ad, segID, frame))
	return frame
}
