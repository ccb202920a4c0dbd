package camera

import (
	"image"
	"image/jpeg"
	"testing"
)

// stdlibScale is the MJPEG path before the DCT-domain decoder and jpegEncoder, kept as the
// reference of BenchmarkScaleMJPEGRatio1080p and the encoder's quality tests: image/jpeg
// decodes the whole frame, the Scaler's box filter reduces it to FitSize (4:2:0), and
// image/jpeg encodes it at the Scaler's quality into dst. It returns the JPEG's length.
func stdlibScale(s *Scaler, dst []byte, f Frame) (int, error) {
	s.rd.Reset(f.Data)
	img, err := jpeg.Decode(&s.rd)
	if err != nil {
		return 0, err
	}
	small, err := s.reduce(img)
	if err != nil {
		return 0, err
	}
	return stdlibEncode(dst, small, s.Quality)
}

// stdlibEncode encodes img with image/jpeg at quality (0: DefaultScaleQuality) into dst.
func stdlibEncode(dst []byte, img image.Image, quality int) (int, error) {
	if quality == 0 {
		quality = DefaultScaleQuality
	}
	fw := fixedWriter{b: dst}
	if err := jpeg.Encode(&fw, img, &jpeg.Options{Quality: quality}); err != nil {
		return 0, err
	}
	if fw.full {
		return 0, ErrShortBuffer
	}
	return fw.n, nil
}

// fixedWriter writes into a caller's buffer without growing it. It has the Flush and WriteByte
// methods image/jpeg looks for, so jpeg.Encode writes to it directly instead of through a new
// bufio.Writer, as the Scaler did before jpegEncoder. Writes past the end are discarded and
// set full.
type fixedWriter struct {
	b    []byte
	n    int
	full bool
}

// Write implements io.Writer.
func (w *fixedWriter) Write(p []byte) (int, error) {
	k := copy(w.b[w.n:], p)
	w.n += k
	if k < len(p) {
		w.full = true
	}
	return len(p), nil
}

// WriteByte implements io.ByteWriter.
func (w *fixedWriter) WriteByte(c byte) error {
	if w.n == len(w.b) {
		w.full = true
		return nil
	}
	w.b[w.n] = c
	w.n++
	return nil
}

// Flush has nothing to flush.
func (w *fixedWriter) Flush() error { return nil }


// BenchmarkEncode1080pHalf is jpegEncoder alone on the DCT-domain decoder's 960x540 4:2:0
// output of the synthetic 1080p frame, and BenchmarkDecode1080pHalf the decoder alone: the two
// halves of the Scaler's MJPEG path.
func BenchmarkEncode1080pHalf(b *testing.B) {
	var d jpegDecoder
	img, err := d.decode(syntheticJPEG(b, 1920, 1080), 1920, 1080, 1)
	if err != nil {
		b.Fatal(err)
	}
	var e jpegEncoder
	dst := make([]byte, 1<<21)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.encode(dst, img, DefaultScaleQuality); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode1080pHalf(b *testing.B) {
	data := syntheticJPEG(b, 1920, 1080)
	var d jpegDecoder
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.decode(data, 1920, 1080, 1); err != nil {
			b.Fatal(err)
		}
	}
}
