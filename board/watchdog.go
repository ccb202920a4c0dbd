package board

import (
	"errors"
	"sync"
	"syscall"
	"time"
)

// WatchdogDevice is the first hardware watchdog. Further ones are /dev/watchdog1, ...
const WatchdogDevice = "/dev/watchdog"

// DefaultWatchdogTimeout is the hardware watchdog timeout geogate asks for. It is three
// times the unit's WatchdogSec=10 so that systemd, which restarts the process after 10 s
// without WATCHDOG=1, always acts first; the board resets only when a restarted daemon
// does not become healthy either (10 s stall + RestartSec=2 + start < 30 s). Drivers round
// or clamp it (bcm2835 allows at most 15 s); Watchdog.Timeout reports what was set.
const DefaultWatchdogTimeout = 30 * time.Second

// magicClose is the byte that disarms a watchdog on close (WDIOF_MAGICCLOSE drivers);
// without it the kernel logs "unexpected close, not stopping watchdog" and the board
// resets. Kernels built with CONFIG_WATCHDOG_NOWAYOUT ignore it.
var magicClose = []byte{'V'}

// busyWatchdog is the hint for EBUSY: the device allows one opener.
const busyWatchdog = "busy: another process holds it, usually systemd itself (RuntimeWatchdogSec= in /etc/systemd/system.conf) or a watchdog daemon; only one may own it"

// wdSyscalls is the syscall seam of Watchdog; tests swap it for a fake.
type wdSyscalls interface {
	// ioctl issues req on the device with a pointer to a C int.
	ioctl(req ioctlReq, arg *int32) error
	write(b []byte) (int, error)
	close() error
}

// openWatchdogFn opens a watchdog device node; watchdog_linux.go sets the real one.
var openWatchdogFn = openWatchdogSys

// Watchdog is an armed hardware watchdog (/dev/watchdog, Linux watchdog API). While it is
// open the board resets unless Kick is called within Timeout. It implements Kicker.
//
// A Watchdog that failed to open is still a valid object: every call returns the open
// error (errors.Is(err, ErrAbsent) when there is no watchdog), so callers log once and
// keep using it.
type Watchdog struct {
	path string

	mu      sync.Mutex
	sys     wdSyscalls // nil when the open failed or after Close
	err     error      // returned by every call when sys is nil
	arg     int32      // ioctl argument, a field so Kick does not allocate
	timeout time.Duration
}

// OpenWatchdog opens and thereby arms the watchdog at path, sets its timeout (rounded up to
// whole seconds; 0 keeps the driver's) and reads back the timeout the driver chose. On error
// the device is disarmed again (magic close) and the returned Watchdog fails every call.
func OpenWatchdog(path string, timeout time.Duration) (*Watchdog, error) {
	w := &Watchdog{path: path}
	sys, err := openWatchdogFn(path)
	if err != nil {
		w.err = deviceError("watchdog", "open", path, err, busyWatchdog)
		return w, w.err
	}
	w.sys = sys
	if timeout > 0 {
		w.arg = int32((timeout + time.Second - 1) / time.Second)
		if err := sys.ioctl(wdiocSetTimeout, &w.arg); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.EOPNOTSUPP) {
			// EINVAL/EOPNOTSUPP: the driver has a fixed timeout; read it below.
			return w, w.fail(deviceError("watchdog", "ioctl WDIOC_SETTIMEOUT", path, err, ""))
		}
	}
	if err := sys.ioctl(wdiocGetTimeout, &w.arg); err != nil {
		return w, w.fail(deviceError("watchdog", "ioctl WDIOC_GETTIMEOUT", path, err, ""))
	}
	if w.arg <= 0 {
		return w, w.fail(deviceError("watchdog", "ioctl WDIOC_GETTIMEOUT", path, syscall.EINVAL, "driver reports no timeout"))
	}
	w.timeout = time.Duration(w.arg) * time.Second
	return w, nil
}

// fail disarms and closes the device after a failed setup and makes err sticky.
func (w *Watchdog) fail(err error) error {
	w.sys.write(magicClose)
	w.sys.close()
	w.sys, w.err = nil, err
	return err
}

// Kick resets the watchdog timer (WDIOC_KEEPALIVE). It does not allocate. Only the
// daemon's Health calls it, and only while the pipeline is healthy.
func (w *Watchdog) Kick() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sys == nil {
		return w.err
	}
	if err := w.sys.ioctl(wdiocKeepalive, &w.arg); err != nil {
		return &DeviceError{Part: "watchdog", Op: "ioctl WDIOC_KEEPALIVE", Path: w.path, Err: err}
	}
	return nil
}

// Timeout returns the timeout the driver set; 0 when the watchdog is not open.
func (w *Watchdog) Timeout() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sys == nil {
		return 0
	}
	return w.timeout
}

// WatchdogTimeout implements the optional interface Health uses to pick its interval.
func (w *Watchdog) WatchdogTimeout() time.Duration { return w.Timeout() }

// String returns the device path and its state, for logs.
func (w *Watchdog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sys == nil {
		return "watchdog " + w.path + " (not open)"
	}
	return "watchdog " + w.path + " (timeout " + w.timeout.String() + ")"
}

// Close disarms the watchdog with the magic close character and closes the device. Call it
// on an orderly stop only: a daemon that dies without it leaves the timer running, which is
// the point. Closing a Watchdog that is not open returns its error; closing twice returns
// ErrClosed.
func (w *Watchdog) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sys == nil {
		return w.err
	}
	_, werr := w.sys.write(magicClose)
	cerr := w.sys.close()
	w.sys, w.err = nil, ErrClosed
	if werr != nil {
		return &DeviceError{Part: "watchdog", Op: "magic close", Path: w.path, Err: werr, Hint: "the watchdog stays armed and will reset the board"}
	}
	if cerr != nil {
		return &DeviceError{Part: "watchdog", Op: "close", Path: w.path, Err: cerr}
	}
	return nil
}
