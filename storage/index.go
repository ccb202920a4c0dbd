package storage

import (
	"fmt"
	"io"
	"os"
)

// segMeta is what Open and Reader.Segments learn about a segment without reading it whole.
type segMeta struct {
	hdr    header
	im     *image // header and record cipher; data is nil
	size   int64
	stats  segStats
	sealed bool
	// chain is the chain frame's link (version 2), read with the index of a sealed segment.
	chain    chainLink
	hasChain bool
	// tomb is the tombstone block (hasTomb), found whether or not the key is destroyed yet.
	tomb    tombstone
	hasTomb bool
}

// readMeta reads a segment's header and, if the segment is sealed, its index: three small
// reads however large the segment. A segment retention buried has hasTomb set and
// nothing else read (err wraps ErrCorrupt once its key is destroyed). err wraps ErrWrongKey, ErrCorrupt (including an erased
// segment), ErrNotSegment or ErrVersion.
func readMeta(path string, devKey []byte) (segMeta, error) {
	var m segMeta
	f, err := os.Open(path)
	if err != nil {
		return m, fmt.Errorf("storage: open segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return m, fmt.Errorf("storage: stat segment: %w", err)
	}
	m.size = fi.Size()
	// The header, and where a tombstone would be, in one read.
	var hb [headerSize + chainFrameSize + tombSize]byte
	n, err := f.ReadAt(hb[:], 0)
	if n < headerSize {
		if err == io.EOF {
			return m, fmt.Errorf("%w (%s is %d bytes)", ErrNotSegment, path, m.size)
		}
		return m, fmt.Errorf("storage: read segment header: %w", err)
	}
	m.im, err = parseImage(path, hb[:headerSize], devKey)
	if m.im != nil {
		m.hdr = m.im.hdr
		if n == len(hb) {
			m.tomb, m.hasTomb = openTombstone(devKey, &m.hdr.digest, hb[tombOffset():])
		}
	}
	if err != nil || m.hasTomb {
		return m, err
	}
	m.im.data = nil
	if m.size < headerSize+frameOverhead+trailerSize {
		return m, nil
	}
	var tb [trailerSize]byte
	if _, err := f.ReadAt(tb[:], m.size-trailerSize); err != nil {
		return m, fmt.Errorf("storage: read segment trailer: %w", err)
	}
	off, ok := isTrailer(tb[:])
	if !ok || off < headerSize || off > m.size-trailerSize-frameOverhead {
		return m, nil
	}
	frame := make([]byte, m.size-trailerSize-off)
	if _, err := f.ReadAt(frame, off); err != nil {
		return m, fmt.Errorf("storage: read segment index: %w", err)
	}
	s := &scanner{data: frame, segID: m.hdr.id, path: path, aead: m.im.aead, v: m.hdr.version}
	fh, pt, ok := s.valid(0, 0)
	if !ok || fh.typ != typeIndex || fh.size() != len(frame) {
		return m, nil
	}
	m.stats, m.sealed = decodeStats(pt)
	if m.sealed && m.hdr.version >= 2 && off >= headerSize+chainFrameSize {
		cf := make([]byte, chainFrameSize)
		if _, err := f.ReadAt(cf, headerSize); err != nil {
			return m, fmt.Errorf("storage: read segment chain frame: %w", err)
		}
		s.data = append(make([]byte, headerSize), cf...)
		if fh, ok := s.parse(cf); ok && fh.typ == typeChain && fh.seq == 0 && fh.size() == chainFrameSize {
			if pt, ok := s.open(headerSize, &fh); ok {
				m.chain, m.hasChain = decodeChain(pt)
			}
		}
	}
	return m, nil
}
