package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// FormatVersion is the entry format version written in every entry's "v" field.
const FormatVersion = 1

// Kind says what an entry records. The names are part of the format (docs/AUDIT.md).
type Kind string

// The kinds geogate writes. A reader accepts any kind (a later release may add some).
const (
	DaemonStart     Kind = "daemon.start"     // Detail: version
	DaemonStop      Kind = "daemon.stop"      // Detail: why (signal name)
	PolicyLoaded    Kind = "policy.loaded"    // ID, Version, Key
	PolicyRejected  Kind = "policy.rejected"  // ID, Version, Key if known; Detail: the error
	PolicyExpired   Kind = "policy.expired"   // ID, Version, Key
	ConsoleSession  Kind = "console.session"  // ID: session; Peer: uid; Detail: "open" or "close"
	ConsoleCommand  Kind = "console.command"  // ID: session; Peer: uid; Detail: the command
	Export          Kind = "export"           // Object, Peer: recipient(s), SHA256, Bytes
	Upload          Kind = "upload"           // Object, Peer: endpoint/bucket, SHA256, Bytes
	KeyEvent        Kind = "key"              // ID: which key; Key: its fingerprint; Detail: event
	PowerFail       Kind = "power.fail"       // Detail: the board's event name
	PowerOK         Kind = "power.ok"         // power restored
	StorageFault    Kind = "storage.fault"    // Detail: the error
	Decisions       Kind = "decisions"        // Counts over the last Counts.Seconds
	AuditOpened     Kind = "audit.opened"     // the log was opened; Bytes: torn bytes cut
	AuditDropped    Kind = "audit.dropped"    // Count: entries dropped because the queue was full
	AuditCheckpoint Kind = "audit.checkpoint" // reserved; geogate does not log its checkpoints
)

// urgent reports whether an entry of kind k is fsynced and checkpointed as soon as it is
// written: everything but the periodic counts, whose loss in a crash costs little.
func (k Kind) urgent() bool { return k != Decisions }

// Counts are decision counts over one interval: how many fixes and frames the gate saw and
// what it did with them. They say nothing of where, or which zone.
type Counts struct {
	Seconds                                      uint64 // the interval's length
	Fixes, FixesKept, FixesCoarsened, FixDrops   uint64
	Frames, FramesKept, FramesScaled, FrameDrops uint64
}

// Entry is one audit record. Zero fields are left out of the encoding. Callers must never
// put a position, a zone name or anything derived from where the car is into an entry: the
// log is plaintext, readable by auditors without the device key.
type Entry struct {
	// Seq is the entry's index in the log (its leaf index in the Merkle tree), set by the
	// Log when it is written; a caller's value is ignored.
	Seq uint64
	// Time is when it happened (UTC in the encoding). Zero: the Log stamps it when written.
	Time time.Time
	// Kind says what happened. Required.
	Kind Kind
	// ID names the subject: a policy id, a console session, a key.
	ID string
	// Version is a policy version.
	Version uint64
	// Key identifies a key by fingerprint (never the key itself).
	Key string
	// Peer is who: a console peer's uid, an export's recipients, an upload's endpoint.
	Peer string
	// Object is what was exported or uploaded: a file or object name.
	Object string
	// SHA256 is the hex SHA-256 of what was exported or uploaded.
	SHA256 string
	// Bytes is a size: of an export or upload, of a torn tail cut.
	Bytes uint64
	// Count is a number of events (entries dropped).
	Count uint64
	// Detail is free text: a command, a reason, an error. No positions, no zone names.
	Detail string
	// Counts are set for Kind Decisions.
	Counts Counts
}

// MaxEntry is the largest encoded entry: longer strings are cut (and marked) so an entry
// always fits. 4 KiB holds any command line or error geogate produces many times over.
const MaxEntry = 4 << 10

// maxField is how long one string field may be once encoded, so that every field of an
// entry fits MaxEntry together: 7 strings of 448 bytes and their names (3,209 bytes), 13
// numbers of up to 20 digits with their names and the time stay under 600 more
// (TestEncodeStrings encodes the longest).
const maxField = 448

