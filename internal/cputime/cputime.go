// Package cputime reads the processor time this process has used, for benchmarks that report
// it beside wall time: on a shared machine other tenants stretch the wall time of a run, much
// less the time its own threads spent on a CPU.
package cputime

import "time"

// Process returns the user and system CPU time the process has used so far, or 0 where the
// system does not tell.
func Process() time.Duration { return process() }
