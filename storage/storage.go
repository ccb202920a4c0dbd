package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/geogate/geogate/internal/clock"
)

// Type says what a record holds. The storage package gives types no meaning: the caller
// numbers them (a fix, a frame, ...). Zero is invalid and types above MaxType are reserved
// for the log's own records.
type Type uint16

// MaxType is the largest Type a caller may append.
const MaxType Type = 0xFEFF

// typeIndex is the log's own per-segment index record, written when a segment is sealed.
const typeIndex Type = 0xFFFF

// typePlaceholder is the log's own placeholder record (Log.AppendPlaceholder): zeros of a
// chosen size, sealed; Scan skips it.
const typePlaceholder Type = 0xFFFD

// Cipher selects the AEAD that seals records. The zero value means AES256GCM.
type Cipher uint8

// Ciphers. The values are the algorithm ids written into every segment header; never renumber.
const (
	// AES256GCM is AES-256 in Galois/Counter Mode (crypto/cipher), hardware-accelerated on
	// ARMv8 (Cortex-A53 and later) and amd64. The default.
	AES256GCM Cipher = 1
	// XChaCha20Poly1305 is XChaCha20-Poly1305 (golang.org/x/crypto/chacha20poly1305), faster
	// than AES-GCM on cores without AES instructions (ARMv7 without the crypto extension).
	XChaCha20Poly1305 Cipher = 2
)

// String returns the cipher's name.
func (c Cipher) String() string {
	switch c {
	case AES256GCM:
		return "AES-256-GCM"
	case XChaCha20Poly1305:
		return "XChaCha20-Poly1305"
	}
	return fmt.Sprintf("cipher(%d)", uint8(c))
}

// KeySize is the length of the device key in bytes (256 bits).
const KeySize = 32

// Record is one record as read back from the log.
type Record struct {
	// Seq is the record's sequence number, unique and increasing across the whole log.
	Seq uint64
	// Type is the caller's record type.
	Type Type
	// Time is the timestamp given to Append (nanosecond precision).
	Time time.Time
	// Payload is the decrypted payload. It is only valid until the callback that received
	// the record returns; copy it to keep it.
	Payload []byte
}

// Clock tells the log the time, for segment age and retention. Tests inject a fake so they
// never sleep.
type Clock interface {
	Now() time.Time
}

// systemClock is the process's wall clock (internal/clock: the system clock in release builds).
type systemClock struct{}

func (systemClock) Now() time.Time { return clock.Now() }

// Default option values. Each carries its reason.
const (
	// DefaultSegmentSize bounds a segment file: 16 MiB is read whole into memory by recovery
	// and by the tools, which a 512 MiB telematics unit affords, and is about 80 s of 200 KB
	// frames at 1 fps or 150,000 fix records.
	DefaultSegmentSize = 16 << 20
	// DefaultSegmentAge rolls a segment after an hour even when it is not full, so retention
	// by age can delete data in hour-sized steps.
	DefaultSegmentAge = time.Hour
	// DefaultSyncInterval is the durability window: a record is on disk at most this long
	// (plus one fdatasync) after Append returns.
	DefaultSyncInterval = 100 * time.Millisecond
	// DefaultBufferSize is the size of each of the three append buffers (filling, sealing,
	// writing). 4 MiB holds 100 ms of 30 fps 200 KB frames with room to spare, so Append
	// does not wait while the others are sealed and written; it also bounds the largest
	// record.
	DefaultBufferSize = 4 << 20
	// DefaultKeepSegments is the retention floor on a full disk without a Quota: the newest
	// 4 sealed segments (64 MiB at the default size: five minutes of 200 KB frames at 1
	// fps, hours of fixes) are never erased to make room for new data.
	DefaultKeepSegments = 4
	// retentionInterval is how often the flusher checks ages when nothing else happens.
	retentionInterval = time.Minute
	// fullRetryMin and fullRetryMax bound the backoff between attempts to write again
	// while the disk is full: soon enough to miss little once space returns, rare enough
	// that a full disk costs next to nothing.
	fullRetryMin = time.Second
	fullRetryMax = 30 * time.Second
)

