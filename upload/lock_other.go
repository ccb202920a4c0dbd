//go:build !linux

package upload

import "errors"

// LockDataDir is Linux-only (flock(2)): geogate runs on Linux units.
func LockDataDir(dir string) (release func(), err error) {
	return nil, errors.New("upload: locking the data directory needs Linux")
}
