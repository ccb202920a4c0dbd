package storage

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Log is an encrypted, crash-safe append-only log of typed records in one directory.
// Append is safe for concurrent use; one goroutine per Log (the flusher) does the file
// I/O, but for the fdatasyncs of written batches, which another (the syncer) runs
// meanwhile.
type Log struct {
	dir        string
	opts       Options
	fs         fileOps
	clock      Clock
	log        *slog.Logger
	devKey     []byte
	maxPayload int
	recovery   Recovery
	lock       *os.File

	mu      sync.Mutex
	cond    sync.Cond
	seg     *segment   // the segment Append writes into
	segs    []*segment // every segment, oldest first; guarded by mu
	fill    *batch     // Append fills it
	free    []*batch   // idle buffers
	pending []*batch   // handed off, oldest first: encrypted by the sealers, written by the flusher
	handed  uint64     // last seq handed off (in pending or durable)
	nextSeq uint64
	nextID  uint64
	want    uint64 // a caller waits for this seq to be durable
	err     error  // sticky: every later Append returns it
	closing bool
	sync    syncReq // written, not yet synced: the syncer's next fdatasync
	syncing bool    // the syncer is in an fdatasync

	durable   atomic.Uint64
	stalls    atomic.Uint64
	erased    atomic.Uint64
	syncs     atomic.Uint64
	ahead     atomic.Uint64 // runs of fill-buffer frames encrypted before hand-off
	helped    atomic.Uint64 // runs encrypted by sealers other than the first
	kick      chan struct{} // wakes the flusher
	sealKick  chan struct{} // wakes the first sealer (nil for the plain baseline)
	helpKick  chan struct{} // wakes one of the other sealers (nil if there are none)
	syncKick  chan struct{} // wakes the syncer
	syncStop  chan struct{} // closed by the flusher when it ends
	syncDone  chan struct{} // closed when the syncer has ended
	stop      chan struct{}
	sealStop  chan struct{} // closed by the flusher when it ends
	done      chan struct{}
	sealDone  chan struct{} // closed when every sealer has ended
	ageDue    bool          // flusher only: check ages now (after a seal)
	lastAgeAt time.Time     // flusher only
}

// syncReq asks the syncer to make every record up to last durable by an fdatasync of f,
// the file they were written to, bytes from to to; f is nil when nothing waits.
type syncReq struct {
	f        file
	id       uint64 // segment id, for errors
	last     uint64
	from, to int64
}

// segment is one segment file of an open Log.
type segment struct {
	id      uint64
	path    string
	created time.Time
	aead    cipher.AEAD
	hdr     [headerSize]byte

	// Guarded by Log.mu.
	stats     segStats
	appendOff int64 // bytes assigned by Append, header included
	firstAt   int64 // timestamp of the first record, for the age roll
	diskSize  int64 // bytes the file occupies, preallocation included
	sealed    bool  // sealed on disk: retention may erase it

	// Owned by the flusher.
	f        file
	written  int64
	prealloc bool
}

// batch is an append buffer: frames for one segment, in seq order.
type batch struct {
	buf   []byte
	seg   *segment
	last  uint64 // last seq in buf, 0 if none
	seal  bool   // seal seg after writing buf
	state batchState
	// The frames to encrypt, cut into runs of whole frames: buf[:marks[0]],
	// buf[marks[0]:marks[1]], ... Append closes a run when sealChunk bytes follow the last
	// mark, the hand-off closes the last one. Sealers take runs in order.
	marks []int
	next  int // runs taken by a sealer
	busy  int // runs being encrypted
}

// batchState is where a batch is in the pipeline.
type batchState uint8

const (
	batchFilling batchState = iota // the fill buffer: Append adds frames (sealers may take runs)
	batchClear                     // handed off, runs still in the clear: the sealers' to finish
	batchReady                     // encrypted (or nothing to encrypt): the flusher's to write
)

// markEnd is the end of the last closed run: bytes after it are in no run yet.
func (b *batch) markEnd() int {
	if len(b.marks) == 0 {
		return 0
	}
	return b.marks[len(b.marks)-1]
}

// numBuffers is the number of append buffers: one filling, one being encrypted, one being
// written and synced, so the three overlap.
const numBuffers = 3

// maxSealers bounds the sealer goroutines (one per CPU up to this): encrypting small
// records costs more CPU than writing them, so on a fast disk one core would be the
// bottleneck.
const maxSealers = 4

