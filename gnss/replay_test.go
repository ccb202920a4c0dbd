package gnss_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
)

// fakeClock is a clock whose Sleep advances it at once and records the wait.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) paced(cfg gnss.ReplayConfig) gnss.ReplayConfig {
	cfg.Pace, cfg.Now, cfg.Sleep = true, c.Now, c.Sleep
	return cfg
}

// timedCapture has sentences with and without times, every time-bearing type, a jump over
// MaxGap and a midnight.
var timedCapture = strings.Join([]string{
	"# a gpsd-style comment line",
	sim.Sentence("GPGGA,235958.00,3954.252000,N,11624.444000,E,1,08,0.90,44.00,M,0.0,M,,"),
	sim.Sentence("GPGSA,A,3,01,02,03,04,05,06,07,08,,,,,1.60,0.90,1.30"),
	sim.Sentence("GPRMC,235958.00,A,3954.252000,N,11624.444000,E,1.000,0.00,251126,,,A"),
	sim.Sentence("GNGNS,235959.00,3954.252000,N,11624.444000,E,AA,08,0.9,44.0,0.0,,"),      // +1 s
	sim.Sentence("GPGSV,1,1,01,01,40,083,46"),                                              // no time
	sim.Sentence("GPGLL,3954.252000,N,11624.444000,E,235959.50,A,A"),                       // +0.5 s
	sim.Sentence("GPZDA,000001.25,26,11,2026,00,00"),                                       // +1.75 s over midnight
	sim.Sentence("GPGGA,000101.25,3954.252000,N,11624.444000,E,1,08,0.90,44.00,M,0.0,M,,"), // +60 s: capped
	sim.Sentence("GPGGA,000101.00,3954.252000,N,11624.444000,E,1,08,0.90,44.00,M,0.0,M,,"), // backwards: no wait
	sim.Sentence("GPGGA,000102.00,3954.252000,N,11624.444000,E,1,08,0.90,44.00,M,0.0,M,,"), // +1 s
}, "\r\n") + "\r\n"

