package anonymize

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/geogate/geogate/camera"
)

// Detector is the client half of the protocol: it sends frames to a detector process
// listening on a Unix socket and reads back the boxes. It dials on first use and again after
// any failed exchange: a connection on which an exchange failed (a timeout included) is closed,
// so a late answer can never be taken for the next frame's. A Detector is used by one
// goroutine.
type Detector struct {
	// Socket is the path of the detector's Unix stream socket. Required.
	Socket string

	conn  *net.UnixConn
	id    uint32
	hdr   []byte // request header, then response header, reused
	boxes []byte // wire boxes of one response, reused
	msg   []byte // error message of one response, reused
}

// Detect sends f to the detector and appends the boxes it finds to dst, waiting at most until
// deadline (a time from time.Now: a duration, never a date). Every failure returns one of
// ErrNoDetector, ErrDetectorFailed, ErrTimeout, ErrMalformed or ErrRefused, and the
// connection is closed. Detect allocates nothing in steady state apart from what the kernel
// round trip needs; dst's capacity is reused.
func (d *Detector) Detect(dst []Box, f *camera.Frame, deadline time.Time) ([]Box, error) {
	if d.conn == nil {
		if err := d.dial(deadline); err != nil {
			return dst, err
		}
	}
	boxes, err := d.exchange(dst, f, deadline)
	if err != nil {
		d.Close()
	}
	return boxes, err
}

// Close closes the connection, if any; the next Detect dials again.
func (d *Detector) Close() error {
	if d.conn == nil {
		return nil
	}
	err := d.conn.Close()
	d.conn = nil
	return err
}

func (d *Detector) dial(deadline time.Time) error {
	dl := net.Dialer{Deadline: deadline}
	c, err := dl.Dial("unix", d.Socket)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoDetector, err)
	}
	d.conn = c.(*net.UnixConn)
	if d.hdr == nil {
		d.hdr = make([]byte, 0, max(RequestHeaderSize, ResponseHeaderSize))
		d.boxes = make([]byte, 0, 64*BoxSize)
		d.msg = make([]byte, MaxMessage)
	}
	return nil
}

func (d *Detector) exchange(dst []Box, f *camera.Frame, deadline time.Time) ([]Box, error) {
	if err := d.conn.SetDeadline(deadline); err != nil {
		return dst, fmt.Errorf("%w: %w", ErrDetectorFailed, err)
	}
	d.id++
	budget := max(time.Until(deadline)/time.Millisecond, 0)
	d.hdr = AppendRequest(d.hdr[:0], &Request{
		ID: d.id, Format: uint32(f.Format), Width: f.Width, Height: f.Height,
		DeadlineMS: uint32(budget), PayloadLen: len(f.Data),
	})
	if _, err := d.conn.Write(d.hdr); err != nil {
		return dst, wireErr(err)
	}
	if _, err := d.conn.Write(f.Data); err != nil {
		return dst, wireErr(err)
	}
	hdr := d.hdr[:ResponseHeaderSize]
	if _, err := io.ReadFull(d.conn, hdr); err != nil {
		return dst, wireErr(err)
	}
	var r Response
	if err := ParseResponseHeader(hdr, &r); err != nil {
		return dst, err
	}
	if r.ID != d.id {
		return dst, ErrMalformed
	}
	if r.Kind == KindError {
		if _, err := io.ReadFull(d.conn, d.msg[:r.Count]); err != nil {
			return dst, wireErr(err)
		}
		return dst, &RefusedError{Message: string(d.msg[:r.Count])}
	}
	n := r.Count * BoxSize
	if cap(d.boxes) < n {
		d.boxes = make([]byte, n)
	}
	wire := d.boxes[:n]
	if _, err := io.ReadFull(d.conn, wire); err != nil {
		return dst, wireErr(err)
	}
	for i := 0; i < r.Count; i++ {
		var b Box
		if err := ParseBox(wire[i*BoxSize:], f.Width, f.Height, &b); err != nil {
			return dst, err
		}
		dst = append(dst, b)
	}
	return dst, nil
}

// wireErr classifies a failed read or write: a deadline is ErrTimeout, anything else (EOF,
// reset, broken pipe) ErrDetectorFailed.
func wireErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrDetectorFailed, err)
}

// RefusedError is the detector's own message for a frame it could not process. It matches
// ErrRefused with errors.Is.
type RefusedError struct{ Message string }

// Error returns "anonymize: detector refused the frame: <message>".
func (e *RefusedError) Error() string { return ErrRefused.Error() + ": " + e.Message }

// Unwrap returns ErrRefused.
func (e *RefusedError) Unwrap() error { return ErrRefused }
