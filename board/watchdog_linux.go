package board

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// wdFile is the real watchdog seam: an open device node.
type wdFile struct{ fd int }

func openWatchdogSys(path string) (wdSyscalls, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &wdFile{fd: fd}, nil
}

func (f *wdFile) ioctl(req ioctlReq, arg *int32) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(f.fd), uintptr(req), uintptr(unsafe.Pointer(arg)))
	if errno != 0 {
		return errno
	}
	return nil
}

func (f *wdFile) write(b []byte) (int, error) { return unix.Write(f.fd, b) }

func (f *wdFile) close() error { return unix.Close(f.fd) }