// Recovery reports what Open found and repaired.
type Recovery struct {
	// Segments is the number of segment files found.
	Segments int
	// Scanned is the number of segments that were not sealed (the log was not closed)
	// and were read record by record, then sealed.
	Scanned int
	// Cut lists torn or corrupt tails that were cut off unsealed segments. They lie after
	// the last authentic record, so they held no acknowledged record.
	Cut []Damage
	// Damaged lists corrupt ranges inside scanned segments, skipped and left in place.
	Damaged []Damage
	// Unreadable lists segments whose header cannot be authenticated. They are kept
	// (counted against the quota) until retention erases them.
	Unreadable []error
	// Erased counts interrupted crypto-erasures that Open completed.
	Erased int
	// TempRemoved counts half-created segment files that Open removed.
	TempRemoved int
}

// Stats are counters of an open Log.
type Stats struct {
	// Durable is the highest seq made durable; NextSeq the seq the next Append gets.
	Durable, NextSeq uint64
	// Segments and Bytes describe the files on disk, preallocation included.
	Segments int
	Bytes    int64
	// Stalls counts the times an Append had to wait for a free buffer (every buffer
	// filled, being sealed or being written).
	Stalls uint64
	// Erased counts segments crypto-erased by retention since Open.
	Erased uint64
	// Syncs counts the fdatasyncs that made batches of records durable (group commits).
	Syncs uint64
}

// Open opens the log in dir (created with mode 0700 if missing), recovers it after a crash
// and starts a new segment for appends. Segments written under another key make it fail
// with ErrWrongKey: a log is never mixed across keys.
func Open(dir string, opts Options) (*Log, error) {
	l := &Log{dir: dir, fs: opts.fs, clock: opts.Clock, log: opts.Logger}
	if err := l.setOptions(opts); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: create log directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l.lock = lock
	seg, err := l.start()
	if err != nil {
		lock.Close()
		return nil, err
	}
	l.seg = seg
	l.cond.L = &l.mu
	for range numBuffers {
		// A run holds at least sealChunk bytes, except the last: the marks never grow.
		marks := make([]int, 0, l.opts.BufferSize/sealChunk+1)
		l.free = append(l.free, &batch{buf: make([]byte, 0, l.opts.BufferSize), marks: marks})
	}
	l.pending = make([]*batch, 0, numBuffers)
	l.fill, l.free = l.free[0], l.free[1:]
	l.fill.seg = seg
	l.durable.Store(l.nextSeq - 1)
	l.handed = l.nextSeq - 1
	l.kick = make(chan struct{}, 1)
	l.syncKick = make(chan struct{}, 1)
	l.syncStop = make(chan struct{})
	l.syncDone = make(chan struct{})
	l.stop = make(chan struct{})
	l.sealStop = make(chan struct{})
	l.done = make(chan struct{})
	l.sealDone = make(chan struct{})
	l.ageDue = true
	l.retention()
	if seg.aead != nil {
		n := min(runtime.GOMAXPROCS(0), maxSealers)
		l.sealKick = make(chan struct{}, 1)
		if n > 1 {
			l.helpKick = make(chan struct{}, n-1)
		}
		var wg sync.WaitGroup
		wg.Go(func() { l.sealer(l.sealKick, true) })
		for range n - 1 {
			wg.Go(func() { l.sealer(l.helpKick, false) })
		}
		go func() {
			wg.Wait()
			close(l.sealDone)
		}()
	} else {
		close(l.sealDone)
	}
	go l.syncer()
	go l.run()
	return l, nil
}

// start recovers the directory and creates the segment for appends.
func (l *Log) start() (*segment, error) {
	if err := l.recover(); err != nil {
		l.closeFiles()
		return nil, err
	}
	seg, err := l.newSegment()
	if err == nil {
		err = l.create(seg)
	}
	if err != nil {
		l.closeFiles()
		return nil, err
	}
	l.segs = append(l.segs, seg)
	return seg, nil
}

func (l *Log) closeFiles() {
	for _, s := range l.segs {
		if s.f != nil {
			s.f.Close()
			s.f = nil
		}
	}
}

