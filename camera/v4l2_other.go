//go:build !linux

package camera

import "errors"

// OpenDevice fails everywhere but Linux: V4L2 is a Linux interface.
func OpenDevice(path string) (Device, error) {
	return nil, &DeviceError{Path: path, Op: "open", Kind: ErrAbsent, Err: errors.New("V4L2 needs Linux")}
}
