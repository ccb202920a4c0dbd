package anonymize_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/geogate/geogate/anonymize"
	"github.com/geogate/geogate/anonymize/anonymizetest"
	"github.com/geogate/geogate/camera"
)

// TestMain doubles as a detector process for the crash test: with GEOGATE_FAKE_DETECTOR set
// to a socket path, the test binary serves a hanging Fake there and prints "received" after
// each request, so the test can kill it mid-frame.
func TestMain(m *testing.M) {
	if socket := os.Getenv("GEOGATE_FAKE_DETECTOR"); socket != "" {
		f, err := anonymizetest.Listen(socket, anonymizetest.Hang)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("listening")
		for range f.Received {
			fmt.Println("received")
		}
	}
	os.Exit(m.Run())
}

// loadJPEG reads a test photograph as an MJPEG frame.
func loadJPEG(t testing.TB, name string) camera.Frame {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return camera.Frame{Data: b, Width: cfg.Width, Height: cfg.Height, Format: camera.MJPEG}
}

// truth is the hand annotation of the test photographs (see testdata/SOURCES.md): every face
// and plate boundary frame (GB/T 44464 3.6, 3.8: brow to chin and ear to ear; the plate's outer
// edge), read off the images by eye, not from any detector's output.
var truth = map[string][]anonymize.Box{
	"astronaut.jpg": {{Class: anonymize.Face, X: 251, Y: 82, W: 83, H: 78}},
	"cameraman.jpg": {{Class: anonymize.Face, X: 182, Y: 127, W: 70, H: 70}}, // in profile
	"plates.jpg":    {{Class: anonymize.Plate, X: 60, Y: 330, W: 170, H: 36}, {Class: anonymize.Plate, X: 380, Y: 380, W: 140, H: 30}},
	"chelsea.jpg":   nil, // a cat
	"coffee.jpg":    nil,
	"rocket.jpg":    nil,
}

// covered is the fraction of t's area inside the region geogate masks for box b (b grown by
// the masking margin), computed here independently of the masking code.
func covered(t, b anonymize.Box) float64 {
	mx, my := b.W/10, b.H/10
	x0, y0 := max(t.X, b.X-mx), max(t.Y, b.Y-my)
	x1, y1 := min(t.X+t.W, b.X+b.W+mx), min(t.Y+t.H, b.Y+b.H+my)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	return float64((x1-x0)*(y1-y0)) / float64(t.W*t.H)
}

// TestHaarPhotos runs the reference Haar sidecar over the test photographs and reports, per
// class, the counts GB/T 44464-2024 Annex C builds its false-detection rate from, and recall
// (docs/ANONYMIZE.md defines both). It fails if the astronaut's face or a plate goes unmasked,
// or if anything is detected in the three photographs without faces or plates.
func TestHaarPhotos(t *testing.T) {
	socket, _ := anonymizetest.StartHaar(t)
	d := &anonymize.Detector{Socket: socket}
	defer d.Close()
	type tally struct{ objects, found, detections, false_ int }
	tallies := map[anonymize.Class]*tally{anonymize.Face: {}, anonymize.Plate: {}}
	for name, want := range truth {
		f := loadJPEG(t, name)
		boxes, err := d.Detect(nil, &f, time.Now().Add(30*time.Second)) // a hang guard
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, o := range want {
			tallies[o.Class].objects++
			for _, b := range boxes {
				if covered(o, b) >= 0.9 {
					tallies[o.Class].found++
					break
				}
			}
		}
		for _, b := range boxes {
			tallies[b.Class].detections++
			hit := false
			for _, o := range want {
				hit = hit || covered(o, b) > 0
			}
			if !hit {
				tallies[b.Class].false_++
				t.Logf("%s: false detection %+v", name, b)
			}
		}
		if want == nil && len(boxes) > 0 {
			t.Errorf("%s: %d detections in a photograph without faces or plates", name, len(boxes))
		}
		if name == "astronaut.jpg" || name == "plates.jpg" {
			for _, o := range want {
				if !slicesAny(boxes, func(b anonymize.Box) bool { return covered(o, b) >= 0.9 }) {
					t.Errorf("%s: %v at %+v not masked (boxes %+v)", name, o.Class, o, boxes)
				}
			}
		}
	}
	for _, c := range []anonymize.Class{anonymize.Face, anonymize.Plate} {
		s := tallies[c]
		t.Logf("%s: objects %d, masked %d (recall %.2f); detections %d, false detections %d",
			c, s.objects, s.found, float64(s.found)/float64(s.objects), s.detections, s.false_)
	}
}

