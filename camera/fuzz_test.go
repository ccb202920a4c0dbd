package camera_test

import (
	"testing"

	"github.com/geogate/geogate/camera"
)

// FuzzScale feeds the scaler frames whose metadata and bytes disagree, as a corrupt camera or
// a bug upstream could produce: it must return an error or a frame within budget, never panic
// or write past dst.
func FuzzScale(f *testing.F) {
	for _, fm := range []camera.Format{camera.MJPEG, camera.YUYV, camera.NV12} {
		s, err := camera.NewSynthetic(camera.Config{Width: 32, Height: 16, Format: fm, FPS: -1}, nil)
		if err != nil {
			f.Fatal(err)
		}
		fr, _ := s.ReadFrame(make([]byte, s.MaxFrameBytes()))
		f.Add(uint32(fm), uint16(32), uint16(16), uint32(200), fr.Data)
	}
	f.Add(uint32(camera.NV12), uint16(3), uint16(5), uint32(4), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, format uint32, w, h uint16, maxPixels uint32, data []byte) {
		fr := camera.Frame{Data: data, Width: int(w), Height: int(h), Format: camera.Format(format)}
		s := &camera.Scaler{MaxPixels: int(maxPixels%(1<<20)) + 4}
		dst := make([]byte, 1<<16)
		out, err := s.Scale(dst, fr)
		if err != nil {
			return
		}
		if out.Width*out.Height > s.MaxPixels && (out.Width != fr.Width || out.Height != fr.Height) {
			t.Errorf("%dx%d over budget %d", out.Width, out.Height, s.MaxPixels)
		}
		if len(out.Data) > len(dst) || len(out.Data) > 0 && &out.Data[0] != &dst[0] {
			t.Error("result not in dst")
		}
	})
}
