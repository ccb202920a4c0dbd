//go:build !linux

package board

// openWatchdogSys fails: the Linux watchdog API exists only on Linux.
func openWatchdogSys(path string) (wdSyscalls, error) {
	return nil, errNoOS
}
