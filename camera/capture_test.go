package camera_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/camera/cameratest"
)

// TestCaptureReconnect drives a camera that is absent at start, appears, vanishes after five
// frames, is absent once more and comes back.
func TestCaptureReconnect(t *testing.T) {
	first := &cameratest.Device{Offers: uvcOffers, Frames: [][]byte{jpegish(10)}, VanishAfter: 5}
	second := &cameratest.Device{Offers: uvcOffers, Frames: [][]byte{jpegish(20)}}
	op := &cameratest.Opener{Steps: []cameratest.Step{
		{Err: cameratest.Absent("/dev/video0")},
		{Err: cameratest.Absent("/dev/video0")},
		{Dev: first},
		{Err: cameratest.Absent("/dev/video0")},
		{Dev: second},
	}}
	clk := cameratest.NewClock(t0)
	ring := camera.NewRing(8, 64)
	c := &camera.Capture{
		Open:  func() (camera.Source, error) { return camera.OpenV4L2(camera.Config{}, op.Open, clk) },
		Ring:  ring,
		Clock: clk,
	}
	// Take frames until the second camera delivers; the ring may drop some of the first's.
	if err := runUntilFrame(t, c, 20); !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	s := c.Stats()
	if s.OpenFailures != 3 || s.ReadErrors != 1 || s.Reconnects != 2 || s.Up {
		t.Errorf("stats %+v, want 3 open failures, 1 read error, 2 reconnects, down", s)
	}
	if s.Frames < 6 {
		t.Errorf("%d frames, want at least 5 from the first camera and 1 from the second", s.Frames)
	}
	// Backoff: 0.5s and 1s before the first camera; after its frames reset the backoff, 0.5s
	// after it vanished and 1s after the next failed open.
	if got := clk.Slept(); got != 3*time.Second {
		t.Errorf("backed off %v in total, want 3s", got)
	}
	if !first.Closed || !second.Closed {
		t.Error("a device was left open")
	}
}

// TestCaptureBackoffCap checks the waits double up to MaxBackoff.
func TestCaptureBackoffCap(t *testing.T) {
	clk := cameratest.NewClock(t0)
	var op cameratest.Opener // no steps: absent forever
	ctx, cancel := context.WithCancel(context.Background())
	c := &camera.Capture{
		Open: func() (camera.Source, error) {
			if op.Calls() == 8 {
				cancel()
			}
			return camera.OpenV4L2(camera.Config{}, op.Open, clk)
		},
		Ring:       camera.NewRing(1, 8),
		Clock:      clk,
		MinBackoff: time.Second,
		MaxBackoff: 4 * time.Second,
	}
	c.Run(ctx)
	// Attempts 1-8 wait 1, 2, 4, 4, 4, 4, 4, 4 seconds; the 9th open cancels and returns at once.
	if got, want := clk.Slept(), 27*time.Second; got != want {
		t.Errorf("slept %v, want %v", got, want)
	}
	if s := c.Stats(); s.OpenFailures != 9 || s.Reconnects != 0 {
		t.Errorf("stats %+v", s)
	}
}

// runUntilFrame runs c and takes frames from its ring until one of n bytes arrives, then
// stops c and returns what Run returned.
func runUntilFrame(t *testing.T, c *camera.Capture, n int) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	for {
		f, err := c.Ring.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		size := len(f.Data)
		c.Ring.Release(f)
		if size == n {
			break
		}
	}
	cancel()
	return <-done
}

// TestCaptureSkipsBadFrames checks that corrupt and oversized frames are counted, not fatal.
func TestCaptureSkipsBadFrames(t *testing.T) {
	dev := &cameratest.Device{Offers: uvcOffers, Frames: [][]byte{jpegish(10), {1, 2}, jpegish(100), jpegish(11)}}
	op := &cameratest.Opener{Steps: []cameratest.Step{{Dev: dev}}}
	ring := camera.NewRing(4, 64)
	c := &camera.Capture{
		Open: func() (camera.Source, error) { return camera.OpenV4L2(camera.Config{}, op.Open, nil) },
		Ring: ring,
	}
	runUntilFrame(t, c, 11)
	s := c.Stats()
	if s.BadFrames == 0 || s.ShortBuffers == 0 || s.ReadErrors != 0 || op.Calls() != 1 {
		t.Errorf("stats %+v after %d opens, want bad and short frames counted, no reopen", s, op.Calls())
	}
}

// TestCapturePathZeroAlloc runs the real capture loop on the synthetic source and checks that
// the whole path, source -> Ring -> consumer -> in-memory sink, allocates nothing per frame.
// The source is paced by the real clock (time.Sleep) at 1000 fps: AllocsPerRun runs on one P,
// where a free-running producer would hold it for a whole time slice per frame.
func TestCapturePathZeroAlloc(t *testing.T) {
	src, err := camera.NewSynthetic(camera.Config{Width: 320, Height: 240, FPS: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring := camera.NewRing(4, src.MaxFrameBytes())
	c := &camera.Capture{Open: func() (camera.Source, error) { return src, nil }, Ring: ring}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	sink := make([]byte, src.MaxFrameBytes())
	var stored int
	allocs := testing.AllocsPerRun(300, func() {
		f, err := ring.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stored += copy(sink, f.Data)
		ring.Release(f)
	})
	cancel()
	<-done
	if allocs != 0 {
		t.Errorf("%v allocs per frame on the capture path, want 0", allocs)
	}
	if stored == 0 || c.Stats().Frames < 300 {
		t.Errorf("stored %d bytes from %d frames", stored, c.Stats().Frames)
	}
}
