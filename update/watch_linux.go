package update

import (
	"context"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Watch calls found with the name of every bundle directory in dir (NAME.bundle): first
// those already there, then each one renamed into it, until ctx ends. It uses inotify: no
// polling. found runs on Watch's goroutine, one bundle at a time. It returns an error only
// when it cannot watch dir at all, or when dir goes away.
func Watch(ctx context.Context, dir string, found func(name string)) error {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("update: inotify: %w", err)
	}
	// Only renames into dir: a bundle directory created in place may still be filling.
	const mask = unix.IN_MOVED_TO | unix.IN_ONLYDIR | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return fmt.Errorf("update: watch %s: %w", dir, err)
	}
	// A non-blocking descriptor wrapped in an os.File parks reads in the runtime poller, so
	// closing the file ends a pending Read.
	f := os.NewFile(uintptr(fd), "inotify")
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer func() {
		if stop() {
			f.Close()
		}
	}()
	for _, n := range scan(dir) {
		found(n)
	}
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := f.Read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("update: read inotify events: %w", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			switch {
			case ev.Mask&unix.IN_Q_OVERFLOW != 0:
				for _, n := range scan(dir) { // events were lost: look again
					found(n)
				}
			case ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0:
				return fmt.Errorf("update: incoming directory %s was removed or moved; restart to watch it again", dir)
			case ev.Mask&unix.IN_ISDIR != 0:
				name := string(nameBytes[:clen(nameBytes)])
				if isBundle(name) {
					found(name)
				}
			}
		}
	}
}

// clen returns the length of the NUL-padded name.
func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
