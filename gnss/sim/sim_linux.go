package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// New opens a pty, puts it in raw mode, links Path to its slave and starts playing
// cfg.Data into it. Close stops it.
func New(cfg Config) (*Receiver, error) {
	if cfg.BytesPerSecond < 0 || cfg.LineDelay < 0 {
		return nil, errors.New("sim: negative rate or line delay")
	}
	s := &Receiver{cfg: cfg, dir: cfg.Dir, done: make(chan struct{}), replug: make(chan struct{})}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "geogate-sim-")
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		s.dir, s.ownDir = d, true
	}
	name := cfg.Name
	if name == "" {
		name = DefaultSimName
	}
	s.link = filepath.Join(s.dir, name)
	if err := s.plug(); err != nil {
		if s.ownDir {
			os.RemoveAll(s.dir)
		}
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.play()
	return s, nil
}

// Unplug imitates pulling the receiver's cable: it closes the pty, so a reader's next read
// sees a hung-up line (end of file, EIO on write), and removes the link, so reopening fails
// with ENOENT until Replug.
func (s *Receiver) Unplug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.master == nil {
		return errors.New("sim: unplug: not plugged in")
	}
	err := errors.Join(s.master.Close(), s.slave.Close())
	if rerr := os.Remove(s.link); rerr != nil {
		err = errors.Join(err, rerr)
	}
	s.master, s.slave, s.pts = nil, nil, ""
	s.replug = make(chan struct{})
	s.unplugs++
	if err != nil {
		return fmt.Errorf("sim: unplug: %w", err)
	}
	return nil
}

// Replug imitates plugging the receiver back in: a new pty (with a new /dev/pts number)
// behind the same Path. Playback continues where it stopped.
func (s *Receiver) Replug() error {
	s.mu.Lock()
	plugged := s.closed || s.master != nil
	s.mu.Unlock()
	if plugged {
		return errors.New("sim: replug: not unplugged")
	}
	return s.plug()
}

// plug opens a new pty pair and points the link at its slave.
func (s *Receiver) plug() error {
	master, slave, err := simOpenPTY()
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	// Replace the link atomically, so a reader never sees it missing or stale mid-way.
	tmp := s.link + ".new"
	os.Remove(tmp)
	err = os.Symlink(slave.Name(), tmp)
	if err == nil {
		err = os.Rename(tmp, s.link)
	}
	if err != nil {
		master.Close()
		slave.Close()
		return fmt.Errorf("sim: link %s: %w", s.link, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		master.Close()
		slave.Close()
		os.Remove(s.link)
		return errors.New("sim: closed")
	}
	s.master, s.slave, s.pts = master, slave, slave.Name()
	close(s.replug)
	return nil
}

// Close stops playback, closes the pty and Source (if an io.Closer), removes the link (and
// the directory if New made it). It returns an error that stopped playback early, if any.
func (s *Receiver) Close() error {
	s.cancel()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	if s.master != nil {
		err = errors.Join(s.master.Close(), s.slave.Close())
		s.master, s.slave = nil, nil
		if rerr := os.Remove(s.link); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	s.mu.Unlock()
	var srcErr error
	if c, ok := s.cfg.Source.(io.Closer); ok {
		srcErr = c.Close()
	}
	s.wg.Wait()
	if s.ownDir {
		err = errors.Join(err, os.RemoveAll(s.dir))
	}
	err = errors.Join(err, s.writeErr, srcErr)
	if err != nil {
		return fmt.Errorf("sim: close: %w", err)
	}
	return nil
}

// simOpenPTY opens a pty pair in raw mode with a non-blocking master, so that closing the
// master interrupts a write blocked on a full pty buffer.
func simOpenPTY() (master, slave *os.File, err error) {
	m, sl, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	defer func() {
		if err != nil {
			m.Close()
			sl.Close()
		}
	}()
	if err := simRaw(sl); err != nil {
		return nil, nil, fmt.Errorf("raw mode on %s: %w", sl.Name(), err)
	}
	// pty.Open leaves the master in blocking mode (it called Fd), which a Close from another
	// goroutine cannot interrupt. A non-blocking duplicate goes through Go's poller instead.
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("dup pty master: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("pty master non-blocking: %w", err)
	}
	m.Close()
	return os.NewFile(uintptr(fd), "/dev/ptmx"), sl, nil
}

// simRaw puts the terminal in raw mode like cfmakeraw(3): the line discipline passes bytes
// through untouched, with no echo back into the master.
func simRaw(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ioErr = err
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		ioErr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err != nil {
		return err
	}
	return ioErr
}

// PTYAvailable reports whether this system can run a Receiver: it opens a pty pair, sets raw mode
// and closes it. Tests skip with its error where ptys are missing (no /dev/ptmx in a
// container) or an emulator lacks the ioctls.
func PTYAvailable() error {
	m, s, err := simOpenPTY()
	if err != nil {
		return fmt.Errorf("sim: no usable pty: %w", err)
	}
	return errors.Join(m.Close(), s.Close())
}
