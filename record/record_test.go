package record

import (
	"testing"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/policy"
)

func TestRecordRoundTrip(t *testing.T) {
	fix := Fix{Action: policy.Keep, Datum: policy.GCJ02, Policy: 7, Time: time.Date(2026, 11, 25, 8, 0, 0, 123, time.UTC),
		HasTime: true, Lat: 39.86, Lon: 119.58, PrecisionM: 50, Speed: 29.5, Track: 270, HasSpeed: true, Alt: 12.5, HasAlt: true}
	b := AppendFix(nil, &fix)
	if len(b) != FixSize {
		t.Fatalf("fix record is %d bytes, want %d", len(b), FixSize)
	}
	if got, err := DecodeFix(b); err != nil || got != fix {
		t.Fatalf("DecodeFix = %+v, %v; want %+v", got, err, fix)
	}
	h := FrameHeader{Action: policy.Coarsen, Datum: policy.WGS84, Format: camera.NV12, Policy: 3, Time: fix.Time,
		Lat: -33.9, Lon: 151.2, Width: 640, Height: 480, PrecisionM: 1000}
	b = append(AppendFrameHeader(nil, &h), "image"...)
	got, img, err := DecodeFrame(b)
	if err != nil || got != h || string(img) != "image" {
		t.Fatalf("DecodeFrame = %+v %q %v; want %+v", got, img, err, h)
	}
	for _, bad := range [][]byte{nil, b[:FrameHeaderSize-1], append([]byte{9}, b[1:]...)} {
		if _, _, err := DecodeFrame(bad); err == nil {
			t.Errorf("DecodeFrame(%x...) accepted a malformed record", bad[:min(len(bad), 4)])
		}
	}
}

// FuzzRecords: the decoders never panic, and whatever they accept encodes back to the same
// bytes (modulo the image, which is opaque).
func FuzzRecords(f *testing.F) {
	fix := Fix{Action: policy.Keep, Time: time.Unix(1, 2).UTC(), Lat: 1, Lon: 2, HasSpeed: true}
	f.Add(AppendFix(nil, &fix))
	f.Add(AppendFrameHeader(nil, &FrameHeader{Format: camera.MJPEG, Time: time.Unix(3, 4).UTC(), Width: 1, Height: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeFix(b); err == nil {
			if again := AppendFix(nil, &r); string(again[:3]) != string(b[:3]) || len(again) != len(b) {
				t.Fatalf("fix %x re-encodes as %x", b, again)
			}
		}
		if h, img, err := DecodeFrame(b); err == nil {
			if again := append(AppendFrameHeader(nil, &h), img...); len(again) != len(b) || string(again[:4]) != string(b[:4]) {
				t.Fatalf("frame %x re-encodes as %x", b, again)
			}
		}
	})
}
