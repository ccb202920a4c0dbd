package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
)

// DefaultScaleQuality is the JPEG quality of re-encoded MJPEG frames: the same as typical
// camera output, so a downscaled frame does not look worse than it has to.
const DefaultScaleQuality = 85

// Scaler reduces frames to a pixel budget, keeping their format: a policy tier may allow a
// frame to leave the licensed chain only at, say, 1.2 megapixels. YUYV and NV12 are averaged
// (box filter) straight from buffer to buffer. MJPEG is decoded at 1/2, 1/4 or 1/8 scale in
// the DCT domain (the largest of these within MaxPixels; see jpegDecoder) and the small image
// re-encoded from the decoder's planes by the package's own baseline encoder (jpegEncoder), in
// the source's chroma sampling, so the MJPEG output is between a quarter of MaxPixels and
// MaxPixels, not the FitSize of the raw formats; only when even 1/8 is over budget is it box-
// filtered down to FitSize (4:2:0) as well. JPEGs the DCT-domain decoder does not take
// (progressive, non-interleaved, 12-bit, arithmetic-coded, CMYK) are decoded in full by
// image/jpeg, which allocates about a decoded frame per call, and box-filtered to FitSize. A
// Scaler reuses its planes, tables and output image: after the first frame of a size, YUYV,
// NV12 and baseline MJPEG allocate nothing. It is not safe for concurrent use.
type Scaler struct {
	// MaxPixels is the largest Width x Height a scaled frame may have. Required.
	MaxPixels int
	// Quality is the JPEG quality for re-encoded MJPEG. Zero: DefaultScaleQuality.
	Quality int

	rd  bytes.Reader
	dec jpegDecoder
	enc jpegEncoder
	out image.YCbCr // reused 4:2:0 image for MJPEG output when it must be box-filtered
	xs  []int       // box boundaries, reused
	ys  []int
	acc []uint32 // column sums of one output row, reused
	// recip[n] is ceil(2^32/n): dividing the sum of a block of n samples (at most 256n) by n,
	// rounded, is a multiplication and a shift, exact while 256n*n < 2^32.
	recip [65]uint64
}

// FitSize returns the largest even size with the aspect ratio of w x h and at most maxPixels
// (at least 4) pixels, or w x h itself when it already fits. For extreme aspect ratios the
// short side stops at 2 pixels and the long one gives way.
func FitSize(w, h, maxPixels int) (int, int) {
	if w*h <= maxPixels {
		return w, h
	}
	s := math.Sqrt(float64(maxPixels) / float64(w*h))
	dw, dh := max(int(float64(w)*s)&^1, 2), max(int(float64(h)*s)&^1, 2)
	for dw*dh > maxPixels && dw*dh > 4 { // rounding, or a side held at 2
		if dw >= dh && dw > 2 || dh == 2 {
			dw -= 2
		} else {
			dh -= 2
		}
	}
	return dw, dh
}

// Scale writes f, reduced to at most MaxPixels, into dst, which the caller owns, and returns
// the scaled frame (Data is dst[:n]; Captured and Seq are kept). A frame already within the
// budget is copied unchanged. ErrShortBuffer means dst is too small; ErrBadFrame means the
// data does not hold a frame of f's size and format. YUYV, NV12 and baseline MJPEG do not
// allocate once the Scaler has seen a frame of that size (see Scaler).
func (s *Scaler) Scale(dst []byte, f Frame) (Frame, error) {
	if s.MaxPixels < 4 {
		panic("BUG: camera.Scaler.MaxPixels not set")
	}
	if f.Width < 2 || f.Height < 2 || f.Width > maxSide || f.Height > maxSide || f.Width%2+f.Height%2 != 0 {
		return Frame{}, ErrBadFrame
	}
	dw, dh := FitSize(f.Width, f.Height, s.MaxPixels)
	out := f
	out.slot = 0
	if dw == f.Width && dh == f.Height {
		if len(f.Data) > len(dst) {
			return Frame{}, ErrShortBuffer
		}
		out.Data = dst[:copy(dst, f.Data)]
		return out, nil
	}
	out.Width, out.Height = dw, dh
	switch f.Format {
	case YUYV, NV12:
		n := rawBytes(f.Format, dw, dh)
		if len(f.Data) < rawBytes(f.Format, f.Width, f.Height) {
			return Frame{}, ErrBadFrame
		}
		if n > len(dst) {
			return Frame{}, ErrShortBuffer
		}
		s.scaleRaw(dst[:n], f, dw, dh)
		out.Data = dst[:n]
		return out, nil
	case MJPEG:
		w, h, n, err := s.scaleJPEG(dst, f)
		if err != nil {
			return Frame{}, err
		}
		out.Width, out.Height, out.Data = w, h, dst[:n]
		return out, nil
	}
	return Frame{}, fmt.Errorf("%w: cannot scale %v", ErrFormat, f.Format)
}

