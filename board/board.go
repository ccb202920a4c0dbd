package board

import (
	"errors"
	"time"
)

// Conditions callers branch on. Every error this package returns names the part and the
// operation; test for these with errors.Is.
var (
	// ErrAbsent means the hardware is not there: no driver, no device node, no sysfs file, or
	// a GOOS without support. The daemon logs it once and runs without the part.
	ErrAbsent = errors.New("board: absent")

	// ErrNoKey means no device key exists at the configured place. The daemon must fail
	// closed: store nothing, say so in its status, keep running.
	ErrNoKey = errors.New("board: no device key")

	// ErrKeyInsecure means a key file is readable or writable by others, or owned by a user
	// other than the daemon's (or root). It is refused like a missing key.
	ErrKeyInsecure = errors.New("board: key file not private")

	// ErrKeyFormat means a key file does not hold exactly 64 hex digits and an optional
	// newline, or holds the all-zero key.
	ErrKeyFormat = errors.New("board: key file malformed")

	// ErrStale is the error of a Health heartbeat that was not refreshed within its limit.
	ErrStale = errors.New("board: stale")

	// ErrClosed means the part was used after Close.
	ErrClosed = errors.New("board: closed")
)

// Clock is the time source of Health and of polled inputs, injected so tests never sleep.
// boardtest.Clock is a manual one.
type Clock interface {
	// Now returns the current time, with a monotonic reading when the clock has one.
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real Clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
