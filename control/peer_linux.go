package control

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// errConnRefused is what connecting to a socket file nobody listens on returns.
var errConnRefused = syscall.ECONNREFUSED

// peerCred reads the credentials the kernel recorded for the peer at connect time.
func peerCred(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("control: peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, fmt.Errorf("control: peer credentials: %w", err)
	}
	if credErr != nil {
		return Peer{}, fmt.Errorf("control: peer credentials: %w", credErr)
	}
	return Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}, nil
}

// procGroups reads a process's supplementary groups from /proc/PID/status.
func procGroups(pid int) ([]int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "Groups:")
		if !ok {
			continue
		}
		var gs []int
		for _, f := range strings.Fields(rest) {
			g, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("control: /proc/%d/status: group %q", pid, f)
			}
			gs = append(gs, g)
		}
		return gs, nil
	}
	return nil, fmt.Errorf("control: /proc/%d/status has no Groups line", pid)
}
