package board

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The sd_notify(3) messages geogate sends. Each datagram holds newline-separated
// KEY=VALUE assignments; these are sent alone.
var (
	msgReady    = []byte("READY=1")    // startup finished: the pipeline runs
	msgStopping = []byte("STOPPING=1") // orderly shutdown began
	msgWatchdog = []byte("WATCHDOG=1") // keep-alive for WatchdogSec=
)

// maxStatus bounds a STATUS= line. systemd shows it in "systemctl status" and sets no limit;
// the bound keeps a bug from sending a huge datagram while leaving room for geogate's
// counters line (about 200 bytes with large counts).
const maxStatus = 400

// Notifier speaks the systemd notify protocol: one AF_UNIX datagram per message to the
// socket named by $NOTIFY_SOCKET (a path, or '@' for an abstract socket). Without
// $NOTIFY_SOCKET (not started by systemd, or Type= is not notify) every call is a no-op
// that returns nil. It implements Kicker for systemd's WatchdogSec=. Safe for concurrent use.
type Notifier struct {
	addr     *net.UnixAddr // nil: no-op
	watchdog time.Duration // WatchdogSec= for this process; 0 when systemd expects no pings

	mu   sync.Mutex
	conn *net.UnixConn // dialed lazily, redialed once after a failed send
}

// NewNotifier returns a Notifier for this process's environment.
func NewNotifier() (*Notifier, error) { return NotifierFromEnv(os.Getenv, os.Getpid()) }

// NotifierFromEnv builds a Notifier from NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID as
// read by getenv, for the process pid. WATCHDOG_USEC is honoured only when WATCHDOG_PID is
// unset or equals pid (systemd sets both; a child must not ping for its parent). On a
// malformed variable it returns a no-op Notifier and the error.
func NotifierFromEnv(getenv func(string) string, pid int) (*Notifier, error) {
	sock := getenv("NOTIFY_SOCKET")
	if sock == "" {
		return &Notifier{}, nil
	}
	if sock[0] != '/' && sock[0] != '@' {
		return &Notifier{}, fmt.Errorf("board: NOTIFY_SOCKET=%q: want an absolute path or an @abstract name", sock)
	}
	n := &Notifier{addr: &net.UnixAddr{Name: sock, Net: "unixgram"}}
	if p := getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(pid) {
		return n, nil
	}
	if us := getenv("WATCHDOG_USEC"); us != "" {
		v, err := strconv.ParseUint(us, 10, 63)
		if err != nil || v == 0 || v > uint64(1<<63-1)/uint64(time.Microsecond) {
			return n, fmt.Errorf("board: WATCHDOG_USEC=%q: want a positive number of microseconds", us)
		}
		n.watchdog = time.Duration(v) * time.Microsecond
	}
	return n, nil
}

// Enabled reports whether the process runs under systemd with a notify socket.
func (n *Notifier) Enabled() bool { return n.addr != nil }

// WatchdogTimeout returns WatchdogSec= as systemd passed it (WATCHDOG_USEC), 0 when systemd
// expects no keep-alives. Send WATCHDOG=1 at half of it; Health does.
func (n *Notifier) WatchdogTimeout() time.Duration { return n.watchdog }

// Ready sends READY=1: startup is complete and the pipeline runs. systemd holds back
// units ordered after geogate, and the start job, until then.
func (n *Notifier) Ready() error { return n.send(msgReady) }

// Stopping sends STOPPING=1 at the start of an orderly shutdown.
func (n *Notifier) Stopping() error { return n.send(msgStopping) }

// Kick sends WATCHDOG=1 when systemd expects keep-alives, and nothing otherwise. It does not
// allocate once the socket is dialed. Only Health calls it.
func (n *Notifier) Kick() error {
	if n.watchdog == 0 {
		return nil
	}
	return n.send(msgWatchdog)
}

// Status sends STATUS=line, shown by "systemctl status geogate". Newlines become spaces
// (a newline would start a new assignment) and the line is cut at maxStatus bytes.
func (n *Notifier) Status(line string) error {
	if n.addr == nil {
		return nil
	}
	if len(line) > maxStatus {
		line = line[:maxStatus]
	}
	line = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, line)
	return n.send([]byte("STATUS=" + line))
}

// send writes one datagram. A failed write (systemd re-executed and re-bound its socket)
// is retried once on a fresh connection.
func (n *Notifier) send(msg []byte) error {
	if n.addr == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var err error
	for try := 0; try < 2; try++ {
		if n.conn == nil {
			if n.conn, err = net.DialUnix("unixgram", nil, n.addr); err != nil {
				n.conn = nil
				continue
			}
		}
		if _, err = n.conn.Write(msg); err == nil {
			return nil
		}
		n.conn.Close()
		n.conn = nil
	}
	return fmt.Errorf("board: notify %s: %w", n.addr.Name, err)
}

// Close closes the socket. Later calls dial again; closing is only tidiness.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("board: notify close: %w", err)
	}
	return nil
}
