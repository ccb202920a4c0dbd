package gnss_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/gnsstest"
	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/internal/testtool"
)

var _ gnss.Source = (*gnss.Serial)(nil)
var _ gnss.Source = (*gnss.Replay)(nil)
var _ gnss.Source = (*gnsstest.Playback)(nil)

// hang bounds how long these tests wait for the pty and the reconnect loop before they give
// up; it is a guard against a hung test, never a pass/fail timing condition.
const hang = 30 * time.Second

// Short real backoff for the pty tests, whose outages last as long as the test wants.
const (
	ptyBackoffMin = 2 * time.Millisecond
	ptyBackoffMax = 20 * time.Millisecond
)

func startSim(t *testing.T, cfg sim.Config) *sim.Receiver {
	t.Helper()
	testtool.Need(t, "a pseudo-terminal", sim.PTYAvailable(), "a Linux /dev/ptmx")
	rx, err := sim.New(cfg)
	if err != nil {
		t.Fatalf("sim.New: %v", err)
	}
	t.Cleanup(func() {
		if err := rx.Close(); err != nil {
			t.Errorf("Receiver.Close: %v", err)
		}
	})
	return rx
}

func newSerial(t *testing.T, cfg gnss.SerialConfig) *gnss.Serial {
	t.Helper()
	s, err := gnss.NewSerial(cfg)
	if err != nil {
		t.Fatalf("NewSerial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// readFull reads len(want) bytes from src, closing src if that hangs.
func readFull(t *testing.T, src gnss.Source, n int) []byte {
	t.Helper()
	got := make([]byte, n)
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(src, got)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	case <-time.After(hang):
		src.Close()
		t.Fatalf("no %d bytes within %v", n, hang)
	}
	return got
}

// A real capture goes through the pty and tarm/serial (termios, VTIME reads) unaltered.
func TestSerialOnPTYBytesIntact(t *testing.T) {
	capture, err := os.ReadFile(filepath.Join("testdata", "gpsd", "beidou-bd.log"))
	if err != nil {
		t.Fatal(err)
	}
	rx := startSim(t, sim.Config{Data: capture})
	s := newSerial(t, gnss.SerialConfig{Device: rx.Path(), Baud: 115200})
	got := readFull(t, s, len(capture))
	if !bytes.Equal(got, capture) {
		t.Fatalf("capture arrived altered")
	}
	if st := s.Stats(); st != (gnss.SerialStats{Opens: 1}) {
		t.Errorf("Stats = %+v, want one open and nothing else", st)
	}
	t.Logf("%d bytes of %s through %s -> %s", len(got), "beidou-bd.log", rx.Path(), rx.Slave())
}

// logRecorder keeps the messages logged through it.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }
func (l *logRecorder) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds; it fails the test after hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Unplug the simulated receiver: the source notices the hang-up, keeps retrying while the
// device is absent, and delivers data again after Replug, having counted and logged it once.
func TestSerialOnPTYUnplugReplug(t *testing.T) {
	line := sim.Sentence("GPGSA,A,3,01,02,03,04,05,06,07,08,,,,,1.60,0.90,1.30")
	rx := startSim(t, sim.Config{Data: []byte(line), Loop: true, LineDelay: time.Millisecond})
	var log logRecorder
	s := newSerial(t, gnss.SerialConfig{
		Device: rx.Path(), BackoffMin: ptyBackoffMin, BackoffMax: ptyBackoffMax, Logger: slog.New(&log),
	})

	chunks := make(chan []byte, 1024)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) }) // runs before the Serial's Close, which ends a pending Read
	go func() {
		for {
			buf := make([]byte, 128)
			n, err := s.Read(buf)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case chunks <- buf[:n]:
			case <-stop:
				return
			}
		}
	}()
	next := func() []byte {
		select {
		case c := <-chunks:
			return c
		case err := <-readErr:
			t.Fatalf("Read: %v", err)
		case <-time.After(hang):
			t.Fatalf("no data within %v", hang)
		}
		return nil
	}
	next()

	if err := rx.Unplug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the disconnect", func() bool { return s.Stats().Disconnects == 1 })
	waitFor(t, "a failed reopen", func() bool { return s.Stats().OpenFailures > 0 })
	if err := s.LastError(); !errors.Is(err, gnss.ErrDeviceAbsent) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LastError while unplugged = %v, want device absent", err)
	}
	for len(chunks) > 0 { // bytes read before the hang-up was noticed
		<-chunks
	}

	if err := rx.Replug(); err != nil {
		t.Fatal(err)
	}
	var after []byte
	for bytes.Count(after, []byte("\n")) < 3 {
		after = append(after, next()...)
	}
	st := s.Stats()
	if st.Opens != 2 || st.Disconnects != 1 || st.Reconnects != 1 {
		t.Errorf("Stats = %+v, want 2 opens, 1 disconnect, 1 reconnect", st)
	}
	// The stream resumes where the simulator stopped; every whole line is intact.
	lines := strings.SplitAfter(string(after), "\n")
	for _, l := range lines[1 : len(lines)-1] {
		if l != line {
			t.Errorf("line after replug %q, want %q", l, line)
		}
	}
	if n := log.count("gnss: serial device lost, reconnecting"); n != 1 {
		t.Errorf("logged the loss %d times, want 1", n)
	}
	if n := log.count("gnss: cannot open serial device, retrying"); n != 1 {
		t.Errorf("logged the failed reopen %d times during %d failures, want 1", n, st.OpenFailures)
	}
	if n := log.count("gnss: serial device back"); n != 1 {
		t.Errorf("logged the reconnect %d times, want 1", n)
	}
	t.Logf("stats %+v", st)
}

