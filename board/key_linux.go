package board

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
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

// lockRing takes an exclusive flock on PATH.lock, so a rotation ("geogate key rotate") and
// the daemon's retirement never both rewrite the keyring from a stale copy.
func lockRing(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("board: keyring lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("board: keyring lock: %w", err)
	}
	return func() { f.Close() }, nil
}
