package anonymize

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"time"

	"github.com/geogate/geogate/camera"
)

// DefaultDeadline is how long Anonymize waits for the detector when Deadline is zero. The
// reference Haar sidecar answers a 640x480 frame in tens of milliseconds on an amd64 core
// (see BenchmarkHaarRoundTrip) and a 1080p one in a few hundred; an NPU detector in under 30.
// Half a second keeps a slow answer from holding the frame's worker longer than the gate
// lets frames wait for a fix (gate.DefaultFrameWait).
const DefaultDeadline = 500 * time.Millisecond

// Anonymizer masks faces and number plates in frames: it asks a Detector for their boxes and
// pixelates them in pure Go, keeping the frame's size and format. It fails closed: whatever
// goes wrong (no detector, a crash, a malformed or late answer, a frame it cannot decode),
// Anonymize returns an error and no frame, never the frame unmasked. It is used by one
// goroutine (the gate's frame worker).
type Anonymizer struct {
	// Detector finds the boxes; its Socket is required.
	Detector Detector
	// Deadline bounds one detection round trip, from the request to the last byte of the
	// answer. Zero: DefaultDeadline.
	Deadline time.Duration
	// Quality is the JPEG quality of re-encoded MJPEG frames. Zero: camera.DefaultScaleQuality.
	Quality int

	boxes []Box
	rd    bytes.Reader
	opts  jpeg.Options
}

// Anonymize writes f, with every face and plate the detector finds pixelated, into dst (which
// the caller owns) and returns the masked frame: Data is dst[:n]; size, format, Captured and
// Seq are f's. A frame without detections is copied unchanged. YUYV and NV12 are masked in
// place in dst without allocating; MJPEG with detections is decoded and re-encoded, which
// allocates inside image/jpeg as camera.Scaler's MJPEG path does.
//
// Every error means the frame must be dropped: it wraps ErrNoDetector, ErrDetectorFailed,
// ErrTimeout, ErrMalformed, ErrRefused, ErrFrame or ErrShortBuffer.
func (a *Anonymizer) Anonymize(dst []byte, f camera.Frame) (camera.Frame, error) {
	if len(f.Data) == 0 {
		return camera.Frame{}, ErrFrame
	}
	if len(f.Data) > len(dst) {
		return camera.Frame{}, ErrShortBuffer
	}
	d := a.Deadline
	if d <= 0 {
		d = DefaultDeadline
	}
	var err error
	a.boxes, err = a.Detector.Detect(a.boxes[:0], &f, time.Now().Add(d)) // a duration, not a date
	if err != nil {
		return camera.Frame{}, err
	}
	out := camera.Frame{Width: f.Width, Height: f.Height, Format: f.Format, Captured: f.Captured, Seq: f.Seq}
	if len(a.boxes) == 0 {
		out.Data = dst[:copy(dst, f.Data)]
		return out, nil
	}
	switch f.Format {
	case camera.YUYV, camera.NV12:
		n := copy(dst, f.Data)
		ps, sx, sy, ok := rawPlanes(dst[:n], f.Format, f.Width, f.Height)
		if !ok {
			return camera.Frame{}, ErrFrame
		}
		for _, b := range a.boxes {
			maskPlanes(ps[:], sx, sy, b, f.Width, f.Height)
		}
		out.Data = dst[:n]
		return out, nil
	case camera.MJPEG:
		return a.maskJPEG(dst, f, out)
	}
	return camera.Frame{}, fmt.Errorf("%w: cannot mask %v", ErrFrame, f.Format)
}

// Boxes returns the boxes the last successful Anonymize masked. The slice is reused by the
// next call.
func (a *Anonymizer) Boxes() []Box { return a.boxes }

// Close closes the connection to the detector.
func (a *Anonymizer) Close() error { return a.Detector.Close() }

func (a *Anonymizer) maskJPEG(dst []byte, f, out camera.Frame) (camera.Frame, error) {
	a.rd.Reset(f.Data)
	img, err := jpeg.Decode(&a.rd)
	if err != nil {
		return camera.Frame{}, fmt.Errorf("%w: %w", ErrFrame, err)
	}
	b := img.Bounds()
	if b.Dx() != f.Width || b.Dy() != f.Height {
		return camera.Frame{}, fmt.Errorf("%w: JPEG is %dx%d, frame says %dx%d", ErrFrame, b.Dx(), b.Dy(), f.Width, f.Height)
	}
	ps, sx, sy, ok := imagePlanes(img)
	if !ok {
		return camera.Frame{}, fmt.Errorf("%w: JPEG colour model %T", ErrFrame, img)
	}
	for _, bx := range a.boxes {
		maskPlanes(ps, sx, sy, bx, f.Width, f.Height)
	}
	a.opts.Quality = a.Quality
	if a.opts.Quality == 0 {
		a.opts.Quality = camera.DefaultScaleQuality
	}
	w := sliceWriter{buf: dst[:0]}
	if err := jpeg.Encode(&w, img, &a.opts); err != nil {
		return camera.Frame{}, fmt.Errorf("anonymize: encode JPEG: %w", err)
	}
	out.Data = w.buf
	return out, nil
}

// sliceWriter appends to buf without growing it past its capacity.
type sliceWriter struct{ buf []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > cap(w.buf)-len(w.buf) {
		return 0, ErrShortBuffer
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}
