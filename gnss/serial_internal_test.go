package gnss

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serRead is one scripted read of a serFakePort: data, or a zero read with err.
type serRead struct {
	data string
	err  error
}

// serFakePort is a serial port that plays a script of reads. Once the script is done it
// behaves like a hung-up terminal: reads return io.EOF and writes return EIO.
type serFakePort struct {
	reads  []serRead
	closed bool
}

func (p *serFakePort) Read(b []byte) (int, error) {
	if p.closed {
		return 0, fs.ErrClosed
	}
	if len(p.reads) == 0 {
		return 0, io.EOF
	}
	r := p.reads[0]
	p.reads = p.reads[1:]
	return copy(b, r.data), r.err
}

// Write is the hang-up probe: it fails once the script is exhausted.
func (p *serFakePort) Write(b []byte) (int, error) {
	if p.closed || len(p.reads) == 0 {
		return 0, &fs.PathError{Op: "write", Path: "/dev/fake", Err: syscall.EIO}
	}
	return len(b), nil
}

func (p *serFakePort) Close() error {
	if p.closed {
		return fs.ErrClosed
	}
	p.closed = true
	return nil
}

// serOpens swaps serialOpen for a script: each open takes the next port or error. Running
// out of script fails the test.
func serOpens(t *testing.T, script ...any) *[]*serFakePort {
	t.Helper()
	var opened []*serFakePort
	saved := serialOpen
	t.Cleanup(func() {
		serialOpen = saved
		for i, p := range opened {
			if !p.closed {
				t.Errorf("port %d left open", i)
			}
		}
	})
	serialOpen = func(dev string, baud int, timeout time.Duration) (serialPort, error) {
		if len(script) == 0 {
			t.Fatalf("unexpected open of %s", dev)
		}
		next := script[0]
		script = script[1:]
		switch v := next.(type) {
		case syscall.Errno:
			return nil, &fs.PathError{Op: "open", Path: dev, Err: v}
		case *serFakePort:
			opened = append(opened, v)
			return v, nil
		}
		panic("BUG: bad script entry")
	}
	return &opened
}

// serLog records log messages.
type serLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *serLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *serLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (l *serLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *serLog) WithGroup(string) slog.Handler      { return l }
func (l *serLog) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// serSleeps records the backoff waits without waiting.
type serSleeps struct{ d []time.Duration }

func (s *serSleeps) sleep(ctx context.Context, d time.Duration) error {
	s.d = append(s.d, d)
	return ctx.Err()
}

