package audit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/geogate/geogate/internal/atomicfile"
	"github.com/geogate/geogate/internal/clock"
)

// Options configure Open.
type Options struct {
	// KeyFile is the unit's signing key (see LoadKey), created on first use. It must not lie
	// in the log's directory, which is copied to auditors. Required unless Signer is set.
	KeyFile string
	// Origin names the log in its checkpoints and names a key that KeyFile creates, e.g.
	// "geogate.example/unit/VIN123/audit" (no spaces, no '+'). Zero: "geogate-audit". An
	// existing key keeps its own name.
	Origin string
	// Signer, if set, signs the checkpoints instead of KeyFile's key; VerifierKey must then
	// be its verifier key.
	Signer      note.Signer
	VerifierKey string
	// QueueLen is how many entries Record may queue before it drops. Zero: 256.
	QueueLen int
	// SyncInterval is how long an entry that is not urgent (decision counts) may wait for
	// its fsync and checkpoint. Zero: 1 minute.
	SyncInterval time.Duration
	// Now stamps entries that carry no time. Zero: clock.Now.
	Now func() time.Time
	// Logger receives failures of the writer. Nil: discarded.
	Logger *slog.Logger
}

// Stats are a Log's counters.
type Stats struct {
	Written     uint64 // entries written (this run)
	Dropped     uint64 // entries Record dropped: queue full or log closed
	Syncs       uint64 // fsyncs of the log
	Checkpoints uint64 // checkpoints signed and written
	Size        int64  // entries in the log
	Errors      uint64 // write, fsync or checkpoint failures
}

// Log is the unit's audit log: one directory holding the log file, its latest signed
// checkpoint and the verifier key. One goroutine writes; Record, Append, Checkpoint, Stats
// and Close may be called from any goroutine.
type Log struct {
	dir    string
	signer note.Signer
	now    func() time.Time
	log    *slog.Logger
	every  time.Duration

	q     chan Entry
	reqs  chan request
	stop  chan struct{}
	done  chan struct{}
	close sync.Once

	closed      atomic.Bool
	written     atomic.Uint64
	dropped     atomic.Uint64
	syncs       atomic.Uint64
	checkpoints atomic.Uint64
	errs        atomic.Uint64
	size        atomic.Int64

	// Owned by the writer goroutine (and by Open before it starts).
	f          *os.File
	edge       edge
	leaf       *leafHasher
	buf        []byte // frame head + entry, reused
	off        int64  // end of the last whole frame
	pending    bool   // entries written since the last checkpoint
	droppedLog uint64 // drops already recorded in the log
	torn       int64  // bytes cut at open, recorded in the first entry

	mu     sync.Mutex
	latest Checkpoint
	err    error // the writer's first failure
}

type request struct {
	e    *Entry // nil: just commit
	done chan result
}

type result struct {
	cp  Checkpoint
	err error
}

