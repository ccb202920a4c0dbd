package camera

import (
	"fmt"
	"time"
)

// Defaults for Config's zero values.
const (
	// DefaultDevice is the first V4L2 node, where a single USB/MIPI camera appears.
	DefaultDevice = "/dev/video0"
	// DefaultWidth and DefaultHeight: 1080p, what automotive cameras deliver as MJPEG.
	DefaultWidth, DefaultHeight = 1920, 1080
	// DefaultFPS is the common camera rate.
	DefaultFPS = 30
	// DefaultReadTimeout: ten frame intervals at 1 fps, long enough for a camera adjusting its
	// exposure in the dark, short enough to notice a dead camera within seconds.
	DefaultReadTimeout = 2 * time.Second
)

// maxSide bounds Width and Height: 8K is beyond any camera geogate is meant for, and it keeps
// buffer arithmetic far from overflow on 32-bit ARM.
const maxSide = 8192

// Config selects a camera and its mode. It mirrors config.Camera; main converts one into the other.
type Config struct {
	// Device is the V4L2 device node. Zero: DefaultDevice (/dev/video0).
	Device string
	// Width and Height request a resolution, both even; the device may pick the nearest it
	// offers. Zero: 1920x1080.
	Width, Height int
	// FPS requests a frame rate; the device may pick another. Zero: 30. Negative: the synthetic
	// source runs free, as fast as it is read (benchmarks); V4L2 devices reject it.
	FPS int
	// Format requests a pixel format. Zero: MJPEG if the device offers it, else YUYV, else NV12.
	// The synthetic source defaults to MJPEG.
	Format Format
	// FrameBytes is the size of one frame buffer. Zero: enough for any frame at Width x Height
	// (see BufferBytes).
	FrameBytes int
	// ReadTimeout is how long ReadFrame waits for a V4L2 frame before reporting the device as
	// broken. Zero: DefaultReadTimeout (2s).
	ReadTimeout time.Duration
}

// WithDefaults returns c with every zero field replaced by its default, and checks the result.
func (c Config) WithDefaults() (Config, error) {
	if c.Device == "" {
		c.Device = DefaultDevice
	}
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = DefaultWidth, DefaultHeight
	}
	if c.FPS == 0 {
		c.FPS = DefaultFPS
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.Width <= 0 || c.Height <= 0 || c.Width > maxSide || c.Height > maxSide || c.Width%2 != 0 || c.Height%2 != 0 {
		return c, fmt.Errorf("camera: size %dx%d: want even sides from 2 to %d (chroma is shared by pixel pairs)", c.Width, c.Height, maxSide)
	}
	if c.Format != 0 && c.Format != MJPEG && c.Format != YUYV && c.Format != NV12 {
		return c, fmt.Errorf("%w: %v (want MJPG, YUYV or NV12)", ErrFormat, c.Format)
	}
	if c.FrameBytes < 0 || c.ReadTimeout < 0 {
		return c, fmt.Errorf("camera: negative frame bytes or read timeout")
	}
	return c, nil
}

// BufferBytes is the frame buffer size for c: FrameBytes if set, else the largest frame of
// c.Format at Width x Height (two bytes per pixel for MJPEG or an unchosen format, the
// sizeimage UVC drivers report). 1080p: 4 147 200 bytes.
func (c Config) BufferBytes() int {
	if c.FrameBytes > 0 {
		return c.FrameBytes
	}
	w, h := c.Width, c.Height
	if w == 0 && h == 0 {
		w, h = DefaultWidth, DefaultHeight
	}
	return maxBytes(c.Format, w, h)
}
