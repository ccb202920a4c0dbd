package anonymize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestRequestRoundTrip(t *testing.T) {
	in := Request{ID: 7, Format: 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24, Width: 1920, Height: 1080, DeadlineMS: 500, PayloadLen: 123456}
	b := AppendRequest(nil, &in)
	if len(b) != RequestHeaderSize {
		t.Fatalf("header is %d bytes, want %d", len(b), RequestHeaderSize)
	}
	if !bytes.HasPrefix(b, []byte("GGAN\x01\x01")) {
		t.Errorf("header starts % x", b[:6])
	}
	var out Request
	if err := ParseRequest(b, &out); err != nil || out != in {
		t.Errorf("got %+v, %v; want %+v", out, err, in)
	}
}

// response builds a response header by hand, independently of appendResponseHeader.
func response(magic string, version, kind byte, id uint32, count uint16) []byte {
	b := append([]byte(magic), version, kind, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, id)
	b = binary.LittleEndian.AppendUint16(b, count)
	return append(b, 0, 0)
}

func TestParseResponseHeader(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want Response
		err  error
	}{
		{"boxes", response("GGAN", 1, KindBoxes, 9, 3), Response{ID: 9, Kind: KindBoxes, Count: 3}, nil},
		{"no boxes", response("GGAN", 1, KindBoxes, 1, 0), Response{ID: 1, Kind: KindBoxes}, nil},
		{"error", response("GGAN", 1, KindError, 2, 12), Response{ID: 2, Kind: KindError, Count: 12}, nil},
		{"short", response("GGAN", 1, KindBoxes, 1, 0)[:15], Response{}, ErrMalformed},
		{"magic", response("GGAX", 1, KindBoxes, 1, 0), Response{}, ErrMalformed},
		{"version 2", response("GGAN", 2, KindBoxes, 1, 0), Response{}, ErrMalformed},
		{"request kind", response("GGAN", 1, KindDetect, 1, 0), Response{}, ErrMalformed},
		{"too many boxes", response("GGAN", 1, KindBoxes, 1, MaxBoxes+1), Response{}, ErrMalformed},
		{"message too long", response("GGAN", 1, KindError, 1, MaxMessage+1), Response{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			err := ParseResponseHeader(tt.b, &r)
			if !errors.Is(err, tt.err) || err == nil && r != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", r, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseBox(t *testing.T) {
	box := func(class, res byte, conf, x, y, w, h uint16) []byte {
		b := []byte{class, res}
		for _, v := range []uint16{conf, x, y, w, h} {
			b = binary.LittleEndian.AppendUint16(b, v)
		}
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want Box
		err  error
	}{
		{"face", box(1, 0, 900, 10, 20, 30, 40), Box{Face, 900, 10, 20, 30, 40}, nil},
		{"plate clipped at the edge", box(2, 0, 1000, 600, 470, 80, 30), Box{Plate, 1000, 600, 470, 40, 10}, nil},
		{"class 0", box(0, 0, 900, 10, 20, 30, 40), Box{}, ErrMalformed},
		{"class 3", box(3, 0, 900, 10, 20, 30, 40), Box{}, ErrMalformed},
		{"reserved set", box(1, 1, 900, 10, 20, 30, 40), Box{}, ErrMalformed},
		{"confidence 1001", box(1, 0, 1001, 10, 20, 30, 40), Box{}, ErrMalformed},
		{"empty", box(1, 0, 900, 10, 20, 0, 40), Box{}, ErrMalformed},
		{"outside", box(1, 0, 900, 640, 20, 30, 40), Box{}, ErrMalformed},
		{"short", box(1, 0, 900, 10, 20, 30, 40)[:11], Box{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Box
			err := ParseBox(tt.b, 640, 480, &b)
			if !errors.Is(err, tt.err) || err == nil && b != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", b, err, tt.want, tt.err)
			}
		})
	}
}

// FuzzParseResponse feeds arbitrary answers to the parsers: they never panic, and every box
// they accept lies inside the frame.
func FuzzParseResponse(f *testing.F) {
	f.Add(AppendResponse(nil, 1, []Box{{Face, 900, 10, 20, 30, 40}, {Plate, 500, 0, 0, 640, 480}}))
	f.Add(AppendError(nil, 1, "not a JPEG"))
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Response
		if ParseResponseHeader(b, &r) != nil || r.Kind != KindBoxes {
			return
		}
		rest := b[ResponseHeaderSize:]
		for i := 0; i < r.Count && len(rest) >= BoxSize; i++ {
			var box Box
			if ParseBox(rest, 640, 480, &box) == nil {
				if box.X < 0 || box.Y < 0 || box.W <= 0 || box.H <= 0 || box.X+box.W > 640 || box.Y+box.H > 480 {
					t.Fatalf("accepted box %+v outside 640x480", box)
				}
			}
			rest = rest[BoxSize:]
		}
	})
}
