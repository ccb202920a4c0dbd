//go:build !linux

package storage

// Datasync falls back to fsync where fdatasync is not available.
func (f *osFile) Datasync() error { return f.Sync() }

// Allocate is not supported off Linux; the log then writes without preallocation.
func (f *osFile) Allocate(size int64) error { return errUnsupported }

// Drop does nothing off Linux.
func (f *osFile) Drop(off, n int64) {}

// renameNoReplace links and unlinks: link(2) fails if to exists.
func renameNoReplace(from, to string) error { return linkRename(from, to) }
