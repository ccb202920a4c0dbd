package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/internal/testtool"
)

// Real photographs from Debian packages (scripts/deps.sh installs them):
//   - python-matplotlib-data: grace_hopper.jpg, the US Navy portrait of Grace Hopper (public
//     domain), 512x600 4:2:0; matplotlib's licence per the package's copyright file.
//   - imagemagick-6-doc (ImageMagick licence, Apache-2.0 with a preamble): bluebells_lin.jpg
//     (a photo, 384x288 4:2:0), configure.jpg (a screenshot, 502x479 4:4:4), objects.jpg
//     (256x171 greyscale) and wizard.jpg (265x352, progressive: must be refused).
const (
	mplSamples = "/usr/share/matplotlib/mpl-data/sample_data"
	imDocs     = "/usr/share/doc/imagemagick-6-common/html/images"
)

// needFile returns the bytes of path, or skips the test when it is missing (fails with
// CI=true, where scripts/deps.sh must have installed it).
func needFile(t testing.TB, path, pkg string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	testtool.Need(t, "the photograph "+path, err, "apt-get install "+pkg+" (scripts/deps.sh)")
	return b
}

// needTool returns the path of a libjpeg-turbo-progs tool, or skips (fails with CI=true).
func needTool(t testing.TB, name string) string {
	t.Helper()
	return testtool.LookPath(t, name, "libjpeg-turbo-progs")
}

// run pipes in through a command and returns its output.
func run(t testing.TB, in []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(in)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, stderr.String())
	}
	return out.Bytes()
}

func syntheticJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	s, err := NewSynthetic(Config{Width: w, Height: h, Format: MJPEG, FPS: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.ReadFrame(make([]byte, s.MaxFrameBytes()))
	if err != nil {
		t.Fatal(err)
	}
	return f.Data
}

// refPlanes decodes data with image/jpeg and averages each plane over blocks of side 1<<shift,
// only over the samples inside the image: the oracle the DCT-domain decoder is compared with.
// It shares no code with the decoder or the Scaler's box filter.
func refPlanes(t testing.TB, data []byte, shift uint) [][]byte {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	avg := func(p []byte, stride, w, h int) []byte {
		s := 1 << shift
		ow, oh := (w+s-1)/s, (h+s-1)/s
		out := make([]byte, ow*oh)
		for oy := range oh {
			for ox := range ow {
				sum, n := 0, 0
				for y := oy * s; y < min(oy*s+s, h); y++ {
					for x := ox * s; x < min(ox*s+s, w); x++ {
						sum += int(p[y*stride+x])
						n++
					}
				}
				out[oy*ow+ox] = byte((sum + n/2) / n)
			}
		}
		return out
	}
	switch m := img.(type) {
	case *image.Gray:
		return [][]byte{avg(m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy())}
	case *image.YCbCr:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		cw, ch := chromaSize(m.SubsampleRatio, w, h)
		return [][]byte{avg(m.Y, m.YStride, w, h), avg(m.Cb, m.CStride, cw, ch), avg(m.Cr, m.CStride, cw, ch)}
	}
	t.Fatalf("image/jpeg gave %T", img)
	return nil
}

// planesOf returns the planes of the decoder's image, cropped to the reference's sizes.
func planesOf(img image.Image, ref [][]byte) [][]byte {
	crop := func(p []byte, stride, n, w int) []byte {
		out := make([]byte, 0, n)
		for y := 0; len(out) < n; y++ {
			out = append(out, p[y*stride:y*stride+w]...)
		}
		return out
	}
	switch m := img.(type) {
	case *image.Gray:
		return [][]byte{crop(m.Pix, m.Stride, len(ref[0]), m.Rect.Dx())}
	case *image.YCbCr:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		cw, _ := chromaSize(m.SubsampleRatio, w, h)
		return [][]byte{crop(m.Y, m.YStride, len(ref[0]), w), crop(m.Cb, m.CStride, len(ref[1]), cw), crop(m.Cr, m.CStride, len(ref[2]), cw)}
	}
	return nil
}

func psnr(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(len(a))/se)
}

