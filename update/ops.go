package update

import (
	"errors"
	"io/fs"
	"os"
	"sync"
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
	// SyncAll is SyncFile on every file and SyncDir on every directory, in no given order.
	SyncAll(files, dirs []string) error
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

// SyncAll fsyncs concurrently: a journalling file system commits fsyncs that wait together
// at once (ext4 batches them into one journal commit), where one after the other each waits
// for a commit of its own (7 ms each on the VM, most of an install's time).
func (osOps) SyncAll(files, dirs []string) error {
	names := append(append(make([]string, 0, len(files)+len(dirs)), files...), dirs...)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { errs[i] = syncPath(name) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

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
