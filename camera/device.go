package camera

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// captureBuffers is how many kernel buffers a V4L2 stream cycles: the driver fills some while
// geogate copies one out. Four covers over 100 ms of scheduling jitter at 30 fps and is what
// UVC tools use by default.
const captureBuffers = 4

// DeviceInfo is what a V4L2 device says about itself (VIDIOC_QUERYCAP).
type DeviceInfo struct {
	Path   string // device node, e.g. /dev/video0
	Card   string // product name, e.g. "HD USB Camera"
	Driver string // kernel driver, e.g. "uvcvideo"
	Bus    string // where it is attached, e.g. "usb-xhci-hcd.0-1"
}

// Size is a frame size in pixels.
type Size struct{ Width, Height int }

// FormatDesc is one pixel format a device offers and the frame sizes it offers it in.
type FormatDesc struct {
	Format      Format
	Description string // the driver's name for it, e.g. "Motion-JPEG"
	// Sizes lists the discrete sizes; when Stepwise, Sizes[0] and Sizes[1] are the smallest and
	// the largest of a continuous range.
	Sizes    []Size
	Stepwise bool
}

// Mode is a capture mode: what is asked of a device and what it agreed to.
type Mode struct {
	Format        Format
	Width, Height int
	FPS           int // frames per second; 0 when the driver does not say
	FrameBytes    int // largest frame the driver will deliver (sizeimage)
}

// Buffer is one filled kernel buffer, valid until it is given back with Device.Enqueue.
type Buffer struct {
	Data  []byte        // the frame, bytesused long, in driver memory
	Index int           // kernel buffer index, for Enqueue
	Seq   uint32        // the driver's frame counter since streaming started
	Age   time.Duration // how long ago the driver captured it (0 when the driver gives no monotonic timestamp)
}

// Device is the V4L2 seam: one opened video capture node, with the few operations capture
// needs. OpenDevice returns the real one (Linux ioctls and mmap); cameratest.Device is a
// scripted fake. Errors are *DeviceError with Kind ErrAbsent (the device is gone) or ErrBroken.
type Device interface {
	// Info returns the identity read when the device was opened.
	Info() DeviceInfo
	// Formats lists the pixel formats and sizes the device offers (VIDIOC_ENUM_FMT,
	// VIDIOC_ENUM_FRAMESIZES).
	Formats() ([]FormatDesc, error)
	// SetMode asks for a mode (VIDIOC_S_FMT, VIDIOC_S_PARM) and returns what the driver chose.
	SetMode(want Mode) (Mode, error)
	// Start maps n buffers and starts streaming (VIDIOC_REQBUFS, mmap, VIDIOC_QBUF, VIDIOC_STREAMON).
	Start(n int) error
	// Dequeue waits up to timeout for a filled buffer (poll, VIDIOC_DQBUF). It does not allocate.
	Dequeue(timeout time.Duration) (Buffer, error)
	// Enqueue gives a buffer back to the driver (VIDIOC_QBUF). It does not allocate.
	Enqueue(index int) error
	// Close stops streaming, unmaps the buffers and closes the node.
	Close() error
}

// DeviceOpener opens a device node. OpenDevice is the real one.
type DeviceOpener func(path string) (Device, error)

// DevicePaths returns the V4L2 nodes present, /dev/video0 before /dev/video10. It returns none
// when there are none, or on systems without V4L2.
func DevicePaths() []string {
	paths, _ := filepath.Glob("/dev/video*") // the only error is a bad pattern
	slices.SortFunc(paths, func(a, b string) int {
		na, _ := strconv.Atoi(strings.TrimPrefix(a, "/dev/video"))
		nb, _ := strconv.Atoi(strings.TrimPrefix(b, "/dev/video"))
		return na - nb
	})
	return paths
}

// V4L2 is a Source reading a V4L2 device: MJPEG passed through as the camera encoded it, or raw
// YUYV/NV12. Each frame is copied once, from the driver's mmap buffer into the caller's buffer,
// so the driver's buffers go back to it at once and a slow consumer never stalls the camera.
type V4L2 struct {
	dev     Device
	mode    Mode
	clk     Clock
	timeout time.Duration
	seq0    uint32 // driver sequence of the first frame
	seq     uint64
	closed  bool
}

var _ Source = (*V4L2)(nil)

// OpenV4L2 opens cfg.Device, negotiates the mode (see Config) and starts streaming. open is
// the seam to the device: nil means OpenDevice. clk stamps frames: nil means SystemClock.
// Errors match ErrAbsent when there is no camera, ErrFormat when it offers no usable mode,
// ErrBroken otherwise.
func OpenV4L2(cfg Config, open DeviceOpener, clk Clock) (*V4L2, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.FPS < 0 {
		return nil, fmt.Errorf("camera: %s: free-running FPS is for the synthetic source only", cfg.Device)
	}
	if open == nil {
		open = OpenDevice
	}
	dev, err := open(cfg.Device)
	if err != nil {
		return nil, err
	}
	v := &V4L2{dev: dev, clk: orSystem(clk), timeout: cfg.ReadTimeout}
	if err := v.start(cfg); err != nil {
		dev.Close()
		return nil, err
	}
	return v, nil
}

