package board

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"syscall"
	"testing"
	"unsafe"
)

// TestGPIOStructLayout checks the Go mirrors against <linux/gpio.h>: sizes and the offsets
// that have padding around them, as gcc reports them for the header (x86_64 and arm64
// alike; the explicit padding keeps GOARCH=arm equal).
func TestGPIOStructLayout(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct gpio_v2_line_attribute)", unsafe.Sizeof(gpioV2LineAttribute{}), sizeofGPIOV2LineAttribute},
		{"sizeof(struct gpio_v2_line_config_attribute)", unsafe.Sizeof(gpioV2LineConfigAttribute{}), sizeofGPIOV2LineConfigAttribute},
		{"sizeof(struct gpio_v2_line_config)", unsafe.Sizeof(gpioV2LineConfig{}), sizeofGPIOV2LineConfig},
		{"sizeof(struct gpio_v2_line_request)", unsafe.Sizeof(gpioV2LineRequest{}), sizeofGPIOV2LineRequest},
		{"sizeof(struct gpio_v2_line_values)", unsafe.Sizeof(gpioV2LineValues{}), sizeofGPIOV2LineValues},
		{"sizeof(struct gpio_v2_line_event)", unsafe.Sizeof(gpioV2LineEvent{}), sizeofGPIOV2LineEvent},
		{"offsetof(gpio_v2_line_request, config)", unsafe.Offsetof(gpioV2LineRequest{}.Config), 288},
		{"offsetof(gpio_v2_line_request, num_lines)", unsafe.Offsetof(gpioV2LineRequest{}.NumLines), 560},
		{"offsetof(gpio_v2_line_request, event_buffer_size)", unsafe.Offsetof(gpioV2LineRequest{}.EventBufferSize), 564},
		{"offsetof(gpio_v2_line_request, fd)", unsafe.Offsetof(gpioV2LineRequest{}.Fd), 588},
		{"offsetof(gpio_v2_line_config, attrs)", unsafe.Offsetof(gpioV2LineConfig{}.Attrs), 32},
		{"offsetof(gpio_v2_line_attribute, value)", unsafe.Offsetof(gpioV2LineAttribute{}.Value), 8},
		{"offsetof(gpio_v2_line_event, id)", unsafe.Offsetof(gpioV2LineEvent{}.ID), gpioV2LineEventIDOffset},
		{"offsetof(gpio_v2_line_event, seqno)", unsafe.Offsetof(gpioV2LineEvent{}.Seqno), 16},
		{"offsetof(gpio_v2_line_event, line_seqno)", unsafe.Offsetof(gpioV2LineEvent{}.LineSeqno), 20},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

// fakeLine is a fake requested line: a level and queued event batches.
type fakeLine struct {
	ops     []string
	bits    uint64
	batches [][]gpioV2LineEventID
	readErr error
}

func (l *fakeLine) getValues(v *gpioV2LineValues) error {
	l.ops = append(l.ops, "get")
	if v.Mask != 1 {
		return syscall.EINVAL
	}
	v.Bits = l.bits
	return nil
}

func (l *fakeLine) read(ctx context.Context, buf []byte) (int, error) {
	l.ops = append(l.ops, "read")
	if len(l.batches) == 0 {
		if l.readErr != nil {
			return 0, l.readErr
		}
		<-ctx.Done()
		return 0, ctx.Err()
	}
	b := l.batches[0]
	l.batches = l.batches[1:]
	n := 0
	for i, id := range b {
		rec := buf[n : n+sizeofGPIOV2LineEvent]
		clear(rec)
		binary.LittleEndian.PutUint64(rec, uint64(1000+i))
		binary.LittleEndian.PutUint32(rec[gpioV2LineEventIDOffset:], uint32(id))
		n += sizeofGPIOV2LineEvent
	}
	return n, nil
}

func (l *fakeLine) close() error {
	l.ops = append(l.ops, "close")
	return nil
}

