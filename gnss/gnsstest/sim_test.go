package gnsstest_test

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

	"github.com/geogate/geogate/gnss/gnsstest"
	"github.com/geogate/geogate/internal/testtool"
)

// hang guards the blocking reads of these tests; it is never a pass/fail timing condition.
const hang = 20 * time.Second

func newSim(t *testing.T, cfg gnsstest.SimConfig) *gnsstest.Sim {
	t.Helper()
	testtool.Need(t, "a pseudo-terminal", gnsstest.PTYAvailable(), "a Linux /dev/ptmx")
	sim, err := gnsstest.NewSim(cfg)
	if err != nil {
		t.Fatalf("NewSim: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("Sim.Close: %v", err)
		}
	})
	return sim
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
func receive(t *testing.T, sim *gnsstest.Sim, want []byte) {
	t.Helper()
	f := openTTY(t, sim.Path())
	got := make([]byte, len(want))
	if _, err := io.ReadFull(f, got); err != nil {
		t.Fatalf("read %s: %v", sim.Path(), err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("bytes differ from offset %d: got % x, want % x", i, got[i:min(i+16, len(got))], want[i:min(i+16, len(want))])
	}
	<-sim.Done()
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
	sim := newSim(t, gnsstest.SimConfig{Data: data})
	receive(t, sim, data)
	if n := sim.Written(); n != int64(len(data)) {
		t.Errorf("Written = %d, want %d", n, len(data))
	}
}

func TestSimCaptureLinePaced(t *testing.T) {
	capture, err := os.ReadFile(filepath.Join("..", "testdata", "gpsd", "beidou-bd.log"))
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	sim := newSim(t, gnsstest.SimConfig{
		Data:      capture,
		LineDelay: time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error {
			slept = append(slept, d)
			return nil
		},
	})
	receive(t, sim, capture)
	if lines := bytes.Count(capture, []byte("\n")); len(slept) != lines {
		t.Errorf("%d pauses for %d lines", len(slept), lines)
	}
}

func TestSimUnplugReplug(t *testing.T) {
	sim := newSim(t, gnsstest.SimConfig{Data: []byte("$GPGSA,A,1,,,,,,,,,,,,,,,,*32\r\n"), Loop: true, LineDelay: time.Millisecond})
	first := sim.Slave()
	f := openTTY(t, sim.Path())
	buf := make([]byte, 64)
	if _, err := f.Read(buf); err != nil {
		t.Fatalf("read before unplug: %v", err)
	}
	if err := sim.Unplug(); err != nil {
		t.Fatalf("Unplug: %v", err)
	}
	if err := sim.Unplug(); err == nil {
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
	if _, err := os.Stat(sim.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(%s) after unplug: %v, want not exist", sim.Path(), err)
	}
	if sim.Slave() != "" {
		t.Errorf("Slave() = %q while unplugged", sim.Slave())
	}
	if err := sim.Replug(); err != nil {
		t.Fatalf("Replug: %v", err)
	}
	if err := sim.Replug(); err == nil {
		t.Error("second Replug succeeded")
	}
	target, err := os.Readlink(sim.Path())
	if err != nil || target != sim.Slave() {
		t.Errorf("link -> %q (%v), want %q", target, err, sim.Slave())
	}
	t.Logf("pty %s, after replug %s", first, sim.Slave())
	g := openTTY(t, sim.Path())
	if n, err := g.Read(buf); err != nil || n == 0 {
		t.Fatalf("read after replug: %d, %v", n, err)
	}
	if sim.Unplugs() != 1 {
		t.Errorf("Unplugs = %d, want 1", sim.Unplugs())
	}
}

func TestSimCloseRemovesDir(t *testing.T) {
	testtool.Need(t, "a pseudo-terminal", gnsstest.PTYAvailable(), "a Linux /dev/ptmx")
	sim, err := gnsstest.NewSim(gnsstest.SimConfig{Data: []byte("x"), Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(sim.Path())
	if err := sim.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(%s) after Close: %v, want not exist", dir, err)
	}
	if err := sim.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSimGivenDir(t *testing.T) {
	dir := t.TempDir()
	sim := newSim(t, gnsstest.SimConfig{Dir: dir, Name: "ttyGNSS", Data: []byte("x")})
	if want := filepath.Join(dir, "ttyGNSS"); sim.Path() != want {
		t.Errorf("Path = %q, want %q", sim.Path(), want)
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
	sim := newSim(t, gnsstest.SimConfig{Source: src, BytesPerSecond: 1 << 30})
	receive(t, sim, capture)
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	if src.closes != 1 {
		t.Errorf("Source closed %d times, want 1", src.closes)
	}
}

func TestSimSourceError(t *testing.T) {
	testtool.Need(t, "a pseudo-terminal", gnsstest.PTYAvailable(), "a Linux /dev/ptmx")
	sim, err := gnsstest.NewSim(gnsstest.SimConfig{Source: iotest.ErrReader(errors.New("capture unreadable"))})
	if err != nil {
		t.Fatal(err)
	}
	<-sim.Done()
	if err := sim.Close(); err == nil || !strings.Contains(err.Error(), "capture unreadable") {
		t.Errorf("Close = %v, want the source's error", err)
	}
}
