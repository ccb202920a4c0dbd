package board

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// PowerEvent is a change of the vehicle's power state.
type PowerEvent uint8

// Power events. On PowerFail and IgnitionOff the daemon flushes and fsyncs storage at once
// and accepts no new data until PowerOK.
const (
	// PowerOK: power is good, or the ignition is on. Also the first event when the input
	// reads active at start.
	PowerOK PowerEvent = iota + 1
	// PowerFail: the power-good line dropped; the hold-up capacitor gives milliseconds to
	// a few seconds.
	PowerFail
	// IgnitionOff: the ignition line dropped; the unit will be switched off soon.
	IgnitionOff
)

// String returns "power ok", "power fail" or "ignition off".
func (e PowerEvent) String() string {
	switch e {
	case PowerOK:
		return "power ok"
	case PowerFail:
		return "power fail"
	case IgnitionOff:
		return "ignition off"
	}
	return fmt.Sprintf("PowerEvent(%d)", uint8(e))
}

// Signal says what a power input means, and so which event its inactive level gives.
type Signal uint8

// Signals.
const (
	// SignalPowerGood (the zero value): active while supply power is good; inactive is
	// PowerFail.
	SignalPowerGood Signal = iota
	// SignalIgnition: active while the ignition (terminal 15 / KL15) is on; inactive is
	// IgnitionOff.
	SignalIgnition
)

// String returns "power-good" or "ignition", the names UnmarshalText accepts.
func (s Signal) String() string {
	if s == SignalIgnition {
		return "ignition"
	}
	return "power-good"
}

// UnmarshalText parses "power-good" or "ignition", for TOML config.
func (s *Signal) UnmarshalText(b []byte) error {
	switch string(b) {
	case "power-good":
		*s = SignalPowerGood
	case "ignition":
		*s = SignalIgnition
	default:
		return fmt.Errorf("board: power signal %q: want \"power-good\" or \"ignition\"", b)
	}
	return nil
}

// event maps a logical level to the event it stands for.
func (s Signal) event(active bool) PowerEvent {
	switch {
	case active:
		return PowerOK
	case s == SignalIgnition:
		return IgnitionOff
	}
	return PowerFail
}

// DefaultPowerPoll is the polling period of polled power inputs (sysfs and generic files).
// A supercapacitor hold-up on a telematics unit lasts a few hundred milliseconds; 50 ms
// leaves most of it for the flush.
const DefaultPowerPoll = 50 * time.Millisecond

// PowerInput delivers power events. *PowerLine implements it; boardtest.Power fakes it.
type PowerInput interface {
	// Watch sends the current state, then one event per change, on events until ctx is
	// done (it returns nil then) or the input fails. Sends block: events must be drained.
	Watch(ctx context.Context, events chan<- PowerEvent) error
	Close() error
}

// PowerConfig selects and configures a power input. The first of Chip, SysfsValue and File
// that is set is used; SysfsValue also serves as the fallback when Chip is absent or its
// kernel predates GPIO uAPI v2 (Linux 5.10: the ioctl fails with ENOTTY).
type PowerConfig struct {
	// Chip is a GPIO character device, e.g. "/dev/gpiochip0"; empty means none.
	Chip string
	// Line is the line offset on Chip (as gpioinfo lists it, not a global GPIO number).
	Line uint32
	// Debounce is the kernel debounce period for Chip lines (rounded to microseconds);
	// zero means none.
	Debounce time.Duration
	// SysfsValue is a legacy sysfs GPIO value file, e.g. "/sys/class/gpio/gpio17/value",
	// polled. The line must be exported at boot: under ProtectKernelTunables= geogate
	// cannot write /sys/class/gpio/export. Empty means none.
	SysfsValue string
	// File is a generic input, polled: a file whose content is "0" or "1" (e.g. written
	// by a board-specific helper or an MCU bridge). Empty means none.
	File string
	// Signal says what the input means; the zero value is SignalPowerGood.
	Signal Signal
	// ActiveLow inverts the level: the input is active when it reads 0.
	ActiveLow bool
	// Poll is the polling period of SysfsValue and File; zero means DefaultPowerPoll.
	Poll time.Duration
	// Clock times the polls; nil means SystemClock.
	Clock Clock
}

// levelSource is a binary input: the seam between PowerLine and the hardware.
type levelSource interface {
	// level returns the current logical level (true = active).
	level() (bool, error)
	// next blocks until the level may have changed or ctx is done, and returns it.
	next(ctx context.Context) (bool, error)
	close() error
}

