package board_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
)

// TestPowerFilePolled drives a generic file input through a drop and a recovery.
func TestPowerFilePolled(t *testing.T) {
	for _, tt := range []struct {
		name      string
		signal    board.Signal
		activeLow bool
		levels    []string // file content before each poll; the first is read at open
		want      []board.PowerEvent
	}{
		{"power-good", board.SignalPowerGood, false, []string{"1\n", "1\n", "0\n", "0\n", "1\n"}, []board.PowerEvent{board.PowerOK, board.PowerFail, board.PowerOK}},
		{"ignition active low", board.SignalIgnition, true, []string{"0", "1", "0"}, []board.PowerEvent{board.PowerOK, board.IgnitionOff, board.PowerOK}},
		{"starts with power failed", board.SignalPowerGood, false, []string{"0", "1"}, []board.PowerEvent{board.PowerFail, board.PowerOK}},
		// A poll may land between a writer's truncate and its write: the empty or cut read
		// is read again at the next poll, and the watch goes on.
		{"torn writes", board.SignalPowerGood, false, []string{"1\n", "", "0\n", "", "", "1\n", "\n", "0"}, []board.PowerEvent{board.PowerOK, board.PowerFail, board.PowerOK, board.PowerFail}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "power-good")
			set := func(s string) {
				if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			set(tt.levels[0])
			clk := boardtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			p, err := board.OpenPower(board.PowerConfig{File: file, Signal: tt.signal, ActiveLow: tt.activeLow, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx, cancel := context.WithCancel(context.Background())
			events := make(chan board.PowerEvent, 16)
			done := make(chan error)
			go func() { done <- p.Watch(ctx, events) }()
			for _, lvl := range tt.levels[1:] {
				if err := clk.BlockUntil(ctx, 1); err != nil {
					t.Fatal(err)
				}
				set(lvl)
				clk.Advance(board.DefaultPowerPoll)
			}
			clk.BlockUntil(ctx, 1)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			close(events)
			var got []board.PowerEvent
			for ev := range events {
				got = append(got, ev)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPowerFileUnreadable checks that an input that stays unreadable ends the watch with an
// error, after the retries that a torn write gets.
func TestPowerFileUnreadable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "power-good")
	if err := os.WriteFile(file, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	clk := boardtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p, err := board.OpenPower(board.PowerConfig{File: file, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// waiting ends when Watch does, so the test never waits for a poll that will not come.
	waiting, ended := context.WithCancel(context.Background())
	defer ended()
	events := make(chan board.PowerEvent, 4)
	done := make(chan error, 1)
	go func() { done <- p.Watch(context.Background(), events); ended() }()
	if ev := <-events; ev != board.PowerOK {
		t.Fatalf("first event %v, want %v", ev, board.PowerOK)
	}
	if err := os.WriteFile(file, []byte("high"), 0o644); err != nil {
		t.Fatal(err)
	}
	polls := 0
	for clk.BlockUntil(waiting, 1) == nil {
		if polls++; polls > 100 {
			t.Fatal("Watch still running after 100 polls of bad content")
		}
		clk.Advance(board.DefaultPowerPoll)
	}
	err = <-done
	var de *board.DeviceError
	if !errors.As(err, &de) {
		t.Fatalf("Watch = %v after %d polls, want a *board.DeviceError", err, polls)
	}
	if polls < 2 {
		t.Errorf("Watch gave up after %d polls of bad content, want retries", polls)
	}
	t.Logf("Watch ended after %d polls: %v", polls, err)
}

func TestPowerAbsent(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  board.PowerConfig
	}{
		{"nothing configured", board.PowerConfig{}},
		{"no file", board.PowerConfig{File: filepath.Join(t.TempDir(), "missing")}},
		{"no sysfs export", board.PowerConfig{SysfsValue: "/sys/class/gpio/gpio987654/value"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := board.OpenPower(tt.cfg)
			if !errors.Is(err, board.ErrAbsent) {
				t.Fatalf("err = %v, want ErrAbsent", err)
			}
			if p == nil {
				t.Fatal("nil PowerLine; want one whose Watch fails")
			}
			if werr := p.Watch(context.Background(), make(chan board.PowerEvent, 1)); werr != err {
				t.Errorf("Watch = %v, want the open error", werr)
			}
		})
	}
}

func TestPowerBadContent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pg")
	os.WriteFile(file, []byte("high\n"), 0o644)
	_, err := board.OpenPower(board.PowerConfig{File: file})
	if err == nil || errors.Is(err, board.ErrAbsent) {
		t.Errorf("err = %v, want a content error that is not ErrAbsent", err)
	}
}

func TestSignalText(t *testing.T) {
	for _, s := range []board.Signal{board.SignalPowerGood, board.SignalIgnition} {
		var got board.Signal
		if err := got.UnmarshalText([]byte(s.String())); err != nil || got != s {
			t.Errorf("round trip of %v: %v, %v", s, got, err)
		}
	}
	var s board.Signal
	if err := s.UnmarshalText([]byte("acc")); err == nil {
		t.Error("UnmarshalText(acc) succeeded")
	}
}

// TestFakePower checks the fake the daemon's tests use.
func TestFakePower(t *testing.T) {
	p := &boardtest.Power{Events: []board.PowerEvent{board.PowerOK, board.PowerFail}}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan board.PowerEvent)
	go p.Watch(ctx, events)
	got := []board.PowerEvent{<-events, <-events}
	go p.Send(board.IgnitionOff)
	got = append(got, <-events)
	cancel()
	want := []board.PowerEvent{board.PowerOK, board.PowerFail, board.IgnitionOff}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
	short := &boardtest.Power{Events: []board.PowerEvent{board.PowerOK}}
	if err := short.Close(); err == nil {
		t.Error("Close of a fake with undelivered events succeeded")
	}
}