func (l *Log) setOptions(o Options) error {
	if len(o.Key) != KeySize {
		return ErrKeySize
	}
	l.devKey = append([]byte(nil), o.Key...)
	o.Key = nil
	if o.Cipher == 0 {
		o.Cipher = AES256GCM
	}
	if o.plain {
		o.Cipher = cipherNone
	} else if o.Cipher != AES256GCM && o.Cipher != XChaCha20Poly1305 {
		return fmt.Errorf("storage: unknown cipher %d", o.Cipher)
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.SegmentAge == 0 {
		o.SegmentAge = DefaultSegmentAge
		for _, a := range o.MaxAge {
			if a > 0 && a < o.SegmentAge {
				o.SegmentAge = a
			}
		}
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.BufferSize == 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.SyncBytes == 0 {
		o.SyncBytes = o.BufferSize / 4
	}
	// The largest record must fit a buffer, and a segment with the index of up to 16 types.
	l.maxPayload = min(o.BufferSize, int(o.SegmentSize)-headerSize-(frameOverhead+indexFixedSize+16*indexTypeSize+trailerSize)) - frameOverhead
	if l.maxPayload < 64 || o.SegmentAge < 0 || o.SyncInterval < 0 || o.SyncBytes < 0 {
		return fmt.Errorf("storage: options: segment size %d / buffer size %d too small, or negative durations", o.SegmentSize, o.BufferSize)
	}
	if o.Quota != 0 && o.Quota < 2*o.SegmentSize {
		return fmt.Errorf("storage: options: quota %d must hold two segments of %d bytes", o.Quota, o.SegmentSize)
	}
	if l.clock == nil {
		l.clock = systemClock{}
	}
	if l.fs == nil {
		l.fs = osFS{}
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.opts = o
	return nil
}

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
	seg := &segment{id: l.nextID, path: filepath.Join(l.dir, segName(l.nextID)), created: now, appendOff: headerSize}
	l.nextID++
	var err error
	seg.aead, err = recordAEAD(l.opts.Cipher, key[:])
	if err != nil {
		return nil, err
	}
	seg.hdr = encodeHeader(seg.id, now, l.opts.Cipher, l.devKey, key[:], salt[:])
	clear(key[:])
	return seg, nil
}

// Append adds a record of type typ with timestamp at and returns its sequence number. It
// copies payload into the log's buffer, so the caller may reuse payload at once; the
// sealers encrypt it there before anything is written. It does not allocate and waits
// neither for the cipher nor for the disk: the record is durable once Durable() >= seq,
// within about SyncInterval; WaitDurable waits for that. Append only waits when every
// buffer is in use, i.e. sealing or the disk is slower than the producers (counted in
// Stats.Stalls). After a write failure it returns the sticky error (ErrNoSpace, ErrFailed).
func (l *Log) Append(typ Type, at time.Time, payload []byte) (uint64, error) {
	if typ == 0 || typ > MaxType {
		return 0, ErrType
	}
	if len(payload) > l.maxPayload {
		return 0, ErrTooLarge
	}
	n := frameOverhead + len(payload)
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
	putFrameHeader(frame, len(payload), typ, seq, ts)
	copy(frame[frameHeaderSize:], payload)
	clear(frame[frameHeaderSize+len(payload):]) // the tag, until a sealer writes it
	b.last = seq
	if seg.stats.count == 0 {
		seg.firstAt = ts
	}
	seg.appendOff += int64(n)
	seg.stats.add(typ, seq, ts)
	full := len(b.buf) >= l.opts.SyncBytes
	// Close a run once a chunk's worth of frames waits in the clear and wake a sealer: the
	// sealers encrypt the fill buffer behind Append, so little is left when it is handed off.
	run := seg.aead != nil && len(b.buf)-b.markEnd() >= sealChunk
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
	if b.seg.aead != nil {
		if len(b.buf) > b.markEnd() {
			b.marks = append(b.marks, len(b.buf))
		}
		if b.next < len(b.marks) || b.busy > 0 {
			b.state = batchClear
		}
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
// are on disk (fdatasync returned). It does not allocate or block.
func (l *Log) Durable() uint64 { return l.durable.Load() }

// WaitDurable starts a write at once and waits until record seq is durable, or returns the
// error that prevents it.
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

// Recovery returns what Open found and repaired.
func (l *Log) Recovery() Recovery { return l.recovery }

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{Durable: l.durable.Load(), NextSeq: l.nextSeq, Segments: len(l.segs), Stalls: l.stalls.Load(), Erased: l.erased.Load(), Syncs: l.syncs.Load()}
	for _, g := range l.segs {
		s.Bytes += g.diskSize
	}
	return s
}

// Close makes every appended record durable, seals the current segment and stops the
// flusher. It returns the first write error, if any.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closing = true
	if l.err == nil {
		l.fill.seal = true
	}
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	<-l.sealDone
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	l.err = ErrClosed
	l.cond.Broadcast()
	l.closeFiles()
	l.lock.Close()
	if err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

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
	l.mu.Unlock()
	// After a failure batches are dropped: their records were never durable.
	err := errDropped
	if !failed {
		err = l.write(b)
	}
	l.mu.Lock()
	if err != nil && err != errDropped {
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
	b.buf, b.last, b.seal, b.seg, b.state = b.buf[:0], 0, false, nil, batchFilling
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
	ad    [adSize]byte
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

// sealFrames encrypts, in place, the payload of every frame in buf (whole frames written
// by Append) and writes its tag.
func sealFrames(seg *segment, buf []byte, s *sealScratch) {
	nonce := s.nonce[:seg.aead.NonceSize()]
	for len(buf) > 0 {
		n := int(binary.LittleEndian.Uint32(buf))
		typ := Type(binary.LittleEndian.Uint16(buf[4:]))
		seq := binary.LittleEndian.Uint64(buf[8:])
		putAD(&s.ad, seg.id, buf)
		putNonce(nonce, typ, seq)
		p := buf[frameHeaderSize : frameHeaderSize+n]
		seg.aead.Seal(p[:0], nonce, p, s.ad[:])
		buf = buf[frameOverhead+n:]
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
	if len(b.buf) > 0 {
		if err := l.noSpace(func() error { _, err := seg.f.WriteAt(b.buf, seg.written); return err }); err != nil {
			if errors.Is(err, ErrNoSpace) {
				// Refuse cleanly: drop what part of the batch landed, keep what was durable.
				l.drainSync()
				seg.f.Truncate(seg.written)
				seg.f.Datasync()
				return err
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
			return fmt.Errorf("storage: seal segment %016x: %w", seg.id, err)
		}
		l.ageDue = true
	}
	return nil
}

// noSpace runs op; on ENOSPC it erases the oldest sealed segment and retries, and when
// nothing is left to erase it returns ErrNoSpace.
func (l *Log) noSpace(op func() error) error {
	for {
		err := op()
		if !errors.Is(err, syscall.ENOSPC) {
			return err
		}
		if !l.eraseOldest("disk full") {
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
	if err := l.noSpace(func() error { _, err := f.WriteAt(seg.hdr[:], 0); return err }); err != nil {
		return fail(fmt.Errorf("storage: write segment header: %w", err))
	}
	size := int64(headerSize)
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
	seg.f, seg.written = f, headerSize
	l.mu.Lock()
	seg.diskSize = size
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
	frame := make([]byte, frameOverhead+len(idx)+trailerSize)
	putFrameHeader(frame, len(idx), typeIndex, binary.LittleEndian.Uint64(rnd[:]), l.clock.Now().UnixNano())
	if seg.aead != nil {
		var ad [adSize]byte
		putAD(&ad, seg.id, frame)
		nonce := make([]byte, seg.aead.NonceSize())
		putNonce(nonce, typeIndex, binary.LittleEndian.Uint64(rnd[:]))
		seg.aead.Seal(frame[frameHeaderSize:frameHeaderSize], nonce, idx, ad[:])
	} else {
		copy(frame[frameHeaderSize:], idx)
	}
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

// retention erases sealed segments whose records are older than their type's MaxAge, then
// the oldest sealed segments while the log is over its quota.
func (l *Log) retention() {
	now := l.clock.Now()
	if l.ageDue || now.Sub(l.lastAgeAt) >= retentionInterval {
		l.ageDue, l.lastAgeAt = false, now
		for _, s := range l.sealedSegments() {
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
// with zeros and fdatasynced before the file is unlinked and the directory fsynced, so
// the records are unreadable even if the file's blocks survive. An interrupted erasure is
// completed by Open.
func (l *Log) erase(s *segment, why string) error {
	if err := l.eraseFile(s.path); err != nil {
		l.log.Error("storage: erase segment", "id", s.id, "err", err)
		return err
	}
	l.mu.Lock()
	for i, g := range l.segs {
		if g == s {
			l.segs = append(l.segs[:i], l.segs[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	l.erased.Add(1)
	l.log.Info("storage: segment erased", "id", s.id, "why", why)
	return nil
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
