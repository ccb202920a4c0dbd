package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// run is the flusher: it writes and fdatasyncs batches, seals and creates segments and
// enforces retention. It is the only goroutine doing file I/O.
func (l *Log) run() {
	defer close(l.done)
	defer close(l.sealStop)
	defer func() {
		l.drainSync()
		close(l.syncStop)
		<-l.syncDone
	}()
	t := time.NewTicker(l.opts.SyncInterval)
	defer t.Stop()
	for {
		stopping := false
		select {
		case <-l.kick:
		case <-t.C:
			l.mu.Lock()
			l.want = max(l.want, l.nextSeq-1)
			l.mu.Unlock()
		case <-l.stop:
			stopping = true
		}
		for l.flushOnce(stopping) {
		}
		if l.errNow() == nil {
			l.retention()
		}
		if stopping {
			return
		}
	}
}

// flushOnce writes the oldest handed-off batch, once encrypted, if there is one or the
// fill buffer is due, and reports whether it did.
func (l *Log) flushOnce(force bool) bool {
	l.mu.Lock()
	l.takeFillLocked(force)
	if len(l.pending) == 0 {
		l.mu.Unlock()
		return false
	}
	b := l.pending[0]
	for b.state != batchReady {
		l.cond.Wait()
	}
	failed := l.err != nil
	abandoned := b.seg.abandoned
	l.mu.Unlock()
	// After a failure batches are dropped: their records were never durable. So are those
	// of a segment the full disk made the log give up.
	err := errDropped
	if !failed && !abandoned {
		err = l.write(b)
	}
	l.mu.Lock()
	if errors.Is(err, ErrNoSpace) {
		l.abandonLocked(b.seg, err)
		err = errDropped
	}
	switch {
	case err == errDropped && b.last > 0 && !failed:
		l.dropped.Add(b.last - b.first + 1)
		l.lost = append(l.lost, seqRange{b.first, b.last})
	case err != nil && err != errDropped:
		l.failLocked(err)
	}
	if err == nil && b.last > 0 {
		if b.seal {
			l.durable.Store(b.last) // seal's fdatasync covered the batch
		} else {
			// The syncer makes it durable while the next batch is written; a request still
			// waiting is extended, one fdatasync covering both (the flusher drains the
			// syncer before it moves on to another file).
			from := b.seg.written - int64(len(b.buf))
			if l.sync.f != nil {
				from = l.sync.from
			}
			l.sync = syncReq{f: b.seg.f, id: b.seg.id, last: b.last, from: from, to: b.seg.written}
			wake(l.syncKick)
		}
	}
	b.buf, b.first, b.last, b.seal, b.seg, b.state = b.buf[:0], 0, 0, false, nil, batchFilling
	b.marks, b.next = b.marks[:0], 0
	l.pending = append(l.pending[:0], l.pending[1:]...)
	l.free = append(l.free, b)
	l.cond.Broadcast()
	l.mu.Unlock()
	l.pokeSealer() // a buffer is free: the first sealer may hand off the fill buffer
	return true
}

// sealer encrypts frames in place, one of up to maxSealers goroutines, each woken by kick:
// runs of handed-off batches, oldest first, and, for the first sealer (fill set), runs of
// the fill buffer behind Append, so that encrypting overlaps appending and writing. The
// others help only when handed-off batches still hold clear runs, i.e. when one CPU cannot
// keep up; otherwise they would only take CPU from the flusher. Payloads are in the clear
// only in these in-memory buffers, until sealed; nothing reaches the disk before that. A
// sealer ends when the flusher does.
func (l *Log) sealer(kick <-chan struct{}, fill bool) {
	var s sealScratch
	for {
		for l.sealOnce(&s, fill) {
			runtime.Gosched() // a run is done: let the flusher, back from a syscall, have the CPU
		}
		select {
		case <-kick:
		case <-l.sealStop:
			return
		}
	}
}

// sealScratch is a sealer's nonce and associated data buffers.
type sealScratch struct {
	nonce [24]byte
	ad    [v1ADSize]byte
}

