package gnss

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for the zero fields of SerialConfig.
const (
	// DefaultBaud is the NMEA 0183 line speed most GNSS modules ship with.
	DefaultBaud = 9600
	// DefaultReadTimeout is one tick of the terminal's VTIME (0.1 s, its smallest unit): an idle
	// read returns after it, so Close never waits longer for a pending Read.
	DefaultReadTimeout = 100 * time.Millisecond
	// DefaultBackoffMin is short enough that a receiver plugged back in resumes within a
	// fraction of an epoch after udev recreated its node.
	DefaultBackoffMin = 250 * time.Millisecond
	// DefaultBackoffMax bounds the wait for a receiver that stays away: about one attempt per
	// 10 s keeps the log quiet and the CPU idle.
	DefaultBackoffMax = 10 * time.Second
)

// maxReadTimeout is VTIME's largest value: 255 tenths of a second.
const maxReadTimeout = 25500 * time.Millisecond

// SerialConfig configures a [Serial] source. The zero value of every field except Device
// selects a documented default.
type SerialConfig struct {
	// Device is the path of the receiver's serial device, e.g. /dev/ttyACM0 or a stable
	// /dev/serial/by-id/... link. Required.
	Device string
	// Baud is the line speed in bit/s; it must be one of the standard termios rates.
	// Zero means DefaultBaud (9600).
	Baud int
	// ReadTimeout is how long one read of the device waits for the first byte before the
	// source checks for Close and for a hung-up line. It is rounded down to tenths of a second
	// (the terminal's VTIME unit), at least 0.1 s and at most 25.5 s, and it bounds how long
	// Close waits for a pending Read. Zero means DefaultReadTimeout (100 ms).
	ReadTimeout time.Duration
	// BackoffMin is the wait before reopening a lost device and after the first failed open;
	// every further failed attempt doubles the wait up to BackoffMax. The wait drops back to
	// BackoffMin once a reopened device delivers data. Zero means DefaultBackoffMin (250 ms).
	BackoffMin time.Duration
	// BackoffMax caps the wait between attempts. Zero means DefaultBackoffMax (10 s).
	BackoffMax time.Duration
	// MaxAttempts is how many consecutive failed opens Read tolerates before it returns the
	// last error (a *SerialError); a later Read starts a new round. Zero means Read retries
	// until Close, which is what a daemon wants; a one-shot command sets 1.
	MaxAttempts int
	// Logger receives one record per state change: device lost, first failed open of an
	// outage (and any change of its cause), device back. Nil means no logging.
	Logger *slog.Logger
	// Sleep waits between attempts: it returns nil after d, or ctx.Err() as soon as ctx is
	// done (Close cancels ctx). Nil means a real timer; tests pass a fake that does not sleep.
	Sleep func(ctx context.Context, d time.Duration) error
}

// SerialStats are the counters of a [Serial] source.
type SerialStats struct {
	Opens        uint64 // successful opens, the first one included
	Disconnects  uint64 // open devices lost: read error or hang-up (unplugged, pty master closed)
	Reconnects   uint64 // successful opens after a disconnect
	OpenFailures uint64 // failed open attempts
}

// SerialError is a failed operation on a serial device. It matches its Kind
// ([ErrDeviceAbsent], [ErrDeviceBroken] or [ErrPermission]) and its cause with errors.Is.
type SerialError struct {
	Op     string // "open" or "read"
	Device string // the configured device path
	Kind   error  // ErrDeviceAbsent, ErrDeviceBroken or ErrPermission
	Err    error  // the cause, usually an *fs.PathError
}

// Error returns e.g. "gnss: device absent: open /dev/ttyACM0: no such file or directory".
func (e *SerialError) Error() string {
	s := e.Kind.Error() + ": " + e.Err.Error()
	if e.Kind == ErrPermission {
		s += " (are you a member of group 'dialout'?)"
	}
	return s
}

// Unwrap returns the kind and the cause, so errors.Is matches either.
func (e *SerialError) Unwrap() []error { return []error{e.Kind, e.Err} }

// serialPort is the part of *serial.Port (github.com/tarm/serial) the source uses.
type serialPort interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
}

