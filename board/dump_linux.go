package board

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NoCoreDumps marks the process non-dumpable (prctl PR_SET_DUMPABLE 0): other processes of
// its user can no longer ptrace it or read its memory through /proc, and the kernel writes
// no core file for it (with fs.suid_dumpable 2 one readable only by root, which the unit
// file's LimitCORE=0 also stops). geogate holds positions, frames and keys in the clear in
// memory; a core file would put them on disk.
func NoCoreDumps() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("board: prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	return nil
}

// dumpable reports the process's PR_GET_DUMPABLE flag.
func dumpable() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return v != 0, err
}
