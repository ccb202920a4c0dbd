// Package cameratest provides fakes for testing code that uses package camera: a Clock that
// never sleeps, and a scripted V4L2 Device with an Opener that can make a camera vanish and
// come back.
package cameratest

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/geogate/geogate/camera"
)

// Clock is a fake camera.Clock: Sleep advances Now at once, so paced sources and retry
// backoff run at full speed in tests. It is safe for concurrent use.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

var _ camera.Clock = (*Clock)(nil)

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now implements camera.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep implements camera.Clock: it advances the clock by d without waiting.
func (c *Clock) Sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
		c.slept += d
	}
}

// Advance moves the clock forward by d, as time passing outside Sleep.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Slept returns the total time passed in Sleep.
func (c *Clock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// Device is a scripted camera.Device. Set the exported fields before use; the V4L2 source
// drives it as it would a kernel device. Close fails when a dequeued buffer was never enqueued,
// or when the device was used after Close.
type Device struct {
	// DevInfo is returned by Info.
	DevInfo camera.DeviceInfo
	// Offers is what Formats returns.
	Offers []camera.FormatDesc
	// Adjust models the driver's answer to SetMode. Zero: the driver accepts the mode as asked.
	Adjust func(want camera.Mode) camera.Mode
	// Frames are delivered by Dequeue in turn, cycling.
	Frames [][]byte
	// Age is the Buffer.Age reported with every frame.
	Age time.Duration
	// VanishAfter makes the device disappear (ENODEV, as when a USB camera is unplugged) after
	// this many frames. Zero: never.
	VanishAfter int
	// Fail maps an operation ("Formats", "SetMode", "Start", "Dequeue", "Enqueue") to the error
	// it returns.
	Fail map[string]error

	// Set by the calls.
	Set         camera.Mode // the mode SetMode agreed to
	Buffers     int         // buffers granted by Start
	Dequeued    int         // successful Dequeue calls
	Closed      bool
	outstanding []bool // buffer dequeued and not yet enqueued
	next        int
}

var _ camera.Device = (*Device)(nil)

func (d *Device) err(op string) error {
	if d.Closed {
		return fmt.Errorf("cameratest: %s after Close", op)
	}
	return d.Fail[op]
}

// Info implements camera.Device.
func (d *Device) Info() camera.DeviceInfo { return d.DevInfo }

// Formats implements camera.Device.
func (d *Device) Formats() ([]camera.FormatDesc, error) {
	if err := d.err("Formats"); err != nil {
		return nil, err
	}
	return d.Offers, nil
}

// SetMode implements camera.Device.
func (d *Device) SetMode(want camera.Mode) (camera.Mode, error) {
	if err := d.err("SetMode"); err != nil {
		return camera.Mode{}, err
	}
	got := want
	if d.Adjust != nil {
		got = d.Adjust(want)
	}
	d.Set = got
	return got, nil
}

// Start implements camera.Device.
func (d *Device) Start(n int) error {
	if err := d.err("Start"); err != nil {
		return err
	}
	if n < 1 {
		return errors.New("cameratest: Start with no buffers")
	}
	d.Buffers = n
	d.outstanding = make([]bool, n)
	return nil
}

// Dequeue implements camera.Device. It does not allocate unless it fails.
func (d *Device) Dequeue(timeout time.Duration) (camera.Buffer, error) {
	if err := d.err("Dequeue"); err != nil {
		return camera.Buffer{}, err
	}
	path := d.DevInfo.Path
	if d.Buffers == 0 {
		return camera.Buffer{}, &camera.DeviceError{Path: path, Op: "VIDIOC_DQBUF", Kind: camera.ErrBroken, Err: syscall.EINVAL}
	}
	if d.VanishAfter > 0 && d.Dequeued >= d.VanishAfter {
		return camera.Buffer{}, &camera.DeviceError{Path: path, Op: "VIDIOC_DQBUF", Kind: camera.ErrAbsent, Err: syscall.ENODEV}
	}
	i := d.next % d.Buffers
	if d.outstanding[i] || len(d.Frames) == 0 {
		return camera.Buffer{}, &camera.DeviceError{Path: path, Op: "poll", Kind: camera.ErrBroken, Err: syscall.ETIMEDOUT}
	}
	d.outstanding[i] = true
	b := camera.Buffer{Data: d.Frames[d.Dequeued%len(d.Frames)], Index: i, Seq: uint32(d.Dequeued), Age: d.Age}
	d.next++
	d.Dequeued++
	return b, nil
}

// Enqueue implements camera.Device.
func (d *Device) Enqueue(index int) error {
	if err := d.err("Enqueue"); err != nil {
		return err
	}
	if index < 0 || index >= d.Buffers || !d.outstanding[index] {
		return &camera.DeviceError{Path: d.DevInfo.Path, Op: "VIDIOC_QBUF", Kind: camera.ErrBroken, Err: syscall.EINVAL}
	}
	d.outstanding[index] = false
	return nil
}

// Close implements camera.Device. It reports buffers that were dequeued and never given back.
func (d *Device) Close() error {
	if d.Closed {
		return errors.New("cameratest: Close twice")
	}
	d.Closed = true
	for i, o := range d.outstanding {
		if o {
			return fmt.Errorf("cameratest: buffer %d dequeued and never enqueued", i)
		}
	}
	return nil
}

// Step is one answer of an Opener: a device, or the error opening fails with.
type Step struct {
	Dev *Device
	Err error
}

// Absent is the error the kernel gives for a device node that is not there, as camera.OpenDevice reports it.
func Absent(path string) error {
	return &camera.DeviceError{Path: path, Op: "open", Kind: camera.ErrAbsent, Err: syscall.ENOENT}
}

// Opener hands out its Steps in order, one per Open; after the last it keeps failing with
// ErrAbsent. It is safe for concurrent use.
type Opener struct {
	mu    sync.Mutex
	Steps []Step
	calls int
	paths []string
}

// Open is a camera.DeviceOpener.
func (o *Opener) Open(path string) (camera.Device, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.paths = append(o.paths, path)
	i := o.calls
	o.calls++
	if i >= len(o.Steps) {
		return nil, Absent(path)
	}
	s := o.Steps[i]
	if s.Err != nil {
		return nil, s.Err
	}
	if s.Dev.DevInfo.Path == "" {
		s.Dev.DevInfo.Path = path
	}
	return s.Dev, nil
}

// Calls returns how many times Open ran.
func (o *Opener) Calls() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls
}

// Paths returns the device paths Open was asked for, in order.
func (o *Opener) Paths() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.paths...)
}
