// Package boardtest has fakes of the board parts for tests of the daemon: a watchdog, a
// systemd notifier, a power input, a key provider and a manual clock. Each fake records
// the operations it sees; when its Want field is set, Close reports any difference, so a
// test that forgets an expected kick or READY=1 fails.
package boardtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/geogate/geogate/board"
)

var (
	_ board.Kicker      = (*Watchdog)(nil)
	_ board.Kicker      = (*Notifier)(nil)
	_ board.PowerInput  = (*Power)(nil)
	_ board.KeyProvider = (*Key)(nil)
	_ board.Clock       = (*Clock)(nil)
)

// recorder records operations and compares them with the wanted ones on Close.
type recorder struct {
	mu     sync.Mutex
	ops    []string
	closed bool
}

func (r *recorder) add(op string) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// Ops returns the operations recorded so far.
func (r *recorder) Ops() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

func (r *recorder) close(name string, want []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("boardtest: %s closed twice", name)
	}
	r.closed = true
	r.ops = append(r.ops, "close")
	if want != nil && !slices.Equal(r.ops, want) {
		return fmt.Errorf("boardtest: %s: got ops %q, want %q", name, r.ops, want)
	}
	return nil
}

// Watchdog is a fake hardware watchdog. It records "kick" per Kick and "close" on Close.
type Watchdog struct {
	recorder
	// Timeout is what WatchdogTimeout reports; zero means none.
	Timeout time.Duration
	// Err, when set, is returned by Kick (after recording it): inject errnos here.
	Err error
	// Want, when not nil, is the op list Close expects, "close" included.
	Want []string
}

// Kick implements board.Kicker.
func (w *Watchdog) Kick() error {
	w.add("kick")
	return w.Err
}

// Kicks returns how many times Kick was called.
func (w *Watchdog) Kicks() int {
	n := 0
	for _, op := range w.Ops() {
		if op == "kick" {
			n++
		}
	}
	return n
}

// WatchdogTimeout reports Timeout.
func (w *Watchdog) WatchdogTimeout() time.Duration { return w.Timeout }

// Close records "close" and checks Want.
func (w *Watchdog) Close() error { return w.close("watchdog", w.Want) }

// Notifier is a fake of *board.Notifier with the same methods. It records each message as
// the datagram the real one would send: "READY=1", "STATUS=...", "WATCHDOG=1", "STOPPING=1".
type Notifier struct {
	recorder
	// Watchdog is what WatchdogTimeout reports; Kick records "WATCHDOG=1" only when it is
	// set, as the real Notifier sends only then.
	Watchdog time.Duration
	// Err, when set, is returned by every send.
	Err error
	// Want, when not nil, is the op list Close expects, "close" included.
	Want []string
}

func (n *Notifier) send(msg string) error {
	n.add(msg)
	return n.Err
}

// Enabled reports true: the fake is always "under systemd".
func (n *Notifier) Enabled() bool { return true }

// Ready records READY=1.
func (n *Notifier) Ready() error { return n.send("READY=1") }

// Status records STATUS=line.
func (n *Notifier) Status(line string) error { return n.send("STATUS=" + line) }

// Stopping records STOPPING=1.
func (n *Notifier) Stopping() error { return n.send("STOPPING=1") }

// Kick records WATCHDOG=1 when Watchdog is set.
func (n *Notifier) Kick() error {
	if n.Watchdog == 0 {
		return nil
	}
	return n.send("WATCHDOG=1")
}

// WatchdogTimeout reports Watchdog.
func (n *Notifier) WatchdogTimeout() time.Duration { return n.Watchdog }

// Close records "close" and checks Want.
func (n *Notifier) Close() error { return n.close("notifier", n.Want) }

// Power is a fake power input. Watch sends Events in order, then whatever Send passes it,
// until its context is done. Close fails when not every scripted event was delivered.
type Power struct {
	recorder
	// Events are sent first by Watch.
	Events []board.PowerEvent
	// Err, when set, is returned by Watch at once (an absent or broken input).
	Err error

	once sync.Once
	more chan board.PowerEvent
	sent int // scripted events delivered, guarded by recorder.mu
}

func (p *Power) init() { p.once.Do(func() { p.more = make(chan board.PowerEvent) }) }

// Send delivers ev through a running Watch; it blocks until Watch has taken it.
func (p *Power) Send(ev board.PowerEvent) {
	p.init()
	p.more <- ev
}

// Watch implements board.PowerInput. It records "watch" and each event it delivers.
func (p *Power) Watch(ctx context.Context, events chan<- board.PowerEvent) error {
	p.init()
	p.add("watch")
	if p.Err != nil {
		return p.Err
	}
	for _, ev := range p.Events {
		select {
		case events <- ev:
			p.add(ev.String())
			p.mu.Lock()
			p.sent++
			p.mu.Unlock()
		case <-ctx.Done():
			return nil
		}
	}
	for {
		select {
		case ev := <-p.more:
			select {
			case events <- ev:
				p.add(ev.String())
			case <-ctx.Done():
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// Close checks that every scripted event was delivered.
func (p *Power) Close() error {
	p.mu.Lock()
	sent := p.sent
	p.mu.Unlock()
	if err := p.close("power", nil); err != nil {
		return err
	}
	if sent != len(p.Events) {
		return fmt.Errorf("boardtest: power: delivered %d of %d scripted events", sent, len(p.Events))
	}
	return nil
}

// Key is a fake key provider. DeviceKey records "key" and returns a copy of Key, or Err.
// Its String never shows the key.
type Key struct {
	recorder
	// Key is the key returned; nil with nil Err means ErrNoKey.
	Key []byte
	// Err, when set, is returned by DeviceKey.
	Err error
	// Want, when not nil, is the op list Close expects, "close" included.
	Want []string
}

// DeviceKey implements board.KeyProvider.
func (k *Key) DeviceKey() ([]byte, error) {
	k.add("key")
	switch {
	case k.Err != nil:
		return nil, k.Err
	case k.Key == nil:
		return nil, fmt.Errorf("boardtest: %w", board.ErrNoKey)
	}
	return slices.Clone(k.Key), nil
}

// String returns "boardtest key", never the key.
func (k *Key) String() string { return "boardtest key" }

// Close records "close" and checks Want.
func (k *Key) Close() error { return k.close("key", k.Want) }

// Clock is a manual board.Clock: time moves only with Advance.
type Clock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	timers []timer
}

type timer struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{now: t}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now implements board.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After implements board.Clock.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, timer{c.now.Add(d), ch})
	c.cond.Broadcast()
	return ch
}

// Advance moves the clock by d and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
		} else {
			t.ch <- c.now
		}
	}
	c.timers = kept
}

// BlockUntil waits until n timers are pending, so a test can Advance knowing the code
// under test is waiting. It returns an error if ctx ends first.
func (c *Clock) BlockUntil(ctx context.Context, n int) error {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		if ctx.Err() != nil {
			return errors.Join(errors.New("boardtest: clock: timers not armed"), ctx.Err())
		}
		c.cond.Wait()
	}
	return nil
}