// serialOpen opens the device; tests swap it for a fake and restore it with t.Cleanup.
var serialOpen = serialOpenPort

// Serial is a [Source] reading a GNSS receiver on a serial line (UART, USB CDC-ACM,
// USB-serial bridge). When the device disappears or fails it closes it and reopens it with
// exponential backoff; Read keeps retrying until Close, so the caller sees one endless stream.
type Serial struct {
	cfg    SerialConfig
	log    *slog.Logger
	sleep  func(context.Context, time.Duration) error
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex // guards port and lastErr against Close and LastError
	port    serialPort
	lastErr error

	// Owned by the Read goroutine.
	backoff  time.Duration // next wait between attempts
	waited   bool          // an attempt has been made: later attempts wait first
	lost     bool          // the last open device was lost and not reopened yet
	fresh    bool          // reopened, no data yet: backoff is reset on the first byte
	loggedAs error         // kind of the open failure logged for the current outage

	opens, disconnects, reconnects, openFailures atomic.Uint64
}

// NewSerial checks cfg and returns a source for the device. It does not open the device:
// the first Read does, so a receiver that is absent at boot is waited for like a lost one.
func NewSerial(cfg SerialConfig) (*Serial, error) {
	if cfg.Device == "" {
		return nil, errors.New("gnss: serial: no device configured")
	}
	if cfg.Baud == 0 {
		cfg.Baud = DefaultBaud
	}
	if !serialBaudOK(cfg.Baud) {
		return nil, fmt.Errorf("gnss: serial %s: unsupported baud rate %d (use a standard rate such as 4800, 9600, 38400, 115200)", cfg.Device, cfg.Baud)
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = max(DefaultBackoffMax, cfg.BackoffMin)
	}
	switch {
	case cfg.ReadTimeout < 0 || cfg.ReadTimeout > maxReadTimeout:
		return nil, fmt.Errorf("gnss: serial %s: read timeout %v outside (0, %v]", cfg.Device, cfg.ReadTimeout, maxReadTimeout)
	case cfg.BackoffMin < 0 || cfg.BackoffMax < cfg.BackoffMin:
		return nil, fmt.Errorf("gnss: serial %s: backoff %v..%v is not a range of positive durations", cfg.Device, cfg.BackoffMin, cfg.BackoffMax)
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("gnss: serial %s: negative max attempts %d", cfg.Device, cfg.MaxAttempts)
	}
	s := &Serial{cfg: cfg, log: cfg.Logger, sleep: cfg.Sleep, backoff: cfg.BackoffMin}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.sleep == nil {
		s.sleep = sourceSleep
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Read implements [Source]. It opens the device if needed, waits up to ReadTimeout per read
// of the device, and returns as soon as at least one byte arrived. On a lost device it logs,
// counts and reopens with backoff without returning. It returns [ErrClosed] after Close, and
// a *SerialError only when MaxAttempts consecutive opens failed.
//
// Read does not allocate while the device works; the caller owns p.
func (s *Serial) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if s.ctx.Err() != nil {
			return 0, ErrClosed
		}
		s.mu.Lock()
		port := s.port
		s.mu.Unlock()
		if port == nil {
			var err error
			if port, err = s.connect(); err != nil {
				return 0, err
			}
		}
		n, err := port.Read(p)
		if n > 0 {
			if s.fresh {
				s.fresh = false
				s.backoff = s.cfg.BackoffMin
			}
			return n, nil
		}
		if s.ctx.Err() != nil {
			return 0, ErrClosed
		}
		if err == nil || err == io.EOF {
			// A read that returns nothing is either VTIME expiring on an idle line or a
			// hung-up terminal (USB receiver unplugged, pty master closed), which reads as
			// end of file forever. A zero-length write transmits nothing on a live line and
			// fails with EIO on a hung-up one.
			_, werr := port.Write(nil)
			if werr == nil {
				continue
			}
			err = fmt.Errorf("%s hung up: %w", s.cfg.Device, werr)
		}
		s.drop(port, err)
	}
}

