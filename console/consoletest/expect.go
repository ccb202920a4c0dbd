// Package consoletest drives a console over a pseudo-terminal in tests, like expect(1).
package consoletest

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// Expect reads a pty master (or any reader) in the background and waits for text in it.
type Expect struct {
	t       testing.TB
	timeout time.Duration
	mu      sync.Mutex
	buf     bytes.Buffer
	seen    int
	more    chan struct{}
}

// New starts reading r. Each Expect call fails t after timeout without its text: a safety net
// for a broken console, not a speed goal.
func New(t testing.TB, r io.Reader, timeout time.Duration) *Expect {
	e := &Expect{t: t, timeout: timeout, more: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			e.mu.Lock()
			e.buf.Write(b[:n])
			e.mu.Unlock()
			select {
			case e.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return e
}

// Expect waits for want after what earlier calls matched and returns the text up to and
// including it.
func (e *Expect) Expect(want string) string {
	e.t.Helper()
	deadline := time.After(e.timeout)
	for {
		e.mu.Lock()
		s := e.buf.String()[e.seen:]
		if i := strings.Index(s, want); i >= 0 {
			e.seen += i + len(want)
			e.mu.Unlock()
			return s[:i+len(want)]
		}
		e.mu.Unlock()
		select {
		case <-e.more:
		case <-deadline:
			e.t.Fatalf("no %q on the console; got:\n%s", want, s)
		}
	}
}

// All returns everything read so far.
func (e *Expect) All() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.buf.String()
}
