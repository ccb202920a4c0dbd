package cameratest_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/camera/cameratest"
)

// A camera that is absent at first, then delivers two frames and is unplugged.
func Example() {
	dev := &cameratest.Device{
		Offers:      []camera.FormatDesc{{Format: camera.MJPEG, Sizes: []camera.Size{{Width: 1280, Height: 720}}}},
		Frames:      [][]byte{{0xFF, 0xD8, 1}, {0xFF, 0xD8, 2}},
		VanishAfter: 2,
	}
	op := &cameratest.Opener{Steps: []cameratest.Step{{Err: cameratest.Absent("/dev/video0")}, {Dev: dev}}}
	clk := cameratest.NewClock(time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC))

	_, err := camera.OpenV4L2(camera.Config{}, op.Open, clk)
	fmt.Println("first open:", errors.Is(err, camera.ErrAbsent))

	v, err := camera.OpenV4L2(camera.Config{}, op.Open, clk)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	buf := make([]byte, 16)
	for {
		f, err := v.ReadFrame(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(f.Seq, f.Width, f.Height, f.Data[2])
	}
	// Output:
	// first open: true
	// 1 1280 720 1
	// 2 1280 720 2
	// camera: /dev/video0: VIDIOC_DQBUF: no camera: no such device
}
