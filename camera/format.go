package camera

import (
	"fmt"
	"strings"
)

// Format is a pixel format, stored as the V4L2 four-character code (videodev2.h v4l2_fourcc:
// the first character in the low byte). Any code a device offers can be held and printed;
// geogate captures the three named below.
type Format uint32

// Formats geogate captures, as v4l2_fourcc(a, b, c, d) = a | b<<8 | c<<16 | d<<24. The zero
// Format means "not chosen" (Config: the best the device offers).
const (
	// MJPEG is motion JPEG: every frame a complete JPEG (V4L2_PIX_FMT_MJPEG). Passed through as is.
	MJPEG Format = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	// YUYV is packed 4:2:2, two bytes per pixel: Y0 U Y1 V (V4L2_PIX_FMT_YUYV).
	YUYV Format = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	// NV12 is 4:2:0 with a full Y plane followed by one interleaved U/V plane at half size in
	// both directions (V4L2_PIX_FMT_NV12).
	NV12 Format = 'N' | 'V'<<8 | '1'<<16 | '2'<<24
)

// preferred is the order Config's zero Format tries: MJPEG first because it is compressed by the
// camera and stored without re-encoding; YUYV and NV12 are 5 to 10 times larger per frame.
var preferred = [...]Format{MJPEG, YUYV, NV12}

// String returns the four-character code, e.g. "MJPG", or "none" for the zero Format.
func (f Format) String() string {
	if f == 0 {
		return "none"
	}
	b := [4]byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for i, c := range b {
		if c < ' ' || c > '~' {
			b[i] = '?'
		}
	}
	return strings.TrimRight(string(b[:]), " ")
}

// ParseFormat reads a format name as written in the config: "mjpeg", "yuyv" or "nv12" (any case),
// or a four-character code such as "MJPG". The empty string is the zero Format.
func ParseFormat(s string) (Format, error) {
	switch strings.ToUpper(s) {
	case "":
		return 0, nil
	case "MJPEG", "MJPG":
		return MJPEG, nil
	case "YUYV", "YUY2":
		return YUYV, nil
	case "NV12":
		return NV12, nil
	}
	return 0, fmt.Errorf("%w: %q (want mjpeg, yuyv or nv12)", ErrFormat, s)
}

// rawBytes is the exact size of one uncompressed frame (even w and h), or 0 for a compressed or unknown format.
func rawBytes(f Format, w, h int) int {
	switch f {
	case YUYV:
		return w * h * 2
	case NV12:
		return w * h * 3 / 2
	}
	return 0
}

// maxBytes is the buffer size that holds any frame of format f at w x h. For MJPEG it is two
// bytes per pixel, what UVC drivers report as sizeimage for MJPEG: a JPEG of camera content
// stays well below that (a 1080p frame at quality 90 is typically 0.2 to 0.6 MB).
func maxBytes(f Format, w, h int) int {
	if n := rawBytes(f, w, h); n > 0 {
		return n
	}
	return w * h * 2
}
