package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// recover loads every segment, completes interrupted erasures, scans and seals segments
// that were not sealed, and sets the next segment id and seq.
func (l *Log) recover() error {
	d, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	rec := &l.recovery
	rec.Stray = d.stray
	for _, p := range d.stray {
		l.log.Warn("storage: segment id out of range: file ignored, not read and not removed", "path", p)
	}
	for _, t := range d.tmps {
		if err := l.fs.Remove(t); err != nil {
			return fmt.Errorf("storage: remove half-created segment: %w", err)
		}
		rec.TempRemoved++
	}
	l.nextID, l.nextSeq = 1, 1
	for _, id := range d.ids {
		rec.Segments++
		path := filepath.Join(l.dir, segName(id))
		l.nextID = max(l.nextID, id+1)
		m, err := readMeta(path, l.devKey)
		// before: a segment the log keeps lies before this one, so this one is in the
		// middle of the log, where a gap is a deletion unless a tombstone explains it.
		before := len(l.segs) > 0
		switch {
		case m.im != nil && m.hdr.id != id:
			if err := l.quarantine(path, fmt.Errorf("storage: %s holds segment %016x: %w", path, m.hdr.id, ErrChain)); err != nil {
				return err
			}
			continue
		case m.hasTomb:
			keep, err := l.recoverTomb(path, &m, before)
			if err != nil {
				return err
			}
			if keep {
				l.segs = append(l.segs, &segment{id: id, path: path, created: m.hdr.created, tomb: true, diskSize: tombOffset() + tombSize, digest: m.hdr.digest})
				l.nextSeq = max(l.nextSeq, m.tomb.last+1)
			}
			continue
		case err == nil:
		case m.im != nil && m.hdr.erased() && !before:
			// A full erasure of the oldest segment, interrupted: finish it.
			if err := l.fs.Remove(path); err != nil {
				return fmt.Errorf("storage: complete erasure: %w", err)
			}
			rec.Erased++
			continue
		case m.im != nil && m.hdr.erased():
			// The log destroys a key in the middle of the log only after a durable
			// tombstone: this segment was erased by something else, which hides its records
			// like a deletion. Set it aside, loudly.
			if err := l.quarantine(path, fmt.Errorf("storage: segment %016x: key destroyed without a retention tombstone, with older segments kept: erased by something other than geogate: %w", id, ErrChain)); err != nil {
				return err
			}
			continue
		case errors.Is(err, ErrWrongKey):
			return fmt.Errorf("storage: open %s: %w", l.dir, err)
		default:
			if err := l.quarantine(path, err); err != nil {
				return err
			}
			continue
		}
		seg := &segment{id: id, path: path, created: m.hdr.created, aead: m.im.aead, stats: m.stats, sealed: true, diskSize: m.size, digest: m.hdr.digest, link: m.chain}
		if !m.sealed {
			keep, err := l.recoverSegment(seg)
			if err != nil {
				return err
			}
			if !keep {
				continue
			}
		}
		l.segs = append(l.segs, seg)
		if seg.stats.count > 0 {
			l.nextSeq = max(l.nextSeq, seg.stats.last+1)
		}
	}
	if n := len(l.segs); n > 0 {
		l.prev = chainLink{prev: l.segs[n-1].id, digest: l.segs[n-1].digest}
	}
	if rec.TempRemoved+rec.Erased+len(rec.Unreadable) > 0 {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("storage: sync log directory: %w", err)
		}
	}
	if rec.Scanned+len(rec.Unreadable)+rec.Erased > 0 {
		l.log.Info("storage: recovered", "segments", rec.Segments, "scanned", rec.Scanned,
			"cut", len(rec.Cut), "damaged", len(rec.Damaged), "unreadable", len(rec.Unreadable), "erased", rec.Erased)
	}
	return nil
}

// recoverSegment scans an unsealed segment, cuts what follows its last authentic record
// and seals it there. A segment holding nothing after its header is erased instead (keep
// is false): it is what a power cut right after a roll or an Open leaves. A segment with
// data but not one authentic record is quarantined, never cut.
func (l *Log) recoverSegment(seg *segment) (keep bool, err error) {
	im, err := loadImage(seg.path, l.devKey)
	if err != nil {
		return false, err
	}
	res, err := im.scanner(seg.path).scan(nil)
	if err != nil {
		return false, err
	}
	rec := &l.recovery
	if res.stats.count == 0 && len(res.damaged) == 0 {
		if res.tail != nil && !res.hasChain {
			// Not one authentic frame, but data: another key's frames under this header, or
			// a segment damaged beyond reading. Cutting it would destroy it: set it aside.
			return false, l.quarantine(seg.path, fmt.Errorf("storage: segment %016x: %d bytes, no record authenticates: %w", seg.id, res.tail.Length, ErrCorrupt))
		}
		// Nothing but zeros after the header: what a power cut right after a roll or an
		// Open leaves.
		rec.Scanned++
		if err := l.eraseFile(seg.path); err != nil {
			return false, fmt.Errorf("storage: erase empty segment %016x: %w", seg.id, err)
		}
		return false, nil
	}
	rec.Scanned++
	rec.Damaged = append(rec.Damaged, res.damaged...)
	if res.tail != nil {
		rec.Cut = append(rec.Cut, *res.tail)
	}
	seg.stats, seg.link = res.stats, res.chain
	f, err := l.fs.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("storage: open segment for recovery: %w", err)
	}
	seg.f, seg.written = f, res.end
	if err := l.seal(seg); err != nil {
		return false, fmt.Errorf("storage: seal recovered segment %016x: %w", seg.id, err)
	}
	return true, nil
}

// quarantine sets aside a segment file that recovery cannot read: it is renamed to
// "<name>.quarantined" (or "<name>.quarantined.N" if taken; never over a file) and the
// directory synced, so the log neither reads nor erases nor counts it, and an operator
// can examine it. why is reported in Recovery.Unreadable.
func (l *Log) quarantine(path string, why error) error {
	var err error
	for n := 0; n < 100; n++ {
		to := path + quarantineExt
		if n > 0 {
			to = fmt.Sprintf("%s.%d", to, n)
		}
		if err = l.fs.Rename(path, to); err == nil {
			l.recovery.Unreadable = append(l.recovery.Unreadable, fmt.Errorf("%w; set aside as %s", why, filepath.Base(to)))
			l.log.Error("storage: segment unreadable, set aside", "path", path, "to", to, "err", why)
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	return fmt.Errorf("storage: quarantine %s: %w", path, err)
}

// recoverTomb handles a segment that retention buried (m.hasTomb): if it is the oldest
// segment it is removed (keep false), else its burial is finished if a power cut
// interrupted it (key not yet destroyed, or the file not yet cut) and it is kept.
func (l *Log) recoverTomb(path string, m *segMeta, before bool) (keep bool, err error) {
	if !before {
		if err := l.fs.Remove(path); err != nil {
			return false, fmt.Errorf("storage: remove oldest tombstone: %w", err)
		}
		l.recovery.Erased++
		return false, nil
	}
	if !m.hdr.erased() || m.size != tombOffset()+tombSize {
		if err := l.finishTombFile(path); err != nil {
			return false, fmt.Errorf("storage: finish tombstone %016x: %w", m.hdr.id, err)
		}
		l.recovery.Erased++
	}
	return true, nil
}
