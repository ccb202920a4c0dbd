//go:build unix

package policy

import (
	"errors"
	"io/fs"
	"syscall"
)

// fileOwner returns the uid owning the file info describes.
func fileOwner(info fs.FileInfo) (int, error) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, errors.New("no owner in the file's status")
	}
	return int(st.Uid), nil
}