// Close returns a Read that is waiting on an idle line (inside a VTIME read) promptly.
func TestSerialOnPTYCloseUnblocksRead(t *testing.T) {
	rx := startSim(t, sim.Config{}) // plugged in, silent
	s := newSerial(t, gnss.SerialConfig{Device: rx.Path()})
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 64))
		done <- err
	}()
	waitFor(t, "the open", func() bool { return s.Stats().Opens == 1 })
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != gnss.ErrClosed {
			t.Errorf("Read = %v, want ErrClosed", err)
		}
	case <-time.After(hang):
		t.Fatal("Close did not unblock Read")
	}
}

// A device that never appears: a clear error, counted, logged once; Close ends the wait.
func TestSerialDeviceNeverExists(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "ttyNOPE")
	var log logRecorder
	var mu sync.Mutex
	var waits []time.Duration
	s := newSerial(t, gnss.SerialConfig{
		Device: dev, BackoffMin: time.Second, BackoffMax: 4 * time.Second, Logger: slog.New(&log),
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits = append(waits, d)
			n := len(waits)
			mu.Unlock()
			if n >= 5 {
				<-ctx.Done() // enough retries seen: wait like a real timer until Close
			}
			return ctx.Err()
		},
	})
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 64))
		done <- err
	}()
	waitFor(t, "five failed opens", func() bool { return s.Stats().OpenFailures == 5 })
	err := s.LastError()
	if !errors.Is(err, gnss.ErrDeviceAbsent) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LastError = %v, want ErrDeviceAbsent", err)
	}
	if want := "gnss: device absent: open " + dev + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("LastError = %q, want %q", err, want)
	}
	if n := log.count("gnss: cannot open serial device, retrying"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != gnss.ErrClosed {
			t.Errorf("Read = %v, want ErrClosed", err)
		}
	case <-time.After(hang):
		t.Fatal("Close did not unblock Read")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	if !slices.Equal(waits, want) {
		t.Errorf("backoff waits %v, want %v", waits, want)
	}
}

// With MaxAttempts a one-shot command gets the error at once: absent, or not a terminal.
func TestSerialMaxAttempts(t *testing.T) {
	regular := filepath.Join(t.TempDir(), "not-a-tty")
	if err := os.WriteFile(regular, []byte("$GPGSA"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dev  string
		kind error
	}{
		{"absent", filepath.Join(t.TempDir(), "ttyACM9"), gnss.ErrDeviceAbsent},
		{"regular file", regular, gnss.ErrDeviceBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS != "linux" {
				t.Skipf("serial ports need linux, not %s", runtime.GOOS)
			}
			s := newSerial(t, gnss.SerialConfig{Device: tt.dev, MaxAttempts: 1})
			_, err := s.Read(make([]byte, 8))
			if !errors.Is(err, tt.kind) {
				t.Errorf("Read = %v, want %v", err, tt.kind)
			}
			if err != nil && !strings.Contains(err.Error(), tt.dev) {
				t.Errorf("error %q does not name the device", err)
			}
			t.Logf("%v", err)
		})
	}
}

// The wiring `make run` uses: a paced, looping Replay feeds the simulator, a Serial reads it.
// The fake clock makes the pacing instant; the bytes are the capture, twice and more.
func TestSerialOnPTYFromPacedReplay(t *testing.T) {
	name := filepath.Join("testdata", "gpsd", "beidou-bd.log")
	capture, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	var mu sync.Mutex
	replay, err := gnss.OpenReplay(name, gnss.ReplayConfig{Pace: true, Loop: true, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock.Now()
	}, Sleep: func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		return clock.Sleep(ctx, d)
	}})
	if err != nil {
		t.Fatal(err)
	}
	rx := startSim(t, sim.Config{Source: replay})
	s := newSerial(t, gnss.SerialConfig{Device: rx.Path()})
	got := readFull(t, s, 2*len(capture))
	if want := bytes.Repeat(capture, 2); !bytes.Equal(got, want) {
		t.Fatal("looped capture arrived altered")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(clock.sleeps) == 0 {
		t.Error("the replay was not paced")
	}
}

// Throughput of the real path: pty line discipline, tarm/serial VTIME reads, Serial.Read.
func BenchmarkSerialOnPTY(b *testing.B) {
	testtool.Need(b, "a pseudo-terminal", sim.PTYAvailable(), "a Linux /dev/ptmx")
	capture, err := os.ReadFile(filepath.Join("testdata", "gpsd", "beidou-bd.log"))
	if err != nil {
		b.Fatal(err)
	}
	rx, err := sim.New(sim.Config{Data: capture, Loop: true})
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	s, err := gnss.NewSerial(gnss.SerialConfig{Device: rx.Path()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, len(capture))
	b.SetBytes(int64(len(capture)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.ReadFull(s, buf); err != nil {
			b.Fatal(err)
		}
	}
}
