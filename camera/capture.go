package camera

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Backoff defaults for Capture.
const (
	// DefaultMinBackoff: a USB camera re-enumerates within about a second after a reset.
	DefaultMinBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff: a replugged camera is back in service within ten seconds.
	DefaultMaxBackoff = 10 * time.Second
	// backoffStep is the longest single Clock.Sleep while backing off, so cancelling ctx stops
	// Run within a tenth of a second.
	backoffStep = 100 * time.Millisecond
)

// Capture is the producer loop: it reads frames from a Source into a Ring, and when the source
// cannot be opened or fails it closes it and opens it again, waiting MinBackoff, doubling up to
// MaxBackoff, until it delivers frames again. A missing or vanished camera is logged and retried
// forever; Run returns only when ctx ends.
type Capture struct {
	// Open opens the source, e.g. func() (camera.Source, error) { return camera.OpenV4L2(cfg, nil, nil) }.
	// Required.
	Open func() (Source, error)
	// Ring receives the frames. Required.
	Ring *Ring
	// Clock paces the backoff. Zero: SystemClock.
	Clock Clock
	// Log receives state changes (lost, reconnected), never one line per frame. Zero: discarded.
	Log *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between attempts. Zero: DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration

	frames, reconnects, openFailures, readErrors, shortBuffers, badFrames atomic.Uint64
	up                                                                    atomic.Bool
}

// CaptureStats counts what a Capture did. All counts start at zero when Run starts.
type CaptureStats struct {
	Frames       uint64 // frames committed to the Ring
	Reconnects   uint64 // successful opens after the source had failed
	OpenFailures uint64 // failed attempts to open the source
	ReadErrors   uint64 // reads that failed and made the source reopen (camera lost or broken)
	ShortBuffers uint64 // frames dropped because they did not fit a Ring buffer
	BadFrames    uint64 // empty or corrupt frames dropped
	Up           bool   // the source is open now
}

// Stats returns the counters. It is safe to call while Run runs.
func (c *Capture) Stats() CaptureStats {
	return CaptureStats{
		Frames:       c.frames.Load(),
		Reconnects:   c.reconnects.Load(),
		OpenFailures: c.openFailures.Load(),
		ReadErrors:   c.readErrors.Load(),
		ShortBuffers: c.shortBuffers.Load(),
		BadFrames:    c.badFrames.Load(),
		Up:           c.up.Load(),
	}
}

// Run captures until ctx ends, then closes the source and returns ctx.Err(). It does not close
// the Ring. Per frame it does not allocate: one ReadFrame into Ring.Buffer, one Ring.Commit.
func (c *Capture) Run(ctx context.Context) error {
	if c.Open == nil || c.Ring == nil {
		panic("BUG: camera.Capture needs Open and Ring")
	}
	clk := orSystem(c.Clock)
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	minB, maxB := c.MinBackoff, c.MaxBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB < minB {
		maxB = max(DefaultMaxBackoff, minB)
	}
	var (
		src      Source
		backoff  = minB
		failed   bool // the source failed since the last frame: the next open is a reconnect
		failures int  // attempts in the current outage, for the log
	)
	defer func() {
		if src != nil {
			src.Close()
		}
		c.up.Store(false)
	}()
	for ctx.Err() == nil {
		if src == nil {
			s, err := c.Open()
			if err != nil {
				c.openFailures.Add(1)
				if failures == 0 {
					log.Warn("camera unavailable, retrying", "err", err, "kind", kind(err))
				}
				failures++
				failed = true
				c.wait(ctx, clk, &backoff, maxB)
				continue
			}
			src = s
			c.up.Store(true)
			if failed {
				c.reconnects.Add(1)
				log.Info("camera reconnected", "attempts", failures)
			}
			failures = 0
		}
		f, err := src.ReadFrame(c.Ring.Buffer())
		if err == nil {
			c.Ring.Commit(f)
			c.frames.Add(1)
			backoff, failed = minB, false
			continue
		}
		switch {
		case errors.Is(err, ErrShortBuffer):
			c.shortBuffers.Add(1)
			continue
		case errors.Is(err, ErrBadFrame):
			c.badFrames.Add(1)
			continue
		}
		c.readErrors.Add(1)
		log.Warn("camera lost, reopening", "err", err, "kind", kind(err))
		src.Close()
		src = nil
		c.up.Store(false)
		failed = true
		failures = 1
		c.wait(ctx, clk, &backoff, maxB)
	}
	return ctx.Err()
}

// wait sleeps *backoff on clk in steps, returning early when ctx ends, then doubles *backoff up to maxB.
func (c *Capture) wait(ctx context.Context, clk Clock, backoff *time.Duration, maxB time.Duration) {
	for left := *backoff; left > 0 && ctx.Err() == nil; left -= backoffStep {
		clk.Sleep(min(left, backoffStep))
	}
	*backoff = min(2**backoff, maxB)
}

// kind names the error class for logs: "absent", "broken", "format" or "other".
func kind(err error) string {
	switch {
	case errors.Is(err, ErrAbsent):
		return "absent"
	case errors.Is(err, ErrFormat):
		return "format"
	case errors.Is(err, ErrBroken):
		return "broken"
	}
	return "other"
}
