package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Datasync flushes the file's data and the metadata needed to read it (fdatasync(2)),
// cheaper than fsync on eMMC because timestamps are not journaled.
func (f *osFile) Datasync() error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}

// Allocate reserves size bytes with fallocate(2) mode 0, so the file is size bytes of
// zeros and later writes cannot fail with ENOSPC.
func (f *osFile) Allocate(size int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), 0, 0, size)
		switch {
		case err == unix.EINTR:
			continue
		case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS):
			return errUnsupported
		}
		return err
	}
}

// Drop is posix_fadvise(POSIX_FADV_DONTNEED): the kernel drops the clean pages of the
// range from its page cache.
func (f *osFile) Drop(off, n int64) { unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED) }

// renameNoReplace is renameat2(2) with RENAME_NOREPLACE: the kernel refuses atomically
// (EEXIST, which wraps fs.ErrExist) if to exists.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return linkRename(from, to)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
