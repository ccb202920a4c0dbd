//go:build !unix

package policy

import (
	"errors"
	"io/fs"
)

// fileOwner fails: trust anchors are checked for their owner on Unix only, and are refused
// where that cannot be checked.
func fileOwner(fs.FileInfo) (int, error) {
	return 0, errors.New("file owners can be checked on Unix only")
}
