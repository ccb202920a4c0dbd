//go:build !linux

package board

import (
	"io/fs"
	"os"
)

// keyOpenFlags opens the key file. Outside Linux a FIFO at the key path blocks the open.
const keyOpenFlags = os.O_RDONLY

// fileOwner reports no owner: the ownership check is Linux only.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }

// lockRing does nothing: without flock, keep rotations and the daemon apart by hand.
func lockRing(string) (func(), error) { return func() {}, nil }