func TestGPIORequest(t *testing.T) {
	var got gpioV2LineRequest
	line := &fakeLine{}
	old := requestLineFn
	t.Cleanup(func() { requestLineFn = old })
	requestLineFn = func(chip string, req *gpioV2LineRequest) (lineHandle, error) {
		if chip != "/dev/gpiochip1" {
			t.Errorf("chip %q", chip)
		}
		got = *req
		return line, nil
	}
	p, err := OpenPower(PowerConfig{Chip: "/dev/gpiochip1", Line: 17, ActiveLow: true, Debounce: 5000_000, Signal: SignalIgnition})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got.NumLines != 1 || got.Offsets[0] != 17 {
		t.Errorf("lines %d offsets[0] %d, want 1 line at 17", got.NumLines, got.Offsets[0])
	}
	if c := string(got.Consumer[:7]); c != "geogate" || got.Consumer[7] != 0 {
		t.Errorf("consumer %q", got.Consumer)
	}
	wantFlags := gpioV2LineFlagInput | gpioV2LineFlagEdgeRising | gpioV2LineFlagEdgeFalling | gpioV2LineFlagActiveLow
	if got.Config.Flags != wantFlags {
		t.Errorf("flags %#x, want %#x", got.Config.Flags, wantFlags)
	}
	a := got.Config.Attrs[0]
	if got.Config.NumAttrs != 1 || a.Attr.ID != gpioV2LineAttrIDDebounce || a.Attr.Value != 5000 || a.Mask != 1 {
		t.Errorf("debounce attribute %+v (n=%d), want 5000 us on line bit 0", a, got.Config.NumAttrs)
	}
}

func TestGPIOEvents(t *testing.T) {
	const rising, falling = gpioV2LineEventRisingEdge, 2
	line := &fakeLine{
		bits: 1,
		batches: [][]gpioV2LineEventID{
			{falling},                 // ignition off
			{rising, falling, rising}, // a bounce that ends on: one PowerOK
			{rising},                  // no change: no event
			{falling},
		},
		readErr: syscall.EIO,
	}
	p := &PowerLine{name: "fake", src: &gpioSource{h: line}, signal: SignalIgnition}
	events := make(chan PowerEvent, 10)
	err := p.Watch(context.Background(), events)
	if !errors.Is(err, syscall.EIO) || errors.Is(err, ErrAbsent) {
		t.Errorf("Watch = %v, want the EIO read error", err)
	}
	close(events)
	var got []PowerEvent
	for ev := range events {
		got = append(got, ev)
	}
	want := []PowerEvent{PowerOK, IgnitionOff, PowerOK, IgnitionOff}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestGPIOAbsentFallsBackToSysfs(t *testing.T) {
	old := requestLineFn
	t.Cleanup(func() { requestLineFn = old })
	for _, errno := range []error{syscall.ENOENT, syscall.ENOTTY} {
		requestLineFn = func(string, *gpioV2LineRequest) (lineHandle, error) { return nil, errno }
		_, err := OpenPower(PowerConfig{Chip: "/dev/gpiochip0", Line: 3})
		if !errors.Is(err, errno) {
			t.Errorf("no fallback: err = %v, want %v", err, errno)
		}
		sysfs := writeLevel(t, t.TempDir(), "1\n")
		p, err := OpenPower(PowerConfig{Chip: "/dev/gpiochip0", Line: 3, SysfsValue: sysfs})
		if err != nil {
			t.Fatalf("fallback after %v: %v", errno, err)
		}
		if p.String() != "power input "+sysfs+" (power-good)" {
			t.Errorf("fallback input %q", p)
		}
	}
	requestLineFn = func(string, *gpioV2LineRequest) (lineHandle, error) { return nil, syscall.EBUSY }
	_, err := OpenPower(PowerConfig{Chip: "/dev/gpiochip0", SysfsValue: "/nonexistent"})
	if !errors.Is(err, syscall.EBUSY) || errors.Is(err, ErrAbsent) {
		t.Errorf("busy line: err = %v, want EBUSY and no fallback", err)
	}
}
