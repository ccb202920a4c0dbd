package storage

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

// A tombstone is what retention leaves of a segment it erases while older segments remain
// (MaxAge expires a type held by a segment in the middle of the log): the header with its
// key destroyed, the chain frame, and a tombstone block, which says "erased by retention"
// and repeats the segment's chain link, sealed under a one-time key derived from the
// device key. Readers check the chain through it, and list the erased seq and time range,
// so the gap is visible but not reported as a deletion. A segment whose key was destroyed
// without an authentic tombstone, in the middle of the log, was erased by someone else:
// that is reported as a break of the chain. Once a tombstone is the oldest file of the log
// it is removed. docs/FORMAT.md, "Tombstones", documents the bytes.

// Tombstone layout.
const (
	// tombPlainSize is the sealed content: prev id (8), prev digest (32), first and last
	// seq (8+8), record count without placeholders (4), oldest and newest record time
	// (8+8), erasure time (8).
	tombPlainSize = 8 + sha256.Size + 8 + 8 + 4 + 8 + 8 + 8
	// tombSize is the whole block: magic, salt, sealed content with its tag.
	tombSize = 8 + saltSize + tombPlainSize + tagSize
	// infoTomb labels the key that seals a tombstone.
	infoTomb = "geogate storage v2 tombstone"
)

// tombMagic starts a tombstone block. As a frame's length field it would exceed
// maxPayload, so no frame is ever mistaken for it.
var tombMagic = [8]byte{'G', 'G', 'T', 'O', 'M', 'B', '\r', '\n'}

// tombOffset is where the tombstone block lies: after the header and the chain frame,
// over the first records (which are being erased).
func tombOffset() int64 { return headerSize + chainFrameSize }

// tombstone is the content of a tombstone block.
type tombstone struct {
	link        chainLink // the chain frame's link, zero for a version-1 segment
	first, last uint64    // seq range of the erased records
	count       uint32
	oldest      int64 // record times, Unix ns
	newest      int64
	erasedAt    int64
}

// tombAEAD is the one-time AES-256-GCM of a tombstone: its key is derived from the device
// key and the tombstone's fresh random salt, so the zero nonce is used once per key.
func tombAEAD(devKey, salt []byte) cipher.AEAD {
	k, err := hkdf.Key(sha256.New, devKey, salt, infoTomb, KeySize)
	if err != nil {
		panic("BUG: hkdf: " + err.Error())
	}
	return newAESGCM(k)
}

// tombAD is the additional data of a tombstone: the segment header's chain digest (bytes
// 0-39: id, creation time, key id...) binds it to that segment, then magic and salt.
func tombAD(digest *[sha256.Size]byte, b []byte) []byte {
	return append(append(make([]byte, 0, sha256.Size+8+saltSize), digest[:]...), b[:8+saltSize]...)
}

// sealTombstone builds the tombstone block of the segment whose header has digest.
func sealTombstone(devKey []byte, digest *[sha256.Size]byte, t *tombstone) ([]byte, error) {
	b := make([]byte, 8+saltSize, tombSize)
	copy(b, tombMagic[:])
	if _, err := rand.Read(b[8:]); err != nil {
		return nil, fmt.Errorf("storage: tombstone salt: %w", err)
	}
	p := make([]byte, 0, tombPlainSize)
	p = t.link.appendTo(p)
	p = binary.LittleEndian.AppendUint64(p, t.first)
	p = binary.LittleEndian.AppendUint64(p, t.last)
	p = binary.LittleEndian.AppendUint32(p, t.count)
	p = binary.LittleEndian.AppendUint64(p, uint64(t.oldest))
	p = binary.LittleEndian.AppendUint64(p, uint64(t.newest))
	p = binary.LittleEndian.AppendUint64(p, uint64(t.erasedAt))
	var nonce [12]byte
	return tombAEAD(devKey, b[8:]).Seal(b, nonce[:], p, tombAD(digest, b)), nil
}

// openTombstone authenticates a tombstone block of the segment whose header has digest;
// ok is false unless b starts with an authentic one.
func openTombstone(devKey []byte, digest *[sha256.Size]byte, b []byte) (t tombstone, ok bool) {
	if len(b) < tombSize || [8]byte(b[:8]) != tombMagic {
		return t, false
	}
	var nonce [12]byte
	p, err := tombAEAD(devKey, b[8:8+saltSize]).Open(nil, nonce[:], b[8+saltSize:tombSize], tombAD(digest, b))
	if err != nil {
		return t, false
	}
	t.link, _ = decodeChain(p[:chainSize])
	p = p[chainSize:]
	t.first = binary.LittleEndian.Uint64(p)
	t.last = binary.LittleEndian.Uint64(p[8:])
	t.count = binary.LittleEndian.Uint32(p[16:])
	t.oldest = int64(binary.LittleEndian.Uint64(p[20:]))
	t.newest = int64(binary.LittleEndian.Uint64(p[28:]))
	t.erasedAt = int64(binary.LittleEndian.Uint64(p[36:]))
	return t, true
}

// tombstoneOf summarises a segment's records, placeholders left out, for its tombstone.
func tombstoneOf(s *segment, now time.Time) tombstone {
	t := tombstone{link: s.link, first: s.stats.first, last: s.stats.last, erasedAt: now.UnixNano()}
	for _, ts := range s.stats.types {
		if ts.typ == typePlaceholder {
			continue
		}
		if t.count == 0 || ts.min < t.oldest {
			t.oldest = ts.min
		}
		if t.count == 0 || ts.max > t.newest {
			t.newest = ts.max
		}
		t.count += ts.count
	}
	return t
}

// bury turns a sealed segment into a tombstone: the tombstone block is written over the
// first records and made durable, then the key is destroyed (as by erase) and the file cut
// after the block. A power cut after the first fdatasync leaves a segment whose tombstone
// Open finds and finishes (finishTomb); before it, the segment is untouched. So a
// destroyed key without a tombstone never comes from the log but from a full erasure of
// the oldest segment, interrupted.
func (l *Log) bury(s *segment, t *tombstone) error {
	block, err := sealTombstone(l.devKey, &s.digest, t)
	if err != nil {
		return err
	}
	f, err := l.fs.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if _, err = f.WriteAt(block, tombOffset()); err == nil {
		err = f.Datasync()
	}
	if err == nil {
		err = finishTomb(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// finishTomb destroys the key of a segment file whose tombstone block is durable and cuts
// the file after the block.
func finishTomb(f file) error {
	var zero [saltSize + wrappedKeySize]byte
	if _, err := f.WriteAt(zero[:], offSalt); err != nil {
		return err
	}
	if err := f.Datasync(); err != nil {
		return err
	}
	if err := f.Truncate(tombOffset() + tombSize); err != nil {
		return err
	}
	return f.Datasync()
}

// finishTombFile is finishTomb for a segment recovery found buried halfway.
func (l *Log) finishTombFile(path string) error {
	f, err := l.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = finishTomb(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
