package boardtest_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
)

// notifier is the method set the daemon uses; the fake must keep matching the real one.
type notifier interface {
	Ready() error
	Status(string) error
	Stopping() error
	Kick() error
	WatchdogTimeout() time.Duration
	Enabled() bool
	Close() error
}

var (
	_ notifier = (*board.Notifier)(nil)
	_ notifier = (*boardtest.Notifier)(nil)
)

func TestWatchdogWant(t *testing.T) {
	w := &boardtest.Watchdog{Want: []string{"kick", "kick", "close"}, Err: syscall.EIO}
	if err := w.Kick(); !errors.Is(err, syscall.EIO) {
		t.Errorf("Kick = %v, want the injected EIO", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close accepted one kick where two were wanted")
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
}

func TestNotifierWant(t *testing.T) {
	n := &boardtest.Notifier{Watchdog: 10 * time.Second, Want: []string{"READY=1", "WATCHDOG=1", "STATUS=ok", "STOPPING=1", "close"}}
	n.Ready()
	n.Kick()
	n.Status("ok")
	n.Stopping()
	if err := n.Close(); err != nil {
		t.Error(err)
	}
	quiet := &boardtest.Notifier{Want: []string{"close"}}
	quiet.Kick() // no WatchdogSec: nothing sent, as the real Notifier
	if err := quiet.Close(); err != nil {
		t.Error(err)
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := boardtest.NewClock(start)
	ch := c.After(time.Second)
	if err := c.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(999 * time.Millisecond)
	select {
	case <-ch:
		t.Fatal("timer fired early")
	default:
	}
	c.Advance(time.Millisecond)
	if got := <-ch; !got.Equal(start.Add(time.Second)) {
		t.Errorf("fired at %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.BlockUntil(ctx, 1); err == nil {
		t.Error("BlockUntil with no timers and a cancelled context succeeded")
	}
}
