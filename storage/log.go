package storage

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
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
	devKey     []byte // the key ring: current key, then old keys (keyring.go)
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
	prev    chainLink // flusher (and Open): the last segment created, for the next chain frame
	want    uint64    // a caller waits for this seq to be durable
	err     error     // sticky: every later Append returns it
	closing bool
	full    bool       // the disk is full: Append drops records until the flusher retries
	lost    []seqRange // records dropped after they were appended (a full disk), oldest first
	sync    syncReq    // written, not yet synced: the syncer's next fdatasync
	syncing bool       // the syncer is in an fdatasync

	durable      atomic.Uint64
	dropped      atomic.Uint64
	placeholders atomic.Uint64
	stalls       atomic.Uint64
	erased       atomic.Uint64
	syncs        atomic.Uint64
	ahead        atomic.Uint64 // runs of fill-buffer frames encrypted before hand-off
	helped       atomic.Uint64 // runs encrypted by sealers other than the first
	kick         chan struct{} // wakes the flusher
	sealKick     chan struct{} // wakes the first sealer
	helpKick     chan struct{} // wakes one of the other sealers (nil if there are none)
	syncKick     chan struct{} // wakes the syncer
	syncStop     chan struct{} // closed by the flusher when it ends
	syncDone     chan struct{} // closed when the syncer has ended
	stop         chan struct{}
	sealStop     chan struct{} // closed by the flusher when it ends
	done         chan struct{}
	sealDone     chan struct{} // closed when every sealer has ended
	ageDue       bool          // flusher only: check ages now (after a seal)
	lastAgeAt    time.Time     // flusher only
	retryAt      time.Time     // guarded by mu: when Append may write again on a full disk
	backoff      time.Duration // guarded by mu: the next wait on a full disk
}

// seqRange is the records first to last.
type seqRange struct{ first, last uint64 }

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
	digest  [32]byte  // chainDigest of the header: what the next segment's chain frame binds
	link    chainLink // what its own chain frame binds (zero for version 1), for a tombstone

	// Guarded by Log.mu.
	stats     segStats
	appendOff int64 // bytes assigned by Append, header included
	firstAt   int64 // timestamp of the first record, for the age roll
	diskSize  int64 // bytes the file occupies, preallocation included
	sealed    bool  // sealed on disk: retention may erase it
	tomb      bool  // erased by retention, a tombstone left (see tombstone.go); sealed is false
	abandoned bool  // the disk was full: its records are dropped, the next Append rolls

	// Owned by the flusher.
	f        file
	written  int64
	prealloc bool
}

// batch is an append buffer: frames for one segment, in seq order.
type batch struct {
	buf   []byte
	seg   *segment
	first uint64 // first seq in buf, 0 if none
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
	// Unreadable lists segments that could not be read (a header that does not
	// authenticate, a header naming another segment, data of which not one record
	// authenticates). Each was set aside under a quarantine name ("<name>.quarantined",
	// see docs/FORMAT.md), never erased: the log no longer reads, counts or erases it.
	Unreadable []error
	// Stray lists segment files whose id is out of range (see docs/FORMAT.md): ignored,
	// left alone, and never used to pick the next id.
	Stray []string
	// Erased counts interrupted crypto-erasures that Open completed, burials it finished
	// (see docs/FORMAT.md, "Tombstones") and tombstones it removed because they had become
	// the oldest files of the log.
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
	// Dropped counts records lost to a full disk since Open: refused by Append with
	// ErrNoSpace, or appended and then discarded when their segment could not be written.
	Dropped uint64
	// Full is true while the disk is full and Append drops records.
	Full bool
	// Placeholders counts the placeholders appended since Open (AppendPlaceholder). Like
	// the caller's own drop counters, it grows while the caller drops records (the gate: in
	// a deny zone), so its changes over time tell when that happened: report it as a
	// total on request, never in a periodic status line or log.
	Placeholders uint64
}

// LockDir takes the exclusive lock on the log directory dir that Open holds while the log is
// open (flock(2) on dir/LOCK; the kernel drops it when the process dies), for a process that
// must not run beside the log's writer. It fails with ErrLocked while another process holds it.
// Call release when done.
func LockDir(dir string) (release func(), err error) {
	f, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// Open opens the log in dir (created with mode 0700 if missing), recovers it after a crash
// and starts a new segment for appends. Segments written under a key that is neither
// Options.Key nor one of Options.OldKeys make it fail with ErrWrongKey.
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
	l.backoff = fullRetryMin
	l.retention()
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
	ring, err := keyring(o.Key, o.OldKeys)
	if err != nil {
		return err
	}
	l.devKey = ring
	o.Key, o.OldKeys = nil, nil
	if o.Cipher == 0 {
		o.Cipher = AES256GCM
	}
	if o.Cipher != AES256GCM && o.Cipher != XChaCha20Poly1305 {
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
	switch {
	case o.KeepSegments < 0:
		return fmt.Errorf("storage: options: KeepSegments %d is negative", o.KeepSegments)
	case o.KeepSegments == 0 && o.Quota > 0:
		o.KeepSegments = int(o.Quota/o.SegmentSize) - 1
	case o.KeepSegments == 0:
		o.KeepSegments = DefaultKeepSegments
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

// Recovery returns what Open found and repaired.
func (l *Log) Recovery() Recovery { return l.recovery }

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{Durable: l.durable.Load(), NextSeq: l.nextSeq, Segments: len(l.segs), Stalls: l.stalls.Load(), Erased: l.erased.Load(), Syncs: l.syncs.Load(), Dropped: l.dropped.Load(), Full: l.full, Placeholders: l.placeholders.Load()}
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
	if err == nil && l.full {
		err = fmt.Errorf("storage: the last records were dropped: %w", ErrNoSpace)
	}
	l.err = ErrClosed
	l.cond.Broadcast()
	l.closeFiles()
	l.lock.Close()
	if err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}
