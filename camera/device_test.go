package camera_test

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/camera/cameratest"
)

// Offers of typical cameras.
var (
	uvcOffers = []camera.FormatDesc{ // a USB camera: YUYV listed first, MJPEG for the large sizes
		{Format: camera.YUYV, Description: "YUYV 4:2:2", Sizes: []camera.Size{{640, 480}, {1280, 720}}},
		{Format: camera.MJPEG, Description: "Motion-JPEG", Sizes: []camera.Size{{640, 480}, {1280, 720}, {1920, 1080}}},
	}
	rawOffers = []camera.FormatDesc{ // a MIPI bridge without a JPEG encoder
		{Format: camera.NV12, Sizes: []camera.Size{{1920, 1080}, {3840, 2160}}},
		{Format: camera.YUYV, Sizes: []camera.Size{{1280, 720}}},
	}
	stepOffers = []camera.FormatDesc{
		{Format: camera.NV12, Stepwise: true, Sizes: []camera.Size{{64, 64}, {1280, 960}}},
	}
	h264Offers = []camera.FormatDesc{{Format: 0x34363248 /* H264 */}}
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name   string
		offers []camera.FormatDesc
		cfg    camera.Config
		want   camera.Mode
		err    error
	}{
		{"mjpeg preferred", uvcOffers, camera.Config{}, camera.Mode{camera.MJPEG, 1920, 1080, 30, 1920 * 1080 * 2}, nil},
		{"asked yuyv", uvcOffers, camera.Config{Format: camera.YUYV, Width: 1280, Height: 720, FPS: 10},
			camera.Mode{camera.YUYV, 1280, 720, 10, 1280 * 720 * 2}, nil},
		{"yuyv nearest size", uvcOffers, camera.Config{Format: camera.YUYV}, camera.Mode{camera.YUYV, 1280, 720, 30, 1280 * 720 * 2}, nil},
		{"no mjpeg: yuyv before nv12", rawOffers, camera.Config{Width: 1280, Height: 720}, camera.Mode{camera.YUYV, 1280, 720, 30, 1280 * 720 * 2}, nil},
		{"nv12 nearest", rawOffers, camera.Config{Format: camera.NV12, Width: 2560, Height: 1440}, camera.Mode{camera.NV12, 1920, 1080, 30, 1920 * 1080 * 3 / 2}, nil},
		{"stepwise clamps", stepOffers, camera.Config{}, camera.Mode{camera.NV12, 1280, 960, 30, 1280 * 960 * 3 / 2}, nil},
		{"asked format absent", rawOffers, camera.Config{Format: camera.MJPEG}, camera.Mode{}, camera.ErrFormat},
		{"nothing usable", h264Offers, camera.Config{}, camera.Mode{}, camera.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.cfg.WithDefaults()
			if err != nil {
				t.Fatal(err)
			}
			got, err := camera.Negotiate(tt.offers, cfg)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// jpegish is the smallest buffer the V4L2 source accepts as an MJPEG frame: SOI, then anything.
func jpegish(n int) []byte {
	b := make([]byte, n)
	b[0], b[1] = 0xFF, 0xD8
	return b
}

func TestV4L2Read(t *testing.T) {
	dev := &cameratest.Device{
		Offers: uvcOffers,
		Frames: [][]byte{jpegish(100), jpegish(200), {}, {0x00, 0x01, 0x02}, jpegish(5000)},
		Age:    15 * time.Millisecond,
		// This driver rounds every request to 1280x720 and reports its own buffer size.
		Adjust: func(m camera.Mode) camera.Mode { m.Width, m.Height, m.FrameBytes = 1280, 720, 1<<20; return m },
	}
	op := &cameratest.Opener{Steps: []cameratest.Step{{Dev: dev}}}
	clk := cameratest.NewClock(t0)
	v, err := camera.OpenV4L2(camera.Config{Device: "/dev/video2"}, op.Open, clk)
	if err != nil {
		t.Fatal(err)
	}
	if m := v.Mode(); m != (camera.Mode{camera.MJPEG, 1280, 720, 30, 1 << 20}) {
		t.Errorf("mode %+v", m)
	}
	if p := op.Paths(); len(p) != 1 || p[0] != "/dev/video2" {
		t.Errorf("opened %v", p)
	}
	buf := make([]byte, 1000)
	want := []struct {
		n   int
		err error
	}{{100, nil}, {200, nil}, {0, camera.ErrBadFrame}, {0, camera.ErrBadFrame}, {0, camera.ErrShortBuffer}}
	for i, w := range want {
		f, err := v.ReadFrame(buf)
		if !errors.Is(err, w.err) || len(f.Data) != w.n {
			t.Errorf("read %d: %d bytes, %v; want %d, %v", i, len(f.Data), err, w.n, w.err)
		}
		if err == nil {
			if f.Width != 1280 || f.Height != 720 || f.Format != camera.MJPEG || f.Seq != uint64(i+1) {
				t.Errorf("read %d: %+v", i, f)
			}
			if want := t0.Add(-15 * time.Millisecond); !f.Captured.Equal(want) {
				t.Errorf("captured %v, want the clock minus the driver's age", f.Captured)
			}
		}
	}
	if err := v.Close(); err != nil {
		t.Errorf("Close: %v", err) // the fake fails Close when a buffer was not given back
	}
	if _, err := v.ReadFrame(buf); !errors.Is(err, camera.ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}
}

func TestV4L2RawShortFrame(t *testing.T) {
	dev := &cameratest.Device{Offers: rawOffers, Frames: [][]byte{make([]byte, 1280*720*2), make([]byte, 1280*720)}}
	op := &cameratest.Opener{Steps: []cameratest.Step{{Dev: dev}}}
	v, err := camera.OpenV4L2(camera.Config{Width: 1280, Height: 720}, op.Open, cameratest.NewClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	buf := make([]byte, v.Mode().FrameBytes)
	if f, err := v.ReadFrame(buf); err != nil || f.Format != camera.YUYV || len(f.Data) != 1280*720*2 {
		t.Errorf("full frame: %v %d bytes, %v", f.Format, len(f.Data), err)
	}
	if _, err := v.ReadFrame(buf); !errors.Is(err, camera.ErrBadFrame) {
		t.Errorf("half frame: %v, want ErrBadFrame", err)
	}
}

func TestV4L2Errors(t *testing.T) {
	broken := &camera.DeviceError{Path: "/dev/video0", Op: "VIDIOC_STREAMON", Kind: camera.ErrBroken, Err: syscall.EIO}
	tests := []struct {
		name string
		step cameratest.Step
		cfg  camera.Config
		want []error
	}{
		{"absent", cameratest.Step{Err: cameratest.Absent("/dev/video0")}, camera.Config{}, []error{camera.ErrAbsent, syscall.ENOENT}},
		{"no usable format", cameratest.Step{Dev: &cameratest.Device{Offers: h264Offers}}, camera.Config{}, []error{camera.ErrFormat}},
		{"driver swaps format", cameratest.Step{Dev: &cameratest.Device{Offers: uvcOffers,
			Adjust: func(m camera.Mode) camera.Mode { m.Format = camera.YUYV; return m }}}, camera.Config{}, []error{camera.ErrFormat}},
		{"stream fails", cameratest.Step{Dev: &cameratest.Device{Offers: uvcOffers, Fail: map[string]error{"Start": broken}}},
			camera.Config{}, []error{camera.ErrBroken, syscall.EIO}},
		{"free-running v4l2", cameratest.Step{Dev: &cameratest.Device{Offers: uvcOffers}}, camera.Config{FPS: -1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := &cameratest.Opener{Steps: []cameratest.Step{tt.step}}
			_, err := camera.OpenV4L2(tt.cfg, op.Open, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("%v: does not match %v", err, w)
				}
			}
			if d := tt.step.Dev; d != nil && tt.cfg.FPS >= 0 && !d.Closed {
				t.Error("device left open")
			}
		})
	}
}

func TestV4L2Vanish(t *testing.T) {
	dev := &cameratest.Device{Offers: uvcOffers, Frames: [][]byte{jpegish(10)}, VanishAfter: 3}
	op := &cameratest.Opener{Steps: []cameratest.Step{{Dev: dev}}}
	v, err := camera.OpenV4L2(camera.Config{}, op.Open, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for range 3 {
		if _, err := v.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
	}
	_, err = v.ReadFrame(buf)
	if !errors.Is(err, camera.ErrAbsent) || !errors.Is(err, syscall.ENODEV) {
		t.Errorf("vanished camera: %v, want ErrAbsent and ENODEV", err)
	}
	var de *camera.DeviceError
	if !errors.As(err, &de) || de.Path != "/dev/video0" {
		t.Errorf("error %v does not name the device", err)
	}
	if err := v.Close(); err != nil {
		t.Error(err)
	}
}

func TestV4L2ZeroAlloc(t *testing.T) {
	dev := &cameratest.Device{Offers: uvcOffers, Frames: [][]byte{jpegish(4096), jpegish(3000)}, Age: time.Millisecond}
	op := &cameratest.Opener{Steps: []cameratest.Step{{Dev: dev}}}
	v, err := camera.OpenV4L2(camera.Config{}, op.Open, cameratest.NewClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	buf := make([]byte, 8192)
	if a := testing.AllocsPerRun(100, func() {
		if _, err := v.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("ReadFrame: %v allocs per frame, want 0", a)
	}
}

func TestDeviceErrorText(t *testing.T) {
	e := &camera.DeviceError{Path: "/dev/video0", Op: "open", Kind: camera.ErrAbsent, Err: syscall.ENOENT, Hint: "is the camera connected?"}
	const want = "camera: /dev/video0: open: no camera: no such file or directory (is the camera connected?)"
	if e.Error() != want {
		t.Errorf("got  %q\nwant %q", e.Error(), want)
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want camera.Format
		err  bool
	}{
		{"", 0, false}, {"mjpeg", camera.MJPEG, false}, {"MJPG", camera.MJPEG, false},
		{"yuyv", camera.YUYV, false}, {"nv12", camera.NV12, false}, {"h264", 0, true},
	}
	for _, tt := range tests {
		got, err := camera.ParseFormat(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseFormat(%q) = %v, %v", tt.in, got, err)
		}
		if err == nil && got != 0 && got.String() == "" {
			t.Errorf("%v has no name", got)
		}
	}
	if s := camera.Format(0x34363248).String(); s != "H264" {
		t.Errorf("H264 prints as %q", s)
	}
}
