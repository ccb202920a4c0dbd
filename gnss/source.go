package gnss

import (
	"context"
	"errors"
	"time"
)

// Source is where NMEA bytes come from: a serial port ([Serial]), a capture file ([Replay]),
// or a test fake. Read fills the caller's buffer with the next bytes of the stream; the bytes
// need not end on a sentence boundary. Close releases the device and makes a pending or later
// Read return [ErrClosed]. Read is called from one goroutine; Close may be called from another.
type Source interface {
	Read(p []byte) (int, error)
	Close() error
}

// Errors returned by the sources. Callers branch on them with errors.Is; the returned error
// also wraps the underlying cause (an *fs.PathError, a syscall.Errno).
var (
	// ErrClosed is returned by Read after Close.
	ErrClosed = errors.New("gnss: source closed")
	// ErrDeviceAbsent means the device node does not exist: the receiver is not plugged in,
	// its driver is not loaded, or the configured path is wrong.
	ErrDeviceAbsent = errors.New("gnss: device absent")
	// ErrDeviceBroken means the device exists but failed: I/O error, hang-up, not a terminal,
	// or the kernel refused the line settings.
	ErrDeviceBroken = errors.New("gnss: device broken")
	// ErrPermission means the device exists but this process may not open it.
	ErrPermission = errors.New("gnss: permission denied")
)

// sourceSleep waits for d or until ctx is done, whichever comes first. It is the default for
// the Sleep fields of SerialConfig and ReplayConfig.
func sourceSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
