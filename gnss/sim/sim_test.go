package sim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/internal/testtool"
)

// hang guards the blocking reads of these tests; it is never a pass/fail timing condition.
const hang = 20 * time.Second

func newSim(t *testing.T, cfg sim.Config) *sim.Receiver {
	t.Helper()
	testtool.Need(t, "a pseudo-terminal", sim.PTYAvailable(), "a Linux /dev/ptmx")
	rx, err := sim.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := rx.Close(); err != nil {
			t.Errorf("Receiver.Close: %v", err)
		}
	})
	return rx
}

// openTTY opens the simulator's device without changing its termios, so the bytes pass
// through the simulator's own raw settings.
func openTTY(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.SetReadDeadline(time.Now().Add(hang)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	return f
}

// receive reads len(want) bytes from the simulator's tty, fails unless they are want, and
// waits for the simulator to finish.
func receive(t *testing.T, rx *sim.Receiver, want []byte) {
	t.Helper()
	f := openTTY(t, rx.Path())
	got := make([]byte, len(want))
	if _, err := io.ReadFull(f, got); err != nil {
		t.Fatalf("read %s: %v", rx.Path(), err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("bytes differ from offset %d: got % x, want % x", i, got[i:min(i+16, len(got))], want[i:min(i+16, len(want))])
	}
	<-rx.Done()
}

// Every byte value, CR LF pairs, bare CRs and a long binary run arrive exactly as sent: the
// pty is raw (no ICRNL, no echo eating the buffer, no ISIG on ^C, no IXON on ^S).
func TestSimRawBytes(t *testing.T) {
	var data []byte
	for i := range 256 {
		data = append(data, byte(i))
	}
	data = append(data, "$GPGSA,A,1,,,,,,,,,,,,,,,,*32\r\n\r\r\n\x03\x13\x11\x1a\x04\x7f\x00"...)
	for len(data) < 64<<10 { // more than the pty buffer holds, so writes block and resume
		data = append(data, data...)
	}
	rx := newSim(t, sim.Config{Data: data})
	receive(t, rx, data)
	if n := rx.Written(); n != int64(len(data)) {
		t.Errorf("Written = %d, want %d", n, len(data))
	}
}

func TestSimCaptureLinePaced(t *testing.T) {
	capture, err := os.ReadFile(filepath.Join("..", "testdata", "gpsd", "beidou-bd.log"))
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	rx := newSim(t, sim.Config{
		Data:      capture,
		LineDelay: time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error {
			slept = append(slept, d)
			return nil
		},
	})
	receive(t, rx, capture)
	if lines := bytes.Count(capture, []byte("\n")); len(slept) != lines {
		t.Errorf("%d pauses for %d lines", len(slept), lines)
	}
}

func TestSimUnplugReplug(t *testing.T) {
	rx := newSim(t, sim.Config{Data: []byte("$GPGSA,A,1,,,,,,,,,,,,,,,,*32\r\n"), Loop: true, LineDelay: time.Millisecond})
	first := rx.Slave()
	f := openTTY(t, rx.Path())
	buf := make([]byte, 64)
	if _, err := f.Read(buf); err != nil {
		t.Fatalf("read before unplug: %v", err)
	}
	if err := rx.Unplug(); err != nil {
		t.Fatalf("Unplug: %v", err)
	}
	if err := rx.Unplug(); err == nil {
		t.Error("second Unplug succeeded")
	}
	// A hung-up terminal reads as end of file (after draining) and fails writes with EIO.
	for {
		_, err := f.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read after unplug: %v, want io.EOF", err)
		}
	}
	if _, err := f.Write(nil); !errors.Is(err, syscall.EIO) {
		t.Errorf("write after unplug: %v, want EIO", err)
	}
	if _, err := os.Stat(rx.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(%s) after unplug: %v, want not exist", rx.Path(), err)
	}
	if rx.Slave() != "" {
		t.Errorf("Slave() = %q while unplugged", rx.Slave())
	}
	if err := rx.Replug(); err != nil {
		t.Fatalf("Replug: %v", err)
	}
	if err := rx.Replug(); err == nil {
		t.Error("second Replug succeeded")
	}
	target, err := os.Readlink(rx.Path())
	if err != nil || target != rx.Slave() {
		t.Errorf("link -> %q (%v), want %q", target, err, rx.Slave())
	}
	t.Logf("pty %s, after replug %s", first, rx.Slave())
	g := openTTY(t, rx.Path())
	if n, err := g.Read(buf); err != nil || n == 0 {
		t.Fatalf("read after replug: %d, %v", n, err)
	}
	if rx.Unplugs() != 1 {
		t.Errorf("Unplugs = %d, want 1", rx.Unplugs())
	}
}

func TestSimCloseRemovesDir(t *testing.T) {
	testtool.Need(t, "a pseudo-terminal", sim.PTYAvailable(), "a Linux /dev/ptmx")
	rx, err := sim.New(sim.Config{Data: []byte("x"), Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(rx.Path())
	if err := rx.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(%s) after Close: %v, want not exist", dir, err)
	}
	if err := rx.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSimGivenDir(t *testing.T) {
	dir := t.TempDir()
	rx := newSim(t, sim.Config{Dir: dir, Name: "ttyGNSS", Data: []byte("x")})
	if want := filepath.Join(dir, "ttyGNSS"); rx.Path() != want {
		t.Errorf("Path = %q, want %q", rx.Path(), want)
	}
}

// closeCounter is a reader that counts Close calls.
type closeCounter struct {
	io.Reader
	closes int
}

func (c *closeCounter) Close() error { c.closes++; return nil }

func TestSimSource(t *testing.T) {
	capture, err := os.ReadFile(filepath.Join("..", "testdata", "gpsd", "beidou-bd.log"))
	if err != nil {
		t.Fatal(err)
	}
	src := &closeCounter{Reader: iotest.OneByteReader(bytes.NewReader(capture))}
	rx := newSim(t, sim.Config{Source: src, BytesPerSecond: 1 << 30})
	receive(t, rx, capture)
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	if src.closes != 1 {
		t.Errorf("Source closed %d times, want 1", src.closes)
	}
}

func TestSimSourceError(t *testing.T) {
	testtool.Need(t, "a pseudo-terminal", sim.PTYAvailable(), "a Linux /dev/ptmx")
	rx, err := sim.New(sim.Config{Source: iotest.ErrReader(errors.New("capture unreadable"))})
	if err != nil {
		t.Fatal(err)
	}
	<-rx.Done()
	if err := rx.Close(); err == nil || !strings.Contains(err.Error(), "capture unreadable") {
		t.Errorf("Close = %v, want the source's error", err)
	}
}
