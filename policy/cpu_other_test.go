//go:build !unix

package policy

import "time"

// processCPU is not measured here: benchmarks report a cpu-ms/op of 0.
func processCPU() time.Duration { return 0 }
