package storage

import (
	"fmt"
	"time"
)

// Append adds a record of type typ with timestamp at and returns its sequence number. It
// copies payload into the log's buffer, so the caller may reuse payload at once; the
// sealers encrypt it there before anything is written. It does not allocate and waits
// neither for the cipher nor for the disk: the record is durable once Durable() >= seq,
// within about SyncInterval; WaitDurable waits for that. Append only waits when every
// buffer is in use, i.e. sealing or the disk is slower than the producers (counted in
// Stats.Stalls). While the disk is full it drops the record and returns ErrNoSpace (not
// sticky: see Options.KeepSegments). After a write failure it returns the sticky error
// ErrFailed.
func (l *Log) Append(typ Type, at time.Time, payload []byte) (uint64, error) {
	if typ == 0 || typ > MaxType {
		return 0, ErrType
	}
	return l.add(typ, at, payload, len(payload))
}

// AppendPlaceholder adds a placeholder at time at and returns its sequence number: a
// record of the log's own type with size zero bytes of payload, sealed like any other, so
// that on disk it looks like a record of that size. A caller that drops a record it would
// have stored (a fix the policy denies) appends a placeholder of the same size instead, so
// the stream has no gap: without the key, neither the sequence numbers nor the frame
// lengths nor the spacing of the frames tell a dropped record from a kept one. Scan and
// the tools skip placeholders and count them (ScanReport.Placeholders,
// SegmentInfo.Placeholders, Stats.Placeholders). It is Append in every other respect: it
// does not allocate, durability and errors are the same.
func (l *Log) AppendPlaceholder(at time.Time, size int) (uint64, error) {
	if size < 0 {
		return 0, ErrTooLarge
	}
	seq, err := l.add(typePlaceholder, at, nil, size)
	if err == nil {
		l.placeholders.Add(1)
	}
	return seq, err
}

// add is Append of a record of size bytes: payload, or zeros if payload is nil.
func (l *Log) add(typ Type, at time.Time, payload []byte, size int) (uint64, error) {
	if size > l.maxPayload {
		return 0, ErrTooLarge
	}
	n := frameOverhead + size
	ts := at.UnixNano()
	l.mu.Lock()
	for {
		if l.err != nil || l.closing {
			err := l.err
			if err == nil {
				err = ErrClosed
			}
			l.mu.Unlock()
			return 0, err
		}
		if l.fullLocked() {
			l.mu.Unlock()
			l.dropped.Add(1)
			return 0, ErrNoSpace
		}
		free := len(l.free) > 0
		if l.needRoll(n, ts) {
			if !free {
				l.waitLocked()
				continue
			}
			if err := l.rollLocked(); err != nil {
				l.err = err
				continue
			}
			continue
		}
		if len(l.fill.buf)+n > cap(l.fill.buf) {
			if !free {
				l.waitLocked()
				continue
			}
			l.handOffLocked()
			continue
		}
		break
	}
	seg := l.seg
	seq := l.nextSeq
	l.nextSeq++
	b := l.fill
	off := len(b.buf)
	b.buf = b.buf[:off+n]
	frame := b.buf[off:]
	putFrameHeader(frame, innerSize+size, seq)
	putInner(frame[frameHeaderSize:], typ, ts)
	copy(frame[frameHeaderSize+innerSize:], payload)
	clear(frame[frameOverhead-tagSize+len(payload):]) // a placeholder's zeros; the tag until a sealer writes it
	if b.first == 0 {
		b.first = seq
	}
	b.last = seq
	if seg.stats.count == 0 {
		seg.firstAt = ts
	}
	seg.appendOff += int64(n)
	seg.stats.add(typ, seq, ts)
	full := len(b.buf) >= l.opts.SyncBytes
	// Close a run once a chunk's worth of frames waits in the clear and wake a sealer: the
	// sealers encrypt the fill buffer behind Append, so little is left when it is handed off.
	run := len(b.buf)-b.markEnd() >= sealChunk
	if run {
		b.marks = append(b.marks, len(b.buf))
	}
	l.mu.Unlock()
	if full {
		l.poke()
	} else if run {
		l.pokeSealer()
	}
	return seq, nil
}

// needRoll reports whether a frame of n bytes with timestamp ts must go into a new
// segment: it does not fit, or it is SegmentAge younger than the segment's first record.
// Age is measured in record time, like retention, so Append needs no clock read.
func (l *Log) needRoll(n int, ts int64) bool {
	s := l.seg
	if s.abandoned {
		return true
	}
	reserve := int64(frameOverhead + s.stats.encodedSize() + indexTypeSize + trailerSize)
	if s.appendOff+int64(n)+reserve > l.opts.SegmentSize {
		return true
	}
	return s.stats.count > 0 && ts-s.firstAt >= int64(l.opts.SegmentAge)
}

