//go:build !linux

package board

import "errors"

// openWatchdogSys fails: the Linux watchdog API exists only on Linux.
func openWatchdogSys(path string) (wdSyscalls, error) {
	return nil, errors.ErrUnsupported
}
