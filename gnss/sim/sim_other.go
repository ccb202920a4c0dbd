//go:build !linux

package sim

import (
	"errors"
	"fmt"
)

var errSimUnsupported = fmt.Errorf("sim: the pty simulator needs linux: %w", errors.ErrUnsupported)

// New fails: the pty simulator needs Linux termios.
func New(cfg Config) (*Receiver, error) { return nil, errSimUnsupported }

// Unplug fails: the pty simulator needs Linux.
func (s *Receiver) Unplug() error { return errSimUnsupported }

// Replug fails: the pty simulator needs Linux.
func (s *Receiver) Replug() error { return errSimUnsupported }

// Close fails: the pty simulator needs Linux.
func (s *Receiver) Close() error { return errSimUnsupported }

// PTYAvailable reports that the pty simulator needs Linux.
func PTYAvailable() error { return errSimUnsupported }
