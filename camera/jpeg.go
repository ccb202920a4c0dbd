package camera

import (
	"fmt"
	"image"
	"image/jpeg"
	"io"
)

// WriteJPEG writes f as a JPEG file to w: MJPEG frames byte for byte as the camera encoded
// them, YUYV and NV12 converted to 4:2:0 and encoded at quality (zero: DefaultScaleQuality).
// It is for single frames (camera snap, exports), not the per-frame path: raw frames allocate
// an image.
func WriteJPEG(w io.Writer, f Frame, quality int) error {
	if f.Format == MJPEG {
		if len(f.Data) < 2 || f.Data[0] != 0xFF || f.Data[1] != 0xD8 {
			return ErrBadFrame
		}
		_, err := w.Write(f.Data)
		return err
	}
	if f.Format != YUYV && f.Format != NV12 {
		return fmt.Errorf("%w: no JPEG from %v", ErrFormat, f.Format)
	}
	if len(f.Data) < rawBytes(f.Format, f.Width, f.Height) {
		return ErrBadFrame
	}
	img := image.NewYCbCr(image.Rect(0, 0, f.Width, f.Height), image.YCbCrSubsampleRatio420)
	p := rawPlanes(f.Data, f.Format, f.Width, f.Height)
	var s Scaler // the box filter copies Y and halves YUYV's chroma rows to 4:2:0
	s.box(plane{img.Y, 0, 1, img.YStride, f.Width, f.Height}, p[0])
	s.box(plane{img.Cb, 0, 1, img.CStride, f.Width / 2, f.Height / 2}, p[1])
	s.box(plane{img.Cr, 0, 1, img.CStride, f.Width / 2, f.Height / 2}, p[2])
	if quality == 0 {
		quality = DefaultScaleQuality
	}
	if err := jpeg.Encode(w, img, &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("camera: write JPEG: %w", err)
	}
	return nil
}