// PSNR bounds of the DCT-domain decode against image/jpeg's full decode averaged over the same
// blocks, per reduction (index: shift). At 1/8 both are the block mean (the DC term against the
// mean of 64 rounded, clamped samples). At 1/4 and 1/2 the reduced IDCT is a smoother low-pass
// than a box average, so they differ at edges: camera frames and photographs agree to 35.8 dB
// or better (measured: 35.8 to 47 dB), a screenshot full of 1-pixel text to 28.4 dB. A
// misplaced coefficient, a wrong table or a lost bit falls far below either.
var (
	photoPSNR = [4]float64{1: 35, 2: 35, 3: 50}
	textPSNR  = [4]float64{1: 28, 2: 32, 3: 42}
)

// TestDecodeScaledMatchesImageJPEG compares every plane of the DCT-domain decode at 1/2, 1/4
// and 1/8 with image/jpeg's full decode averaged over the same blocks, on the synthetic
// camera's frames and on real photographs, in each sampling the decoder takes.
func TestDecodeScaledMatchesImageJPEG(t *testing.T) {
	type input struct {
		name    string
		data    func(t *testing.T) []byte
		minPSNR *[4]float64
	}
	hopper := func(t *testing.T) []byte {
		return needFile(t, mplSamples+"/grace_hopper.jpg", "python-matplotlib-data")
	}
	// withRestart decodes a photo to PPM and re-encodes it with cjpeg in the given sampling,
	// with a restart marker every rows MCU rows (0: none).
	withRestart := func(src func(*testing.T) []byte, sample string, rows int) func(*testing.T) []byte {
		return func(t *testing.T) []byte {
			ppm := run(t, src(t), needTool(t, "djpeg"), "-ppm")
			args := []string{"-sample", sample, "-quality", "85"}
			if rows > 0 {
				args = append(args, "-restart", fmt.Sprint(rows))
			}
			return run(t, ppm, needTool(t, "cjpeg"), args...)
		}
	}
	inputs := []input{
		{"synthetic-1080p-420", func(t *testing.T) []byte { return syntheticJPEG(t, 1920, 1080) }, &photoPSNR},
		{"synthetic-640x360-420", func(t *testing.T) []byte { return syntheticJPEG(t, 640, 360) }, &photoPSNR},
		{"grace_hopper-420", hopper, &photoPSNR},
		{"grace_hopper-422-cjpeg", withRestart(hopper, "2x1", 0), &photoPSNR},
		{"grace_hopper-444-cjpeg", withRestart(hopper, "1x1", 0), &photoPSNR},
		{"grace_hopper-420-restart1-cjpeg", withRestart(hopper, "2x2", 1), &photoPSNR},
		{"bluebells-420", func(t *testing.T) []byte { return needFile(t, imDocs+"/bluebells_lin.jpg", "imagemagick-6-doc") }, &photoPSNR},
		{"configure-444-text", func(t *testing.T) []byte { return needFile(t, imDocs+"/configure.jpg", "imagemagick-6-doc") }, &textPSNR},
		{"objects-grey", func(t *testing.T) []byte { return needFile(t, imDocs+"/objects.jpg", "imagemagick-6-doc") }, &photoPSNR},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			data := in.data(t)
			c, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var d jpegDecoder
			for shift := uint(1); shift <= 3; shift++ {
				img, err := d.decode(data, c.Width, c.Height, shift)
				if err != nil {
					t.Fatalf("1/%d: %v", 1<<shift, err)
				}
				if b := img.Bounds(); b.Dx() != ceilShift(c.Width, shift) || b.Dy() != ceilShift(c.Height, shift) {
					t.Fatalf("1/%d: %v from %dx%d", 1<<shift, b, c.Width, c.Height)
				}
				ref := refPlanes(t, data, shift)
				got := planesOf(img, ref)
				for i := range ref {
					p := psnr(got[i], ref[i])
					t.Logf("1/%d plane %d: PSNR %.1f dB", 1<<shift, i, p)
					if p < in.minPSNR[shift] {
						t.Errorf("1/%d plane %d: PSNR %.1f dB < %.0f", 1<<shift, i, p, in.minPSNR[shift])
					}
				}
			}
		})
	}
}