func slicesAny(bs []anonymize.Box, f func(anonymize.Box) bool) bool {
	for _, b := range bs {
		if f(b) {
			return true
		}
	}
	return false
}

// TestFailClosed: whatever goes wrong with the detector, Anonymize returns no frame and an
// error the gate counts; the frame's pixels never come back unmasked.
func TestFailClosed(t *testing.T) {
	f := loadJPEG(t, "astronaut.jpg")
	face := anonymize.Box{Class: anonymize.Face, Confidence: 900, X: 251, Y: 82, W: 83, H: 78}
	tests := []struct {
		name     string
		socket   func(t *testing.T) string
		deadline time.Duration
		want     error
	}{
		{"no detector", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.sock") }, time.Second, anonymize.ErrNoDetector},
		{"slow beyond the deadline", func(t *testing.T) string { return anonymizetest.NewFake(t, anonymizetest.Hang).Socket }, 50 * time.Millisecond, anonymize.ErrTimeout},
		{"garbage answer", func(t *testing.T) string { return anonymizetest.NewFake(t, anonymizetest.Garbage).Socket }, time.Second, anonymize.ErrMalformed},
		{"answer for another frame", func(t *testing.T) string { return anonymizetest.NewFake(t, anonymizetest.WrongID, face).Socket }, time.Second, anonymize.ErrMalformed},
		{"hangs up mid-frame", func(t *testing.T) string { return anonymizetest.NewFake(t, anonymizetest.Hangup).Socket }, time.Second, anonymize.ErrDetectorFailed},
		{"box outside the frame", func(t *testing.T) string {
			return anonymizetest.NewFake(t, anonymizetest.Answer, anonymize.Box{Class: anonymize.Face, X: 700, Y: 10, W: 5, H: 5}).Socket
		}, time.Second, anonymize.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: tt.socket(t)}, Deadline: tt.deadline}
			defer a.Close()
			out, err := a.Anonymize(make([]byte, 1<<20), f)
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
			if out.Data != nil {
				t.Errorf("a frame came back (%d bytes) with the error", len(out.Data))
			}
		})
	}
	t.Run("detector killed mid-frame", func(t *testing.T) {
		socket := filepath.Join(t.TempDir(), "crash.sock")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GEOGATE_FAKE_DETECTOR="+socket)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		defer cmd.Process.Kill()
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "listening" {
			t.Fatalf("fake detector did not start: %q", lines.Text())
		}
		go func() {
			if lines.Scan() && lines.Text() == "received" {
				cmd.Process.Signal(syscall.SIGKILL) // the request is in; the answer never comes
			}
		}()
		a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: socket}, Deadline: time.Minute}
		defer a.Close()
		got, err := a.Anonymize(make([]byte, 1<<20), f)
		if !errors.Is(err, anonymize.ErrDetectorFailed) || got.Data != nil {
			t.Errorf("got %d bytes, %v; want no frame, ErrDetectorFailed", len(got.Data), err)
		}
	})
	t.Run("haar refuses a broken JPEG", func(t *testing.T) {
		socket, _ := anonymizetest.StartHaar(t)
		a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: socket}, Deadline: 30 * time.Second}
		defer a.Close()
		bad := f
		bad.Data = append([]byte{0xff, 0xd8}, bytes.Repeat([]byte{0x55}, 1000)...)
		got, err := a.Anonymize(make([]byte, 1<<20), bad)
		var re *anonymize.RefusedError
		if !errors.Is(err, anonymize.ErrRefused) || !errors.As(err, &re) || got.Data != nil {
			t.Errorf("got %d bytes, %v; want ErrRefused", len(got.Data), err)
		}
	})
	t.Run("haar killed, then a frame", func(t *testing.T) {
		socket, proc := anonymizetest.StartHaar(t)
		a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: socket}, Deadline: 30 * time.Second}
		defer a.Close()
		if _, err := a.Anonymize(make([]byte, 1<<20), f); err != nil {
			t.Fatalf("before the kill: %v", err)
		}
		proc.Signal(syscall.SIGKILL)
		proc.Wait()
		got, err := a.Anonymize(make([]byte, 1<<20), f)
		if err == nil || got.Data != nil {
			t.Fatalf("after the kill: %d bytes, %v", len(got.Data), err)
		}
		if !errors.Is(err, anonymize.ErrDetectorFailed) && !errors.Is(err, anonymize.ErrNoDetector) {
			t.Errorf("after the kill: %v, want ErrDetectorFailed or ErrNoDetector", err)
		}
	})
}