// plane is one colour channel inside a byte buffer: sample (x, y) is at b[off+y*stride+x*step].
type plane struct {
	b                 []byte
	off, step, stride int
	w, h              int
}

// rawPlanes returns the Y, U and V planes of a w x h YUYV or NV12 buffer.
func rawPlanes(b []byte, f Format, w, h int) [3]plane {
	if f == YUYV {
		return [3]plane{
			{b, 0, 2, 2 * w, w, h},
			{b, 1, 4, 2 * w, w / 2, h},
			{b, 3, 4, 2 * w, w / 2, h},
		}
	}
	return [3]plane{ // NV12
		{b, 0, 1, w, w, h},
		{b, w * h, 2, w, w / 2, h / 2},
		{b, w*h + 1, 2, w, w / 2, h / 2},
	}
}

func (s *Scaler) scaleRaw(dst []byte, f Frame, dw, dh int) {
	sp := rawPlanes(f.Data, f.Format, f.Width, f.Height)
	dp := rawPlanes(dst, f.Format, dw, dh)
	for i := range sp {
		s.box(dp[i], sp[i])
	}
}

// box sets every sample of d to the mean of the block of src it covers: per output row it sums
// the covered source rows into acc (one pass, each source sample read once), then sums acc over
// each output column's block and divides by a reciprocal. It does not allocate once the tables
// have grown to the largest size seen.
func (s *Scaler) box(d, src plane) {
	s.xs = bounds(s.xs, src.w, d.w)
	s.ys = bounds(s.ys, src.h, d.h)
	if cap(s.acc) < src.w {
		s.acc = make([]uint32, src.w)
	}
	if s.recip[1] == 0 {
		for n := uint64(1); n < uint64(len(s.recip)); n++ {
			s.recip[n] = (1<<32 + n - 1) / n
		}
	}
	acc := s.acc[:src.w]
	for y := range d.h {
		y0, y1 := s.ys[2*y], s.ys[2*y+1]
		clear(acc)
		for sy := y0; sy < y1; sy++ {
			row := src.b[src.off+sy*src.stride:]
			if src.step == 1 {
				row = row[:len(acc)]
				for sx, v := range row {
					acc[sx] += uint32(v)
				}
				continue
			}
			for sx, i := 0, 0; sx < len(acc); sx, i = sx+1, i+src.step {
				acc[sx] += uint32(row[i])
			}
		}
		ny := uint64(y1 - y0)
		drow := d.off + y*d.stride
		for x := range d.w {
			x0, x1 := s.xs[2*x], s.xs[2*x+1]
			var sum uint32
			for _, v := range acc[x0:x1] {
				sum += v
			}
			n := ny * uint64(x1-x0)
			if n >= uint64(len(s.recip)) { // a block over 8x8: a reduction beyond any policy tier
				d.b[drow+x*d.step] = byte((uint64(sum) + n/2) / n)
				continue
			}
			d.b[drow+x*d.step] = byte(((uint64(sum) + n/2) * s.recip[n]) >> 32)
		}
	}
}

// bounds fills b with the source block of each of to samples mapped from a source of length
// from: block i is [b[2i], b[2i+1]), never empty, also when to > from (a chroma plane growing).
func bounds(b []int, from, to int) []int {
	b = b[:0]
	for i := range to {
		lo := i * from / to
		b = append(b, lo, max((i+1)*from/to, lo+1))
	}
	return b
}