// BenchmarkScaleMJPEGRatio1080p times, in the same iteration and on the same synthetic 1080p
// MJPEG frame, today's path before the DCT-domain decoder and the own encoder (stdlibScale:
// image/jpeg decode, box filter, image/jpeg encode) and the Scaler's (DCT-domain decode at the
// largest of 1/2, 1/4, 1/8 within the budget, jpegEncoder), both to a 1.2 MP budget, and
// reports each one's wall time and the speed-up (goal: >= 5), and the same from the thread's
// CPU time (Linux; the goroutine is locked to its thread): on a loaded machine wall time
// charges the short path with other processes' time slices. The CPU figures leave out the
// garbage collector's background work for image/jpeg's allocations, in the reference's favour.
func BenchmarkScaleMJPEGRatio1080p(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	data := syntheticJPEG(b, 1920, 1080)
	f := Frame{Data: data, Width: 1920, Height: 1080, Format: MJPEG}
	full, fast := &Scaler{MaxPixels: 1_200_000}, &Scaler{MaxPixels: 1_200_000}
	dst := make([]byte, 1920*1080*2)
	var tFull, tFast, cFull, cFast time.Duration
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		t0, c0 := time.Now(), threadCPU()
		if _, err := stdlibScale(full, dst, f); err != nil {
			b.Fatal(err)
		}
		t1, c1 := time.Now(), threadCPU()
		if _, err := fast.Scale(dst, f); err != nil {
			b.Fatal(err)
		}
		t2, c2 := time.Now(), threadCPU()
		tFull += t1.Sub(t0)
		tFast += t2.Sub(t1)
		cFull += c1 - c0
		cFast += c2 - c1
	}
	n := float64(b.N)
	b.ReportMetric(float64(tFull.Nanoseconds())/n, "stdlib-ns/frame")
	b.ReportMetric(float64(tFast.Nanoseconds())/n, "dct-ns/frame")
	b.ReportMetric(float64(tFull)/float64(tFast), "speedup")
	if cFast > 0 {
		b.ReportMetric(float64(cFull.Nanoseconds())/n, "stdlib-cpu-ns/frame")
		b.ReportMetric(float64(cFast.Nanoseconds())/n, "dct-cpu-ns/frame")
		b.ReportMetric(float64(cFull)/float64(cFast), "cpu-speedup")
	}
}

// TestDecodeScaledFallsBack: streams the DCT-domain decoder does not take are refused with
// errNoFastPath; the Scaler scales the progressive ones through image/jpeg (to FitSize).
func TestDecodeScaledFallsBack(t *testing.T) {
	synth := syntheticJPEG(t, 320, 240)
	tests := []struct {
		name  string
		data  func(t *testing.T) []byte
		w, h  int
		scale bool // image/jpeg decodes it: the Scaler must still scale it
	}{
		{"progressive wizard.jpg", func(t *testing.T) []byte { return needFile(t, imDocs+"/wizard.jpg", "imagemagick-6-doc") }, 265, 352, false},
		{"progressive jpegtran", func(t *testing.T) []byte { return run(t, synth, needTool(t, "jpegtran"), "-progressive") }, 320, 240, true},
		{"12-bit header", func(t *testing.T) []byte { return patchSOF(t, synth, 0, 12) }, 320, 240, false},
		{"RGB component ids", func(t *testing.T) []byte {
			return patchSOF(t, patchSOF(t, patchSOF(t, synth, 6, 'R'), 9, 'G'), 12, 'B')
		}, 320, 240, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data(t)
			var d jpegDecoder
			if _, err := d.decode(data, tt.w, tt.h, 1); !errors.Is(err, errNoFastPath) {
				t.Fatalf("decode: %v, want errNoFastPath", err)
			}
			if !tt.scale {
				return
			}
			s := Scaler{MaxPixels: tt.w * tt.h / 3}
			out, err := s.Scale(make([]byte, 1<<20), Frame{Data: data, Width: tt.w, Height: tt.h, Format: MJPEG})
			if err != nil {
				t.Fatalf("Scale: %v", err)
			}
			if w, h := FitSize(tt.w, tt.h, s.MaxPixels); out.Width != w || out.Height != h {
				t.Errorf("Scale gave %dx%d, want image/jpeg's path to FitSize %dx%d", out.Width, out.Height, w, h)
			}
		})
	}
}

