package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultHealthInterval is how often Health checks when no Kicker reports a watchdog
// timeout. With the unit's WatchdogSec=10 the interval is 5 s anyway.
const DefaultHealthInterval = 5 * time.Second

// Kicker is a watchdog that resets (reboots the board, restarts the service) unless kicked.
// *Watchdog (hardware) and *Notifier (systemd WATCHDOG=1) implement it; so does
// boardtest.Watchdog. A Kicker may also have a method WatchdogTimeout() time.Duration
// reporting its deadline (0: none), which Health uses to choose its interval.
type Kicker interface {
	Kick() error
}

// HealthConfig configures a Health.
type HealthConfig struct {
	// Clock is the time source; nil means SystemClock.
	Clock Clock
	// Kickers are kicked after every healthy check and never otherwise; usually the
	// hardware *Watchdog and the systemd *Notifier. Nil means nothing is kicked (the
	// checks still run and report).
	Kickers []Kicker
	// Interval is the longest time between checks in Run; zero means
	// DefaultHealthInterval. It is shortened to half of the smallest WatchdogTimeout
	// among the Kickers, so no watchdog can expire between two healthy checks.
	Interval time.Duration
	// Logger receives health state changes and kick failures (once per change, never per
	// check); nil means they are not logged.
	Logger *slog.Logger
}

// Health is the daemon's supervisor: it kicks the watchdogs only while every registered
// check reports OK, so a hung pipeline (no fixes, no "no fix" states, storage stuck) stops
// the kicks and systemd restarts the service, then the hardware watchdog resets the board.
// It is not a blind timer: with no checks registered it reports unhealthy and kicks nothing.
type Health struct {
	clock    Clock
	start    time.Time // beats store their time as an offset from it (monotonic)
	kickers  []Kicker
	interval time.Duration
	log      *slog.Logger

	mu       sync.Mutex
	beats    []*Beat
	probes   []probe
	kickErr  []string // last kick error text per kicker, to log changes only
	last     Report
	reported bool // last holds a real report
}

type probe struct {
	name  string
	check func() error
}

// NewHealth returns a Health with no checks.
func NewHealth(cfg HealthConfig) *Health {
	h := &Health{clock: cfg.Clock, kickers: cfg.Kickers, interval: cfg.Interval, log: cfg.Logger}
	if h.clock == nil {
		h.clock = SystemClock{}
	}
	h.start = h.clock.Now()
	h.kickErr = make([]string, len(h.kickers))
	if h.interval <= 0 {
		h.interval = DefaultHealthInterval
	}
	for _, k := range h.kickers {
		if t, ok := k.(interface{ WatchdogTimeout() time.Duration }); ok {
			if d := t.WatchdogTimeout() / 2; d > 0 && d < h.interval {
				h.interval = d
			}
		}
	}
	return h
}

// Interval returns the time between checks in Run.
func (h *Health) Interval() time.Duration { return h.interval }

// Beat registers a heartbeat check: it is OK while Beat.OK was called within maxAge and
// Beat.Fail was not called since. Registration counts as the first OK, which gives the
// part maxAge to start. Example: h.Beat("gnss", 5*time.Second), kicked by every fix and
// every explicit "no fix" state.
func (h *Health) Beat(name string, maxAge time.Duration) *Beat {
	if maxAge <= 0 {
		panic("BUG: board: Health.Beat with maxAge <= 0")
	}
	b := &Beat{h: h, name: name, maxAge: maxAge}
	b.OK()
	h.mu.Lock()
	h.beats = append(h.beats, b)
	h.mu.Unlock()
	return b
}

// Probe registers a check that is run on every Check, e.g. "storage writable". check must
// be quick and must not block on the hot loop; a non-nil error is unhealthy.
func (h *Health) Probe(name string, check func() error) {
	h.mu.Lock()
	h.probes = append(h.probes, probe{name, check})
	h.mu.Unlock()
}

// Problem is one failing check.
type Problem struct {
	Check string // the registered name
	Err   error
}

// Report is the outcome of one Check.
type Report struct {
	At       time.Time
	Healthy  bool      // every check OK; the Kickers were kicked
	Problems []Problem // the failing checks, in registration order (beats first)
}

