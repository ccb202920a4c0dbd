package camera

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time the calling OS thread has used (CLOCK_THREAD_CPUTIME_ID). With the
// goroutine locked to its thread, the difference over a stretch of code is what that code cost,
// without the time other processes held the core: on a loaded machine wall time charges a
// short phase with whole time slices of others.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
