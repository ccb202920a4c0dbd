package anonymize

import (
	"encoding/binary"
	"fmt"
)

// Protocol v1 (docs/ANONYMIZE.md): geogate sends a request of RequestHeaderSize bytes followed
// by the frame; the detector answers with ResponseHeaderSize bytes followed by Count boxes of
// BoxSize bytes, or by an error message of Count bytes. All integers are little-endian.
const (
	// Version is the protocol version geogate speaks; a response with another version is malformed.
	Version = 1
	// RequestHeaderSize is the fixed part of a request: magic, version, kind, flags, id,
	// format, width, height, deadline, payload length.
	RequestHeaderSize = 28
	// ResponseHeaderSize is the fixed part of a response: magic, version, kind, flags, id,
	// count, reserved.
	ResponseHeaderSize = 16
	// BoxSize is one box: class, reserved, confidence, x, y, w, h.
	BoxSize = 12
	// MaxBoxes bounds the boxes of one response: more than a frame can plausibly hold
	// (a 1080p frame tiled with 24-pixel faces has 3,600), far fewer than a garbage count.
	MaxBoxes = 1024
	// MaxMessage bounds an error message, so a broken detector cannot make geogate read megabytes.
	MaxMessage = 1024
	// MaxPayload bounds a request's frame: a 4096x4096 raw YUYV frame is 32 MiB.
	MaxPayload = 64 << 20
)

// Message kinds.
const (
	KindDetect = 1 // request: find faces and plates in this frame
	KindBoxes  = 2 // response: the boxes found (possibly none)
	KindError  = 3 // response: the detector could not process the frame; message follows
)

// magic opens every request and response: "GGAN", geogate anonymizer.
var magic = [4]byte{'G', 'G', 'A', 'N'}

// Class is what a box holds.
type Class uint8

// Classes. Zero is not a class, so a box nobody filled in is malformed.
const (
	Face  Class = 1 // a human face
	Plate Class = 2 // a vehicle number plate
)

// String returns "face", "plate" or "class(n)".
func (c Class) String() string {
	switch c {
	case Face:
		return "face"
	case Plate:
		return "plate"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Box is one detection, in pixels of the frame that was sent: X, Y is the top-left corner.
type Box struct {
	Class Class
	// Confidence is the detector's score in per mille, 0..1000. geogate masks every box it
	// gets whatever the score; the detector applies its own threshold.
	Confidence uint16
	X, Y, W, H int
}

// Request is the header of one detection request.
type Request struct {
	ID            uint32 // echoed in the response
	Format        uint32 // V4L2 fourcc of the payload: MJPG (a JPEG file), YUYV or NV12 (raw planes)
	Width, Height int
	DeadlineMS    uint32 // how long geogate waits for the answer, for the detector to shed stale work
	PayloadLen    int
}

// AppendRequest appends r's header to dst and returns the extended slice; the payload follows
// it on the wire. It does not allocate when dst has room.
func AppendRequest(dst []byte, r *Request) []byte {
	dst = append(dst, magic[:]...)
	dst = append(dst, Version, KindDetect, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, r.ID)
	dst = binary.LittleEndian.AppendUint32(dst, r.Format)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(r.Width))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(r.Height))
	dst = binary.LittleEndian.AppendUint32(dst, r.DeadlineMS)
	return binary.LittleEndian.AppendUint32(dst, uint32(r.PayloadLen))
}

// ParseRequest reads a request header (what a detector does; geogate's tests and fakes use it).
func ParseRequest(b []byte, into *Request) error {
	if len(b) < RequestHeaderSize {
		return ErrMalformed
	}
	if [4]byte(b[:4]) != magic || b[4] != Version || b[5] != KindDetect {
		return ErrMalformed
	}
	le := binary.LittleEndian
	*into = Request{
		ID: le.Uint32(b[8:]), Format: le.Uint32(b[12:]),
		Width: int(le.Uint16(b[16:])), Height: int(le.Uint16(b[18:])),
		DeadlineMS: le.Uint32(b[20:]), PayloadLen: int(le.Uint32(b[24:])),
	}
	if into.PayloadLen > MaxPayload {
		return ErrMalformed
	}
	return nil
}

// Response is the header of a detector's answer.
type Response struct {
	ID    uint32
	Kind  uint8 // KindBoxes or KindError
	Count int   // boxes (KindBoxes) or message bytes (KindError) that follow
}

// ParseResponseHeader reads a response header. It returns ErrMalformed for a wrong magic,
// version or kind, or a count beyond MaxBoxes or MaxMessage. It does not allocate.
func ParseResponseHeader(b []byte, into *Response) error {
	if len(b) < ResponseHeaderSize || [4]byte(b[:4]) != magic || b[4] != Version {
		return ErrMalformed
	}
	le := binary.LittleEndian
	*into = Response{ID: le.Uint32(b[8:]), Kind: b[5], Count: int(le.Uint16(b[12:]))}
	switch {
	case into.Kind == KindBoxes && into.Count <= MaxBoxes:
	case into.Kind == KindError && into.Count <= MaxMessage:
	default:
		return ErrMalformed
	}
	return nil
}

// AppendResponse appends a KindBoxes response for id holding boxes (what a detector sends).
func AppendResponse(dst []byte, id uint32, boxes []Box) []byte {
	dst = appendResponseHeader(dst, KindBoxes, id, len(boxes))
	for _, b := range boxes {
		dst = AppendBox(dst, &b)
	}
	return dst
}

// AppendError appends a KindError response for id carrying msg (what a detector sends).
func AppendError(dst []byte, id uint32, msg string) []byte {
	msg = msg[:min(len(msg), MaxMessage)]
	return append(appendResponseHeader(dst, KindError, id, len(msg)), msg...)
}

func appendResponseHeader(dst []byte, kind uint8, id uint32, count int) []byte {
	dst = append(dst, magic[:]...)
	dst = append(dst, Version, kind, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, id)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(count))
	return append(dst, 0, 0)
}

// AppendBox appends one box in wire form.
func AppendBox(dst []byte, b *Box) []byte {
	dst = append(dst, byte(b.Class), 0)
	dst = binary.LittleEndian.AppendUint16(dst, b.Confidence)
	for _, v := range [4]int{b.X, b.Y, b.W, b.H} {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
	}
	return dst
}

// ParseBox reads one box and checks it against a width x height frame: a known class, a
// confidence of at most 1000, a non-empty size, and a top-left corner inside the frame. A box
// reaching past the right or bottom edge is clipped to the frame, not rejected: detectors pad
// boxes. It does not allocate.
func ParseBox(b []byte, width, height int, into *Box) error {
	if len(b) < BoxSize {
		return ErrMalformed
	}
	le := binary.LittleEndian
	*into = Box{
		Class: Class(b[0]), Confidence: le.Uint16(b[2:]),
		X: int(le.Uint16(b[4:])), Y: int(le.Uint16(b[6:])), W: int(le.Uint16(b[8:])), H: int(le.Uint16(b[10:])),
	}
	if (into.Class != Face && into.Class != Plate) || b[1] != 0 || into.Confidence > 1000 ||
		into.W == 0 || into.H == 0 || into.X >= width || into.Y >= height {
		return ErrMalformed
	}
	into.W = min(into.W, width-into.X)
	into.H = min(into.H, height-into.Y)
	return nil
}
