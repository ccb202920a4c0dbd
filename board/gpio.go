package board

import (
	"context"
	"encoding/binary"
)

// Sizes of the <linux/gpio.h> uAPI v2 structs, as the kernel header defines them (also
// encoded in the ioctl numbers). gpio_test.go checks the Go mirrors against them.
const (
	sizeofGPIOV2LineAttribute       = 16
	sizeofGPIOV2LineConfigAttribute = 24
	sizeofGPIOV2LineConfig          = 272
	sizeofGPIOV2LineRequest         = 592
	sizeofGPIOV2LineValues          = 16
	sizeofGPIOV2LineEvent           = 48

	gpioMaxNameSize        = 32 // GPIO_MAX_NAME_SIZE
	gpioV2LinesMax         = 64 // GPIO_V2_LINES_MAX
	gpioV2LineNumAttrsMax  = 10 // GPIO_V2_LINE_NUM_ATTRS_MAX
	gpioEventBufferRecords = 16 // line events read per read(2); the kernel queues more
)

// gpioV2LineFlag mirrors enum gpio_v2_line_flag.
type gpioV2LineFlag uint64

// Line flags from enum gpio_v2_line_flag.
const (
	gpioV2LineFlagActiveLow   gpioV2LineFlag = 1 << 1 // GPIO_V2_LINE_FLAG_ACTIVE_LOW
	gpioV2LineFlagInput       gpioV2LineFlag = 1 << 2 // GPIO_V2_LINE_FLAG_INPUT
	gpioV2LineFlagEdgeRising  gpioV2LineFlag = 1 << 4 // GPIO_V2_LINE_FLAG_EDGE_RISING
	gpioV2LineFlagEdgeFalling gpioV2LineFlag = 1 << 5 // GPIO_V2_LINE_FLAG_EDGE_FALLING
)

// gpioV2LineAttrID mirrors enum gpio_v2_line_attr_id.
type gpioV2LineAttrID uint32

const gpioV2LineAttrIDDebounce gpioV2LineAttrID = 3 // GPIO_V2_LINE_ATTR_ID_DEBOUNCE

// gpioV2LineEventID mirrors enum gpio_v2_line_event_id. The kernel reports edges of the
// logical value: with ACTIVE_LOW a falling voltage is a rising edge.
type gpioV2LineEventID uint32

const gpioV2LineEventRisingEdge gpioV2LineEventID = 1 // GPIO_V2_LINE_EVENT_RISING_EDGE

// gpioV2LineAttribute mirrors struct gpio_v2_line_attribute. Value is the union of flags,
// values and debounce_period_us; the __u32 debounce sits in its low bytes on the
// little-endian targets geogate supports.
type gpioV2LineAttribute struct {
	ID      gpioV2LineAttrID
	Padding uint32
	Value   uint64
}

// gpioV2LineConfigAttribute mirrors struct gpio_v2_line_config_attribute.
type gpioV2LineConfigAttribute struct {
	Attr gpioV2LineAttribute
	Mask uint64 // the requested lines (bit i = Offsets[i]) the attribute applies to
}

// gpioV2LineConfig mirrors struct gpio_v2_line_config.
type gpioV2LineConfig struct {
	Flags    gpioV2LineFlag
	NumAttrs uint32
	Padding  [5]uint32
	Attrs    [gpioV2LineNumAttrsMax]gpioV2LineConfigAttribute
}

// gpioV2LineRequest mirrors struct gpio_v2_line_request. The explicit padding makes the Go
// layout equal the C one on arm too, where Go aligns uint64 to 4 bytes only.
type gpioV2LineRequest struct {
	Offsets         [gpioV2LinesMax]uint32
	Consumer        [gpioMaxNameSize]byte
	Config          gpioV2LineConfig
	NumLines        uint32
	EventBufferSize uint32
	Padding         [5]uint32
	Fd              int32 // set by the kernel: the line's file descriptor
}

// gpioV2LineValues mirrors struct gpio_v2_line_values.
type gpioV2LineValues struct {
	Bits uint64
	Mask uint64
}

// gpioV2LineEvent mirrors struct gpio_v2_line_event, read from a line fd.
type gpioV2LineEvent struct {
	TimestampNs uint64
	ID          gpioV2LineEventID
	Offset      uint32
	Seqno       uint32
	LineSeqno   uint32
	Padding     [6]uint32
}

// Offset of gpio_v2_line_event.id in the event record.
const gpioV2LineEventIDOffset = 8

// lineHandle is the seam of a requested GPIO line; gpio_linux.go has the real one.
type lineHandle interface {
	// getValues issues GPIO_V2_LINE_GET_VALUES_IOCTL.
	getValues(v *gpioV2LineValues) error
	// read reads gpio_v2_line_event records into buf, blocking until at least one
	// arrives or ctx is done.
	read(ctx context.Context, buf []byte) (int, error)
	close() error
}

// requestLineFn opens chip, requests the line described by req (GPIO_V2_GET_LINE_IOCTL),
// closes the chip and returns the line. Tests swap it.
var requestLineFn = requestLineSys

// gpioSource is a levelSource on a GPIO character device line requested for both edges.
type gpioSource struct {
	h    lineHandle
	vals gpioV2LineValues
	buf  [gpioEventBufferRecords * sizeofGPIOV2LineEvent]byte
	lvl  bool
}

// openGPIO requests one input line with edge events on both edges, active-low and
// debounce as asked, under the consumer name "geogate" (shown by gpioinfo).
func openGPIO(chip string, line uint32, activeLow bool, debounceMicros uint32) (*gpioSource, error) {
	var req gpioV2LineRequest
	req.Offsets[0] = line
	req.NumLines = 1
	copy(req.Consumer[:gpioMaxNameSize-1], "geogate")
	req.Config.Flags = gpioV2LineFlagInput | gpioV2LineFlagEdgeRising | gpioV2LineFlagEdgeFalling
	if activeLow {
		req.Config.Flags |= gpioV2LineFlagActiveLow
	}
	if debounceMicros > 0 {
		req.Config.NumAttrs = 1
		req.Config.Attrs[0] = gpioV2LineConfigAttribute{
			Attr: gpioV2LineAttribute{ID: gpioV2LineAttrIDDebounce, Value: uint64(debounceMicros)},
			Mask: 1, // the first (only) requested line
		}
	}
	h, err := requestLineFn(chip, &req)
	if err != nil {
		return nil, deviceError("gpio", "request line", chip, err, "busy: another consumer holds the line; see gpioinfo")
	}
	return &gpioSource{h: h}, nil
}

func (g *gpioSource) level() (bool, error) {
	g.vals = gpioV2LineValues{Mask: 1}
	if err := g.h.getValues(&g.vals); err != nil {
		return false, err
	}
	g.lvl = g.vals.Bits&1 != 0
	return g.lvl, nil
}

// next blocks for edge events and returns the level after the last one read.
func (g *gpioSource) next(ctx context.Context) (bool, error) {
	n, err := g.h.read(ctx, g.buf[:])
	if err != nil {
		return g.lvl, err
	}
	for off := 0; off+sizeofGPIOV2LineEvent <= n; off += sizeofGPIOV2LineEvent {
		id := gpioV2LineEventID(binary.LittleEndian.Uint32(g.buf[off+gpioV2LineEventIDOffset:]))
		g.lvl = id == gpioV2LineEventRisingEdge
	}
	return g.lvl, nil
}

func (g *gpioSource) close() error { return g.h.close() }