func TestReplayPaced(t *testing.T) {
	tests := []struct {
		name  string
		cfg   gnss.ReplayConfig
		waits []time.Duration
	}{
		{"real time", gnss.ReplayConfig{MaxGap: 3 * time.Second},
			[]time.Duration{time.Second, 500 * time.Millisecond, 1750 * time.Millisecond, 3 * time.Second, time.Second}},
		{"double speed", gnss.ReplayConfig{Speed: 2, MaxGap: 3 * time.Second},
			[]time.Duration{500 * time.Millisecond, 250 * time.Millisecond, 875 * time.Millisecond, 1500 * time.Millisecond, 500 * time.Millisecond}},
		{"default max gap", gnss.ReplayConfig{},
			[]time.Duration{time.Second, 500 * time.Millisecond, 1750 * time.Millisecond, gnss.DefaultReplayMaxGap, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			r, err := gnss.NewReplay(strings.NewReader(timedCapture), clock.paced(tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			buf := make([]byte, 7) // smaller than a line: lines come out in pieces
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
			}
			if string(got) != timedCapture {
				t.Errorf("replayed bytes differ from the capture")
			}
			if !slices.Equal(clock.sleeps, tt.waits) {
				t.Errorf("waits %v, want %v", clock.sleeps, tt.waits)
			}
		})
	}
}

// Pacing follows the capture's schedule, not the sum of the waits: a reader that falls behind
// gets the following lines without waiting until it has caught up.
func TestReplayPacedNoDrift(t *testing.T) {
	clock := newFakeClock()
	capture := ""
	for s := range 5 {
		capture += sim.Sentence("GPGGA,12000" + string(rune('0'+s)) + ".00,,,,,0,00,,,M,,M,,")
	}
	r, err := gnss.NewReplay(strings.NewReader(capture), clock.paced(gnss.ReplayConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128)
	for i := 0; ; i++ {
		if _, err := r.Read(buf); err == io.EOF {
			break
		}
		if i == 1 {
			clock.now = clock.now.Add(2500 * time.Millisecond) // the consumer stalls
		}
	}
	// Lines at 0, 1, 2, 3, 4 s; the stall after the line at 1 s puts the clock at 3.5 s.
	if want := []time.Duration{time.Second, 500 * time.Millisecond}; !slices.Equal(clock.sleeps, want) {
		t.Errorf("waits %v, want %v", clock.sleeps, want)
	}
}

func TestReplayLoop(t *testing.T) {
	capture := sim.Sentence("GPGGA,120000.00,,,,,0,00,,,M,,M,,") +
		sim.Sentence("GPGSA,A,1,,,,,,,,,,,,,,,") +
		sim.Sentence("GPGGA,120000.20,,,,,0,00,,,M,,M,,")
	clock := newFakeClock()
	r, err := gnss.NewReplay(strings.NewReader(capture), clock.paced(gnss.ReplayConfig{Loop: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make([]byte, 3*len(capture))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("ReadFull: %v", err)
	}
	if want := strings.Repeat(capture, 3); string(got) != want {
		t.Errorf("looped replay:\n%s\nwant\n%s", got, want)
	}
	// 0.2 s inside each pass, and one more 0.2 s step from the end of a pass to the start of the next.
	if want := slices.Repeat([]time.Duration{200 * time.Millisecond}, 5); !slices.Equal(clock.sleeps, want) {
		t.Errorf("waits %v, want %v", clock.sleeps, want)
	}

	unpaced, err := gnss.NewReplay(strings.NewReader(capture), gnss.ReplayConfig{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	got = make([]byte, 5*len(capture)+3)
	if _, err := io.ReadFull(unpaced, got); err != nil || !bytes.HasPrefix([]byte(strings.Repeat(capture, 6)), got) {
		t.Errorf("unpaced loop: %v, %q", err, got)
	}
}

func TestReplayErrors(t *testing.T) {
	empty, err := gnss.NewReplay(strings.NewReader(""), gnss.ReplayConfig{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := empty.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("looping an empty capture: %d, %v; want io.EOF", n, err)
	}
	if _, err := gnss.NewReplay(iotest.OneByteReader(strings.NewReader("x")), gnss.ReplayConfig{Loop: true}); err == nil {
		t.Error("Loop over a reader that cannot seek was accepted")
	}
	if _, err := gnss.NewReplay(strings.NewReader("x"), gnss.ReplayConfig{Speed: -1}); err == nil {
		t.Error("negative speed accepted")
	}
	_, err = gnss.OpenReplay(filepath.Join(t.TempDir(), "missing.log"), gnss.ReplayConfig{})
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "gnss: replay: ") {
		t.Errorf("OpenReplay(missing) = %v, want a gnss: not-exist error", err)
	}
	broken, err := gnss.NewReplay(iotest.ErrReader(errors.New("disk on fire")), gnss.ReplayConfig{Pace: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := broken.Read(make([]byte, 8)); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Read of a failing capture = %v", err)
	}
}

// Close ends a paced wait at once.
func TestReplayCloseDuringPacing(t *testing.T) {
	capture := sim.Sentence("GPGGA,120000.00,,,,,0,00,,,M,,M,,") + sim.Sentence("GPGGA,120004.00,,,,,0,00,,,M,,M,,")
	waiting := make(chan struct{})
	r, err := gnss.NewReplay(strings.NewReader(capture), gnss.ReplayConfig{Pace: true, Sleep: func(ctx context.Context, d time.Duration) error {
		close(waiting)
		<-ctx.Done()
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(buf)
		done <- err
	}()
	<-waiting
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; err != gnss.ErrClosed {
		t.Errorf("Read = %v, want ErrClosed", err)
	}
	if _, err := r.Read(buf); err != gnss.ErrClosed {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
}

// Every gpsd capture (comments, binary noise, odd line ends included) replays byte for byte,
// paced or not.
func TestReplayGpsdCaptures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "gpsd", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	for _, name := range files {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, pace := range []bool{false, true} {
			clock := newFakeClock()
			cfg := gnss.ReplayConfig{Pace: pace, Now: clock.Now, Sleep: clock.Sleep}
			r, err := gnss.OpenReplay(name, cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := r.Close(); err != nil {
				t.Errorf("%s: Close: %v", name, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s (pace %v): replay differs from the file", filepath.Base(name), pace)
			}
			var waited time.Duration
			for _, d := range clock.sleeps {
				waited += d
			}
			if !pace && waited > 0 {
				t.Errorf("%s: unpaced replay waited %v", filepath.Base(name), waited)
			}
			if pace && filepath.Base(name) == "beidou-bd.log" && waited != 9*time.Second {
				// Its sentence times run from 07:41:50.799 to 07:41:59.799.
				t.Errorf("%s: paced replay waited %v, want 9s", filepath.Base(name), waited)
			}
		}
	}
}

func BenchmarkReplayRead(b *testing.B) {
	capture, err := os.ReadFile(filepath.Join("testdata", "gpsd", "beidou-bd.log"))
	if err != nil {
		b.Fatal(err)
	}
	clock := newFakeClock()
	r, err := gnss.NewReplay(bytes.NewReader(capture), clock.paced(gnss.ReplayConfig{Loop: true}))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256)
	b.SetBytes(int64(len(capture)))
	b.ReportAllocs()
	for b.Loop() {
		for n := 0; n < len(capture); {
			m, err := r.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			n += m
		}
		clock.sleeps = clock.sleeps[:0]
	}
}
