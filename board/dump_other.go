//go:build !linux

package board

// NoCoreDumps fails: marking a process non-dumpable is a Linux prctl.
func NoCoreDumps() error { return errNoOS }
