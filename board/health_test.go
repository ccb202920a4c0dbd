package board_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func TestHealthKicksOnlyWhileHealthy(t *testing.T) {
	clk := boardtest.NewClock(t0)
	wd := &boardtest.Watchdog{Timeout: 30 * time.Second}
	sd := &boardtest.Notifier{Watchdog: 10 * time.Second}
	h := board.NewHealth(board.HealthConfig{Clock: clk, Kickers: []board.Kicker{wd, sd}})
	if h.Interval() != 5*time.Second {
		t.Errorf("Interval = %v, want half of WatchdogSec=10s", h.Interval())
	}
	gnss := h.Beat("gnss", 3*time.Second)
	var storageErr error
	h.Probe("storage", func() error { return storageErr })

	steps := []struct {
		name    string
		do      func()
		healthy bool
		problem string
	}{
		{"registration counts as a beat", func() {}, true, ""},
		{"fixes flowing", func() { clk.Advance(2 * time.Second); gnss.OK() }, true, ""},
		{"fixes stop", func() { clk.Advance(4 * time.Second) }, false, "gnss: stale: no report for 4s (limit 3s)"},
		{"explicit no-fix state", func() { gnss.OK() }, true, ""},
		{"storage not writable", func() { storageErr = syscall.EROFS }, false, "storage: read-only file system"},
		{"storage back, decoder failing", func() { storageErr = nil; gnss.Fail(errors.New("serial port gone")) }, false, "gnss: serial port gone"},
		{"decoder back", func() { gnss.OK() }, true, ""},
	}
	kicks := 0
	for _, s := range steps {
		s.do()
		r := h.Check()
		if r.Healthy != s.healthy {
			t.Fatalf("%s: healthy = %v, want %v (%v)", s.name, r.Healthy, s.healthy, r)
		}
		if s.name == "fixes stop" && !errors.Is(r.Problems[0].Err, board.ErrStale) {
			t.Errorf("stale beat error %v is not ErrStale", r.Problems[0].Err)
		}
		if s.problem != "" && !strings.Contains(r.String(), s.problem) {
			t.Errorf("%s: report %q lacks %q", s.name, r, s.problem)
		}
		if s.healthy {
			kicks++
		}
		if wd.Kicks() != kicks {
			t.Fatalf("%s: %d hardware kicks, want %d", s.name, wd.Kicks(), kicks)
		}
		if h.Last().String() != r.String() {
			t.Errorf("Last = %q, want %q", h.Last(), r)
		}
	}
	if got := len(sd.Ops()); got != kicks {
		t.Errorf("%d WATCHDOG=1, want %d", got, kicks)
	}
}

func TestHealthNoChecksNeverKicks(t *testing.T) {
	wd := &boardtest.Watchdog{Want: []string{"close"}}
	h := board.NewHealth(board.HealthConfig{Clock: boardtest.NewClock(t0), Kickers: []board.Kicker{wd}})
	if r := h.Check(); r.Healthy || r.String() != "unhealthy: health: no checks registered; refusing to kick blindly" {
		t.Errorf("report %q, want unhealthy without checks", r)
	}
	if err := wd.Close(); err != nil {
		t.Error(err)
	}
}

// TestHealthAbsentWatchdog: a watchdog that failed to open is kicked, fails, is logged
// once, and does not make the pipeline unhealthy.
func TestHealthAbsentWatchdog(t *testing.T) {
	var log bytes.Buffer
	absent := &boardtest.Watchdog{Err: &board.DeviceError{Part: "watchdog", Op: "open", Path: "/dev/watchdog", Err: syscall.ENOENT}}
	h := board.NewHealth(board.HealthConfig{
		Clock:   boardtest.NewClock(t0),
		Kickers: []board.Kicker{absent},
		Logger:  slog.New(slog.NewTextHandler(&log, nil)),
	})
	h.Probe("storage", func() error { return nil })
	for range 3 {
		if r := h.Check(); !r.Healthy {
			t.Fatal(r)
		}
	}
	if n := strings.Count(log.String(), "watchdog kick failed"); n != 1 {
		t.Errorf("kick failure logged %d times, want once:\n%s", n, log.String())
	}
	if n := strings.Count(log.String(), "health ok"); n != 1 {
		t.Errorf("state logged %d times, want once", n)
	}
}

// TestHealthLogsChangesOnly: a check that stays stale is logged once, though its age grows.
func TestHealthLogsChangesOnly(t *testing.T) {
	var log bytes.Buffer
	clk := boardtest.NewClock(t0)
	h := board.NewHealth(board.HealthConfig{Clock: clk, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	b := h.Beat("gnss", time.Second)
	for range 5 {
		clk.Advance(2 * time.Second)
		h.Check()
	}
	b.OK()
	h.Check()
	if n := strings.Count(log.String(), "health failing"); n != 1 {
		t.Errorf("failing state logged %d times, want once:\n%s", n, log.String())
	}
	if n := strings.Count(log.String(), "health ok"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, log.String())
	}
	if h.Last().String() != "ok" {
		t.Errorf("Last = %q", h.Last())
	}
}

func TestHealthRun(t *testing.T) {
	clk := boardtest.NewClock(t0)
	wd := &boardtest.Watchdog{}
	h := board.NewHealth(board.HealthConfig{Clock: clk, Kickers: []board.Kicker{wd}, Interval: time.Second})
	beat := h.Beat("gnss", 1500*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	for i := range 5 {
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			beat.OK()
		}
		clk.Advance(time.Second)
	}
	clk.BlockUntil(ctx, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Checks at 0..5 s; beats at 0 and 1 s keep it healthy until 2.5 s: kicks at 0, 1, 2.
	if wd.Kicks() != 3 {
		t.Errorf("%d kicks, want 3", wd.Kicks())
	}
}

func TestBeatOKAllocs(t *testing.T) {
	h := board.NewHealth(board.HealthConfig{})
	b := h.Beat("gnss", time.Second)
	if n := testing.AllocsPerRun(1000, b.OK); n != 0 {
		t.Errorf("Beat.OK allocates %v times, want 0", n)
	}
}

func BenchmarkBeatOK(b *testing.B) {
	h := board.NewHealth(board.HealthConfig{})
	beat := h.Beat("gnss", time.Second)
	b.ReportAllocs()
	for b.Loop() {
		beat.OK()
	}
}

func TestHealthIntervalClamped(t *testing.T) {
	for _, tt := range []struct {
		name     string
		interval time.Duration
		kickers  []board.Kicker
		want     time.Duration
	}{
		{"default", 0, nil, board.DefaultHealthInterval},
		{"systemd WatchdogSec=10", 0, []board.Kicker{&boardtest.Notifier{Watchdog: 10 * time.Second}}, 5 * time.Second},
		{"bcm2835 watchdog clamped to 3s", time.Minute, []board.Kicker{&boardtest.Watchdog{Timeout: 3 * time.Second}, &boardtest.Notifier{}}, 1500 * time.Millisecond},
		{"explicit shorter", time.Second, []board.Kicker{&boardtest.Watchdog{Timeout: 30 * time.Second}}, time.Second},
	} {
		h := board.NewHealth(board.HealthConfig{Interval: tt.interval, Kickers: tt.kickers})
		if h.Interval() != tt.want {
			t.Errorf("%s: Interval = %v, want %v", tt.name, h.Interval(), tt.want)
		}
	}
}
