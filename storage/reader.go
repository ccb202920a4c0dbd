package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Reader reads a log directory without changing it, for the tools (ls, verify, cat,
// export). It may read a directory an open Log is writing; the current segment then reads
// up to what has been written.
type Reader struct {
	dir    string
	devKey []byte // the key ring (keyring.go)
}

// NewReader returns a Reader of the log in dir under the device key and, after a
// rotation, the older keys.
func NewReader(dir string, key []byte, old ...[]byte) (*Reader, error) {
	ring, err := keyring(key, old)
	if err != nil {
		return nil, err
	}
	return &Reader{dir: dir, devKey: ring}, nil
}

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	// ID is the segment id; Path its file; Size its length in bytes.
	ID   uint64
	Path string
	Size int64
	// Created is the creation time from the header; Cipher seals its records.
	Created time.Time
	Cipher  Cipher
	// Sealed is true when the segment was closed cleanly; otherwise its counts come from
	// reading every record.
	Sealed bool
	// Records, FirstSeq and LastSeq count and bound the authentic records; Placeholders
	// counts the placeholders among them (Log.AppendPlaceholder), which Records and Types
	// leave out.
	Records           int
	FirstSeq, LastSeq uint64
	Placeholders      int
	// Types summarises the records per type, in order of first appearance.
	Types []TypeInfo
	// Err says why the segment cannot be read (wrong key, corrupt header, erased, a
	// header naming another segment: ErrChain); the other fields except ID, Path and Size
	// are then zero.
	Err error
	// Version is the segment's format version.
	Version uint16
	// Chain, if not nil, says how the segment breaks the chain (it wraps ErrChain): every
	// version-2 segment starts with a chain frame naming the segment before it and a
	// digest of its header, so a deleted, replaced, reordered or duplicated segment, and a
	// segment cut to its header, are found. The oldest segment is not checked: retention
	// erases from there. Its records are still readable.
	Chain error
	// Erased, if not nil, says that retention erased the segment's records while older
	// segments were kept (a type's MaxAge expired): only a tombstone is left, which keeps
	// the chain and says which records were erased (Records, FirstSeq and LastSeq count
	// and bound them; Types is nil). It is not a problem, but a gap a reader should see.
	// Scan returns no records for it.
	Erased *Erasure
}

// Erasure describes the records retention erased from a segment (SegmentInfo.Erased).
type Erasure struct {
	// At is when they were erased; First and Last bound their timestamps.
	At, First, Last time.Time
}

// TypeInfo counts the records of one type in a segment and bounds their timestamps.
type TypeInfo struct {
	Type        Type
	Records     int
	First, Last time.Time
}

// ScanReport is what Scan found besides the records.
type ScanReport struct {
	// Records counts the authentic records passed to the callback; Placeholders the
	// placeholders skipped.
	Records      int
	Placeholders int
	// Damaged lists corrupt ranges that were skipped; Tail is non-zero data after the last
	// authentic record of an unsealed segment (a torn write), nil if none.
	Damaged []Damage
	Tail    *Damage
}

// Segments lists the segments, oldest first, and checks that they form the chain the
// writer made (see SegmentInfo.Chain). A sealed segment costs four small reads; an
// unsealed one is read whole. Per-segment problems are in SegmentInfo.Err and Chain.
func (r *Reader) Segments() ([]SegmentInfo, error) {
	d, err := listSegments(r.dir)
	if err != nil {
		return nil, err
	}
	out := make([]SegmentInfo, 0, len(d.ids))
	var before *SegmentInfo // the last segment with a readable header
	var beforeDigest [32]byte
	for _, id := range d.ids {
		path := filepath.Join(r.dir, segName(id))
		info := SegmentInfo{ID: id, Path: path}
		m, err := readMeta(path, r.devKey)
		info.Size = m.size
		if m.im != nil {
			info.Created, info.Cipher, info.Version = m.hdr.created, m.hdr.cipher, m.hdr.version
		}
		switch {
		case m.im != nil && m.hdr.id != id:
			err = fmt.Errorf("storage: %s holds segment %016x (renamed, copied or swapped): %w", path, m.hdr.id, ErrChain)
		case m.hasTomb:
			t := &m.tomb
			info.Erased = &Erasure{At: time.Unix(0, t.erasedAt), First: time.Unix(0, t.oldest), Last: time.Unix(0, t.newest)}
			info.Records, info.FirstSeq, info.LastSeq = int(t.count), t.first, t.last
			info.Chain = chainCheck(id, m.hdr.version, t.link, m.hdr.version >= 2, before, &beforeDigest)
			out = append(out, info)
			before, beforeDigest = &out[len(out)-1], m.hdr.digest
			continue
		case m.im != nil && m.hdr.erased() && before != nil:
			err = fmt.Errorf("storage: segment %016x: key destroyed without a retention tombstone while segment %016x before it is kept: erased by something other than geogate, its records hidden: %w", id, before.ID, ErrChain)
		}
		if err != nil {
			info.Err = err
			out = append(out, info)
			continue
		}
		st, link, linked := m.stats, m.chain, m.hasChain
		if m.sealed {
			info.Sealed = true
		} else {
			im, err := loadImage(path, r.devKey)
			if err != nil {
				info.Err = err
				out = append(out, info)
				continue
			}
			res, err := im.scanner(path).scan(nil)
			if err != nil {
				return nil, err
			}
			st, link, linked = res.stats, res.chain, res.hasChain
		}
		info.Records, info.FirstSeq, info.LastSeq = int(st.count), st.first, st.last
		for _, t := range st.types {
			if t.typ == typePlaceholder {
				info.Placeholders = int(t.count)
				info.Records -= int(t.count)
				continue
			}
			info.Types = append(info.Types, TypeInfo{Type: t.typ, Records: int(t.count), First: time.Unix(0, t.min), Last: time.Unix(0, t.max)})
		}
		info.Chain = chainCheck(id, m.hdr.version, link, linked, before, &beforeDigest)
		out = append(out, info)
		before, beforeDigest = &out[len(out)-1], m.hdr.digest
	}
	return out, nil
}

