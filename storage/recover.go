package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// recover loads every segment, completes interrupted erasures, scans and seals segments
// that were not sealed, and sets the next segment id and seq.
func (l *Log) recover() error {
	ids, tmps, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	rec := &l.recovery
	for _, t := range tmps {
		if err := l.fs.Remove(t); err != nil {
			return fmt.Errorf("storage: remove half-created segment: %w", err)
		}
		rec.TempRemoved++
	}
	l.nextID, l.nextSeq = 1, 1
	for _, id := range ids {
		rec.Segments++
		path := filepath.Join(l.dir, segName(id))
		l.nextID = max(l.nextID, id+1)
		m, err := readMeta(path, l.devKey)
		switch {
		case err == nil:
		case m.im != nil && m.hdr.erased():
			if err := l.fs.Remove(path); err != nil {
				return fmt.Errorf("storage: complete erasure: %w", err)
			}
			rec.Erased++
			continue
		case errors.Is(err, ErrWrongKey), errors.Is(err, ErrPlain) && !l.opts.plain:
			return fmt.Errorf("storage: open %s: %w", l.dir, err)
		case errors.Is(err, ErrPlain):
		default:
			rec.Unreadable = append(rec.Unreadable, err)
			l.segs = append(l.segs, &segment{id: id, path: path, sealed: true, diskSize: m.size})
			continue
		}
		seg := &segment{id: id, path: path, created: m.hdr.created, aead: m.im.aead, stats: m.stats, sealed: true, diskSize: m.size}
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
	if rec.TempRemoved+rec.Erased > 0 {
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
// and seals it there. A segment without a single authentic record is erased instead
// (keep is false): it is what a power cut right after a roll or an Open leaves.
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
	rec.Scanned++
	rec.Damaged = append(rec.Damaged, res.damaged...)
	if res.tail != nil {
		rec.Cut = append(rec.Cut, *res.tail)
	}
	if res.stats.count == 0 && len(res.damaged) == 0 {
		if err := l.eraseFile(seg.path); err != nil {
			return false, fmt.Errorf("storage: erase empty segment %016x: %w", seg.id, err)
		}
		return false, nil
	}
	seg.stats = res.stats
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