// waitLocked wakes the pipeline and waits for it to hand back a buffer.
func (l *Log) waitLocked() {
	l.stalls.Add(1)
	l.poke()
	l.cond.Wait()
}

// handOffLocked queues the fill buffer for the sealers (or, with nothing to encrypt, the
// flusher) and fills a free one. The caller has checked that a buffer is free.
func (l *Log) handOffLocked() {
	b := l.fill
	l.fill, l.free = l.free[len(l.free)-1], l.free[:len(l.free)-1]
	l.fill.seg = b.seg
	b.state = batchReady
	if len(b.buf) > b.markEnd() {
		b.marks = append(b.marks, len(b.buf))
	}
	if b.next < len(b.marks) || b.busy > 0 {
		b.state = batchClear
	}
	if b.last > 0 {
		l.handed = b.last
	}
	l.pending = append(l.pending, b)
	l.poke()
}

// takeFillLocked hands the fill buffer off if it is due and a buffer is free to replace
// it: it holds SyncBytes, or a record a caller waits for, or its segment is to be sealed,
// or force (Close) is set.
func (l *Log) takeFillLocked(force bool) {
	f := l.fill
	if len(l.free) == 0 || (len(f.buf) == 0 && !f.seal) {
		return
	}
	if force || f.seal || len(f.buf) >= l.opts.SyncBytes || l.want > l.handed {
		l.handOffLocked()
	}
}

// rollLocked seals the current segment after its buffered frames and makes a new one
// current. The caller has checked that a buffer is free.
func (l *Log) rollLocked() error {
	next, err := l.newSegment()
	if err != nil {
		return err
	}
	l.fill.seal = true
	l.handOffLocked()
	l.fill.seg = next
	l.seg = next
	l.segs = append(l.segs, next)
	return nil
}

// poke wakes the flusher and the first sealer; it never blocks.
func (l *Log) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
	l.pokeSealer()
}

// pokeSealer wakes the first sealer, if there is one; it never blocks.
func (l *Log) pokeSealer() { wake(l.sealKick) }

// wake sends a wake-up on c unless one is pending or c is nil; it never blocks.
func wake(c chan struct{}) {
	if c != nil {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Durable returns the highest sequence number such that it and every record before it
// are on disk (fdatasync returned), but for records dropped for a full disk (counted in
// Stats.Dropped; WaitDurable returns ErrNoSpace for them). It does not allocate or block.
func (l *Log) Durable() uint64 { return l.durable.Load() }

// WaitDurable starts a write at once and waits until record seq is durable, or returns the
// error that prevents it: ErrNoSpace if the record was dropped for a full disk.
func (l *Log) WaitDurable(seq uint64) error {
	if l.durable.Load() >= seq {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq >= l.nextSeq {
		return fmt.Errorf("storage: wait for seq %d, not appended yet", seq)
	}
	l.want = max(l.want, seq)
	for l.durable.Load() < seq {
		if l.err != nil {
			return l.err
		}
		if l.lostLocked(seq) {
			return fmt.Errorf("storage: record %d dropped: %w", seq, ErrNoSpace)
		}
		l.poke()
		l.cond.Wait()
	}
	return nil
}

// Sync makes every record appended so far durable.
func (l *Log) Sync() error {
	l.mu.Lock()
	seq := l.nextSeq - 1
	l.mu.Unlock()
	return l.WaitDurable(seq)
}

// lostLocked reports whether record seq was dropped for a full disk. The caller holds mu.
func (l *Log) lostLocked(seq uint64) bool {
	for _, r := range l.lost {
		if seq >= r.first && seq <= r.last {
			return true
		}
	}
	return false
}

// fullLocked reports whether Append must drop records for a full disk. Once the backoff
// has passed it lets Append write again: the abandoned segment makes it roll to a new one,
// and if creating that fails too, the disk is full again with a longer backoff. Only a
// full log reads the clock. The caller holds mu.
func (l *Log) fullLocked() bool {
	if !l.full {
		return false
	}
	if l.clock.Now().Before(l.retryAt) {
		return true
	}
	l.full = false
	l.log.Info("storage: writing again after a full disk", "dropped", l.dropped.Load())
	return false
}
