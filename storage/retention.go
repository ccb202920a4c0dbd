package storage

import (
	"fmt"
	"os"
	"time"
)

// retention erases sealed segments whose records are older than their type's MaxAge, then
// the oldest sealed segments while the log is over its quota.
func (l *Log) retention() {
	now := l.clock.Now()
	if l.ageDue || now.Sub(l.lastAgeAt) >= retentionInterval {
		l.ageDue, l.lastAgeAt = false, now
		for _, s := range l.sealedSegments() {
			if l.opts.Hold != nil && l.opts.Hold(s.id) {
				continue
			}
			if t, ok := l.expired(s, now); ok {
				l.erase(s, fmt.Sprintf("type %d older than %v", t, l.opts.MaxAge[t]))
			}
		}
	}
	for l.opts.Quota > 0 && l.Stats().Bytes > l.opts.Quota {
		if !l.eraseOldest("over quota") {
			return
		}
	}
}

func (l *Log) sealedSegments() []*segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*segment
	for _, s := range l.segs {
		if s.sealed {
			out = append(out, s)
		}
	}
	return out
}

func (l *Log) expired(s *segment, now time.Time) (Type, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range s.stats.types {
		if a := l.opts.MaxAge[t.typ]; a > 0 && now.Sub(time.Unix(0, t.max)) > a {
			return t.typ, true
		}
	}
	return 0, false
}

// eraseOldest erases the oldest sealed segment; false if there is none.
func (l *Log) eraseOldest(why string) bool {
	ss := l.sealedSegments()
	if len(ss) == 0 {
		return false
	}
	return l.erase(ss[0], why) == nil
}

// erase crypto-erases a sealed segment: its salt and wrapped data key are overwritten
// with zeros and fdatasynced, so the records are unreadable even if the file's blocks
// survive. The oldest segment is then unlinked and the directory fsynced (an interrupted
// erasure is completed by Open). A segment with older ones still kept (MaxAge expired a
// type it holds) is buried instead: a tombstone that keeps the chain stays in its place
// until it is the oldest (see tombstone.go).
func (l *Log) erase(s *segment, why string) error {
	l.mu.Lock()
	oldest := len(l.segs) > 0 && l.segs[0] == s
	t := tombstoneOf(s, l.clock.Now())
	l.mu.Unlock()
	var err error
	if oldest {
		err = l.eraseFile(s.path)
	} else {
		err = l.bury(s, &t)
	}
	if err != nil {
		l.log.Error("storage: erase segment", "id", s.id, "err", err)
		return err
	}
	l.mu.Lock()
	if oldest {
		l.dropSegLocked(s)
	} else {
		s.sealed, s.tomb, s.stats, s.diskSize = false, true, segStats{}, tombOffset()+tombSize
	}
	l.mu.Unlock()
	l.erased.Add(1)
	l.log.Info("storage: segment erased", "id", s.id, "why", why, "tombstone", !oldest)
	l.pruneTombs()
	return nil
}

// dropSegLocked removes s from the list of segments. The caller holds mu.
func (l *Log) dropSegLocked(s *segment) {
	for i, g := range l.segs {
		if g == s {
			l.segs = append(l.segs[:i], l.segs[i+1:]...)
			return
		}
	}
}

// pruneTombs removes the tombstones that are the oldest files of the log: no segment is
// left before them whose chain they would keep.
func (l *Log) pruneTombs() {
	for {
		l.mu.Lock()
		if len(l.segs) == 0 || !l.segs[0].tomb {
			l.mu.Unlock()
			return
		}
		s := l.segs[0]
		l.mu.Unlock()
		err := l.fs.Remove(s.path)
		if err == nil {
			err = l.fs.SyncDir(l.dir)
		}
		if err != nil {
			l.log.Error("storage: remove tombstone", "id", s.id, "err", err)
			return
		}
		l.mu.Lock()
		l.dropSegLocked(s)
		l.mu.Unlock()
	}
}

// eraseFile destroys the key of a segment file, then unlinks it and syncs the directory.
func (l *Log) eraseFile(path string) error {
	err := l.destroyKey(path)
	if err == nil {
		err = l.fs.Remove(path)
	}
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	return err
}

func (l *Log) destroyKey(path string) error {
	f, err := l.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	var zero [saltSize + wrappedKeySize]byte
	if _, err = f.WriteAt(zero[:], offSalt); err == nil {
		err = f.Datasync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