// Open opens (or creates) the audit log in dir and starts its writer. It checks the log
// against its checkpoint: a torn last entry written after the checkpoint (a crash before
// its fsync) is cut; anything else that disagrees fails with ErrCorrupt, ErrTruncated or
// ErrRoot, and the log is left as found for an auditor to look at.
func Open(dir string, opts Options) (*Log, error) {
	l := &Log{dir: dir, now: opts.Now, log: opts.Logger, every: opts.SyncInterval, leaf: newLeafHasher(),
		buf: make([]byte, frameHead, frameHead+MaxEntry), stop: make(chan struct{}), done: make(chan struct{}),
		reqs: make(chan request)}
	if l.now == nil {
		l.now = clock.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.every <= 0 {
		l.every = time.Minute
	}
	qlen := opts.QueueLen
	if qlen <= 0 {
		qlen = 256
	}
	l.q = make(chan Entry, qlen)

	vkey := opts.VerifierKey
	switch {
	case opts.Signer != nil:
		l.signer = opts.Signer
	case opts.KeyFile == "":
		return nil, fmt.Errorf("%w: no KeyFile and no Signer", ErrKey)
	default:
		if filepath.Clean(filepath.Dir(opts.KeyFile)) == filepath.Clean(dir) {
			return nil, fmt.Errorf("%w: the key file must not be in the log's directory %s, which is given to auditors", ErrKey, dir)
		}
		origin := opts.Origin
		if origin == "" {
			origin = "geogate-audit"
		}
		var err error
		if l.signer, vkey, err = LoadKey(opts.KeyFile, origin); err != nil {
			return nil, err
		}
	}
	v, err := note.NewVerifier(vkey)
	if err != nil || v.Name() != l.signer.Name() || v.KeyHash() != l.signer.KeyHash() {
		return nil, fmt.Errorf("%w: the verifier key does not match the signer", ErrKey)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := writeIfChanged(filepath.Join(dir, pubName), []byte(vkey+"\n")); err != nil {
		return nil, err
	}
	var cp Checkpoint
	switch b, err := os.ReadFile(filepath.Join(dir, cpName)); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("audit: read checkpoint: %w", err)
	default:
		if cp, err = ParseCheckpoint(b, v); err != nil {
			return nil, fmt.Errorf("audit: %s: %w", filepath.Join(dir, cpName), err)
		}
	}
	if err := l.openFile(cp); err != nil {
		return nil, err
	}
	l.latest = cp
	l.size.Store(l.edge.n)
	go l.run()
	l.Record(Entry{Kind: AuditOpened, Bytes: uint64(l.torn)})
	return l, nil
}

// writeIfChanged writes a small file atomically unless it already holds data.
func writeIfChanged(name string, data []byte) error {
	if old, err := os.ReadFile(name); err == nil && string(old) == string(data) {
		return nil
	}
	if err := atomicfile.Write(name, data, 0o644, true); err != nil {
		return fmt.Errorf("audit: write %s: %w", name, err)
	}
	return nil
}

// openFile opens the log file (creating it with its header), replays it into the tree's
// edge and checks it against cp.
func (l *Log) openFile(cp Checkpoint) error {
	name := filepath.Join(l.dir, logName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: open log: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		return err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fail(fmt.Errorf("audit: read log: %w", err))
	}
	if len(data) == 0 {
		if cp.Size > 0 {
			return fail(fmt.Errorf("%w: the log is empty, its checkpoint has %d entries", ErrTruncated, cp.Size))
		}
		if _, err := f.Write(appendHeader(nil)); err != nil {
			return fail(fmt.Errorf("audit: write log header: %w", err))
		}
		if err := syncFileAndDir(f, l.dir); err != nil {
			return fail(err)
		}
		l.f, l.off = f, headerSize
		return nil
	}
	if err := checkHeader(data); err != nil {
		return fail(err)
	}
	off := headerSize
	for off < len(data) {
		p, size, torn, err := nextFrame(data[off:])
		if err == nil {
			if seq, ok := quickSeq(p); !ok || seq != uint64(l.edge.n) {
				err = fmt.Errorf("%w: entry %d has the wrong sequence number", ErrCorrupt, l.edge.n)
			}
		}
		if err != nil {
			if !torn || l.edge.n < cp.Size {
				return fail(fmt.Errorf("audit: %s at byte %d (entry %d, checkpoint covers %d): %w", name, off, l.edge.n, cp.Size, err))
			}
			// A torn tail after the checkpoint: a write cut by a crash before its fsync.
			l.torn = int64(len(data) - off)
			l.log.Warn("audit log: cutting a torn last entry", "bytes", l.torn, "entry", l.edge.n)
			if err := f.Truncate(int64(off)); err != nil {
				return fail(fmt.Errorf("audit: cut torn tail: %w", err))
			}
			if err := f.Sync(); err != nil {
				return fail(fmt.Errorf("audit: fsync log: %w", err))
			}
			break
		}
		l.edge.append(l.leaf.hash(p))
		off += size
		if l.edge.n == cp.Size && l.edge.root() != cp.Root {
			return fail(fmt.Errorf("%w: the log's first %d entries do not hash to the checkpoint's root", ErrRoot, cp.Size))
		}
	}
	if l.edge.n < cp.Size {
		return fail(fmt.Errorf("%w: the log has %d entries, its checkpoint %d", ErrTruncated, l.edge.n, cp.Size))
	}
	if _, err := f.Seek(int64(off), io.SeekStart); err != nil {
		return fail(fmt.Errorf("audit: %w", err))
	}
	l.f, l.off = f, int64(off)
	l.pending = l.edge.n > cp.Size // entries that survived a crash before their checkpoint
	return nil
}

func syncFileAndDir(f *os.File, dir string) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: fsync log: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: fsync %s: %w", dir, err)
	}
	return nil
}

// Record queues e for the writer and returns at once: true if queued, false if it was
// dropped (queue full, or the log closed), which is counted and itself logged later as an
// AuditDropped entry. It never blocks and does not allocate, so any loop may call it. e's
// strings must outlive nothing: they are copied when written.
func (l *Log) Record(e Entry) bool {
	if l.closed.Load() {
		l.dropped.Add(1)
		return false
	}
	select {
	case l.q <- e:
		return true
	default:
		l.dropped.Add(1)
		return false
	}
}

// Append writes e, fsyncs the log and signs a checkpoint covering it, which it returns: for
// events whose record must be durable before the caller goes on (an export records itself
// and sends this checkpoint along). It blocks on disk I/O; the hot loop uses Record.
func (l *Log) Append(e Entry) (Checkpoint, error) {
	return l.request(&e)
}

