package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCounts: spinning for 50 ms of wall time adds CPU time, never more than the wall
// time times the CPUs.
func TestProcessCounts(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no getrusage")
	}
	before, start := Process(), time.Now()
	for time.Since(start) < 50*time.Millisecond {
	}
	used, wall := Process()-before, time.Since(start)
	if used <= 0 || used > wall*time.Duration(runtime.NumCPU())+10*time.Millisecond {
		t.Errorf("CPU time %v over %v of spinning", used, wall)
	}
}