// Options configure a Log. Only Key is required.
type Options struct {
	// Key is the 32-byte device key. Segment data keys are wrapped by keys derived from it.
	// The log keeps its own copy; it never logs or returns it.
	Key []byte
	// OldKeys are device keys rotated out: they unwrap the segments they wrote, never a new
	// one. Nil: every segment must be under Key. See KeyInUse for when one may go.
	OldKeys [][]byte
	// Cipher seals the records of new segments. Zero means AES256GCM. Existing segments
	// keep the cipher they were written with.
	Cipher Cipher
	// SegmentSize is the size at which a segment is sealed and a new one started, and the
	// space preallocated for each. Zero means DefaultSegmentSize.
	SegmentSize int64
	// SegmentAge seals a segment when a record is this much younger than the segment's
	// first record (record timestamps, as given to Append), even if it is not full. Zero
	// means DefaultSegmentAge, lowered to the smallest MaxAge if that is shorter.
	SegmentAge time.Duration
	// Quota bounds the bytes of all segment files; the oldest sealed segments are erased to
	// stay under it. Zero means no quota (the disk is the limit). It must leave room for at
	// least two segments.
	Quota int64
	// KeepSegments is the retention floor on a full disk. When a write fails with ENOSPC
	// (another process filled the disk) the log erases its oldest sealed segments to make
	// room, but never one of the newest KeepSegments sealed segments; if that frees too
	// little, it drops new records, counts them (Stats.Dropped) and writes again by itself
	// once space returns. Zero means: with a Quota, every segment the quota holds
	// (Quota/SegmentSize - 1: a full disk never takes what the quota promised to keep);
	// without one, DefaultKeepSegments. Quota and MaxAge do not look at it.
	KeepSegments int
	// MaxAge bounds how long records of a type are kept, measured from the newest record of
	// that type in a segment; a sealed segment holding an expired type is erased whole.
	// Missing types (and a nil map) are kept until the quota needs their space.
	MaxAge map[Type]time.Duration
	// Hold, if not nil, keeps MaxAge from erasing a sealed segment while it returns true for
	// the segment's id: the uploader holds what the processor has not confirmed yet
	// (upload.Manifest). Quota and a full disk still erase held segments. It must be quick.
	// Nil holds nothing.
	Hold func(segment uint64) bool
	// SyncInterval is the durability window of group commit. Zero means DefaultSyncInterval.
	SyncInterval time.Duration
	// SyncBytes starts a write+fdatasync as soon as this many bytes are buffered, before the
	// window ends. Zero means a quarter of BufferSize.
	SyncBytes int
	// BufferSize is the size of each of the three append buffers and bounds a record's
	// size. Zero means DefaultBufferSize.
	BufferSize int
	// Clock is the time source for ages. Nil means the system clock (internal/clock, which
	// tests can move at link time).
	Clock Clock
	// Logger receives state changes (segment rolls, erasures, recovery). Nil discards.
	Logger *slog.Logger

	// fs is the file-system seam; nil means the real one. Tests inject faults through it.
	fs fileOps
}

// Errors. Callers branch on these with errors.Is.
var (
	// ErrClosed is returned by calls on a closed Log.
	ErrClosed = errors.New("storage: log closed")
	// ErrKeySize means the device key is not KeySize bytes.
	ErrKeySize = errors.New("storage: device key must be 32 bytes")
	// ErrWrongKey means a segment was written under another device key. Nothing of it is
	// returned.
	ErrWrongKey = errors.New("storage: segment was written with a different device key")
	// ErrNotSegment means a file does not start with the segment magic.
	ErrNotSegment = errors.New("storage: not a geogate segment file")
	// ErrVersion means a segment has a format version this build cannot read.
	ErrVersion = errors.New("storage: unsupported segment format version")
	// ErrCorrupt means a segment header or record failed its checks or authentication.
	ErrCorrupt = errors.New("storage: segment corrupt")
	// ErrTooLarge means a record does not fit into a buffer or segment.
	ErrTooLarge = errors.New("storage: record too large")
	// ErrType means the record type is zero or reserved.
	ErrType = errors.New("storage: record type 0 or reserved")
	// ErrNoSpace means the disk is full and the retention floor (Options.KeepSegments)
	// allows no more erasure. Append returns it while the disk is full and the record is
	// dropped (Stats.Dropped); it is not sticky: the log writes again once space returns.
	// What was durable stays intact.
	ErrNoSpace = errors.New("storage: no space left for the log")
	// ErrLocked means another process has the log open for writing.
	ErrLocked = errors.New("storage: log is open in another process (is geogate already running?)")
	// ErrChain means the segments do not form the chain the writer made: a segment file
	// named for another id, a segment missing between two others, a segment's header or
	// records replaced (see docs/FORMAT.md, "Chain"). Deletion, reordering, duplication
	// and truncation of segments are reported with it.
	ErrChain = errors.New("storage: segment chain broken")
	// ErrFailed means a write or fdatasync failed; the log refuses further appends because
	// the kernel may have dropped the data (see fsyncgate). Reopen to recover.
	ErrFailed = errors.New("storage: log failed")
)
