//go:build !linux

package camera

import "time"

// threadCPU is not measured on this system: benchmarks report 0 thread CPU time.
func threadCPU() time.Duration { return 0 }
