//go:build !linux

package board

// requestLineSys fails: the GPIO character device exists only on Linux.
func requestLineSys(string, *gpioV2LineRequest) (lineHandle, error) {
	return nil, errNoOS
}
