package gnss

import (
	"errors"
	"io/fs"
	"time"

	"github.com/tarm/serial"
)

// serialOpenPort opens dev with tarm/serial: 8N1, no flow control, raw input, and a VTIME
// read timeout so an idle read returns (0, io.EOF) after timeout instead of blocking forever.
func serialOpenPort(dev string, baud int, timeout time.Duration) (serialPort, error) {
	p, err := serial.OpenPort(&serial.Config{Name: dev, Baud: baud, ReadTimeout: timeout})
	if err != nil {
		// tarm returns a bare errno when the termios ioctl fails (ENOTTY: not a terminal).
		if pe := (*fs.PathError)(nil); !errors.As(err, &pe) {
			err = &fs.PathError{Op: "configure", Path: dev, Err: err}
		}
		return nil, err
	}
	return p, nil
}
