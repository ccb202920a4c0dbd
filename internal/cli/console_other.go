//go:build !linux

package cli

import (
	"errors"
	"os"
)

// openTTY is Linux only.
func openTTY(dev string, baud int) (*os.File, error) {
	return nil, errors.New("console: -tty is supported on Linux only")
}
