package update

import (
	"io/fs"
	"os"
)

// fileOps is the file-system seam: the Installer does every mutating file operation through
// it, so that a test can cut the power before any of them (crash_test.go).
type fileOps interface {
	// WriteFile creates (or truncates) name and writes data, without syncing it.
	WriteFile(name string, data []byte, perm fs.FileMode) error
	// SyncFile makes name's data durable (fsync).
	SyncFile(name string) error
	// Mkdir makes a directory like os.Mkdir.
	Mkdir(name string, perm fs.FileMode) error
	// Rename renames like os.Rename.
	Rename(from, to string) error
	// SyncDir makes a directory's entries (creates, renames, removes) durable.
	SyncDir(dir string) error
	// RemoveAll removes like os.RemoveAll.
	RemoveAll(name string) error
}

// osOps is the real file system.
type osOps struct{}

func (osOps) WriteFile(name string, data []byte, perm fs.FileMode) error {
	return os.WriteFile(name, data, perm)
}

func (osOps) SyncFile(name string) error { return syncPath(name) }
func (osOps) SyncDir(dir string) error   { return syncPath(dir) }

func (osOps) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }
func (osOps) Rename(from, to string) error              { return os.Rename(from, to) }
func (osOps) RemoveAll(name string) error               { return os.RemoveAll(name) }

func syncPath(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
