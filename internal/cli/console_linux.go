package cli

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openTTY opens a serial terminal for the console at baud (8N1, raw mode is set later).
func openTTY(dev string, baud int) (*os.File, error) {
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("console: %w (is the user in group dialout?)", err)
	}
	if err := setSpeed(int(f.Fd()), baud); err != nil {
		f.Close()
		return nil, fmt.Errorf("console: %s: %w", dev, err)
	}
	return f, nil
}

// speeds maps line speeds to their termios constants.
var speeds = map[int]uint32{9600: unix.B9600, 19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600, 115200: unix.B115200, 230400: unix.B230400}

// setSpeed sets fd's input and output speed.
func setSpeed(fd, baud int) error {
	sp, ok := speeds[baud]
	if !ok {
		return fmt.Errorf("baud %d not supported", baud)
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Cflag = t.Cflag&^unix.CBAUD | sp
	t.Ispeed, t.Ospeed = sp, sp
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