func TestSerialBackoffReconnect(t *testing.T) {
	first := &serFakePort{reads: []serRead{
		{data: "abc"},
		{err: io.EOF}, // VTIME expired on an idle line: the probe write succeeds
		{data: "def"},
		{err: &fs.PathError{Op: "read", Path: "/dev/fake", Err: syscall.EIO}},
	}}
	second := &serFakePort{reads: []serRead{{data: "xyz"}, {data: "!"}}}
	opened := serOpens(t, syscall.ENOENT, syscall.ENOENT, first, syscall.ENODEV, syscall.ENOENT, syscall.ENOENT, second)
	var sleeps serSleeps
	var log serLog
	s, err := NewSerial(SerialConfig{
		Device: "/dev/fake", BackoffMin: time.Second, BackoffMax: 3 * time.Second,
		Sleep: sleeps.sleep, Logger: slog.New(&log),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 16)
	for range 4 {
		n, err := s.Read(buf)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		got = append(got, string(buf[:n]))
	}
	if want := []string{"abc", "def", "xyz", "!"}; !slices.Equal(got, want) {
		t.Errorf("reads %q, want %q", got, want)
	}
	// Boot: open at once, then 1 s, 2 s. Loss: 1 s (reset by data), then 2 s, 3 s (cap), 3 s.
	wantSleeps := []time.Duration{1 * time.Second, 2 * time.Second, 1 * time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	if !slices.Equal(sleeps.d, wantSleeps) {
		t.Errorf("backoff waits %v, want %v", sleeps.d, wantSleeps)
	}
	want := SerialStats{Opens: 2, Disconnects: 1, Reconnects: 1, OpenFailures: 5}
	if st := s.Stats(); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	if err := s.LastError(); !errors.Is(err, ErrDeviceAbsent) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LastError = %v, want device absent, not exist", err)
	}
	wantLog := []string{
		"ERROR gnss: cannot open serial device, retrying",
		"INFO gnss: serial device opened",
		"WARN gnss: serial device lost, reconnecting",
		"ERROR gnss: cannot open serial device, retrying",
		"INFO gnss: serial device back",
	}
	if msgs := log.messages(); !slices.Equal(msgs, wantLog) {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(wantLog, "\n"))
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n, err := s.Read(buf); n != 0 || err != ErrClosed {
		t.Errorf("Read after Close = %d, %v; want ErrClosed", n, err)
	}
	if !(*opened)[0].closed {
		t.Error("lost port not closed")
	}
}

func TestSerialHangUp(t *testing.T) {
	// After "abc" the script ends: the next read is a zero read and the probe fails, as on a
	// pty whose master closed or a USB adapter that was pulled.
	serOpens(t, &serFakePort{reads: []serRead{{data: "abc"}}}, syscall.ENOENT)
	s, err := NewSerial(SerialConfig{Device: "/dev/fake", MaxAttempts: 1, Sleep: new(serSleeps).sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, 8)
	if n, err := s.Read(buf); n != 3 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	_, err = s.Read(buf)
	if !errors.Is(err, ErrDeviceAbsent) {
		t.Errorf("Read after hang-up and failed reopen = %v, want ErrDeviceAbsent", err)
	}
	if st := s.Stats(); st.Disconnects != 1 || st.OpenFailures != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestSerialOpenErrors(t *testing.T) {
	tests := []struct {
		errno   syscall.Errno
		kind    error
		message string
	}{
		{syscall.ENOENT, ErrDeviceAbsent, "gnss: device absent: open /dev/fake: no such file or directory"},
		{syscall.ENXIO, ErrDeviceAbsent, "gnss: device absent: open /dev/fake: no such device or address"},
		{syscall.EACCES, ErrPermission, "gnss: permission denied: open /dev/fake: permission denied (are you a member of group 'dialout'?)"},
		{syscall.EBUSY, ErrDeviceBroken, "gnss: device broken: open /dev/fake: device or resource busy"},
		{syscall.ENOTTY, ErrDeviceBroken, "gnss: device broken: open /dev/fake: inappropriate ioctl for device"},
	}
	for _, tt := range tests {
		t.Run(tt.errno.Error(), func(t *testing.T) {
			serOpens(t, tt.errno, tt.errno)
			var log serLog
			s, err := NewSerial(SerialConfig{Device: "/dev/fake", MaxAttempts: 2, Sleep: new(serSleeps).sleep, Logger: slog.New(&log)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.Read(make([]byte, 8))
			var se *SerialError
			if !errors.As(err, &se) || se.Op != "open" || se.Device != "/dev/fake" {
				t.Fatalf("Read = %#v, want a *SerialError for open /dev/fake", err)
			}
			if !errors.Is(err, tt.kind) || !errors.Is(err, tt.errno) {
				t.Errorf("Read = %v, want errors.Is %v and %v", err, tt.kind, tt.errno)
			}
			if err.Error() != tt.message {
				t.Errorf("message %q, want %q", err.Error(), tt.message)
			}
			if n := len(log.messages()); n != 1 {
				t.Errorf("%d log records for 2 failures of one kind, want 1", n)
			}
			if st := s.Stats(); st.OpenFailures != 2 || st.Opens != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestSerialCloseDuringBackoff(t *testing.T) {
	serOpens(t, syscall.ENOENT)
	waiting := make(chan struct{})
	s, err := NewSerial(SerialConfig{Device: "/dev/fake", Sleep: func(ctx context.Context, d time.Duration) error {
		close(waiting)
		<-ctx.Done()
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := s.Read(make([]byte, 8))
		done <- err
	}()
	<-waiting
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; err != ErrClosed {
		t.Errorf("Read = %v, want ErrClosed", err)
	}
}

func TestNewSerialConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  SerialConfig
		ok   bool
	}{
		{"defaults", SerialConfig{Device: "/dev/ttyACM0"}, true},
		{"no device", SerialConfig{}, false},
		{"odd baud", SerialConfig{Device: "/dev/ttyS0", Baud: 9601}, false},
		{"4800", SerialConfig{Device: "/dev/ttyS0", Baud: 4800}, true},
		{"negative timeout", SerialConfig{Device: "/dev/ttyS0", ReadTimeout: -1}, false},
		{"timeout over VTIME", SerialConfig{Device: "/dev/ttyS0", ReadTimeout: 26 * time.Second}, false},
		{"max below min", SerialConfig{Device: "/dev/ttyS0", BackoffMin: 2 * time.Second, BackoffMax: time.Second}, false},
		{"min above default max", SerialConfig{Device: "/dev/ttyS0", BackoffMin: time.Minute}, true},
		{"negative attempts", SerialConfig{Device: "/dev/ttyS0", MaxAttempts: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSerial(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("NewSerial(%+v) error = %v, want ok %v", tt.cfg, err, tt.ok)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "gnss: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if s.cfg.Baud == 0 || s.cfg.ReadTimeout == 0 || s.cfg.BackoffMin == 0 || s.cfg.BackoffMax < s.cfg.BackoffMin {
				t.Errorf("defaults not applied: %+v", s.cfg)
			}
			s.Close()
		})
	}
}

// serEndless is a port that always has data, for the allocation test and the benchmark.
type serEndless struct{}

func (serEndless) Read(b []byte) (int, error)  { return len(b), nil }
func (serEndless) Write(b []byte) (int, error) { return len(b), nil }
func (serEndless) Close() error                { return nil }

func TestSerialReadZeroAllocs(t *testing.T) {
	saved := serialOpen
	t.Cleanup(func() { serialOpen = saved })
	serialOpen = func(string, int, time.Duration) (serialPort, error) { return serEndless{}, nil }
	s, err := NewSerial(SerialConfig{Device: "/dev/fake"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, 256)
	s.Read(buf) // open outside the measurement
	if a := testing.AllocsPerRun(1000, func() { s.Read(buf) }); a != 0 {
		t.Errorf("Serial.Read allocates %v times per call, want 0", a)
	}
}

func BenchmarkSerialRead(b *testing.B) {
	saved := serialOpen
	b.Cleanup(func() { serialOpen = saved })
	serialOpen = func(string, int, time.Duration) (serialPort, error) { return serEndless{}, nil }
	s, err := NewSerial(SerialConfig{Device: "/dev/fake"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, 256)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		s.Read(buf)
	}
}
