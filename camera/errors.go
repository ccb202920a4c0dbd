package camera

import (
	"errors"
	"fmt"
)

// Errors callers branch on. Test them with errors.Is.
var (
	// ErrAbsent means there is no camera: the device node does not exist, or it disappeared
	// (unplugged, driver unbound). Capture retries it with backoff.
	ErrAbsent = errors.New("camera: no camera")
	// ErrBroken means a device is there but does not work as a camera: it is not a V4L2 capture
	// device, refuses the requested mode, stops delivering frames or fails an ioctl.
	// Capture retries it with backoff.
	ErrBroken = errors.New("camera: device broken")
	// ErrFormat means no usable pixel format: the device offers none of MJPEG, YUYV and NV12,
	// or not the one the config asks for.
	ErrFormat = errors.New("camera: unsupported format")
	// ErrShortBuffer means a frame did not fit the caller's buffer. The frame is dropped.
	ErrShortBuffer = errors.New("camera: frame larger than buffer")
	// ErrBadFrame means the device delivered an empty or truncated frame (a JPEG without its
	// start marker). The frame is dropped; the stream goes on.
	ErrBadFrame = errors.New("camera: bad frame")
	// ErrClosed means the source or ring was closed.
	ErrClosed = errors.New("camera: closed")
)

// DeviceError records a failed operation on a device node. It matches both its Kind
// (ErrAbsent, ErrBroken, ErrFormat) and the underlying error (e.g. syscall.ENODEV) with errors.Is.
type DeviceError struct {
	Path string // device node, e.g. /dev/video0
	Op   string // what was being done, e.g. "open", "VIDIOC_DQBUF"
	Kind error  // ErrAbsent, ErrBroken or ErrFormat
	Err  error  // the cause
	Hint string // what a person can do about it, or ""
}

// Error reads like "camera: /dev/video0: open: no camera: no such file or directory (hint)".
func (e *DeviceError) Error() string {
	var s string
	if errors.Is(e.Err, e.Kind) { // the cause already names its kind
		s = fmt.Sprintf("camera: %s: %s: %s", e.Path, e.Op, trimPkg(e.Err))
	} else {
		s = fmt.Sprintf("camera: %s: %s: %s: %v", e.Path, e.Op, trimPkg(e.Kind), e.Err)
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the kind and the cause, so errors.Is finds either.
func (e *DeviceError) Unwrap() []error { return []error{e.Kind, e.Err} }

func trimPkg(err error) string {
	s := err.Error()
	const p = "camera: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
