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
type GNSSReader struct {
	Source  gnss.Source
	Decoder *gnss.Decoder
	Out     chan<- gnss.Fix
	// Now is the local clock. Zero: the system clock (internal/clock.Now).
	Now func() time.Time

	// Dropped counts fixes the loop was too busy to take.
	Dropped atomic.Uint64

	mu    sync.Mutex
	stats gnss.Stats
	last  gnss.Fix
}

// Run reads until the source is closed or fails for good, then closes Out. A source that
// reconnects by itself (gnss.Serial) only returns when closed.
func (r *GNSSReader) Run(ctx context.Context) error {
	defer close(r.Out)
	now := r.Now
	if now == nil {
		now = clock.Now
	}
	stop := context.AfterFunc(ctx, func() { r.Source.Close() })
	defer stop()
	err := r.Decoder.Scan(r.Source, now, func(f *gnss.Fix) error {
		select {
		case r.Out <- *f:
		default:
			r.Dropped.Add(1)
		}
		r.mu.Lock()
		r.stats = r.Decoder.Stats()
		r.last = *f
		r.mu.Unlock()
		return nil
	})
	if err != nil && (errors.Is(err, gnss.ErrClosed) || ctx.Err() != nil) {
		return nil
	}
	return err
}

// Stats returns the decoder's counters as of the latest fix.
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
