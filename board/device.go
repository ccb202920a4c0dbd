package board

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"syscall"
)

// DeviceError records a failed operation on a device node or a kernel file, with a hint
// telling the operator what to do. errors.Is(err, ErrAbsent) reports whether the failure
// means the hardware is not there (as opposed to present but broken or forbidden);
// errors.Is with an errno (unix.EBUSY, fs.ErrPermission) matches the underlying cause.
type DeviceError struct {
	Part string // "watchdog", "gpio", "power input", ...
	Op   string // the operation: "open", "ioctl WDIOC_SETTIMEOUT", ...
	Path string // the device node or file
	Err  error  // the cause, usually a syscall.Errno
	Hint string // what to do about it; empty when there is nothing to add
}

// Error implements error.
func (e *DeviceError) Error() string {
	s := "board: " + e.Part + ": " + e.Op + " " + e.Path + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *DeviceError) Unwrap() error { return e.Err }

// Is reports whether target is ErrAbsent and the cause means "no such hardware".
func (e *DeviceError) Is(target error) bool {
	return target == ErrAbsent && isAbsent(e.Err)
}

// isAbsent reports whether err means the device or file does not exist on this machine:
// no node (ENOENT), a node without a driver (ENODEV, ENXIO), or no support on this GOOS.
func isAbsent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV) ||
		errors.Is(err, syscall.ENXIO) || errors.Is(err, errNoOS) || errors.Is(err, ErrAbsent)
}

// errNoOS is the cause the !linux stubs return: the kernel interface does not exist here.
var errNoOS = fmt.Errorf("not available on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// deviceError builds a DeviceError with the standard hint for the cause. extra is added for
// EBUSY, where only the part knows who else might hold the device.
func deviceError(part, op, path string, err error, busy string) *DeviceError {
	e := &DeviceError{Part: part, Op: op, Path: path, Err: err}
	switch {
	case isAbsent(err):
		e.Hint = "absent: no device or driver on this machine; geogate runs without it"
	case errors.Is(err, fs.ErrPermission):
		e.Hint = "permission denied: is the geogate user in the device's group and the node in the unit's DeviceAllow=? see docs/OPERATIONS.md"
	case errors.Is(err, syscall.EBUSY) && busy != "":
		e.Hint = busy
	}
	return e
}