// lumaAt returns the luma of a decoded JPEG at (x, y).
func lumaAt(img image.Image, x, y int) float64 {
	switch m := img.(type) {
	case *image.YCbCr:
		return float64(m.Y[m.YOffset(x, y)])
	case *image.Gray:
		return float64(m.Pix[m.PixOffset(x, y)])
	}
	panic("BUG: unexpected JPEG colour model")
}

// variance returns the variance of img's luma inside r.
func variance(img image.Image, r image.Rectangle) float64 {
	var s, s2, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			l := lumaAt(img, x, y)
			s, s2, n = s+l, s2+l*l, n+1
		}
	}
	return s2/n - (s/n)*(s/n)
}

// detail returns the local variance of img's luma inside r: the median over r's 4x4 windows
// of the luma variance in each. A mosaic keeps the cells' means, so r's variance stays, but it
// removes every detail finer than a cell (eyes, mouth, characters); the median skips the
// windows that straddle a cell edge.
func detail(img image.Image, r image.Rectangle) float64 {
	var vs []float64
	for y := r.Min.Y; y+4 <= r.Max.Y; y += 4 {
		for x := r.Min.X; x+4 <= r.Max.X; x += 4 {
			vs = append(vs, variance(img, image.Rect(x, y, x+4, y+4)))
		}
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// TestMaskJPEG masks the astronaut's face through a Fake detector and compares the decoded
// result with the original: the box's detail is gone, the rest of the frame is as it was.
func TestMaskJPEG(t *testing.T) {
	f := loadJPEG(t, "astronaut.jpg")
	face := anonymize.Box{Class: anonymize.Face, Confidence: 900, X: 251, Y: 82, W: 83, H: 78}
	a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: anonymizetest.NewFake(t, anonymizetest.Answer, face).Socket}}
	defer a.Close()
	out, err := a.Anonymize(make([]byte, 1<<20), f)
	if err != nil {
		t.Fatal(err)
	}
	if out.Width != f.Width || out.Height != f.Height || out.Format != camera.MJPEG {
		t.Errorf("masked frame %dx%d %v", out.Width, out.Height, out.Format)
	}
	orig, _ := jpeg.Decode(bytes.NewReader(f.Data))
	masked, err := jpeg.Decode(bytes.NewReader(out.Data))
	if err != nil {
		t.Fatal(err)
	}
	box := image.Rect(face.X, face.Y, face.X+face.W, face.Y+face.H)
	do, dm := detail(orig, box), detail(masked, box)
	t.Logf("local luma variance in the face box: original %.1f, masked %.1f", do, dm)
	if dm > do/10 {
		t.Errorf("local luma variance inside the box %.1f, original %.1f: not pixelated", dm, do)
	}
	away := image.Rect(0, 300, 200, 480) // the suit, far from the box
	if vo, vm := variance(orig, away), variance(masked, away); vm < vo*0.8 || vm > vo*1.2 {
		t.Errorf("luma variance away from the box %.0f, original %.0f: more than the box was changed", vm, vo)
	}
}

