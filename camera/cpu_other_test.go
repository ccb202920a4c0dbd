//go:build !unix

package camera_test

import "time"

// cpuTime is not measured on this system: benchmarks report 0 CPU time.
func cpuTime() time.Duration { return 0 }