// PowerLine is a power input on a GPIO line or a polled file. It implements PowerInput.
type PowerLine struct {
	name   string      // device or file, for errors
	src    levelSource // nil when err is set
	signal Signal
	err    error // the open error, returned by Watch
}

// OpenPower opens the input cfg selects. With nothing configured, or the selected input
// absent, the error matches ErrAbsent: the daemon logs it once and runs without power-fail
// detection. On error the returned PowerLine is still valid and its Watch returns the error.
func OpenPower(cfg PowerConfig) (*PowerLine, error) {
	p, err := openPower(cfg)
	if err != nil {
		return &PowerLine{name: "(none)", err: err}, err
	}
	return p, nil
}

func openPower(cfg PowerConfig) (*PowerLine, error) {
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPowerPoll
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Chip != "" {
		g, err := openGPIO(cfg.Chip, cfg.Line, cfg.ActiveLow, uint32(cfg.Debounce/time.Microsecond))
		if err == nil {
			return &PowerLine{name: fmt.Sprintf("%s line %d", cfg.Chip, cfg.Line), src: g, signal: cfg.Signal}, nil
		}
		if cfg.SysfsValue == "" || !(errors.Is(err, ErrAbsent) || errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.ENOSYS)) {
			return nil, err
		}
	}
	name := cfg.SysfsValue
	if name == "" {
		name = cfg.File
	}
	if name == "" {
		return nil, fmt.Errorf("board: power input: %w: none configured", ErrAbsent)
	}
	p := &polledSource{path: name, readFile: os.ReadFile, clock: cfg.Clock, every: cfg.Poll, activeLow: cfg.ActiveLow}
	if _, err := p.level(); err != nil {
		return nil, err
	}
	return &PowerLine{name: name, src: p, signal: cfg.Signal}, nil
}

// String names the input, for logs.
func (p *PowerLine) String() string { return "power input " + p.name + " (" + p.signal.String() + ")" }

// Watch implements PowerInput.
func (p *PowerLine) Watch(ctx context.Context, events chan<- PowerEvent) error {
	if p.err != nil {
		return p.err
	}
	last, err := p.src.level()
	if err != nil {
		return p.wrap("read", err)
	}
	if !p.send(ctx, events, p.signal.event(last)) {
		return nil
	}
	for {
		lvl, err := p.src.next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return p.wrap("wait", err)
		}
		if lvl != last {
			last = lvl
			if !p.send(ctx, events, p.signal.event(lvl)) {
				return nil
			}
		}
	}
}

func (p *PowerLine) send(ctx context.Context, events chan<- PowerEvent, ev PowerEvent) bool {
	select {
	case events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *PowerLine) wrap(op string, err error) error {
	var de *DeviceError
	if errors.As(err, &de) {
		return err
	}
	return &DeviceError{Part: "power input", Op: op, Path: p.name, Err: err}
}

// Close releases the line.
func (p *PowerLine) Close() error {
	if p.err != nil {
		return nil
	}
	if err := p.src.close(); err != nil {
		return p.wrap("close", err)
	}
	return nil
}

// polledSource is a levelSource reading a file that holds "0" or "1".
type polledSource struct {
	path      string
	readFile  func(string) ([]byte, error)
	clock     Clock
	every     time.Duration
	activeLow bool
}

func (p *polledSource) level() (bool, error) {
	b, err := p.readFile(p.path)
	if err != nil {
		return false, deviceError("power input", "read", p.path, err, "")
	}
	b = bytes.TrimSpace(b)
	if len(b) != 1 || (b[0] != '0' && b[0] != '1') {
		return false, &DeviceError{Part: "power input", Op: "read", Path: p.path, Err: errors.New("content is not 0 or 1")}
	}
	return (b[0] == '1') != p.activeLow, nil
}

// pollRetries is how many polls in a row may fail to read a level before next reports the
// error. A writer that truncates and then writes (os.WriteFile, a shell's "echo 0 >") leaves
// the file empty for an instant, and a poll may land there: that read is not a fault, and
// the next poll sees the new level. Five polls (250 ms at DefaultPowerPoll) outlast any
// such write; an input that stays unreadable longer is reported.
const pollRetries = 5

func (p *polledSource) next(ctx context.Context) (bool, error) {
	var err error
	for range pollRetries {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-p.clock.After(p.every):
		}
		var lvl bool
		if lvl, err = p.level(); err == nil {
			return lvl, nil
		}
	}
	return false, err
}

func (p *polledSource) close() error { return nil }