// patchSOF returns a copy of data with byte i of the SOF0 segment's body set to v.
func patchSOF(t testing.TB, data []byte, i int, v byte) []byte {
	t.Helper()
	b := append([]byte(nil), data...)
	p := bytes.Index(b, []byte{0xFF, 0xC0})
	if p < 0 {
		t.Fatal("no SOF0")
	}
	b[p+4+i] = v
	return b
}

// TestDecodeScaledLosslessVariants: the same coefficients coded differently must decode to the
// same pixels: without DHT segments (the Motion-JPEG convention: the decoder supplies T.81
// K.3's tables, which image/jpeg's encoder also uses) and with restart markers added by
// jpegtran (lossless), every MCU and every 3 MCU rows.
func TestDecodeScaledLosslessVariants(t *testing.T) {
	orig := syntheticJPEG(t, 640, 360)
	variants := []struct {
		name string
		data func(t *testing.T) []byte
	}{
		{"no DHT", func(t *testing.T) []byte { return stripSegments(orig, 0xC4) }},
		{"restart every MCU", func(t *testing.T) []byte { return run(t, orig, needTool(t, "jpegtran"), "-restart", "1B") }},
		{"restart every 3 rows", func(t *testing.T) []byte { return run(t, orig, needTool(t, "jpegtran"), "-restart", "3") }},
	}
	var d0, d1 jpegDecoder
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			data := v.data(t)
			if bytes.Equal(data, orig) {
				t.Fatal("variant is the original")
			}
			for shift := uint(1); shift <= 3; shift++ {
				want, err := d0.decode(orig, 640, 360, shift)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d1.decode(data, 640, 360, shift)
				if err != nil {
					t.Fatalf("1/%d: %v", 1<<shift, err)
				}
				// Inside the image only: jpegtran recodes the padding blocks of partial MCUs.
				ref := refPlanes(t, orig, shift)
				w, g := planesOf(want, ref), planesOf(got, ref)
				for i := range w {
					if !bytes.Equal(w[i], g[i]) {
						t.Errorf("1/%d: plane %d differs from the original's", 1<<shift, i)
					}
				}
			}
		})
	}
}

// stripSegments returns data without the marker segments of type m before the scan.
func stripSegments(data []byte, m byte) []byte {
	out := append([]byte(nil), data[:2]...)
	p := 2
	for p+4 <= len(data) && data[p+1] != 0xDA {
		n := 2 + (int(data[p+2])<<8 | int(data[p+3]))
		if data[p+1] != m {
			out = append(out, data[p:p+n]...)
		}
		p += n
	}
	return append(out, data[p:]...)
}

