package camera

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"time"
)

// Synthetic test pattern parameters.
const (
	// syntheticFrames distinct images are rendered at start and cycled: enough that consecutive
	// frames differ (a moving bar and a frame number), few enough to render 1080p in well under
	// a second at start-up.
	syntheticFrames = 8
	// syntheticQuality is the JPEG quality of the rendered frames: a typical camera MJPEG setting.
	syntheticQuality = 85
	// syntheticNoise is the amplitude of the per-pixel luma noise. It stands in for sensor noise
	// and texture so the JPEGs are as large as a real camera's (flat colour bars would compress
	// to a tenth of that and make the pass-through benchmark look cheaper than it is).
	syntheticNoise = 12
)

// Synthetic is a Source of real images without hardware: a test pattern (colour bars, a bar
// moving down, the frame number in blocks, sensor-like noise) rendered into syntheticFrames
// distinct frames at start-up, JPEG-encoded with image/jpeg for MJPEG or packed as YUYV or NV12,
// then handed out in turn at the configured rate, paced and stamped by the injected Clock.
type Synthetic struct {
	frames [][]byte
	w, h   int
	format Format
	clk    Clock
	period time.Duration // 0: free-running
	next   time.Time     // when the next frame is due
	i      int           // next frame to hand out
	seq    uint64
	closed bool
}

var _ Source = (*Synthetic)(nil)

// NewSynthetic renders the pattern for cfg: Width x Height (zero: 1920x1080), Format (zero:
// MJPEG), FPS (zero: 30; negative: free-running, no pacing). clk paces and stamps the frames;
// nil means SystemClock. Device and ReadTimeout are ignored.
func NewSynthetic(cfg Config, clk Clock) (*Synthetic, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Format == 0 {
		cfg.Format = MJPEG
	}
	s := &Synthetic{w: cfg.Width, h: cfg.Height, format: cfg.Format, clk: orSystem(clk)}
	if cfg.FPS > 0 {
		s.period = time.Second / time.Duration(cfg.FPS)
	}
	img := image.NewYCbCr(image.Rect(0, 0, cfg.Width, cfg.Height), image.YCbCrSubsampleRatio420)
	var enc bytes.Buffer
	for k := range syntheticFrames {
		drawPattern(img, k)
		var data []byte
		switch cfg.Format {
		case MJPEG:
			enc.Reset()
			if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: syntheticQuality}); err != nil {
				return nil, fmt.Errorf("camera: synthetic: encode: %w", err)
			}
			data = bytes.Clone(enc.Bytes())
		case YUYV:
			data = packYUYV(make([]byte, rawBytes(YUYV, s.w, s.h)), img)
		case NV12:
			data = packNV12(make([]byte, rawBytes(NV12, s.w, s.h)), img)
		}
		s.frames = append(s.frames, data)
	}
	return s, nil
}

// MaxFrameBytes is the size of the largest rendered frame: the smallest buffer ReadFrame accepts.
func (s *Synthetic) MaxFrameBytes() int {
	n := 0
	for _, f := range s.frames {
		n = max(n, len(f))
	}
	return n
}

// ReadFrame implements Source. When paced it sleeps on the Clock until the next frame is due
// and stamps Captured with that due time, so frames sit on an exact 1/FPS grid; a reader more
// than a frame late gets the latest frame due, skipping the missed ones as a camera would (Seq
// shows the gap). Free-running, Captured is the Clock's Now. It copies the frame into dst and
// does not allocate.
func (s *Synthetic) ReadFrame(dst []byte) (Frame, error) {
	if s.closed {
		return Frame{}, ErrClosed
	}
	var captured time.Time
	if s.period > 0 {
		now := s.clk.Now()
		if s.next.IsZero() {
			s.next = now
		}
		if d := s.next.Sub(now); d > 0 {
			s.clk.Sleep(d)
		} else if missed := -d / s.period; missed > 0 {
			s.seq += uint64(missed)
			s.i = (s.i + int(missed%syntheticFrames)) % syntheticFrames
			s.next = s.next.Add(missed * s.period)
		}
		captured = s.next // the frame's slot on the camera's time grid
		s.next = s.next.Add(s.period)
	} else {
		captured = s.clk.Now()
	}
	data := s.frames[s.i]
	s.i = (s.i + 1) % syntheticFrames
	s.seq++
	if len(data) > len(dst) {
		return Frame{}, ErrShortBuffer
	}
	return Frame{
		Data:     dst[:copy(dst, data)],
		Width:    s.w,
		Height:   s.h,
		Format:   s.format,
		Captured: captured,
		Seq:      s.seq,
	}, nil
}

// Close implements Source.
func (s *Synthetic) Close() error {
	s.closed = true
	return nil
}

// barColors are the eight EBU colour bars at 75%: white, yellow, cyan, green, magenta, red, blue, black.
var barColors = [8]color.RGBA{
	{191, 191, 191, 255}, {191, 191, 0, 255}, {0, 191, 191, 255}, {0, 191, 0, 255},
	{191, 0, 191, 255}, {191, 0, 0, 255}, {0, 0, 191, 255}, {0, 0, 0, 255},
}

// digitSegments are the seven-segment patterns of 0-7 (bit 0 = top, clockwise, bit 6 = middle).
var digitSegments = [syntheticFrames]uint8{0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07}

// drawPattern renders frame k of the test pattern into img (4:2:0).
func drawPattern(img *image.YCbCr, k int) {
	b := img.Rect
	w, h := b.Dx(), b.Dy()
	var ys, cbs, crs [len(barColors) + 1]uint8 // the bars, then the moving bar
	for i, c := range append(barColors[:], color.RGBA{235, 235, 235, 255}) {
		ys[i], cbs[i], crs[i] = color.RGBToYCbCr(c.R, c.G, c.B)
	}
	rnd := uint32(2463534242) + uint32(k) // xorshift32 state: same noise per frame index on every run
	barTop, barH := k*h/syntheticFrames, max(h/32, 2)
	for y := range h {
		moving := y >= barTop && y < barTop+barH
		row := img.Y[y*img.YStride : y*img.YStride+w]
		for x := range row {
			c := x * len(barColors) / w
			if moving {
				c = len(barColors)
			}
			rnd ^= rnd << 13
			rnd ^= rnd >> 17
			rnd ^= rnd << 5
			row[x] = clamp8(int(ys[c]) + int(rnd%(2*syntheticNoise+1)) - syntheticNoise)
			if x%2 == 0 && y%2 == 0 {
				ci := (y/2)*img.CStride + x/2
				img.Cb[ci], img.Cr[ci] = cbs[c], crs[c]
			}
		}
	}
	drawDigit(img, k, w/16, h/16, max(h/8, 8))
}

// drawDigit writes digit d as black seven-segment blocks of height s at (x0, y0) into the luma plane.
func drawDigit(img *image.YCbCr, d, x0, y0, s int) {
	t := max(s/8, 1) // stroke
	half := s / 2
	seg := [7]image.Rectangle{
		image.Rect(0, 0, half, t), image.Rect(half-t, 0, half, half), image.Rect(half-t, half, half, s),
		image.Rect(0, s-t, half, s), image.Rect(0, half, t, s), image.Rect(0, 0, t, half),
		image.Rect(0, half-t/2, half, half+t-t/2),
	}
	for i, r := range seg {
		if digitSegments[d]&(1<<i) == 0 {
			continue
		}
		r = r.Add(image.Pt(x0, y0)).Intersect(img.Rect)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.Y[y*img.YStride+x] = 16
			}
		}
	}
}

func clamp8(v int) uint8 {
	return uint8(min(max(v, 0), 255))
}
