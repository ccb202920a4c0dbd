package gate

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/clock"
)

// GNSSReader runs the receiver side: it reads a gnss.Source, decodes it, and hands each fix to
// the loop over a channel without ever blocking on it (a full channel drops the fix and
// counts it; the loop is far faster than any receiver, so a drop means the loop is stuck).
//
// What the decoder made of the bytes is published after every read, not only with fixes
// (Progress, Stats), so a receiver whose bytes never decode (noise, a wrong baud rate, a
// binary protocol) shows as such while no fix ever arrives.
type GNSSReader struct {
	Source  gnss.Source
	Decoder *gnss.Decoder
	Out     chan<- gnss.Fix
	// Now is the local clock. Zero: the system clock (internal/clock.Now).
	Now func() time.Time

	// Dropped counts fixes the loop was too busy to take.
	Dropped atomic.Uint64

	// Published after every read by the Run goroutine, read by Progress.
	bytes, decoded, rejected atomic.Uint64
	undecoded                atomic.Uint64 // bytes read since the latest decoded sentence
	undecodedFrom            atomic.Int64  // when the first of them arrived, as an offset from start
	lastRead                 atomic.Int64  // when the latest bytes arrived, as an offset from start
	readAt                   time.Time     // local clock reading of the latest read (Run's goroutine only)
	counted                  countingSource

	mu      sync.Mutex
	start   time.Time // Run's start, the origin of undecodedFrom (keeps its monotonic reading)
	stats   gnss.Stats
	last    gnss.Fix
	utc     time.Time // UTC time of the latest valid fix that carried one
	utcRecv time.Time // local clock reading when that fix arrived
}

// Progress is what the decoder made of the receiver's bytes, as of the latest read.
type Progress struct {
	Bytes    uint64 // bytes read (gnss.Stats.Bytes)
	Decoded  uint64 // sentences of a type geogate uses decoded (gnss.Stats.Decoded)
	Rejected uint64 // lines and sentences rejected (gnss.Stats.RejectedTotal)
	// Undecoded counts the bytes read since the latest read that decoded a sentence (all of
	// Bytes before the first), or since the source fell silent for longer than
	// SilenceBreaksRun (unplugged, restarted); 0 right after a read that decoded.
	Undecoded uint64
	// UndecodedSince is the local clock reading when the first of the Undecoded bytes
	// arrived; zero while Undecoded is 0.
	UndecodedSince time.Time
	// LastRead is the local clock reading when the latest bytes arrived; zero before any.
	LastRead time.Time
}

// SilenceBreaksRun is the pause in the byte stream after which Progress counts the undecoded
// bytes afresh: receivers send every epoch, at 1 Hz or faster, so 10 s without a byte is a
// receiver that was silent or unplugged, and what it sends after is a new start.
const SilenceBreaksRun = 10 * time.Second

// countingSource is the reader Run hands the decoder: before each read of the source it
// publishes what the decoder made of the previous ones, so the counters move with the bytes
// and not only with fixes. Scan reads again as soon as it has fed a read's bytes, so the
// publication follows the feed at once.
type countingSource struct{ r *GNSSReader }

// Read implements io.Reader. It does not allocate.
func (c *countingSource) Read(p []byte) (int, error) {
	c.r.publish()
	return c.r.Source.Read(p)
}

// publish copies the decoder's counters, as of the latest read, to the atomics Progress reads
// and to the snapshot Stats returns. It runs in Run's goroutine and does not allocate.
func (r *GNSSReader) publish() {
	st := r.Decoder.Stats()
	fresh := st.Bytes - r.bytes.Load()
	switch {
	case st.Decoded != r.decoded.Load():
		r.undecoded.Store(0)
	case fresh > 0:
		at := int64(r.readAt.Sub(r.start))
		if r.undecoded.Load() == 0 || time.Duration(at-r.lastRead.Load()) > SilenceBreaksRun {
			r.undecodedFrom.Store(at)
			r.undecoded.Store(fresh)
		} else {
			r.undecoded.Add(fresh)
		}
	}
	if fresh > 0 {
		r.lastRead.Store(int64(r.readAt.Sub(r.start)))
	}
	r.rejected.Store(st.RejectedTotal())
	r.decoded.Store(st.Decoded)
	r.bytes.Store(st.Bytes)
	r.mu.Lock()
	r.stats = st
	r.mu.Unlock()
}

// Run reads until the source is closed or fails for good, then closes Out. A source that
// reconnects by itself (gnss.Serial) only returns when closed.
func (r *GNSSReader) Run(ctx context.Context) error {
	defer close(r.Out)
	now := r.Now
	if now == nil {
		now = clock.Now
	}
	r.mu.Lock()
	r.start = now()
	r.mu.Unlock()
	r.readAt = r.start
	r.counted.r = r
	stop := context.AfterFunc(ctx, func() { r.Source.Close() })
	defer stop()
	err := r.Decoder.Scan(&r.counted, func() time.Time {
		r.readAt = now()
		return r.readAt
	}, r.emit)
	r.publish()
	if err != nil && (errors.Is(err, gnss.ErrClosed) || ctx.Err() != nil) {
		return nil
	}
	return err
}

// emit hands f to the loop and keeps it for Last. It is the per-fix path and does not allocate.
func (r *GNSSReader) emit(f *gnss.Fix) error {
	select {
	case r.Out <- *f:
	default:
		r.Dropped.Add(1)
	}
	r.mu.Lock()
	r.last = *f
	if f.Valid && f.Has&gnss.HasTime != 0 {
		r.utc, r.utcRecv = f.Time, f.Received
	}
	r.mu.Unlock()
	return nil
}

// Progress returns what the decoder made of the receiver's bytes as of the latest read. It
// is safe to call from any goroutine while Run runs; the counts are read one by one, so
// they may be a read apart.
func (r *GNSSReader) Progress() Progress {
	p := Progress{Bytes: r.bytes.Load(), Decoded: r.decoded.Load(), Rejected: r.rejected.Load(), Undecoded: r.undecoded.Load()}
	r.mu.Lock()
	start := r.start
	r.mu.Unlock()
	if p.Undecoded > 0 {
		p.UndecodedSince = start.Add(time.Duration(r.undecodedFrom.Load()))
	}
	if p.Bytes > 0 {
		p.LastRead = start.Add(time.Duration(r.lastRead.Load()))
	}
	return p
}

// Stats returns the decoder's counters as of the latest read.
func (r *GNSSReader) Stats() gnss.Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Last returns a copy of the latest fix (the zero Fix before the first). It holds the raw
// position: nothing outside the process may show it (the serial console shows the fix's
// quality, satellites and age only).
func (r *GNSSReader) Last() gnss.Fix {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// TimeFix returns the receiver's UTC time of the latest valid fix that carried a date and
// time, and the local clock reading when that fix arrived; zero times before the first. A
// fix that is not valid is left out: receivers print their own unchecked clock before they
// have a fix. The daemon compares it with its own notion of now as a sanity bound only.
func (r *GNSSReader) TimeFix() (utc, received time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.utc, r.utcRecv
}