func (v *V4L2) start(cfg Config) error {
	descs, err := v.dev.Formats()
	if err != nil {
		return err
	}
	want, err := Negotiate(descs, cfg)
	if err != nil {
		return &DeviceError{Path: cfg.Device, Op: "choose mode", Kind: ErrFormat, Err: err}
	}
	got, err := v.dev.SetMode(want)
	if err != nil {
		return err
	}
	if got.Format != want.Format {
		return &DeviceError{Path: cfg.Device, Op: "VIDIOC_S_FMT", Kind: ErrFormat,
			Err: fmt.Errorf("asked for %v, driver chose %v", want.Format, got.Format)}
	}
	if rawBytes(got.Format, got.Width, got.Height) > got.FrameBytes {
		got.FrameBytes = rawBytes(got.Format, got.Width, got.Height)
	}
	v.mode = got
	return v.dev.Start(captureBuffers)
}

// Mode returns the negotiated mode. Size ring buffers with Mode().FrameBytes.
func (v *V4L2) Mode() Mode { return v.mode }

// Info returns the device's identity.
func (v *V4L2) Info() DeviceInfo { return v.dev.Info() }

// ReadFrame implements Source. It waits up to Config.ReadTimeout for the driver's next buffer,
// copies it into dst and gives the buffer back at once. Empty frames, JPEGs without a start
// marker and short raw frames return ErrBadFrame; the stream goes on. It does not allocate.
func (v *V4L2) ReadFrame(dst []byte) (Frame, error) {
	if v.closed {
		return Frame{}, ErrClosed
	}
	b, err := v.dev.Dequeue(v.timeout)
	if err != nil {
		return Frame{}, err
	}
	captured := v.clk.Now().Add(-b.Age)
	if v.seq == 0 {
		v.seq0 = b.Seq
	}
	v.seq = uint64(b.Seq-v.seq0) + 1
	var n int
	bad := !v.plausible(b.Data)
	short := len(b.Data) > len(dst)
	if !bad && !short {
		n = copy(dst, b.Data)
	}
	if err := v.dev.Enqueue(b.Index); err != nil {
		return Frame{}, err
	}
	switch {
	case bad:
		return Frame{}, ErrBadFrame
	case short:
		return Frame{}, ErrShortBuffer
	}
	return Frame{
		Data:     dst[:n],
		Width:    v.mode.Width,
		Height:   v.mode.Height,
		Format:   v.mode.Format,
		Captured: captured,
		Seq:      v.seq,
	}, nil
}

// plausible reports whether a driver buffer can hold a whole frame of the mode: a JPEG starts
// with the SOI marker FF D8, a raw frame has all its bytes.
func (v *V4L2) plausible(b []byte) bool {
	if v.mode.Format == MJPEG {
		return len(b) >= 2 && b[0] == 0xFF && b[1] == 0xD8
	}
	return len(b) >= rawBytes(v.mode.Format, v.mode.Width, v.mode.Height)
}

// Close implements Source.
func (v *V4L2) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	return v.dev.Close()
}

// Negotiate picks the mode to ask a device for, from what it offers: cfg.Format if set (else
// MJPEG, YUYV, NV12 in that order), at cfg's size if offered, else the offered size nearest in
// pixel count (the larger on a tie), at cfg.FPS. cfg must have its defaults applied.
func Negotiate(offers []FormatDesc, cfg Config) (Mode, error) {
	var desc *FormatDesc
	pick := func(f Format) {
		for i := range offers {
			if offers[i].Format == f {
				desc = &offers[i]
				return
			}
		}
	}
	if cfg.Format != 0 {
		pick(cfg.Format)
	} else {
		for _, f := range preferred {
			if pick(f); desc != nil {
				break
			}
		}
	}
	if desc == nil {
		var names []string
		for _, o := range offers {
			names = append(names, o.Format.String())
		}
		want := "MJPG, YUYV or NV12"
		if cfg.Format != 0 {
			want = cfg.Format.String()
		}
		return Mode{}, fmt.Errorf("%w: want %s, device offers [%s]", ErrFormat, want, strings.Join(names, " "))
	}
	m := Mode{Format: desc.Format, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS}
	switch {
	case desc.Stepwise && len(desc.Sizes) == 2:
		lo, hi := desc.Sizes[0], desc.Sizes[1]
		m.Width = min(max(m.Width, lo.Width), hi.Width)
		m.Height = min(max(m.Height, lo.Height), hi.Height)
	case len(desc.Sizes) > 0:
		want := cfg.Width * cfg.Height
		best := desc.Sizes[0]
		for _, s := range desc.Sizes {
			if s.Width == cfg.Width && s.Height == cfg.Height {
				best = s
				break
			}
			d, bd := abs(s.Width*s.Height-want), abs(best.Width*best.Height-want)
			if d < bd || d == bd && s.Width*s.Height > best.Width*best.Height {
				best = s
			}
		}
		m.Width, m.Height = best.Width, best.Height
	}
	m.FrameBytes = maxBytes(m.Format, m.Width, m.Height)
	return m, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// errNoFrame is the cause when a device delivers nothing within the read timeout.
var errNoFrame = errors.New("no frame within the read timeout")
