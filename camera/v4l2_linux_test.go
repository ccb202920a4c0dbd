//go:build linux

package camera

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestV4L2ABI checks the struct sizes and ioctl numbers against linux/videodev2.h as compiled
// by gcc for each ABI (64-bit: x86-64 and arm64 agree; 32-bit: armv7 EABI with 32-bit time_t).
// Run it on every target: GOARCH=arm64 and GOARCH=arm go test -exec qemu-....
func TestV4L2ABI(t *testing.T) {
	is64 := unsafe.Sizeof(uintptr(0)) == 8
	pick := func(b64, b32 uintptr) uintptr {
		if is64 {
			return b64
		}
		return b32
	}
	sizes := []struct {
		name      string
		got, want uintptr
	}{
		{"v4l2_capability", unsafe.Sizeof(v4l2Capability{}), 104},
		{"v4l2_fmtdesc", unsafe.Sizeof(v4l2Fmtdesc{}), 64},
		{"v4l2_frmsizeenum", unsafe.Sizeof(v4l2Frmsizeenum{}), 44},
		{"v4l2_format", unsafe.Sizeof(v4l2Format{}), pick(208, 204)},
		{"v4l2_format.fmt offset", unsafe.Offsetof(v4l2Format{}.fmt), pick(8, 4)},
		{"v4l2_streamparm", unsafe.Sizeof(v4l2Streamparm{}), 204},
		{"v4l2_requestbuffers", unsafe.Sizeof(v4l2Requestbuffers{}), 20},
		{"v4l2_buffer", unsafe.Sizeof(v4l2Buffer{}), pick(88, 68)},
		{"v4l2_buffer.timestamp offset", unsafe.Offsetof(v4l2Buffer{}.timestamp), pick(24, 20)},
		{"v4l2_buffer.sequence offset", unsafe.Offsetof(v4l2Buffer{}.sequence), pick(56, 44)},
		{"v4l2_buffer.m offset", unsafe.Offsetof(v4l2Buffer{}.m), pick(64, 52)},
		{"v4l2_buffer.length offset", unsafe.Offsetof(v4l2Buffer{}.length), pick(72, 56)},
		{"VIDIOC_QUERYCAP", vidiocQuerycap, 0x80685600},
		{"VIDIOC_ENUM_FMT", vidiocEnumFmt, 0xc0405602},
		{"VIDIOC_S_FMT", vidiocSFmt, pick(0xc0d05605, 0xc0cc5605)},
		{"VIDIOC_REQBUFS", vidiocReqbufs, 0xc0145608},
		{"VIDIOC_QUERYBUF", vidiocQuerybuf, pick(0xc0585609, 0xc0445609)},
		{"VIDIOC_QBUF", vidiocQbuf, pick(0xc058560f, 0xc044560f)},
		{"VIDIOC_DQBUF", vidiocDqbuf, pick(0xc0585611, 0xc0445611)},
		{"VIDIOC_STREAMON", vidiocStreamon, 0x40045612},
		{"VIDIOC_STREAMOFF", vidiocStreamoff, 0x40045613},
		{"VIDIOC_S_PARM", vidiocSParm, 0xc0cc5616},
		{"VIDIOC_ENUM_FRAMESIZES", vidiocEnumFramesizes, 0xc02c564a},
	}
	for _, s := range sizes {
		if s.got != s.want {
			t.Errorf("%s = %#x, want %#x", s.name, s.got, s.want)
		}
	}
}

func TestOpenDeviceErrors(t *testing.T) {
	dir := t.TempDir()
	notV4L2 := filepath.Join(dir, "video0")
	if err := os.WriteFile(notV4L2, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want []error
	}{
		{"no such node", filepath.Join(dir, "video9"), []error{ErrAbsent, unix.ENOENT}},
		{"not a V4L2 device", notV4L2, []error{ErrBroken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := OpenDevice(tt.path)
			if err == nil {
				d.Close()
				t.Fatal("opened")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("%v does not match %v", err, w)
				}
			}
			// The kernel says ENOTTY; qemu-user, which does not translate V4L2 ioctls, ENOSYS.
			if errors.Is(err, ErrBroken) && !errors.Is(err, unix.ENOTTY) && !errors.Is(err, unix.ENOSYS) {
				t.Errorf("%v: want ENOTTY", err)
			}
		})
	}
}

// TestRealDevice reads frames from the first V4L2 capture device, when the machine has one
// (a USB camera, or the v4l2loopback module fed by e.g. ffmpeg).
func TestRealDevice(t *testing.T) {
	paths := DevicePaths()
	if len(paths) == 0 {
		t.Skip("no /dev/video* device: the real V4L2 path is untested here " +
			"(plug in a camera or `modprobe v4l2loopback` and feed it; the fake in cameratest covers the logic)")
	}
	for _, p := range paths {
		v, err := OpenV4L2(Config{Device: p, Width: 640, Height: 480}, nil, nil)
		if errors.Is(err, ErrBroken) || errors.Is(err, ErrFormat) {
			t.Logf("%s: %v", p, err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		defer v.Close()
		m := v.Mode()
		t.Logf("%s (%s, %s): %v %dx%d @%d fps, %d bytes/frame", p, v.Info().Card, v.Info().Driver, m.Format, m.Width, m.Height, m.FPS, m.FrameBytes)
		buf := make([]byte, m.FrameBytes)
		good := 0
		for range 10 {
			f, err := v.ReadFrame(buf)
			if errors.Is(err, ErrBadFrame) {
				continue // cameras send a broken frame or two while starting
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Width != m.Width || f.Format != m.Format || f.Captured.IsZero() {
				t.Errorf("frame %+v does not match mode %+v", f, m)
			}
			good++
		}
		if good == 0 {
			t.Error("no good frame in 10")
		}
		return
	}
	t.Skip("no /dev/video* node is a usable capture device")
}
