package board

import (
	"context"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cdevLine is a line fd from GPIO_V2_GET_LINE_IOCTL, wrapped in an *os.File so reads
// wait in the runtime poller and a deadline can interrupt them.
type cdevLine struct{ f *os.File }

func requestLineSys(chip string, req *gpioV2LineRequest) (lineHandle, error) {
	cfd, err := unix.Open(chip, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(cfd) // the line fd outlives the chip fd
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(cfd), uintptr(gpioV2GetLineIoctl), uintptr(unsafe.Pointer(req))); errno != 0 {
		return nil, errno
	}
	if err := unix.SetNonblock(int(req.Fd), true); err != nil {
		unix.Close(int(req.Fd))
		return nil, err
	}
	return &cdevLine{f: os.NewFile(uintptr(req.Fd), chip)}, nil
}

func (l *cdevLine) getValues(v *gpioV2LineValues) error {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, uintptr(gpioV2LineGetValuesIoctl), uintptr(unsafe.Pointer(v)))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func (l *cdevLine) read(ctx context.Context, buf []byte) (int, error) {
	l.f.SetReadDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { l.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	n, err := l.f.Read(buf)
	if err != nil && ctx.Err() != nil {
		return n, ctx.Err()
	}
	return n, err
}

func (l *cdevLine) close() error { return l.f.Close() }
