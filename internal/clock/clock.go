// Package clock is geogate's wall clock: the one place the daemon, the CLI and the default
// clocks of storage, gate and camera read the date and time of day from. Release builds read
// the system clock. A build can move it at link time, so that tests run the whole process on
// a date of their choosing, or on a later one to prove their results do not depend on it:
//
//	# a binary whose clock starts at this instant (the daemon tests pin their runs so)
//	go build -ldflags '-X github.com/geogate/geogate/internal/clock.start=2026-11-25T08:00:00Z' .
//	# tests whose default clocks run five years ahead of the machine's (make test-clock)
//	go test -ldflags '-X github.com/geogate/geogate/internal/clock.shift=43824h' ./storage/
//
// Durations and timers (uptime, deadlines, pacing) may keep using time.Now and time.Since:
// the clock keeps its monotonic reading but moves it with the wall reading, so a duration
// must not be measured between a clock.Now and a time.Now (time.Since(clock.Now()) included).
package clock

import (
	"fmt"
	"time"
)

// start and shift are set only with the linker's -X flag (see the package doc); both empty in
// release builds.
var (
	// start is an RFC 3339 instant: the clock reads it when the process starts and runs on
	// from there at the system clock's pace.
	start string
	// shift is a Go duration added to the clock (after start, if both are set).
	shift string
)

// offset is what Now adds to the system clock, fixed when the process starts.
var offset, shiftBy = mustOffset(start, shift, time.Now())

// Now returns the wall clock: time.Now moved by the link-time offset, none in release builds.
// The result keeps a monotonic reading, so durations between two Now readings are immune to
// steps of the system clock. Now does not allocate.
func Now() time.Time {
	return time.Now().Add(offset)
}

// Shift returns the link-time shift (zero in release builds). Tests that build a geogate
// binary pass it on, so the subprocess runs as far ahead as the tests do.
func Shift() time.Duration { return shiftBy }

// parse returns the offset from the system clock at now that start and shift ask for, and the
// shift alone.
func parse(start, shift string, now time.Time) (off, sh time.Duration, err error) {
	if shift != "" {
		if sh, err = time.ParseDuration(shift); err != nil {
			return 0, 0, fmt.Errorf("clock: link-time shift: %w", err)
		}
	}
	off = sh
	if start != "" {
		t, err := time.Parse(time.RFC3339Nano, start)
		if err != nil {
			return 0, 0, fmt.Errorf("clock: link-time start: %w", err)
		}
		off += t.Sub(now.Round(0)) // the wall readings' difference, not the monotonic one
	}
	return off, sh, nil
}

// mustOffset is parse for the package's variables: a binary linked with a malformed value
// must not run on a clock nobody chose.
func mustOffset(start, shift string, now time.Time) (time.Duration, time.Duration) {
	off, sh, err := parse(start, shift, now)
	if err != nil {
		panic(err)
	}
	return off, sh
}
