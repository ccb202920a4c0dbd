package upload

import (
	"errors"
	"fmt"

	"github.com/geogate/geogate/storage"
)

// LockDataDir takes the lock on dir that the daemon's storage.Log holds while it runs, so a
// hand upload ("geogate upload") and the daemon never write the audit log or the spool at the
// same time. It fails with ErrLocked while the daemon runs. Call release when done.
func LockDataDir(dir string) (release func(), err error) {
	release, err = storage.LockDir(dir)
	if errors.Is(err, storage.ErrLocked) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return release, nil
}
