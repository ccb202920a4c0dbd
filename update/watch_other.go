//go:build !linux

package update

import (
	"context"
	"errors"
)

// Watch needs inotify (Linux). Elsewhere it fails at once; install by hand with
// "geogate policy install".
func Watch(ctx context.Context, dir string, found func(name string)) error {
	return errors.New("update: watching the incoming directory needs Linux (inotify); use geogate policy install")
}
