// Package atomicfile writes small durable files (keys, manifests, snapshots) so that a power
// cut leaves either the old file (or none) or the complete new one: a temporary file in the
// same directory is written, fsynced and closed, then renamed over the target (or hard-linked
// to it, which refuses to replace), and the directory is fsynced.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to name with mode perm (set explicitly: the umask cannot widen or narrow
// it). With replace an existing name is replaced; without, Write fails with an error wrapping
// fs.ErrExist and leaves it alone.
func Write(name string, data []byte, perm fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if replace {
		if err := os.Rename(tmp, name); err != nil {
			return err
		}
	} else {
		if err := os.Link(tmp, name); err != nil {
			return err
		}
		os.Remove(tmp)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