// drop closes a port that failed, counts and logs the loss once.
func (s *Serial) drop(port serialPort, cause error) {
	err := s.deviceError("read", cause)
	s.mu.Lock()
	mine := s.port == port
	if mine {
		s.port = nil
	}
	s.lastErr = err
	s.mu.Unlock()
	if mine {
		port.Close()
	}
	s.disconnects.Add(1)
	s.lost, s.fresh, s.loggedAs = true, false, nil
	s.log.Warn("gnss: serial device lost, reconnecting", "device", s.cfg.Device, "err", err)
}

// connect opens the device, waiting with backoff between failed attempts.
func (s *Serial) connect() (serialPort, error) {
	for failures := 0; ; {
		if s.waited {
			if s.sleep(s.ctx, s.backoff) != nil {
				return nil, ErrClosed
			}
			s.backoff = min(2*s.backoff, s.cfg.BackoffMax)
		}
		s.waited = true
		port, err := serialOpen(s.cfg.Device, s.cfg.Baud, s.cfg.ReadTimeout)
		if err == nil {
			s.mu.Lock()
			if s.ctx.Err() != nil {
				s.mu.Unlock()
				port.Close()
				return nil, ErrClosed
			}
			s.port = port
			s.mu.Unlock()
			s.opens.Add(1)
			s.fresh = true
			if s.lost {
				s.lost = false
				s.reconnects.Add(1)
				s.log.Info("gnss: serial device back", "device", s.cfg.Device, "failed_attempts", failures)
			} else if s.loggedAs != nil {
				s.log.Info("gnss: serial device opened", "device", s.cfg.Device, "failed_attempts", failures)
			}
			s.loggedAs = nil
			return port, nil
		}
		failures++
		s.openFailures.Add(1)
		e := s.deviceError("open", err)
		s.mu.Lock()
		s.lastErr = e
		s.mu.Unlock()
		if s.loggedAs != e.Kind {
			s.loggedAs = e.Kind
			s.log.Error("gnss: cannot open serial device, retrying", "device", s.cfg.Device, "err", e)
		}
		if s.cfg.MaxAttempts > 0 && failures >= s.cfg.MaxAttempts {
			return nil, e
		}
		if s.ctx.Err() != nil {
			return nil, ErrClosed
		}
	}
}

// deviceError classifies cause as absent, forbidden or broken.
func (s *Serial) deviceError(op string, cause error) *SerialError {
	kind := ErrDeviceBroken
	switch {
	case errors.Is(cause, fs.ErrNotExist), errors.Is(cause, syscall.ENODEV), errors.Is(cause, syscall.ENXIO):
		kind = ErrDeviceAbsent
	case errors.Is(cause, fs.ErrPermission):
		kind = ErrPermission
	}
	return &SerialError{Op: op, Device: s.cfg.Device, Kind: kind, Err: cause}
}

// Close implements [Source]. It releases the device and makes a pending Read return
// [ErrClosed] within ReadTimeout, or at once if Read is waiting to retry.
func (s *Serial) Close() error {
	s.cancel()
	s.mu.Lock()
	port := s.port
	s.port = nil
	s.mu.Unlock()
	if port == nil {
		return nil
	}
	if err := port.Close(); err != nil {
		return fmt.Errorf("gnss: close %s: %w", s.cfg.Device, err)
	}
	return nil
}

// Stats returns the source's counters. It is safe to call from any goroutine.
func (s *Serial) Stats() SerialStats {
	return SerialStats{
		Opens:        s.opens.Load(),
		Disconnects:  s.disconnects.Load(),
		Reconnects:   s.reconnects.Load(),
		OpenFailures: s.openFailures.Load(),
	}
}

// LastError returns the most recent device error (a *SerialError), or nil if there was none.
// It stays set after the device came back, so a status page can say what went wrong.
func (s *Serial) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// serialBaudOK reports whether baud is one of the rates termios defines (B50 ... B4000000),
// the only ones the Linux driver accepts without the BOTHER extension.
func serialBaudOK(baud int) bool {
	switch baud {
	case 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
		57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
		2000000, 2500000, 3000000, 3500000, 4000000:
		return true
	}
	return false
}
