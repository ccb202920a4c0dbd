package cli

import (
	"bytes"
	"errors"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/camera/cameratest"
)

// fakeCameras installs devices at /dev/video0, 1, ... for the duration of the test; a nil
// entry is a node that fails to open as broken (e.g. a UVC metadata node).
func fakeCameras(t *testing.T, devs ...*cameratest.Device) {
	t.Helper()
	oldPaths, oldOpen := cameraPaths, cameraOpen
	t.Cleanup(func() { cameraPaths, cameraOpen = oldPaths, oldOpen })
	byPath := map[string]*cameratest.Device{}
	var paths []string
	for i, d := range devs {
		p := "/dev/video" + string(rune('0'+i))
		paths = append(paths, p)
		byPath[p] = d
	}
	cameraPaths = func() []string { return paths }
	cameraOpen = func(path string) (camera.Device, error) {
		d, ok := byPath[path]
		switch {
		case !ok:
			return nil, cameratest.Absent(path)
		case d == nil:
			return nil, &camera.DeviceError{Path: path, Op: "VIDIOC_QUERYCAP", Kind: camera.ErrBroken, Err: errors.New("not a streaming video capture device")}
		}
		d.DevInfo.Path = path
		return d, nil
	}
}

func usbCamera(frames ...[]byte) *cameratest.Device {
	return &cameratest.Device{
		DevInfo: camera.DeviceInfo{Card: "HD USB Camera", Driver: "uvcvideo", Bus: "usb-0000:00:14.0-1"},
		Offers: []camera.FormatDesc{
			{Format: camera.YUYV, Description: "YUYV 4:2:2", Sizes: []camera.Size{{Width: 640, Height: 480}, {Width: 1280, Height: 720}}},
			{Format: camera.MJPEG, Description: "Motion-JPEG", Sizes: []camera.Size{{Width: 640, Height: 480}, {Width: 1920, Height: 1080}}},
		},
		Frames: frames,
	}
}

func TestCameraList(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		fakeCameras(t)
		var out bytes.Buffer
		if err := cameraMain([]string{"list"}, &out, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "no cameras found") {
			t.Errorf("output %q", out.String())
		}
	})
	t.Run("camera and metadata node", func(t *testing.T) {
		fakeCameras(t, usbCamera(), nil)
		var out bytes.Buffer
		if err := cameraMain([]string{"list"}, &out, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"/dev/video0: HD USB Camera (driver uvcvideo, bus usb-0000:00:14.0-1)",
			"YUYV YUYV 4:2:2             640x480 1280x720",
			"MJPG Motion-JPEG            640x480 1920x1080",
			"/dev/video1: unusable: camera: /dev/video1: VIDIOC_QUERYCAP: device broken",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("missing %q in\n%s", want, out.String())
			}
		}
	})
}

func TestCameraSnap(t *testing.T) {
	dir := t.TempDir()
	jpegFrame := func() []byte { // a real 640x480 JPEG from the synthetic source
		s, err := camera.NewSynthetic(camera.Config{Width: 640, Height: 480, FPS: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := s.ReadFrame(make([]byte, s.MaxFrameBytes()))
		return f.Data
	}()
	tests := []struct {
		name    string
		devs    []*cameratest.Device
		args    []string
		w, h    int
		err     error  // nil: success
		message string // in the error or the output
	}{
		{"synthetic", nil, []string{"-synthetic", "-width", "320", "-height", "240"}, 320, 240, nil, "from the synthetic test pattern"},
		{"mjpeg camera", []*cameratest.Device{usbCamera(jpegFrame)}, []string{"-width", "640", "-height", "480"}, 640, 480, nil, "MJPG 640x480 frame from /dev/video0 (HD USB Camera)"},
		{"yuyv camera", []*cameratest.Device{usbCamera(make([]byte, 640*480*2))}, []string{"-format", "yuyv", "-width", "640", "-height", "480"}, 640, 480, nil, "YUYV 640x480"},
		{"no camera at all", nil, nil, 0, 0, camera.ErrAbsent, "no camera: there is no /dev/video* device"},
		{"wrong node", []*cameratest.Device{usbCamera(jpegFrame)}, []string{"-device", "/dev/video7"}, 0, 0, camera.ErrAbsent, "/dev/video7: open: no camera"},
		{"camera unplugged", []*cameratest.Device{{Offers: usbCamera().Offers, Frames: [][]byte{jpegFrame}, VanishAfter: 2}}, nil, 0, 0, syscall.ENODEV, "VIDIOC_DQBUF: no camera"},
		{"format not offered", []*cameratest.Device{usbCamera(jpegFrame)}, []string{"-format", "nv12"}, 0, 0, camera.ErrFormat, "want NV12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeCameras(t, tt.devs...)
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".jpg")
			var stdout, stderr bytes.Buffer
			err := cameraMain(append([]string{"snap", "-o", out}, tt.args...), &stdout, &stderr)
			t.Logf("stdout %q, err %v", stdout.String(), err)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.message) {
					t.Errorf("err %v, want %v containing %q", err, tt.err, tt.message)
				}
				if _, err := os.Stat(out); err == nil {
					t.Error("failed snap left a file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout.String(), tt.message) {
				t.Errorf("output %q lacks %q", stdout.String(), tt.message)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := jpeg.DecodeConfig(f)
			if err != nil || cfg.Width != tt.w || cfg.Height != tt.h {
				t.Errorf("file: %v %dx%d, want a %dx%d JPEG", err, cfg.Width, cfg.Height, tt.w, tt.h)
			}
		})
	}
}

func TestCameraUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"list", "x"}, {"snap"}, {"snap", "-o", "x.jpg", "extra"}} {
		var out bytes.Buffer
		if err := cameraMain(args, &out, &out); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want errUsage", args, err)
		}
		if !strings.Contains(out.String(), "usage:") {
			t.Errorf("%q: no usage in %q", args, out.String())
		}
	}
}
