package storage

import (
	"errors"
	"io"
	"os"
)

// fileOps is the file-system seam: the log does every mutating file operation through it,
// so tests can record them (to replay a power cut at any point) or inject errors (ENOSPC).
type fileOps interface {
	// OpenFile opens or creates a file like os.OpenFile.
	OpenFile(name string, flag int, perm os.FileMode) (file, error)
	// Rename renames a file like os.Rename, but never over an existing file: if to
	// exists it fails with an error wrapping fs.ErrExist and changes nothing.
	Rename(from, to string) error
	// Remove removes a file like os.Remove.
	Remove(name string) error
	// SyncDir makes the directory's entries (creates, renames, removes) durable.
	SyncDir(dir string) error
}

// file is an open segment file.
type file interface {
	io.ReaderAt
	io.WriterAt
	// Datasync makes written data durable (fdatasync(2) on Linux).
	Datasync() error
	// Allocate reserves size bytes of zeros and extends the file to size; errUnsupported
	// when the file system cannot, and the log goes on without preallocation.
	Allocate(size int64) error
	// Drop advises that bytes [off, off+n) (n 0: to the end), written and synced, will
	// not be read soon, so the kernel may free their page-cache pages at once
	// (posix_fadvise DONTNEED on Linux, nothing elsewhere). Only whole pages go.
	Drop(off, n int64)
	// Truncate sets the file size.
	Truncate(size int64) error
	// Size returns the file size.
	Size() (int64, error)
	// Close closes the file.
	Close() error
}

// errUnsupported means the platform or file system lacks an optional operation.
var errUnsupported = errors.New("storage: operation not supported")

// osFS is the real file system.
type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}

func (osFS) Rename(from, to string) error { return renameNoReplace(from, to) }
func (osFS) Remove(name string) error     { return os.Remove(name) }

// linkRename renames by hard link and unlink, which fails if to exists: the fallback of
// renameNoReplace where the file system lacks renameat2's RENAME_NOREPLACE. A crash
// between the two leaves both names; Open removes the temporary one.
func linkRename(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// osFile is a real file; Datasync and Allocate are in fileops_linux.go / fileops_other.go.
type osFile struct{ *os.File }

func (f *osFile) Size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
