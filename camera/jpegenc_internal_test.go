package camera

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
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

// update rewrites the golden files of TestEncodeGolden.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// logicalPlanes returns the planes of img cropped to their logical sizes (Y, then Cb and Cr).
func logicalPlanes(img image.Image) [][]byte {
	crop := func(p []byte, stride, w, h int) []byte {
		out := make([]byte, 0, w*h)
		for y := range h {
			out = append(out, p[y*stride:y*stride+w]...)
		}
		return out
	}
	switch m := img.(type) {
	case *image.Gray:
		return [][]byte{crop(m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy())}
	case *image.YCbCr:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		cw, ch := chromaSize(m.SubsampleRatio, w, h)
		return [][]byte{crop(m.Y, m.YStride, w, h), crop(m.Cb, m.CStride, cw, ch), crop(m.Cr, m.CStride, cw, ch)}
	}
	panic(fmt.Sprintf("logicalPlanes: %T", img))
}

// roundTrip encodes img with enc (ours or image/jpeg's) at quality, decodes the result with
// image/jpeg and returns each plane's PSNR against img's, and the JPEG's size.
func roundTrip(t *testing.T, img image.Image, quality int, enc func([]byte, image.Image, int) (int, error)) ([]float64, []byte) {
	t.Helper()
	dst := make([]byte, 1<<22)
	n, err := enc(dst, img, quality)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	back, err := jpeg.Decode(bytes.NewReader(dst[:n]))
	if err != nil {
		t.Fatalf("image/jpeg cannot decode the output: %v", err)
	}
	if back.Bounds().Size() != img.Bounds().Size() {
		t.Fatalf("decoded %v, encoded %v", back.Bounds(), img.Bounds())
	}
	want, got := logicalPlanes(img), logicalPlanes(back)
	if a, b := sampling(back), sampling(img); a != b {
		return nil, dst[:n] // image/jpeg's encoder writes 4:2:0 whatever it is given
	}
	p := make([]float64, len(want))
	for i := range want {
		p[i] = psnr(got[i], want[i])
	}
	return p, dst[:n]
}

// sampling names the colour model and chroma subsampling of a decoded image.
func sampling(img image.Image) string {
	if m, ok := img.(*image.YCbCr); ok {
		return m.SubsampleRatio.String()
	}
	return fmt.Sprintf("%T", img)
}

func ourEncode(dst []byte, img image.Image, q int) (int, error) {
	var e jpegEncoder
	return e.encode(dst, img, q)
}

// minEncodePSNR is the lowest PSNR, per plane, that a round trip through jpegEncoder at
// DefaultScaleQuality may have on the inputs of TestEncodeMatchesImageJPEG (photographs and
// camera frames: measured 33.9 dB and up; the screenshot of text 29.7 dB), and
// maxEncodeLoss how far below image/jpeg's own round trip of the same planes it may fall:
// the AAN transform with 13-bit constants rounds a little differently from image/jpeg's
// islow transform, nothing more (measured: at most 0.2 dB below, often above). A wrong table,
// a misplaced block or a lost bit costs tens of dB.
const (
	minEncodePSNR = 29
	maxEncodeLoss = 0.5
)