// chainCheck checks the link of segment id (format version v; linked: it has a chain
// frame or tombstone) against before, the segment listed before it, whose header has
// beforeDigest. It returns nil or an error wrapping ErrChain.
func chainCheck(id uint64, v uint16, link chainLink, linked bool, before *SegmentInfo, beforeDigest *[32]byte) error {
	switch {
	case v < 2 && before != nil && before.Version >= 2:
		return fmt.Errorf("storage: segment %016x: version %d after version-%d segment %016x (an old segment copied in): %w", id, v, before.Version, before.ID, ErrChain)
	case v < 2:
	case !linked:
		return fmt.Errorf("storage: segment %016x has no chain frame (cut right after its header): %w", id, ErrChain)
	case before != nil && (link.prev != before.ID || link.digest != *beforeDigest):
		what := "a segment was deleted, replaced or reordered"
		if link.prev == before.ID {
			what = fmt.Sprintf("segment %016x was replaced", before.ID)
		}
		return fmt.Errorf("storage: segment %016x follows segment %016x, the log has %016x before it: %s: %w", id, link.prev, before.ID, what, ErrChain)
	}
	return nil
}

// Scan reads every record of segment id in order and calls fn with each authentic one;
// nothing that fails authentication reaches fn. The Record and its Payload are only
// valid during the call. An error from fn stops the scan and is returned. A segment that
// cannot be opened returns an error wrapping ErrWrongKey, ErrCorrupt and the like, and
// nothing reaches fn. A segment retention erased (SegmentInfo.Erased) has no records.
func (r *Reader) Scan(id uint64, fn func(*Record) error) (ScanReport, error) {
	path := filepath.Join(r.dir, segName(id))
	data, err := os.ReadFile(path)
	if err != nil {
		return ScanReport{}, fmt.Errorf("storage: read segment: %w", err)
	}
	if h, err := decodeHeader(data); err == nil {
		if h.id != id {
			return ScanReport{}, fmt.Errorf("storage: %s holds segment %016x: %w", path, h.id, ErrChain)
		}
		if len(data) >= int(tombOffset())+tombSize {
			if _, ok := openTombstone(r.devKey, &h.digest, data[tombOffset():]); ok {
				return ScanReport{}, nil // erased by retention: no records
			}
		}
	}
	return scanImage(path, data, r.devKey, fn)
}

// scanImage is Scan of a segment image in memory.
func scanImage(path string, data, devKey []byte, fn func(*Record) error) (ScanReport, error) {
	var rep ScanReport
	im, err := parseImage(path, data, devKey)
	if err != nil {
		return rep, err
	}
	id := im.hdr.id
	res, err := im.scanner(path).scan(func(rec *Record) error {
		rep.Records++
		return fn(rec)
	})
	rep.Damaged, rep.Tail, rep.Placeholders = res.damaged, res.tail, res.placeholders
	if err != nil {
		return rep, fmt.Errorf("storage: scan segment %016x: %w", id, err)
	}
	if !im.hdr.crcOK {
		// The fields that matter are authenticated by the wrapped key; report the flip anyway.
		rep.Damaged = append([]Damage{{Segment: id, Path: path, Length: headerSize, Reason: "header checksum mismatch (key authenticated, records readable)"}}, rep.Damaged...)
	}
	if res.sealed && len(res.damaged) == 0 && !sameStats(&res.stats, &res.index) {
		rep.Damaged = append(rep.Damaged, Damage{Segment: id, Path: path, Offset: res.end,
			Reason: fmt.Sprintf("index counts %d records (seq %d-%d), %d are readable", res.index.count, res.index.first, res.index.last, res.stats.count)})
	}
	return rep, nil
}

func sameStats(a, b *segStats) bool {
	return a.count == b.count && a.first == b.first && a.last == b.last
}

// Err returns the first problem in a report as an error (a Damage), or nil if clean.
func (rep *ScanReport) Err() error {
	var errs []error
	for _, d := range rep.Damaged {
		errs = append(errs, d)
	}
	if rep.Tail != nil {
		errs = append(errs, *rep.Tail)
	}
	return errors.Join(errs...)
}
