//go:build !linux

package board

import "io/fs"

// fileOwner reports no owner: the ownership check is Linux only.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }

// lockRing does nothing: without flock, keep rotations and the daemon apart by hand.
func lockRing(string) (func(), error) { return func() {}, nil }
