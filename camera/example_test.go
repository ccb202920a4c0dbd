package camera_test

import (
	"context"
	"fmt"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/camera/cameratest"
)

// A capture loop feeding a ring, and a consumer taking frames and giving the buffers back.
func Example() {
	cfg := camera.Config{Width: 640, Height: 480, FPS: 30}
	clk := cameratest.NewClock(time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)) // camera.SystemClock{} on a unit
	src, err := camera.NewSynthetic(cfg, clk)
	if err != nil {
		fmt.Println(err)
		return
	}
	ring := camera.NewRing(4, src.MaxFrameBytes())
	c := &camera.Capture{Open: func() (camera.Source, error) { return src, nil }, Ring: ring, Clock: clk}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()

	f, err := ring.Recv(ctx)
	if err != nil {
		fmt.Println(err)
		cancel()
		return
	}
	fmt.Printf("%v %dx%d, starts with %x\n", f.Format, f.Width, f.Height, f.Data[:2])
	ring.Release(f) // f.Data must not be used after this
	cancel()
	<-done
	// Output: MJPG 640x480, starts with ffd8
}

// Reducing a frame to the 1.2 megapixels a policy tier allows.
func ExampleScaler() {
	src, _ := camera.NewSynthetic(camera.Config{Format: camera.NV12, FPS: -1}, nil) // 1920x1080
	f, _ := src.ReadFrame(make([]byte, src.MaxFrameBytes()))
	s := &camera.Scaler{MaxPixels: 1_200_000}
	out, err := s.Scale(make([]byte, len(f.Data)), f)
	fmt.Println(out.Width, out.Height, out.Format, len(out.Data), err)
	// Output: 1460 820 NV12 1795800 <nil>
}