// scaleJPEG writes f, reduced to at most MaxPixels, as a JPEG into dst and returns its size
// and length: through the DCT-domain decoder when it takes the stream, else through
// image/jpeg (scaleJPEGFull).
func (s *Scaler) scaleJPEG(dst []byte, f Frame) (w, h, n int, err error) {
	img, err := s.dec.decode(f.Data, f.Width, f.Height, scaleShift(f.Width, f.Height, s.MaxPixels))
	if errors.Is(err, errNoFastPath) {
		return s.scaleJPEGFull(dst, f)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	return s.encode(dst, img)
}

// scaleJPEGFull is the path for JPEGs the DCT-domain decoder refuses: image/jpeg decodes the
// whole frame (allocating it), the box filter reduces it to FitSize, and encode re-encodes it.
func (s *Scaler) scaleJPEGFull(dst []byte, f Frame) (w, h, n int, err error) {
	// The JPEG header, not the Frame, sizes the decoder's image: check they agree before
	// letting a corrupt header make jpeg.Decode allocate gigabytes.
	s.rd.Reset(f.Data)
	if c, err := jpeg.DecodeConfig(&s.rd); err != nil || c.Width != f.Width || c.Height != f.Height {
		return 0, 0, 0, ErrBadFrame
	}
	s.rd.Reset(f.Data)
	img, err := jpeg.Decode(&s.rd)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w: decode for scaling: %w", ErrBadFrame, err)
	}
	return s.encode(dst, img)
}

// encode writes img as a JPEG into dst, box-filtered to FitSize first if it is over MaxPixels.
func (s *Scaler) encode(dst []byte, img image.Image) (w, h, n int, err error) {
	r := img.Bounds()
	if r.Dx()*r.Dy() > s.MaxPixels {
		if img, err = s.reduce(img); err != nil {
			return 0, 0, 0, err
		}
		r = img.Bounds()
	}
	q := s.Quality
	if q == 0 {
		q = DefaultScaleQuality
	}
	n, err = s.enc.encode(dst, img, q)
	if err != nil {
		return 0, 0, 0, err
	}
	return r.Dx(), r.Dy(), n, nil
}

// reduce box-filters img to FitSize(MaxPixels) into the Scaler's 4:2:0 output image.
func (s *Scaler) reduce(img image.Image) (*image.YCbCr, error) {
	r := img.Bounds()
	dw, dh := FitSize(r.Dx(), r.Dy(), s.MaxPixels)
	if s.out.Rect.Dx() != dw || s.out.Rect.Dy() != dh {
		s.out = *image.NewYCbCr(image.Rect(0, 0, dw, dh), image.YCbCrSubsampleRatio420)
	}
	o := &s.out
	cw, ch := (dw+1)/2, (dh+1)/2
	switch m := img.(type) {
	case *image.YCbCr:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		mcw, mch := chromaSize(m.SubsampleRatio, w, h)
		s.box(plane{o.Y, 0, 1, o.YStride, dw, dh}, plane{m.Y, m.YOffset(m.Rect.Min.X, m.Rect.Min.Y), 1, m.YStride, w, h})
		c0 := m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
		s.box(plane{o.Cb, 0, 1, o.CStride, cw, ch}, plane{m.Cb, c0, 1, m.CStride, mcw, mch})
		s.box(plane{o.Cr, 0, 1, o.CStride, cw, ch}, plane{m.Cr, c0, 1, m.CStride, mcw, mch})
	case *image.Gray:
		s.box(plane{o.Y, 0, 1, o.YStride, dw, dh}, plane{m.Pix, m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y), 1, m.Stride, m.Rect.Dx(), m.Rect.Dy()})
		for i := range o.Cb {
			o.Cb[i], o.Cr[i] = 128, 128
		}
	default:
		return nil, fmt.Errorf("%w: cannot scale a JPEG of colour model %T", ErrFormat, img)
	}
	return o, nil
}

// chromaSize is the size of the Cb and Cr planes of a w x h image subsampled by r.
func chromaSize(r image.YCbCrSubsampleRatio, w, h int) (int, int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return (w + 1) / 2, h
	case image.YCbCrSubsampleRatio420:
		return (w + 1) / 2, (h + 1) / 2
	case image.YCbCrSubsampleRatio440:
		return w, (h + 1) / 2
	case image.YCbCrSubsampleRatio411:
		return (w + 3) / 4, h
	case image.YCbCrSubsampleRatio410:
		return (w + 3) / 4, (h + 1) / 2
	}
	return w, h
}