// Checkpoint fsyncs what was recorded so far and returns the latest signed checkpoint: the
// one to send with an export. Entries still queued by Record may or may not be covered.
func (l *Log) Checkpoint() (Checkpoint, error) {
	return l.request(nil)
}

func (l *Log) request(e *Entry) (Checkpoint, error) {
	if l.closed.Load() {
		return Checkpoint{}, ErrClosed
	}
	req := request{e: e, done: make(chan result, 1)}
	select {
	case l.reqs <- req:
	case <-l.done:
		return Checkpoint{}, ErrClosed
	}
	r := <-req.done
	return r.cp, r.err
}

// Stats returns the counters.
func (l *Log) Stats() Stats {
	return Stats{Written: l.written.Load(), Dropped: l.dropped.Load(), Syncs: l.syncs.Load(),
		Checkpoints: l.checkpoints.Load(), Size: l.size.Load(), Errors: l.errs.Load()}
}

// Close writes what is queued, fsyncs, signs a last checkpoint and closes the file. Entries
// recorded after Close are dropped and counted.
func (l *Log) Close() error {
	l.close.Do(func() {
		l.closed.Store(true)
		close(l.stop)
	})
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	for {
		select {
		case e := <-l.q:
			urgent := l.write(&e)
			for more := true; more; { // group commit: what else is queued goes in the same fsync
				select {
				case e := <-l.q:
					urgent = l.write(&e) || urgent
				default:
					more = false
				}
			}
			if urgent {
				l.commit()
			}
		case req := <-l.reqs:
			l.drain()
			var err error
			if req.e != nil {
				err = l.writeErr(req.e)
			}
			cp, cerr := l.commit()
			req.done <- result{cp, errors.Join(err, cerr)}
		case <-tick.C:
			l.commit()
		case <-l.stop:
			l.drain()
			l.commit()
			if err := l.f.Close(); err != nil {
				l.fail(fmt.Errorf("audit: close log: %w", err))
			}
			return
		}
	}
}

func (l *Log) drain() {
	for {
		select {
		case e := <-l.q:
			l.write(&e)
		default:
			return
		}
	}
}

// write appends e and reports whether it should be committed at once.
func (l *Log) write(e *Entry) bool {
	l.writeErr(e)
	return e.Kind.urgent()
}

// writeErr encodes e into the reused buffer, writes its frame and adds its leaf. It does not
// allocate.
func (l *Log) writeErr(e *Entry) error {
	e.Seq = uint64(l.edge.n)
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	b := AppendJSON(l.buf[:frameHead], e)
	if len(b) > cap(l.buf) {
		panic("BUG: audit entry longer than MaxEntry")
	}
	putFrameHead(b)
	if _, err := l.f.Write(b); err != nil {
		// A partial write leaves a torn frame; cut it so the next entry starts clean.
		l.f.Truncate(l.off)
		l.f.Seek(l.off, io.SeekStart)
		return l.fail(fmt.Errorf("audit: write entry %d: %w", e.Seq, err))
	}
	l.off += int64(len(b))
	l.edge.append(l.leaf.hash(b[frameHead:]))
	l.size.Store(l.edge.n)
	l.written.Add(1)
	l.pending = true
	return nil
}

// commit records new drops, fsyncs the log and writes a signed checkpoint, if anything was
// written since the last one, and returns the latest checkpoint.
func (l *Log) commit() (Checkpoint, error) {
	if d := l.dropped.Load(); d > l.droppedLog {
		e := Entry{Kind: AuditDropped, Count: d - l.droppedLog}
		if l.writeErr(&e) == nil {
			l.droppedLog = d
		}
	}
	l.mu.Lock()
	cp := l.latest
	l.mu.Unlock()
	if !l.pending {
		return cp, nil
	}
	if err := l.f.Sync(); err != nil {
		return cp, l.fail(fmt.Errorf("audit: fsync log: %w", err))
	}
	l.syncs.Add(1)
	cp, err := signCheckpoint(l.signer, l.edge.n, l.edge.root())
	if err != nil {
		return cp, l.fail(err)
	}
	if err := atomicfile.Write(filepath.Join(l.dir, cpName), cp.Signed, 0o644, true); err != nil {
		return cp, l.fail(fmt.Errorf("audit: write checkpoint: %w", err))
	}
	l.checkpoints.Add(1)
	l.pending = false
	l.mu.Lock()
	l.latest = cp
	l.mu.Unlock()
	return cp, nil
}

// fail counts err, logs it and keeps the first for Close.
func (l *Log) fail(err error) error {
	l.errs.Add(1)
	l.log.Error("audit log", "err", err)
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	return err
}