// TestEncodeMatchesImageJPEG encodes the DCT-domain decoder's output (the Scaler's path) and
// image/jpeg's full decodes of real photographs, in every sampling the encoder writes, and
// checks that image/jpeg reads each back with the same size and sampling, with a PSNR close
// to image/jpeg's own encoder on the same planes and a size within 10% of it, and that
// libjpeg-turbo's djpeg reads it too.
func TestEncodeMatchesImageJPEG(t *testing.T) {
	hopper := func(t *testing.T) []byte {
		return needFile(t, mplSamples+"/grace_hopper.jpg", "python-matplotlib-data")
	}
	cjpeg := func(sample string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			ppm := run(t, hopper(t), needTool(t, "djpeg"), "-ppm")
			return run(t, ppm, needTool(t, "cjpeg"), "-sample", sample, "-quality", "90")
		}
	}
	half := func(src func(*testing.T) []byte) func(t *testing.T) image.Image {
		return func(t *testing.T) image.Image {
			data := src(t)
			c, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var d jpegDecoder
			img, err := d.decode(data, c.Width, c.Height, 1)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	full := func(src func(*testing.T) []byte) func(t *testing.T) image.Image {
		return func(t *testing.T) image.Image {
			img, err := jpeg.Decode(bytes.NewReader(src(t)))
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	synth := func(w, h int) func(*testing.T) []byte {
		return func(t *testing.T) []byte { return syntheticJPEG(t, w, h) }
	}
	file := func(name, pkg string) func(*testing.T) []byte {
		return func(t *testing.T) []byte { return needFile(t, name, pkg) }
	}
	tests := []struct {
		name string
		img  func(t *testing.T) image.Image
	}{
		{"synthetic-1080p-half-420", half(synth(1920, 1080))},
		{"synthetic-1080p-full-420", full(synth(1920, 1080))},
		{"grace_hopper-half-420", half(hopper)},
		{"grace_hopper-full-420", full(hopper)},
		{"grace_hopper-422", full(cjpeg("2x1"))},
		{"grace_hopper-440", full(cjpeg("1x2"))},
		{"grace_hopper-444", full(cjpeg("1x1"))},
		{"bluebells-half-420", half(file(imDocs+"/bluebells_lin.jpg", "imagemagick-6-doc"))},
		{"configure-444-text", full(file(imDocs+"/configure.jpg", "imagemagick-6-doc"))},
		{"objects-grey", full(file(imDocs+"/objects.jpg", "imagemagick-6-doc"))},
		{"objects-grey-half", half(file(imDocs+"/objects.jpg", "imagemagick-6-doc"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.img(t)
			ours, out := roundTrip(t, img, DefaultScaleQuality, ourEncode)
			if ours == nil {
				t.Fatalf("sampling %s not kept", sampling(img))
			}
			// image/jpeg encodes only 4:2:0 and grey: for other samplings the comparison is
			// with minEncodePSNR alone.
			ref, refOut := roundTrip(t, img, DefaultScaleQuality, stdlibEncode)
			for i := range ours {
				if ref == nil {
					t.Logf("plane %d: %.2f dB", i, ours[i])
					if ours[i] < minEncodePSNR {
						t.Errorf("plane %d: PSNR %.2f dB", i, ours[i])
					}
					continue
				}
				t.Logf("plane %d: %.2f dB (image/jpeg %.2f dB)", i, ours[i], ref[i])
				if ours[i] < minEncodePSNR || ours[i] < ref[i]-maxEncodeLoss {
					t.Errorf("plane %d: PSNR %.2f dB, image/jpeg's %.2f dB", i, ours[i], ref[i])
				}
			}
			t.Logf("%d bytes (image/jpeg %d)", len(out), len(refOut))
			if ref != nil && len(out) > len(refOut)*11/10 {
				t.Errorf("%d bytes, image/jpeg's %d", len(out), len(refOut))
			}
			b := img.Bounds()
			magic := "P6"
			if _, ok := img.(*image.Gray); ok {
				magic = "P5"
			}
			pnm := run(t, out, needTool(t, "djpeg"), "-pnm")
			if want := fmt.Sprintf("%s\n%d %d\n255\n", magic, b.Dx(), b.Dy()); !bytes.HasPrefix(pnm, []byte(want)) {
				t.Errorf("djpeg gave %q..., want %q", pnm[:min(len(pnm), 16)], want)
			}
		})
	}
}

// TestFDCTQuantize checks the AAN transform and the reciprocal quantization against T.81's
// FDCT formula in floating point, divided by the quantizer and rounded, on random, flat,
// extreme, striped and worst-case blocks (each frequency's largest output, which would show an
// overflow) at several qualities: every dequantized coefficient within half a step plus 1 of
// the exact one, and few off the exact rounding: at most 1% (measured 0.2% at quality 85),
// 5% at quality 100, whose steps of 1 show the transform's own error (measured 3.3%).
func TestFDCTQuantize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var blocks [][64]int32
	for range 200 {
		var b [64]int32
		for i := range b {
			b[i] = int32(r.IntN(256))
		}
		blocks = append(blocks, b)
	}
	var flat0, flat255, stripes [64]int32
	for i := range flat255 {
		flat255[i] = 255
		stripes[i] = int32(255 * (i % 2))
	}
	blocks = append(blocks, flat0, flat255, stripes)
	// The largest |output| of each frequency: 255 where its basis function is positive.
	for u := range 8 {
		for v := range 8 {
			var b, nb [64]int32
			for y := range 8 {
				for x := range 8 {
					if math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)*math.Cos(float64(2*y+1)*float64(v)*math.Pi/16) > 0 {
						b[y*8+x] = 255
					} else {
						nb[y*8+x] = 255
					}
				}
			}
			blocks = append(blocks, b, nb)
		}
	}
	for _, quality := range []int{1, 50, 85, 100} {
		var e jpegEncoder
		e.tables(quality)
		total, off := 0, 0
		for _, b := range blocks {
			for tbl := range 2 {
				e.blk = b
				for i := range e.blk {
					e.blk[i] <<= fdctIn
				}
				fdct(&e.blk)
				e.blk[0] -= 64 * 128 << fdctIn
				for k, nat := range zigzag {
					u, v := int(nat%8), int(nat/8)
					var f float64
					for y := range 8 {
						for x := range 8 {
							f += float64(b[y*8+x]-128) * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
						}
					}
					cu, cv := 1.0, 1.0
					if u == 0 {
						cu = 1 / math.Sqrt2
					}
					if v == 0 {
						cv = 1 / math.Sqrt2
					}
					f *= cu * cv / 4
					q := float64(e.dqt[tbl][k])
					want := int(math.Round(f / q))
					m, sign := quantize(e.blk[nat], e.recip[tbl][k])
					got := int((int32(m) ^ sign) - sign)
					total++
					if got != want {
						off++
					}
					if math.Abs(float64(got)*q-f) > q/2+1 {
						t.Fatalf("quality %d table %d coefficient %d: %d steps of %v, exact %.2f", quality, tbl, k, got, q, f)
					}
				}
			}
		}
		t.Logf("quality %d: %d of %d coefficients off the exact rounding", quality, off, total)
		pct := 1
		if quality == 100 {
			pct = 5
		}
		if off*100 > total*pct {
			t.Errorf("quality %d: %d of %d coefficients off the exact rounding", quality, off, total)
		}
	}
}
