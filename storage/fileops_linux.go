package storage

import (
	"errors"

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
