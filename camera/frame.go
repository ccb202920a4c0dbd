package camera

import (
	"time"

	"github.com/geogate/geogate/internal/clock"
)

// Frame is one captured image and its metadata. A Frame is a small value; copying it does not
// copy the pixels. Data is a view into a buffer owned by whoever handed out the Frame: for a
// Frame from Ring.Recv that is the Ring, and Data stays valid until Ring.Release(f).
type Frame struct {
	// Data holds the image: a complete JPEG for MJPEG, the raw planes for YUYV and NV12.
	Data []byte
	// Width and Height are the image size in pixels.
	Width, Height int
	// Format is the pixel format of Data.
	Format Format
	// Captured is when the image was taken, read from the injected Clock. With the system clock
	// it carries Go's monotonic reading, so it can be compared with gnss.Fix.Received. For V4L2
	// devices with kernel timestamps it is moved back by the driver-reported age of the frame.
	Captured time.Time
	// Seq counts frames read from the source since it was opened, from 1. A gap means frames
	// the source itself skipped (driver overrun), not frames the Ring dropped.
	Seq uint64

	slot int32 // Ring buffer index + 1; 0 when the Frame is not from a Ring
}

// Source delivers frames. Implementations: *V4L2, *Synthetic, and fakes in cameratest.
// A Source is used by one goroutine; Close must not run concurrently with ReadFrame.
type Source interface {
	// ReadFrame waits for the next frame, at most about one frame interval or the source's read
	// timeout, and copies it into dst, which the caller owns. The returned Frame's Data is
	// dst[:n]. A frame that does not fit returns ErrShortBuffer and is dropped. It does not
	// allocate in steady state.
	ReadFrame(dst []byte) (Frame, error)
	// Close releases the device. ReadFrame after Close returns ErrClosed.
	Close() error
}

// Clock is the time the camera package reads: frame timestamps, synthetic pacing and retry
// backoff. Tests inject a fake (cameratest.Clock) so they never sleep.
type Clock interface {
	// Now returns the current time. Frame.Captured comes from it.
	Now() time.Time
	// Sleep pauses the calling goroutine for d. It must not allocate (time.Sleep does not).
	Sleep(d time.Duration)
}

// SystemClock is the real Clock: the process's wall clock (internal/clock.Now: time.Now, with
// its monotonic reading, in release builds) and time.Sleep.
type SystemClock struct{}

// Now returns internal/clock.Now().
func (SystemClock) Now() time.Time { return clock.Now() }

// Sleep calls time.Sleep(d).
func (SystemClock) Sleep(d time.Duration) { time.Sleep(d) }

// orSystem returns c, or SystemClock when c is nil.
func orSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}
