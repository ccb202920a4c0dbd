//go:build !linux

package storage

import (
	"os"
	"path/filepath"
)

// lockDir only creates dir/LOCK off Linux: there is no flock, so nothing stops a second
// writer. geogate's units run Linux.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
}
