package camera_test

import (
	"bytes"
	"errors"
	"image/jpeg"
	"testing"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/camera/cameratest"
)

var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

func TestSyntheticFormats(t *testing.T) {
	tests := []struct {
		format camera.Format
		size   int // 0: a JPEG
	}{
		{camera.MJPEG, 0},
		{camera.YUYV, 320 * 240 * 2},
		{camera.NV12, 320 * 240 * 3 / 2},
	}
	for _, tt := range tests {
		t.Run(tt.format.String(), func(t *testing.T) {
			s, err := camera.NewSynthetic(camera.Config{Width: 320, Height: 240, Format: tt.format, FPS: -1}, cameratest.NewClock(t0))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			buf := make([]byte, s.MaxFrameBytes())
			var prev []byte
			for i := range 10 {
				f, err := s.ReadFrame(buf)
				if err != nil {
					t.Fatal(err)
				}
				if f.Format != tt.format || f.Width != 320 || f.Height != 240 || f.Seq != uint64(i+1) {
					t.Errorf("frame %d: %v %dx%d seq %d", i, f.Format, f.Width, f.Height, f.Seq)
				}
				if tt.size > 0 && len(f.Data) != tt.size {
					t.Errorf("frame %d: %d bytes, want %d", i, len(f.Data), tt.size)
				}
				if tt.size == 0 {
					img, err := jpeg.Decode(bytes.NewReader(f.Data))
					if err != nil {
						t.Fatalf("frame %d is no JPEG: %v", i, err)
					}
					if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
						t.Errorf("frame %d decodes to %v", i, b)
					}
				}
				if bytes.Equal(prev, f.Data) {
					t.Errorf("frame %d equals the one before", i)
				}
				prev = append(prev[:0], f.Data...)
			}
		})
	}
}

func TestSyntheticPacing(t *testing.T) {
	clk := cameratest.NewClock(t0)
	s, err := camera.NewSynthetic(camera.Config{Width: 64, Height: 48, FPS: 25}, clk)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, s.MaxFrameBytes())
	const period = 40 * time.Millisecond
	for i := range 5 {
		f, err := s.ReadFrame(buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := t0.Add(time.Duration(i) * period); !f.Captured.Equal(want) {
			t.Errorf("frame %d captured at %v, want %v", i, f.Captured.Sub(t0), want.Sub(t0))
		}
	}
	if got := clk.Slept(); got != 4*period {
		t.Errorf("slept %v, want %v", got, 4*period)
	}
	// Frame 6 was due at 200ms. A reader coming at 300ms gets frame 8, due at 280ms; the Seq gap
	// shows frames 6 and 7 missed.
	clk.Advance(3*period + period/2)
	f, err := s.ReadFrame(buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(7 * period); f.Seq != 8 || !f.Captured.Equal(want) {
		t.Errorf("late frame: seq %d at %v, want 8 at %v", f.Seq, f.Captured.Sub(t0), want.Sub(t0))
	}
	f, _ = s.ReadFrame(buf)
	if want := t0.Add(8 * period); !f.Captured.Equal(want) || f.Seq != 9 {
		t.Errorf("next frame: seq %d at %v, want 9 at %v", f.Seq, f.Captured.Sub(t0), want.Sub(t0))
	}
}

func TestSyntheticErrors(t *testing.T) {
	if _, err := camera.NewSynthetic(camera.Config{Width: 33, Height: 20}, nil); err == nil {
		t.Error("odd width accepted")
	}
	if _, err := camera.NewSynthetic(camera.Config{Width: 32, Height: 20, Format: camera.Format(1)}, nil); !errors.Is(err, camera.ErrFormat) {
		t.Errorf("unknown format: %v, want ErrFormat", err)
	}
	s, err := camera.NewSynthetic(camera.Config{Width: 32, Height: 20, FPS: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadFrame(make([]byte, 10)); !errors.Is(err, camera.ErrShortBuffer) {
		t.Errorf("small buffer: %v, want ErrShortBuffer", err)
	}
	s.Close()
	if _, err := s.ReadFrame(make([]byte, s.MaxFrameBytes())); !errors.Is(err, camera.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestSyntheticZeroAlloc(t *testing.T) {
	for _, fps := range []int{-1, 30} {
		s, err := camera.NewSynthetic(camera.Config{Width: 64, Height: 48, FPS: fps}, cameratest.NewClock(t0))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, s.MaxFrameBytes())
		if a := testing.AllocsPerRun(100, func() { s.ReadFrame(buf) }); a != 0 {
			t.Errorf("fps %d: ReadFrame allocates %v times per frame, want 0", fps, a)
		}
	}
}
