//go:build !linux

package board

import "errors"

// requestLineSys fails: the GPIO character device exists only on Linux.
func requestLineSys(string, *gpioV2LineRequest) (lineHandle, error) {
	return nil, errors.ErrUnsupported
}
