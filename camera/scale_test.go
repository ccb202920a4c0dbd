package camera_test

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"testing"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/camera/cameratest"
)

func TestFitSize(t *testing.T) {
	tests := []struct {
		w, h, max int
		ww, wh    int
	}{
		{1920, 1080, 1_200_000, 1460, 820},
		{1280, 720, 1_200_000, 1280, 720}, // fits already
		{3840, 2160, 1_200_000, 1460, 820},
		{1280, 960, 1_200_000, 1264, 948},
		{640, 480, 100, 10, 8},
		{2, 8192, 100, 2, 50},
		{8192, 2, 4, 2, 2},
	}
	for _, tt := range tests {
		w, h := camera.FitSize(tt.w, tt.h, tt.max)
		if w != tt.ww || h != tt.wh || w*h > tt.max && (w != tt.w || h != tt.h) {
			t.Errorf("FitSize(%d, %d, %d) = %dx%d, want %dx%d", tt.w, tt.h, tt.max, w, h, tt.ww, tt.wh)
		}
	}
}

// frame reads one synthetic frame of the given format and size.
func frame(t testing.TB, f camera.Format, w, h int) camera.Frame {
	t.Helper()
	s, err := camera.NewSynthetic(camera.Config{Width: w, Height: h, Format: f, FPS: -1}, cameratest.NewClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := s.ReadFrame(make([]byte, s.MaxFrameBytes()))
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

func TestScale(t *testing.T) {
	for _, f := range []camera.Format{camera.MJPEG, camera.YUYV, camera.NV12} {
		t.Run(f.String(), func(t *testing.T) {
			in := frame(t, f, 640, 480)
			s := &camera.Scaler{MaxPixels: 100_000}
			dst := make([]byte, 640*480*2)
			out, err := s.Scale(dst, in)
			if err != nil {
				t.Fatal(err)
			}
			// Raw formats go to FitSize; MJPEG to the largest of 1/2, 1/4, 1/8 within the
			// budget (640x480 at 100000 pixels: 1/2, 320x240), decoded in the DCT domain.
			ww, wh := 364, 272
			if f == camera.MJPEG {
				ww, wh = 320, 240
			}
			if out.Width != ww || out.Height != wh || out.Format != f || out.Seq != in.Seq || !out.Captured.Equal(in.Captured) {
				t.Fatalf("scaled to %dx%d %v seq %d at %v", out.Width, out.Height, out.Format, out.Seq, out.Captured)
			}
			var img image.Image
			switch f {
			case camera.MJPEG:
				img, err = jpeg.Decode(bytes.NewReader(out.Data))
				if err != nil {
					t.Fatal(err)
				}
				if b := img.Bounds(); b.Dx() != ww || b.Dy() != wh {
					t.Errorf("JPEG is %v", b)
				}
			case camera.YUYV:
				if len(out.Data) != 364*272*2 {
					t.Errorf("%d bytes", len(out.Data))
				}
			case camera.NV12:
				if len(out.Data) != 364*272*3/2 {
					t.Errorf("%d bytes", len(out.Data))
				}
			}
			// The left bar is 75% white (luma about 180 with noise averaged out), the right one
			// black (16): check both survive scaling, at half height away from the moving bar.
			left, right := luma(t, out, 10*ww/364, 200*wh/272), luma(t, out, 355*ww/364, 200*wh/272)
			if left < 165 || left > 195 || right > 30 {
				t.Errorf("left bar luma %d, right bar %d", left, right)
			}
		})
	}
}

// luma returns the Y sample at (x, y) of a scaled frame.
func luma(t *testing.T, f camera.Frame, x, y int) int {
	switch f.Format {
	case camera.YUYV:
		return int(f.Data[y*f.Width*2+x*2])
	case camera.NV12:
		return int(f.Data[y*f.Width+x])
	}
	img, err := jpeg.Decode(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatal(err)
	}
	return int(img.(*image.YCbCr).Y[y*img.(*image.YCbCr).YStride+x])
}

func TestScaleUnchangedAndErrors(t *testing.T) {
	in := frame(t, camera.YUYV, 64, 48)
	s := &camera.Scaler{MaxPixels: 64 * 48}
	out, err := s.Scale(make([]byte, len(in.Data)), in)
	if err != nil || !bytes.Equal(out.Data, in.Data) || out.Width != 64 {
		t.Errorf("frame within budget: %v, changed: %v", err, !bytes.Equal(out.Data, in.Data))
	}
	s.MaxPixels = 1000
	if _, err := s.Scale(make([]byte, 100), in); !errors.Is(err, camera.ErrShortBuffer) {
		t.Errorf("small dst: %v", err)
	}
	j := frame(t, camera.MJPEG, 64, 48)
	if _, err := s.Scale(make([]byte, 100), j); !errors.Is(err, camera.ErrShortBuffer) {
		t.Errorf("small dst for JPEG: %v", err)
	}
	j.Data = j.Data[:len(j.Data)/3]
	if _, err := s.Scale(make([]byte, 1<<16), j); !errors.Is(err, camera.ErrBadFrame) {
		t.Errorf("truncated JPEG: %v", err)
	}
	in.Data = in.Data[:100]
	if _, err := s.Scale(make([]byte, 1<<16), in); !errors.Is(err, camera.ErrBadFrame) {
		t.Errorf("short YUYV: %v", err)
	}
}

// TestScaleZeroAlloc: after the first frame of a size, scaling allocates nothing, for the raw
// formats (box filter) and for baseline MJPEG (DCT-domain decode at 1/2, 1/4 and 1/8 and the
// own encoder; the budgets below pick each reduction, the last one with the box filter too).
func TestScaleZeroAlloc(t *testing.T) {
	tests := []struct {
		f         camera.Format
		maxPixels int
	}{
		{camera.YUYV, 20_000}, {camera.NV12, 20_000},
		{camera.MJPEG, 20_000}, {camera.MJPEG, 5_000}, {camera.MJPEG, 1_200}, {camera.MJPEG, 500},
	}
	for _, tt := range tests {
		f := tt.f
		in := frame(t, f, 320, 240)
		s := &camera.Scaler{MaxPixels: tt.maxPixels}
		dst := make([]byte, len(in.Data)+1<<16)
		if _, err := s.Scale(dst, in); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(20, func() {
			if _, err := s.Scale(dst, in); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v to %d pixels: %v allocs per scaled frame, want 0", f, tt.maxPixels, a)
		}
	}
}

func TestWriteJPEG(t *testing.T) {
	for _, f := range []camera.Format{camera.MJPEG, camera.YUYV, camera.NV12} {
		in := frame(t, f, 160, 120)
		var b bytes.Buffer
		if err := camera.WriteJPEG(&b, in, 0); err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if f == camera.MJPEG && !bytes.Equal(b.Bytes(), in.Data) {
			t.Error("MJPEG was re-encoded")
		}
		img, err := jpeg.Decode(&b)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		y := img.(*image.YCbCr)
		if y.Rect.Dx() != 160 || y.Rect.Dy() != 120 {
			t.Errorf("%v: %v", f, y.Rect)
		}
		if v := y.Y[60*y.YStride+150]; v > 30 { // the black bar on the right
			t.Errorf("%v: right bar luma %d", f, v)
		}
	}
	bad := frame(t, camera.NV12, 16, 16)
	bad.Data = bad.Data[:10]
	if err := camera.WriteJPEG(io.Discard, bad, 0); !errors.Is(err, camera.ErrBadFrame) {
		t.Errorf("short NV12: %v", err)
	}
}
