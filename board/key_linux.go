package board

import (
	"io/fs"
	"os"
	"syscall"
)

// keyOpenFlags opens the key file without blocking: a FIFO at the key path would block a
// plain open until a writer appears, holding the daemon before READY. O_NONBLOCK has no
// effect on reading a regular file; anything else is refused after fstat.
const keyOpenFlags = os.O_RDONLY | syscall.O_NONBLOCK

// fileOwner returns the owner uid of fi.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
