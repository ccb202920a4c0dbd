//go:build !linux

package gnsstest

import (
	"errors"
	"fmt"
)

var errSimUnsupported = fmt.Errorf("gnsstest: sim: the pty simulator needs linux: %w", errors.ErrUnsupported)

// NewSim fails: the pty simulator needs Linux termios.
func NewSim(cfg SimConfig) (*Sim, error) { return nil, errSimUnsupported }

// Unplug fails: the pty simulator needs Linux.
func (s *Sim) Unplug() error { return errSimUnsupported }

// Replug fails: the pty simulator needs Linux.
func (s *Sim) Replug() error { return errSimUnsupported }

// Close fails: the pty simulator needs Linux.
func (s *Sim) Close() error { return errSimUnsupported }

// PTYAvailable reports that the pty simulator needs Linux.
func PTYAvailable() error { return errSimUnsupported }
