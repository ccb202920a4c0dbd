//go:build !linux

package control

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// errConnRefused is what connecting to a socket file nobody listens on returns.
var errConnRefused = syscall.ECONNREFUSED

// peerCred needs SO_PEERCRED, which is Linux's; elsewhere every peer is refused.
func peerCred(*net.UnixConn) (Peer, error) {
	return Peer{UID: -1}, fmt.Errorf("control: peer credentials: %w", errors.ErrUnsupported)
}

// procGroups needs /proc.
func procGroups(int) ([]int, error) {
	return nil, fmt.Errorf("control: groups: %w", errors.ErrUnsupported)
}