// sealChunk is the size of the runs of frames that sealers take.
const sealChunk = 64 << 10

// sealOnce takes the next run no sealer has taken (of the fill buffer too if fill is set),
// handing off the fill buffer first if it is due, and encrypts it; it reports whether
// there was one. Runs are taken under the mutex, each by one sealer, so no frame is
// encrypted twice; a handed-off batch turns ready (to be written or reused) only when its
// last run is encrypted.
func (l *Log) sealOnce(s *sealScratch, fill bool) bool {
	l.mu.Lock()
	l.takeFillLocked(false)
	b := l.sealableLocked(fill)
	if b == nil {
		l.mu.Unlock()
		return false
	}
	k := b.next
	b.next++
	b.busy++
	from := 0
	if k > 0 {
		from = b.marks[k-1]
	}
	seg, buf, ahead := b.seg, b.buf[from:b.marks[k]], b.state == batchFilling
	more := l.sealableLocked(false) != nil
	l.mu.Unlock()
	if more {
		wake(l.helpKick) // another sealer can take the next run meanwhile
	}
	sealFrames(seg, buf, s) // Append only writes after the last mark
	l.mu.Lock()
	b.busy--
	if b.state == batchClear && b.next == len(b.marks) && b.busy == 0 {
		b.state = batchReady
		l.cond.Broadcast()
	}
	if ahead {
		l.ahead.Add(1)
	}
	if !fill {
		l.helped.Add(1)
	}
	l.mu.Unlock()
	return true
}

// sealableLocked returns the oldest batch with a run no sealer has taken: handed-off
// batches first, then, if fill is set, the fill buffer; nil if there is none.
func (l *Log) sealableLocked(fill bool) *batch {
	for _, p := range l.pending {
		if p.state == batchClear && p.next < len(p.marks) {
			return p
		}
	}
	if f := l.fill; fill && f.next < len(f.marks) {
		return f
	}
	return nil
}

// sealFrames encrypts, in place, the body (type, time, payload) of every frame in buf
// (whole version-2 frames written by Append) and writes its tag.
func sealFrames(seg *segment, buf []byte, s *sealScratch) {
	nonce := s.nonce[:seg.aead.NonceSize()]
	for len(buf) > 0 {
		n := int(binary.LittleEndian.Uint32(buf))
		seq := binary.LittleEndian.Uint64(buf[4:])
		ad := putAD(&s.ad, seg.id, buf)
		putNonce(nonce, seq, 0)
		p := buf[frameHeaderSize : frameHeaderSize+n]
		seg.aead.Seal(p[:0], nonce, p, ad)
		buf = buf[frameHeaderSize+n+tagSize:]
	}
}

// syncer runs the fdatasyncs the flusher asks for, so that the disk flushes one batch
// while the flusher writes the next: writing costs CPU, syncing waits for the disk. It
// ends when the flusher does, which first waits for the last fdatasync (drainSync).
func (l *Log) syncer() {
	defer close(l.syncDone)
	for {
		select {
		case <-l.syncKick:
		case <-l.syncStop:
			return
		}
		for l.syncOnce() {
		}
	}
}

// syncOnce runs the waiting fdatasync, if any, and reports whether there was one. On
// success the records it covers are durable; a failure fails the log.
func (l *Log) syncOnce() bool {
	l.mu.Lock()
	r := l.sync
	if r.f == nil {
		l.mu.Unlock()
		return false
	}
	l.sync, l.syncing = syncReq{}, true
	l.mu.Unlock()
	err := r.f.Datasync()
	if err == nil {
		l.durable.Store(r.last)
		l.syncs.Add(1)
		// The log never reads back what it wrote: free the page cache it took (the page
		// that the next batch continues stays). Outside the mutex, so that Append does not
		// wait for it; the flusher does not close f while syncing is set.
		start := r.from &^ (pageSize - 1)
		r.f.Drop(start, r.to-start)
	}
	l.mu.Lock()
	l.syncing = false
	if err != nil {
		l.failLocked(fmt.Errorf("storage: fdatasync segment %016x: %w: %w", r.id, ErrFailed, err))
	}
	l.cond.Broadcast()
	l.mu.Unlock()
	return true
}

