//go:build !unix

package upload_test

import "time"

// processCPU is 0 where getrusage is missing: BenchmarkPushRatio then omits its CPU figures.
func processCPU() time.Duration { return 0 }
