package record

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/storage"
)

// Record types the gate writes to the storage log. Their payloads are documented byte by byte
// in docs/FORMAT.md ("Gate records").
const (
	TypeFix   storage.Type = 1 // a kept or coarsened position, FixSize bytes
	TypeFrame storage.Type = 2 // a kept or downscaled camera frame: FrameHeaderSize bytes, then the image
)

// recordVersion is the version byte that starts every gate payload.
const recordVersion = 1

// Payload sizes.
const (
	FixSize         = 48
	FrameHeaderSize = 40
)

// Flags of a fix record.
const (
	flagTime  = 1 << 0 // Time is the receiver's UTC time (else the unit's clock)
	flagSpeed = 1 << 1 // Speed and Track are set (kept fixes only: dropped when coarsening)
	flagAlt   = 1 << 2 // Alt is set (kept fixes only: dropped when coarsening)
)

// Fix is the stored form of one fix: only what the policy let through.
type Fix struct {
	Action     policy.Action
	Datum      policy.Datum
	Policy     uint32    // version of the policy that decided
	Time       time.Time // UTC
	HasTime    bool      // Time came from the receiver
	Lat, Lon   float64   // in Datum, quantized to PrecisionM
	PrecisionM float32
	Speed      float32 // m/s, valid if HasSpeed
	Track      float32 // degrees, valid if HasSpeed
	HasSpeed   bool
	Alt        float32 // metres MSL, valid if HasAlt
	HasAlt     bool
}

// AppendFix appends the encoding of r to dst and returns it. It does not allocate when dst
// has room for FixSize more bytes.
func AppendFix(dst []byte, r *Fix) []byte {
	var flags byte
	if r.HasTime {
		flags |= flagTime
	}
	if r.HasSpeed {
		flags |= flagSpeed
	}
	if r.HasAlt {
		flags |= flagAlt
	}
	dst = append(dst, recordVersion, byte(r.Action), byte(r.Datum), flags)
	dst = binary.LittleEndian.AppendUint32(dst, r.Policy)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Time.UnixNano()))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.Lat))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.Lon))
	dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(r.PrecisionM))
	dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(r.Speed))
	dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(r.Track))
	return binary.LittleEndian.AppendUint32(dst, math.Float32bits(r.Alt))
}

// ErrMalformed is returned by the record decoders for a payload they cannot read.
var ErrMalformed = errors.New("record: malformed record")

// DecodeFix decodes a TypeFix payload.
func DecodeFix(b []byte) (Fix, error) {
	if len(b) != FixSize || b[0] != recordVersion {
		return Fix{}, ErrMalformed
	}
	le := binary.LittleEndian
	r := Fix{
		Action:     policy.Action(b[1]),
		Datum:      policy.Datum(b[2]),
		HasTime:    b[3]&flagTime != 0,
		HasSpeed:   b[3]&flagSpeed != 0,
		HasAlt:     b[3]&flagAlt != 0,
		Policy:     le.Uint32(b[4:]),
		Time:       time.Unix(0, int64(le.Uint64(b[8:]))).UTC(),
		Lat:        math.Float64frombits(le.Uint64(b[16:])),
		Lon:        math.Float64frombits(le.Uint64(b[24:])),
		PrecisionM: math.Float32frombits(le.Uint32(b[32:])),
		Speed:      math.Float32frombits(le.Uint32(b[36:])),
		Track:      math.Float32frombits(le.Uint32(b[40:])),
		Alt:        math.Float32frombits(le.Uint32(b[44:])),
	}
	return r, nil
}

// FrameHeader is the metadata stored before a frame's image bytes.
type FrameHeader struct {
	Action        policy.Action // Keep, or Coarsen for a downscaled frame
	Datum         policy.Datum
	Format        camera.Format
	Policy        uint32
	Time          time.Time // UTC, interpolated between the fixes around the capture time
	Lat, Lon      float64   // in Datum, quantized to PrecisionM
	Width, Height uint16
	PrecisionM    float32
}

// frameFormats maps camera formats to the header's one-byte code; index 0 is unused.
var frameFormats = [...]camera.Format{1: camera.MJPEG, 2: camera.YUYV, 3: camera.NV12}

// AppendFrameHeader appends the encoding of h to dst and returns it. The image bytes follow
// it in the record. It does not allocate when dst has room.
func AppendFrameHeader(dst []byte, h *FrameHeader) []byte {
	var code byte
	for i, f := range frameFormats {
		if i > 0 && f == h.Format {
			code = byte(i)
		}
	}
	le := binary.LittleEndian
	dst = append(dst, recordVersion, byte(h.Action), byte(h.Datum), code)
	dst = le.AppendUint32(dst, h.Policy)
	dst = le.AppendUint64(dst, uint64(h.Time.UnixNano()))
	dst = le.AppendUint64(dst, math.Float64bits(h.Lat))
	dst = le.AppendUint64(dst, math.Float64bits(h.Lon))
	dst = le.AppendUint16(dst, h.Width)
	dst = le.AppendUint16(dst, h.Height)
	return le.AppendUint32(dst, math.Float32bits(h.PrecisionM))
}

// DecodeFrame decodes a TypeFrame payload into its header and image bytes (a view into b).
func DecodeFrame(b []byte) (FrameHeader, []byte, error) {
	if len(b) < FrameHeaderSize || b[0] != recordVersion || b[3] == 0 || int(b[3]) >= len(frameFormats) {
		return FrameHeader{}, nil, ErrMalformed
	}
	le := binary.LittleEndian
	h := FrameHeader{
		Action:     policy.Action(b[1]),
		Datum:      policy.Datum(b[2]),
		Format:     frameFormats[b[3]],
		Policy:     le.Uint32(b[4:]),
		Time:       time.Unix(0, int64(le.Uint64(b[8:]))).UTC(),
		Lat:        math.Float64frombits(le.Uint64(b[16:])),
		Lon:        math.Float64frombits(le.Uint64(b[24:])),
		Width:      le.Uint16(b[32:]),
		Height:     le.Uint16(b[34:]),
		PrecisionM: math.Float32frombits(le.Uint32(b[36:])),
	}
	return h, b[FrameHeaderSize:], nil
}