// AppendJSON appends e's encoding, one line of JSON without the newline, to dst and returns
// the extended buffer. The fields come in a fixed order, so the encoding of an entry is
// unique (it is what the Merkle tree hashes). It does not allocate when dst has room.
func AppendJSON(dst []byte, e *Entry) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendUint(dst, FormatVersion, 10)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = append(dst, `,"time":"`...)
	dst = e.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	dst = appendString(dst, "kind", string(e.Kind))
	dst = appendString(dst, "id", e.ID)
	dst = appendUint(dst, "version", e.Version)
	dst = appendString(dst, "key", e.Key)
	dst = appendString(dst, "peer", e.Peer)
	dst = appendString(dst, "object", e.Object)
	dst = appendString(dst, "sha256", e.SHA256)
	dst = appendUint(dst, "bytes", e.Bytes)
	dst = appendUint(dst, "count", e.Count)
	dst = appendString(dst, "detail", e.Detail)
	if e.Counts != (Counts{}) {
		c := &e.Counts
		dst = append(dst, `,"counts":{"seconds":`...)
		dst = strconv.AppendUint(dst, c.Seconds, 10)
		for _, f := range [...]struct {
			name string
			v    uint64
		}{{"fixes", c.Fixes}, {"fixes_kept", c.FixesKept}, {"fixes_coarsened", c.FixesCoarsened}, {"fix_drops", c.FixDrops},
			{"frames", c.Frames}, {"frames_kept", c.FramesKept}, {"frames_scaled", c.FramesScaled}, {"frame_drops", c.FrameDrops}} {
			dst = append(dst, ',', '"')
			dst = append(dst, f.name...)
			dst = append(dst, '"', ':')
			dst = strconv.AppendUint(dst, f.v, 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendUint(dst []byte, name string, v uint64) []byte {
	if v == 0 {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return strconv.AppendUint(dst, v, 10)
}

const hexDigits = "0123456789abcdef"

// appendString appends ,"name":"s" with s escaped as JSON requires (quote, backslash and
// control characters; invalid UTF-8 becomes U+FFFD), cut to maxField encoded bytes with a
// trailing "..." when longer. Empty s appends nothing.
func appendString(dst []byte, name, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':', '"')
	start := len(dst)
	for i := 0; i < len(s); {
		if len(dst)-start > maxField-9 { // room for the longest escape and "..."
			dst = append(dst, "..."...)
			break
		}
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
			i++
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, string(utf8.RuneError)...) // as decoded, so the encoding stays canonical
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
		}
	}
	return append(dst, '"')
}

// wireEntry is the JSON shape of an entry, for decoding.
type wireEntry struct {
	V       *int       `json:"v"`
	Seq     *uint64    `json:"seq"`
	Time    *time.Time `json:"time"`
	Kind    Kind       `json:"kind"`
	ID      string     `json:"id"`
	Version uint64     `json:"version"`
	Key     string     `json:"key"`
	Peer    string     `json:"peer"`
	Object  string     `json:"object"`
	SHA256  string     `json:"sha256"`
	Bytes   uint64     `json:"bytes"`
	Count   uint64     `json:"count"`
	Detail  string     `json:"detail"`
	Counts  *struct {
		Seconds        uint64 `json:"seconds"`
		Fixes          uint64 `json:"fixes"`
		FixesKept      uint64 `json:"fixes_kept"`
		FixesCoarsened uint64 `json:"fixes_coarsened"`
		FixDrops       uint64 `json:"fix_drops"`
		Frames         uint64 `json:"frames"`
		FramesKept     uint64 `json:"frames_kept"`
		FramesScaled   uint64 `json:"frames_scaled"`
		FrameDrops     uint64 `json:"frame_drops"`
	} `json:"counts"`
}

// Decode parses one encoded entry (as AppendJSON writes it) into e. It fails on anything
// AppendJSON would not have written: an unknown version or field, a missing v, seq, time or
// kind, trailing data, or a non-canonical encoding of the same entry.
func Decode(b []byte, e *Entry) error {
	var w wireEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("%w: %w", ErrEntry, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the entry", ErrEntry)
	}
	switch {
	case w.V == nil || w.Seq == nil || w.Time == nil || w.Kind == "":
		return fmt.Errorf("%w: v, seq, time and kind are required", ErrEntry)
	case *w.V != FormatVersion:
		return fmt.Errorf("%w: version %d, this geogate reads %d", ErrVersion, *w.V, FormatVersion)
	}
	*e = Entry{Seq: *w.Seq, Time: *w.Time, Kind: w.Kind, ID: w.ID, Version: w.Version, Key: w.Key,
		Peer: w.Peer, Object: w.Object, SHA256: w.SHA256, Bytes: w.Bytes, Count: w.Count, Detail: w.Detail}
	if c := w.Counts; c != nil {
		e.Counts = Counts{c.Seconds, c.Fixes, c.FixesKept, c.FixesCoarsened, c.FixDrops, c.Frames, c.FramesKept, c.FramesScaled, c.FrameDrops}
	}
	// One entry, one encoding: the bytes hashed are exactly what AppendJSON writes.
	var buf [MaxEntry]byte
	if !bytes.Equal(AppendJSON(buf[:0], e), b) {
		return fmt.Errorf("%w: not in canonical form", ErrEntry)
	}
	return nil
}