// String returns a one-line summary for STATUS= and logs: "ok" or
// "unhealthy: gnss: stale: no report for 12s (limit 5s); storage: ...", with this
// package's "board: " prefix left out of the problems.
func (r Report) String() string {
	if r.Healthy {
		return "ok"
	}
	var b strings.Builder
	b.WriteString("unhealthy")
	for i, p := range r.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Check)
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(p.Err.Error(), "board: "))
	}
	return b.String()
}

// Check evaluates every check now and kicks the Kickers if all are OK. The health state is
// logged when the set of failing checks changes. A Kicker's error (an absent watchdog) is
// logged when it changes and does not make the report unhealthy.
func (h *Health) Check() Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	r := Report{At: now, Healthy: true}
	since := int64(now.Sub(h.start))
	for _, b := range h.beats {
		if f := b.failed.Load(); f != nil {
			r.Problems = append(r.Problems, Problem{b.name, f.err})
		} else if age := time.Duration(since - b.last.Load()); age > b.maxAge {
			r.Problems = append(r.Problems, Problem{b.name, fmt.Errorf("%w: no report for %v (limit %v)", ErrStale, age.Round(time.Millisecond), b.maxAge)})
		}
	}
	for _, p := range h.probes {
		if err := p.check(); err != nil {
			r.Problems = append(r.Problems, Problem{p.name, err})
		}
	}
	if len(h.beats)+len(h.probes) == 0 {
		r.Problems = append(r.Problems, Problem{"health", errors.New("board: no checks registered; refusing to kick blindly")})
	}
	r.Healthy = len(r.Problems) == 0
	if r.Healthy {
		h.kick()
	}
	if h.log != nil && (!h.reported || !sameChecks(h.last, r)) {
		if r.Healthy {
			h.log.Info("health ok, kicking watchdogs")
		} else {
			h.log.Warn("health failing, not kicking watchdogs", "report", r.String())
		}
	}
	h.last, h.reported = r, true
	return r
}

// sameChecks reports whether a and b have the same failing checks (ages may differ).
func sameChecks(a, b Report) bool {
	if len(a.Problems) != len(b.Problems) {
		return false
	}
	for i := range a.Problems {
		if a.Problems[i].Check != b.Problems[i].Check {
			return false
		}
	}
	return true
}

// kick kicks every Kicker and logs errors when they change. h.mu is held.
func (h *Health) kick() {
	for i, k := range h.kickers {
		msg := ""
		if err := k.Kick(); err != nil {
			msg = err.Error()
		}
		if msg != h.kickErr[i] && h.log != nil {
			if msg != "" {
				h.log.Warn("watchdog kick failed", "err", msg)
			} else {
				h.log.Info("watchdog kick works again", "kicker", fmt.Sprint(k))
			}
		}
		h.kickErr[i] = msg
	}
}

// Last returns the report of the latest Check; before the first, an unhealthy report
// saying so.
func (h *Health) Last() Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.reported {
		return Report{Problems: []Problem{{"health", errors.New("board: not checked yet")}}}
	}
	return h.last
}

// Run checks at once and then every Interval until ctx is done, and returns nil.
func (h *Health) Run(ctx context.Context) error {
	for {
		h.Check()
		select {
		case <-ctx.Done():
			return nil
		case <-h.clock.After(h.interval):
		}
	}
}

// Beat is a heartbeat check from Health.Beat. Its methods are safe for concurrent use.
type Beat struct {
	h      *Health
	name   string
	maxAge time.Duration
	last   atomic.Int64            // time of the last OK as an offset from h.start
	failed atomic.Pointer[failure] // non-nil after Fail until the next OK
}

type failure struct{ err error }

// OK records that the part works now. It does not allocate; call it from the hot loop on
// every fix or explicit "no fix" state, every stored batch, and so on.
func (b *Beat) OK() {
	b.last.Store(int64(b.h.clock.Now().Sub(b.h.start)))
	if b.failed.Load() != nil {
		b.failed.Store(nil)
	}
}

// Fail records that the part is broken (err says how) until the next OK.
func (b *Beat) Fail(err error) {
	b.failed.Store(&failure{err})
}