// pageSize is the page-cache granule Drop works in (4 KiB on the platforms geogate runs
// on; a larger page only means that fewer pages are freed).
const pageSize = 4096

// drainSync waits until the syncer has no fdatasync running or waiting: the flusher calls
// it before it seals, truncates or closes a file the syncer may be syncing.
func (l *Log) drainSync() {
	l.mu.Lock()
	for l.sync.f != nil || l.syncing { // a waiting request has already woken the syncer
		l.cond.Wait()
	}
	l.mu.Unlock()
}

// failLocked records err as the log's failure, unless it failed already, and says so
// loudly: every later Append returns it. The caller holds mu.
func (l *Log) failLocked(err error) {
	if l.err == nil {
		l.err = err
		l.log.Error("storage: log failed; appends are refused", "err", err)
	}
}

// errDropped marks a batch not written because the log had already failed.
var errDropped = errors.New("storage: batch dropped after a failure")

func (l *Log) errNow() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// write writes one batch: create the segment file if new, write, and, if the batch ends
// its segment, seal it. The syncer makes an unsealed batch durable; seal makes the whole
// segment durable itself, after the syncer is done with the file.
func (l *Log) write(b *batch) error {
	seg := b.seg
	if b.seal {
		l.drainSync()
	}
	if seg.f == nil {
		if err := l.create(seg); err != nil {
			return err
		}
	}
	start := seg.written
	if len(b.buf) > 0 {
		if err := l.noSpace(func() error { _, err := seg.f.WriteAt(b.buf, seg.written); return err }); err != nil {
			if errors.Is(err, ErrNoSpace) {
				return l.giveUp(seg, start, err)
			}
			return fmt.Errorf("storage: write segment %016x: %w: %w", seg.id, ErrFailed, err)
		}
		seg.written += int64(len(b.buf))
		if !seg.prealloc {
			l.mu.Lock()
			seg.diskSize = seg.written
			l.mu.Unlock()
		}
	}
	if b.seal {
		if err := l.seal(seg); err != nil {
			if errors.Is(err, ErrNoSpace) {
				return l.giveUp(seg, start, err)
			}
			return fmt.Errorf("storage: seal segment %016x: %w", seg.id, err)
		}
		l.ageDue = true
	}
	return nil
}

// giveUp ends writing to seg after ENOSPC (a segment without preallocation): it cuts what
// part of the batch landed (from start on: never synced, never acknowledged), syncs the
// rest and closes the file, unsealed, as a power cut would have left it (the next Open
// seals it). It returns err, so that the flusher drops the batch and the segment.
func (l *Log) giveUp(seg *segment, start int64, err error) error {
	l.drainSync()
	if terr := seg.f.Truncate(start); terr != nil {
		return fmt.Errorf("storage: cut segment %016x after ENOSPC: %w: %w", seg.id, ErrFailed, terr)
	}
	if serr := seg.f.Datasync(); serr != nil {
		return fmt.Errorf("storage: sync segment %016x after ENOSPC: %w: %w", seg.id, ErrFailed, serr)
	}
	seg.written = start
	seg.f.Close()
	seg.f = nil
	return err
}

// abandonLocked gives up seg on a full disk: its batches are dropped, it leaves the list of
// segments (its file, if any, was left unsealed by giveUp and is sealed by the next Open),
// and Append drops records until the backoff has passed (fullLocked). The caller holds mu.
func (l *Log) abandonLocked(seg *segment, err error) {
	if !seg.abandoned {
		seg.abandoned = true
		for i, g := range l.segs {
			if g == seg {
				l.segs = append(l.segs[:i], l.segs[i+1:]...)
				break
			}
		}
	}
	if !l.full {
		l.full = true
		l.retryAt = l.clock.Now().Add(l.backoff)
		l.log.Error("storage: disk full; dropping records until space returns", "segment", seg.id, "err", err, "retry", l.backoff)
		l.backoff = min(2*l.backoff, fullRetryMax)
	}
}