// TestDecodeScaledBadInput: corrupt streams give ErrBadFrame with what was wrong, never a
// panic or a wrong-sized image.
func TestDecodeScaledBadInput(t *testing.T) {
	good := syntheticJPEG(t, 64, 48)
	sos := bytes.Index(good, []byte{0xFF, 0xDA})
	rst := run(t, good, needTool(t, "jpegtran"), "-restart", "1B")
	rstAt := bytes.Index(rst, []byte{0xFF, 0xD0})
	tests := []struct {
		name string
		data []byte
		w, h int
		want string
	}{
		{"empty", nil, 64, 48, "no start-of-image"},
		{"not a JPEG", []byte("GIF89a......"), 64, 48, "no start-of-image"},
		{"size differs from the frame's", good, 64, 32, "header size differs"},
		{"segment past the end", good[:20], 64, 48, "segment runs past the end"},
		{"scan data cut", good[:sos+(len(good)-sos)/2], 64, 48, "scan data ends early"},
		{"no scan", good[:sos], 64, 48, "no marker"},
		{"restart marker out of order", replaceAt(rst, rstAt+1, 0xD3), 64, 48, "restart marker"},
		{"overfull Huffman table", overfullDHT(good), 64, 48, "more codes than fit"},
		{"undefined quantization table", patchSOF(t, good, 8, 3), 64, 48, "undefined quantization table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d jpegDecoder
			img, err := d.decode(tt.data, tt.w, tt.h, 2)
			if !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want ErrBadFrame: ...%s", img, err, tt.want)
			}
		})
	}
}

func replaceAt(b []byte, i int, v byte) []byte {
	b = append([]byte(nil), b...)
	b[i] = v
	return b
}

// overfullDHT returns data with its first Huffman table (image/jpeg writes DC luminance first:
// counts 0, 1, 5, ...) claiming three 1-bit codes, of which there can be two, and two 3-bit
// ones instead of five, so the number of symbols stays right.
func overfullDHT(data []byte) []byte {
	b := append([]byte(nil), data...)
	p := bytes.Index(b, []byte{0xFF, 0xC4})
	b[p+5], b[p+7] = 3, 2
	return b
}

// FuzzDecodeScaled feeds the DCT-domain decoder arbitrary bytes (seeded with real frames and
// their variants): it must return an image of exactly the reduced size or an error wrapping
// ErrBadFrame or errNoFastPath, never panic.
func FuzzDecodeScaled(f *testing.F) {
	for _, size := range [][2]int{{64, 48}, {24, 16}} {
		data := syntheticJPEG(f, size[0], size[1])
		f.Add(data, uint16(size[0]), uint16(size[1]), uint8(1))
		f.Add(stripSegments(data, 0xC4), uint16(size[0]), uint16(size[1]), uint8(2))
	}
	if p, err := exec.LookPath("jpegtran"); err == nil {
		cmd := exec.Command(p, "-restart", "1B")
		cmd.Stdin = bytes.NewReader(syntheticJPEG(f, 64, 48))
		if out, err := cmd.Output(); err == nil {
			f.Add(out, uint16(64), uint16(48), uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, w, h uint16, s uint8) {
		shift := uint(s%3) + 1
		var d jpegDecoder
		img, err := d.decode(data, int(w), int(h), shift)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, errNoFastPath) {
				t.Fatalf("error %v wraps neither ErrBadFrame nor errNoFastPath", err)
			}
			return
		}
		if b := img.Bounds(); b.Dx() != ceilShift(int(w), shift) || b.Dy() != ceilShift(int(h), shift) {
			t.Fatalf("%v from %dx%d at 1/%d", b, w, h, 1<<shift)
		}
	})
}

// TestDecodeScaledZeroAlloc: once its planes have grown to a frame size, the decoder allocates
// nothing per frame, at any reduction.
func TestDecodeScaledZeroAlloc(t *testing.T) {
	data := syntheticJPEG(t, 640, 360)
	var d jpegDecoder
	for shift := uint(1); shift <= 3; shift++ {
		if _, err := d.decode(data, 640, 360, shift); err != nil {
			t.Fatal(err)
		}
	}
	for shift := uint(1); shift <= 3; shift++ {
		if n := testing.AllocsPerRun(20, func() { _, _ = d.decode(data, 640, 360, shift) }); n != 0 {
			t.Errorf("1/%d: %v allocations per frame", 1<<shift, n)
		}
	}
}