// TestMaskRaw masks a box in YUYV and NV12 frames: every sample inside the box (luma and
// chroma) becomes a cell mean, every sample outside the grown box is untouched.
func TestMaskRaw(t *testing.T) {
	const w, h = 64, 48
	box := anonymize.Box{Class: anonymize.Plate, Confidence: 1000, X: 20, Y: 10, W: 24, H: 12}
	for _, format := range []camera.Format{camera.YUYV, camera.NV12} {
		t.Run(format.String(), func(t *testing.T) {
			n := w * h * 2
			if format == camera.NV12 {
				n = w * h * 3 / 2
			}
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i * 7919 >> 3) // noise: every cell has variance
			}
			a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: anonymizetest.NewFake(t, anonymizetest.Answer, box).Socket}}
			defer a.Close()
			f := camera.Frame{Data: data, Width: w, Height: h, Format: format}
			out, err := a.Anonymize(make([]byte, n), f)
			if err != nil {
				t.Fatal(err)
			}
			luma := func(b []byte, x, y int) byte {
				if format == camera.YUYV {
					return b[(y*w+x)*2]
				}
				return b[y*w+x]
			}
			// The grown box is at most 10% + 1 pixel wider on each side.
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					outside := x < box.X-box.W/10-1 || x >= box.X+box.W+box.W/10+1 || y < box.Y-box.H/10-1 || y >= box.Y+box.H+box.H/10+1
					if outside && luma(out.Data, x, y) != luma(data, x, y) {
						t.Fatalf("(%d,%d) outside the box changed", x, y)
					}
				}
			}
			distinct := map[byte]bool{}
			for y := box.Y; y < box.Y+box.H; y++ {
				for x := box.X; x < box.X+box.W; x++ {
					distinct[luma(out.Data, x, y)] = true
				}
			}
			// 24x12 pixels in cells of at least 8: at most 4x3 cells (grown box, shifted grid).
			if len(distinct) > 12 {
				t.Errorf("%d distinct luma values inside the box: not pixelated", len(distinct))
			}
		})
	}
}

// TestNoBoxesCopies: a frame without detections comes back byte for byte.
func TestNoBoxesCopies(t *testing.T) {
	f := loadJPEG(t, "coffee.jpg")
	a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: anonymizetest.NewFake(t, anonymizetest.Answer).Socket}}
	defer a.Close()
	out, err := a.Anonymize(make([]byte, 1<<20), f)
	if err != nil || !bytes.Equal(out.Data, f.Data) {
		t.Errorf("got %d bytes, %v", len(out.Data), err)
	}
	if _, err := a.Anonymize(make([]byte, 10), f); !errors.Is(err, anonymize.ErrShortBuffer) {
		t.Errorf("small buffer: %v", err)
	}
}

// BenchmarkHaarRoundTrip is the reference detector's round trip for one 640x480 MJPEG frame
// (the astronaut photo): request, Haar face and two plate cascades, answer, and pixelation
// and re-encode of the face found.
func BenchmarkHaarRoundTrip(b *testing.B) {
	socket, _ := anonymizetest.StartHaar(b)
	f := loadJPEG(b, "astronaut.jpg")
	a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: socket}, Deadline: 30 * time.Second}
	defer a.Close()
	dst := make([]byte, 1<<20)
	b.SetBytes(int64(len(f.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Anonymize(dst, f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(a.Boxes())), "boxes")
}
