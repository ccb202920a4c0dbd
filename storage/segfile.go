package storage

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// newSegment prepares the next segment in memory: id, fresh data key, header.
func (l *Log) newSegment() (*segment, error) {
	var key [KeySize]byte
	var salt [saltSize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("storage: data key: %w", err)
	}
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("storage: salt: %w", err)
	}
	now := l.clock.Now()
	seg := &segment{id: l.nextID, path: filepath.Join(l.dir, segName(l.nextID)), created: now, appendOff: headerSize + chainFrameSize}
	l.nextID++
	var err error
	seg.aead, err = recordAEAD(l.opts.Cipher, key[:])
	if err != nil {
		return nil, err
	}
	seg.hdr = encodeHeader(seg.id, now, l.opts.Cipher, l.devKey[:KeySize], key[:], salt[:])
	seg.digest = chainDigest(seg.hdr[:])
	clear(key[:])
	return seg, nil
}

// noSpace runs op; on ENOSPC it erases the oldest sealed segment and retries, and when
// only the retention floor (Options.KeepSegments) is left it returns ErrNoSpace.
func (l *Log) noSpace(op func() error) error {
	for {
		err := op()
		if !errors.Is(err, syscall.ENOSPC) {
			return err
		}
		ss := l.sealedSegments()
		if len(ss) <= l.opts.KeepSegments || l.erase(ss[0], "disk full") != nil {
			return fmt.Errorf("%w: %w", ErrNoSpace, err)
		}
	}
}

// create writes a new segment file: header into a temporary file, preallocate, fdatasync,
// rename into place, fsync the directory.
func (l *Log) create(seg *segment) error {
	tmp := seg.path + tmpExt
	f, err := l.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("storage: create segment: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		l.fs.Remove(tmp)
		return err
	}
	// The header and the chain frame, which binds the segment before this one; both are
	// durable before the file gets its name, so a segment without its chain frame was cut.
	seg.link = l.prev
	head := append(seg.hdr[:], sealFrame(seg.aead, seg.id, typeChain, 0, seg.created.UnixNano(), seg.link.appendTo(nil))...)
	if err := l.noSpace(func() error { _, err := f.WriteAt(head, 0); return err }); err != nil {
		return fail(fmt.Errorf("storage: write segment header: %w", err))
	}
	size := int64(len(head))
	switch err := l.noSpace(func() error { return f.Allocate(l.opts.SegmentSize) }); {
	case err == nil:
		seg.prealloc, size = true, l.opts.SegmentSize
	case errors.Is(err, errUnsupported):
	default:
		return fail(fmt.Errorf("storage: preallocate segment: %w", err))
	}
	if err := f.Datasync(); err != nil {
		return fail(fmt.Errorf("storage: sync new segment: %w: %w", ErrFailed, err))
	}
	if err := l.fs.Rename(tmp, seg.path); err != nil {
		return fail(fmt.Errorf("storage: rename new segment: %w", err))
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		f.Close()
		return fmt.Errorf("storage: sync log directory: %w: %w", ErrFailed, err)
	}
	seg.f, seg.written = f, int64(len(head))
	l.prev = chainLink{prev: seg.id, digest: seg.digest}
	l.mu.Lock()
	seg.diskSize = size
	l.backoff = fullRetryMin
	l.mu.Unlock()
	l.log.Debug("storage: new segment", "id", seg.id)
	return nil
}

// seal writes the index record and trailer after the last record, cuts the file there,
// fdatasyncs and closes it. The index record's seq is random, so its nonce differs from
// every record's and from any earlier (torn) seal of the same segment.
func (l *Log) seal(seg *segment) error {
	l.mu.Lock()
	idx := seg.stats.appendTo(nil)
	l.mu.Unlock()
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("storage: index nonce: %w", err)
	}
	frame := sealFrame(seg.aead, seg.id, typeIndex, binary.LittleEndian.Uint64(rnd[:])|indexSeq, l.clock.Now().UnixNano(), idx)
	frame = append(frame, make([]byte, trailerSize)...)
	putTrailer(frame[len(frame)-trailerSize:], seg.written)
	if err := l.noSpace(func() error { _, err := seg.f.WriteAt(frame, seg.written); return err }); err != nil {
		return err
	}
	end := seg.written + int64(len(frame))
	if err := seg.f.Truncate(end); err != nil {
		return err
	}
	if err := seg.f.Datasync(); err != nil {
		return fmt.Errorf("%w: %w", ErrFailed, err)
	}
	seg.f.Drop(0, 0)
	err := seg.f.Close()
	seg.f = nil
	l.mu.Lock()
	seg.sealed, seg.diskSize = true, end
	l.mu.Unlock()
	return err
}
