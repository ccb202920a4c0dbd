package console

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTimers stands in for time.After: each call gets a channel the test fires, so the idle
// timeout runs on the test's clock, not the wall clock.
type fakeTimers struct {
	mu    sync.Mutex
	chans []chan time.Time
	durs  []time.Duration
	made  chan struct{} // a token per call
}

func (f *fakeTimers) After(d time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	f.mu.Lock()
	f.chans, f.durs = append(f.chans, c), append(f.durs, d)
	f.mu.Unlock()
	f.made <- struct{}{}
	return c
}

// waitNew waits until the shell has started n timers in all and returns the newest, the one
// its current wait for a line selects on.
func (f *fakeTimers) waitNew(t *testing.T, n int) chan time.Time {
	t.Helper()
	for {
		f.mu.Lock()
		have := len(f.chans)
		c := f.chans[max(have-1, 0):]
		f.mu.Unlock()
		if have >= n {
			return c[0]
		}
		select {
		case <-f.made:
		case <-time.After(10 * time.Second): // a safety net, not a timing
			t.Fatalf("the shell started %d timers, want %d", have, n)
		}
	}
}

func (f *fakeTimers) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.chans)
}

// terminal is the far end of the shell's terminal: what the shell wrote, read as it comes.
type terminal struct {
	t    *testing.T
	conn net.Conn
	in   chan string
	buf  string
}

func newTerminal(t *testing.T, conn net.Conn) *terminal {
	term := &terminal{t: t, conn: conn, in: make(chan string, 64)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := conn.Read(b)
			if n > 0 {
				term.in <- string(b[:n])
			}
			if err != nil {
				close(term.in)
				return
			}
		}
	}()
	return term
}

// expect returns what the shell wrote up to and including want.
func (term *terminal) expect(want string) string {
	term.t.Helper()
	for {
		if i := strings.Index(term.buf, want); i >= 0 {
			out := term.buf[:i+len(want)]
			term.buf = term.buf[i+len(want):]
			return out
		}
		select {
		case s, ok := <-term.in:
			if !ok {
				term.t.Fatalf("terminal closed without %q; got:\n%s", want, term.buf)
			}
			term.buf += s
		case <-time.After(10 * time.Second): // a safety net, not a timing
			term.t.Fatalf("no %q; got:\n%s", want, term.buf)
		}
	}
}

func (term *terminal) send(line string) {
	if _, err := term.conn.Write([]byte(line + "\r")); err != nil {
		term.t.Fatal(err)
	}
}

// TestShellIdleLocks runs the shell on a terminal with its timers on the test's clock: an
// unlocked shell locks again when its idle timer fires, shows a new nonce, and refuses
// commands; a timer started before the last line (activity since) locks nothing.
func TestShellIdleLocks(t *testing.T) {
	sh, priv, clk, be := newShell(t)
	timers := &fakeTimers{made: make(chan struct{}, 1024)}
	sh.IdleTimeout, sh.After = 3*time.Minute, timers.After
	ours, theirs := net.Pipe()
	term := newTerminal(t, ours)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { done <- sh.Run(ctx, theirs) }()

	nonceOf := func(banner string) string {
		_, rest, ok := strings.Cut(banner, "nonce ")
		n, _, _ := strings.Cut(rest, " ")
		if !ok || len(n) != 2*NonceBytes {
			t.Fatalf("no nonce in %q", banner)
		}
		return n
	}
	n1 := nonceOf(term.expect("unlock with:"))
	// Locked, the idle timer locks nothing and prints nothing.
	timers.waitNew(t, 1) <- clk.t
	term.send("unlock " + sign(t, priv, Token{Device: "unit-1", Nonce: n1, Scope: ScopeRead, Expires: clk.t.Add(5 * time.Minute)}))
	term.expect("unlocked (read-only); locks after 3m0s idle")
	term.expect("geogate(read-only)> ")

	// Activity restarts the timer: the one started before "help" fires, and nothing locks.
	before := timers.waitNew(t, 2)
	k := timers.count()
	term.send("help")
	term.expect("commands (this session: read-only)")
	current := timers.waitNew(t, k+1)
	before <- clk.t
	term.send("gnss")
	term.expect("latest fix age")
	term.expect("geogate(read-only)> ")
	if len(be.calls) != 1 || be.calls[0] != CmdGNSS {
		t.Fatalf("gnss after a stale timer: calls %v", be.calls)
	}
	if current == before {
		t.Fatal("no new timer after a line")
	}

	// Now the current timer fires: locked, with a new nonce.
	k = timers.count()
	term.send("storage")
	term.expect("STORING NOTHING")
	term.expect("geogate(read-only)> ")
	timers.waitNew(t, k+1) <- clk.t
	out := term.expect("unlock with:")
	if !strings.Contains(out, "idle for 3m0s: locked") {
		t.Fatalf("idle lock: %q", out)
	}
	if n2 := nonceOf(out); n2 == n1 {
		t.Fatal("the nonce was not renewed at the idle lock")
	}
	term.send("storage")
	term.expect("storage: locked; unlock first")
	if len(be.calls) != 2 {
		t.Fatalf("a locked shell called the daemon: %v", be.calls)
	}
	timers.mu.Lock()
	durs := append([]time.Duration(nil), timers.durs...)
	timers.mu.Unlock()
	for i, d := range durs {
		if d != 3*time.Minute {
			t.Fatalf("timer %d for %v, want the idle timeout", i, d)
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Run returned nil after its context ended")
	}
}
