//go:build !linux

package gnss

import (
	"errors"
	"fmt"
	"time"
)

// serialOpenPort fails: geogate drives serial receivers on Linux only.
func serialOpenPort(dev string, baud int, timeout time.Duration) (serialPort, error) {
	return nil, fmt.Errorf("open %s: serial ports are supported on linux only: %w", dev, errors.ErrUnsupported)
}
