//go:build linux

package camera

import (
	"errors"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// V4L2 UAPI, from include/uapi/linux/videodev2.h. Structs mirror the kernel's layout for the
// native ABI of each GOARCH: the sizes (v4l2_buffer: 88 bytes on 64-bit, 68 on 32-bit ARM)
// follow from Go's alignment rules, which match C's here, and are checked in a test.
const (
	v4l2BufTypeVideoCapture  = 1          // V4L2_BUF_TYPE_VIDEO_CAPTURE
	v4l2MemoryMmap           = 1          // V4L2_MEMORY_MMAP
	v4l2FieldAny             = 0          // V4L2_FIELD_ANY
	v4l2CapVideoCapture      = 0x00000001 // V4L2_CAP_VIDEO_CAPTURE
	v4l2CapStreaming         = 0x04000000 // V4L2_CAP_STREAMING
	v4l2CapDeviceCaps        = 0x80000000 // V4L2_CAP_DEVICE_CAPS
	v4l2FrmsizeTypeDiscrete  = 1          // V4L2_FRMSIZE_TYPE_DISCRETE
	v4l2BufFlagTimestampMask = 0xe000     // V4L2_BUF_FLAG_TIMESTAMP_MASK
	v4l2BufFlagTimestampMono = 0x2000     // V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC
)

type v4l2Capability struct {
	driver       [16]byte
	card         [32]byte
	busInfo      [32]byte
	version      uint32
	capabilities uint32
	deviceCaps   uint32
	reserved     [3]uint32
}

type v4l2Fmtdesc struct {
	index       uint32
	typ         uint32
	flags       uint32
	description [32]byte
	pixelformat uint32
	mbusCode    uint32
	reserved    [3]uint32
}

type v4l2Frmsizeenum struct {
	index       uint32
	pixelFormat uint32
	typ         uint32
	u           [6]uint32 // discrete {width, height} or stepwise {min_w, max_w, step_w, min_h, max_h, step_h}
	reserved    [2]uint32
}

type v4l2PixFormat struct {
	width, height, pixelformat, field, bytesperline, sizeimage uint32
	colorspace, priv, flags, ycbcrEnc, quantization, xferFunc  uint32
}

type v4l2Format struct {
	typ uint32
	fmt struct {
		_   [0]uintptr // the kernel union holds pointers (v4l2_window): pointer-aligned
		pix v4l2PixFormat
		_   [200 - unsafe.Sizeof(v4l2PixFormat{})]byte
	}
}

type v4l2Fract struct{ numerator, denominator uint32 }

type v4l2Captureparm struct {
	capability, capturemode   uint32
	timeperframe              v4l2Fract
	extendedmode, readbuffers uint32
	reserved                  [4]uint32
}

type v4l2Streamparm struct {
	typ  uint32
	parm struct {
		capture v4l2Captureparm
		_       [200 - unsafe.Sizeof(v4l2Captureparm{})]byte
	}
}

type v4l2Requestbuffers struct {
	count, typ, memory, capabilities uint32
	flags                            uint8
	reserved                         [3]uint8
}

type v4l2Timecode struct {
	typ, flags                      uint32
	frames, seconds, minutes, hours uint8
	userbits                        [4]uint8
}

type v4l2Buffer struct {
	index, typ, bytesused, flags, field uint32
	timestamp                           unix.Timeval
	timecode                            v4l2Timecode
	sequence, memory                    uint32
	m                                   uintptr // union { __u32 offset; unsigned long userptr; ... }
	length, reserved2, requestFD        uint32
}

// ioc builds an ioctl request like the kernel's _IOC for type 'V' (asm-generic/ioctl.h).
func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'V'<<8 | nr }

const (
	iocWrite = 1 // _IOC_WRITE
	iocRead  = 2 // _IOC_READ
)

// ioctl requests, named as in videodev2.h.
var (
	vidiocQuerycap       = ioc(iocRead, 0, unsafe.Sizeof(v4l2Capability{}))              // VIDIOC_QUERYCAP
	vidiocEnumFmt        = ioc(iocRead|iocWrite, 2, unsafe.Sizeof(v4l2Fmtdesc{}))        // VIDIOC_ENUM_FMT
	vidiocSFmt           = ioc(iocRead|iocWrite, 5, unsafe.Sizeof(v4l2Format{}))         // VIDIOC_S_FMT
	vidiocReqbufs        = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(v4l2Requestbuffers{})) // VIDIOC_REQBUFS
	vidiocQuerybuf       = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(v4l2Buffer{}))         // VIDIOC_QUERYBUF
	vidiocQbuf           = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(v4l2Buffer{}))        // VIDIOC_QBUF
	vidiocDqbuf          = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(v4l2Buffer{}))        // VIDIOC_DQBUF
	vidiocStreamon       = ioc(iocWrite, 18, unsafe.Sizeof(int32(0)))                    // VIDIOC_STREAMON
	vidiocStreamoff      = ioc(iocWrite, 19, unsafe.Sizeof(int32(0)))                    // VIDIOC_STREAMOFF
	vidiocSParm          = ioc(iocRead|iocWrite, 22, unsafe.Sizeof(v4l2Streamparm{}))    // VIDIOC_S_PARM
	vidiocEnumFramesizes = ioc(iocRead|iocWrite, 74, unsafe.Sizeof(v4l2Frmsizeenum{}))   // VIDIOC_ENUM_FRAMESIZES
)

// v4l2Device is the real Device: a V4L2 node driven by ioctls, buffers mapped with mmap.
type v4l2Device struct {
	path string
	fd   int
	info DeviceInfo
	bufs [][]byte // mmapped driver buffers
	on   bool     // streaming
	// Reused by Dequeue and Enqueue so the hot path allocates nothing.
	pfd [1]unix.PollFd
	buf v4l2Buffer
	ts  unix.Timespec
}

// OpenDevice opens a V4L2 video capture node. It fails with ErrAbsent when the node does not
// exist and ErrBroken when it is not a streaming capture device or cannot be opened.
func OpenDevice(path string) (Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, deviceErr(path, "open", err)
	}
	d := &v4l2Device{path: path, fd: fd}
	d.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	var c v4l2Capability
	if err := d.ioctl(vidiocQuerycap, unsafe.Pointer(&c)); err != nil {
		unix.Close(fd)
		e := deviceErr(path, "VIDIOC_QUERYCAP", err)
		if errors.Is(err, unix.ENOTTY) {
			e.Hint = "not a V4L2 device"
		}
		return nil, e
	}
	caps := c.capabilities
	if caps&v4l2CapDeviceCaps != 0 {
		caps = c.deviceCaps
	}
	d.info = DeviceInfo{Path: path, Card: cstr(c.card[:]), Driver: cstr(c.driver[:]), Bus: cstr(c.busInfo[:])}
	if caps&v4l2CapVideoCapture == 0 || caps&v4l2CapStreaming == 0 {
		unix.Close(fd)
		return nil, &DeviceError{Path: path, Op: "VIDIOC_QUERYCAP", Kind: ErrBroken,
			Err:  errors.New("not a streaming video capture device"),
			Hint: "a UVC camera also has a metadata node; try the other /dev/video* of the same camera"}
	}
	return d, nil
}

func (d *v4l2Device) ioctl(req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), req, uintptr(arg))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

// Info implements Device.
func (d *v4l2Device) Info() DeviceInfo { return d.info }

// Formats implements Device.
func (d *v4l2Device) Formats() ([]FormatDesc, error) {
	var out []FormatDesc
	for i := uint32(0); ; i++ {
		fd := v4l2Fmtdesc{index: i, typ: v4l2BufTypeVideoCapture}
		if err := d.ioctl(vidiocEnumFmt, unsafe.Pointer(&fd)); err != nil {
			if errors.Is(err, unix.EINVAL) { // end of the list
				return out, nil
			}
			return nil, deviceErr(d.path, "VIDIOC_ENUM_FMT", err)
		}
		desc := FormatDesc{Format: Format(fd.pixelformat), Description: cstr(fd.description[:])}
		for j := uint32(0); ; j++ {
			fs := v4l2Frmsizeenum{index: j, pixelFormat: fd.pixelformat}
			if err := d.ioctl(vidiocEnumFramesizes, unsafe.Pointer(&fs)); err != nil {
				break // EINVAL ends the list; drivers without the ioctl list no sizes
			}
			if fs.typ == v4l2FrmsizeTypeDiscrete {
				desc.Sizes = append(desc.Sizes, Size{int(fs.u[0]), int(fs.u[1])})
				continue
			}
			desc.Stepwise = true
			desc.Sizes = []Size{{int(fs.u[0]), int(fs.u[3])}, {int(fs.u[1]), int(fs.u[4])}}
			break
		}
		out = append(out, desc)
	}
}

// SetMode implements Device.
func (d *v4l2Device) SetMode(want Mode) (Mode, error) {
	var f v4l2Format
	f.typ = v4l2BufTypeVideoCapture
	f.fmt.pix = v4l2PixFormat{width: uint32(want.Width), height: uint32(want.Height),
		pixelformat: uint32(want.Format), field: v4l2FieldAny}
	if err := d.ioctl(vidiocSFmt, unsafe.Pointer(&f)); err != nil {
		return Mode{}, deviceErr(d.path, "VIDIOC_S_FMT", err)
	}
	got := Mode{Format: Format(f.fmt.pix.pixelformat), Width: int(f.fmt.pix.width),
		Height: int(f.fmt.pix.height), FrameBytes: int(f.fmt.pix.sizeimage)}
	if want.FPS > 0 {
		var p v4l2Streamparm
		p.typ = v4l2BufTypeVideoCapture
		p.parm.capture.timeperframe = v4l2Fract{1, uint32(want.FPS)}
		// Drivers without frame rate control fail S_PARM; they run at their own rate (FPS 0).
		if d.ioctl(vidiocSParm, unsafe.Pointer(&p)) == nil {
			if tpf := p.parm.capture.timeperframe; tpf.numerator > 0 {
				got.FPS = int(tpf.denominator / tpf.numerator)
			}
		}
	}
	return got, nil
}

// Start implements Device.
func (d *v4l2Device) Start(n int) error {
	rb := v4l2Requestbuffers{count: uint32(n), typ: v4l2BufTypeVideoCapture, memory: v4l2MemoryMmap}
	if err := d.ioctl(vidiocReqbufs, unsafe.Pointer(&rb)); err != nil {
		return deviceErr(d.path, "VIDIOC_REQBUFS", err)
	}
	if rb.count == 0 {
		return &DeviceError{Path: d.path, Op: "VIDIOC_REQBUFS", Kind: ErrBroken, Err: errors.New("driver granted no buffers")}
	}
	for i := range rb.count {
		b := v4l2Buffer{index: i, typ: v4l2BufTypeVideoCapture, memory: v4l2MemoryMmap}
		if err := d.ioctl(vidiocQuerybuf, unsafe.Pointer(&b)); err != nil {
			return deviceErr(d.path, "VIDIOC_QUERYBUF", err)
		}
		m, err := unix.Mmap(d.fd, int64(uint32(b.m)), int(b.length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return deviceErr(d.path, "mmap", err)
		}
		d.bufs = append(d.bufs, m)
		if err := d.Enqueue(int(i)); err != nil {
			return err
		}
	}
	typ := int32(v4l2BufTypeVideoCapture)
	if err := d.ioctl(vidiocStreamon, unsafe.Pointer(&typ)); err != nil {
		return deviceErr(d.path, "VIDIOC_STREAMON", err)
	}
	d.on = true
	return nil
}

// Dequeue implements Device. It does not allocate unless it fails.
func (d *v4l2Device) Dequeue(timeout time.Duration) (Buffer, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		n, err := unix.Poll(d.pfd[:], max(int(left/time.Millisecond), 0))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Buffer{}, deviceErr(d.path, "poll", err)
		}
		if n == 0 {
			return Buffer{}, d.noFrame()
		}
		d.buf = v4l2Buffer{typ: v4l2BufTypeVideoCapture, memory: v4l2MemoryMmap}
		if err := d.ioctl(vidiocDqbuf, unsafe.Pointer(&d.buf)); err != nil {
			if err == unix.EAGAIN { // poll woke for an event, not a frame
				if time.Until(deadline) <= 0 {
					return Buffer{}, d.noFrame()
				}
				continue
			}
			return Buffer{}, deviceErr(d.path, "VIDIOC_DQBUF", err)
		}
		b := Buffer{Index: int(d.buf.index), Seq: d.buf.sequence}
		if int(d.buf.index) >= len(d.bufs) {
			return Buffer{}, &DeviceError{Path: d.path, Op: "VIDIOC_DQBUF", Kind: ErrBroken, Err: errors.New("buffer index out of range")}
		}
		b.Data = d.bufs[d.buf.index][:min(int(d.buf.bytesused), len(d.bufs[d.buf.index]))]
		if d.buf.flags&v4l2BufFlagTimestampMask == v4l2BufFlagTimestampMono &&
			unix.ClockGettime(unix.CLOCK_MONOTONIC, &d.ts) == nil {
			age := time.Duration(d.ts.Nano() - d.buf.timestamp.Nano())
			if age > 0 && age < time.Second { // a wild timestamp says nothing; use the dequeue time
				b.Age = age
			}
		}
		return b, nil
	}
}

func (d *v4l2Device) noFrame() error {
	return &DeviceError{Path: d.path, Op: "poll", Kind: ErrBroken, Err: errNoFrame,
		Hint: "the camera stopped sending frames; check its cable and the USB bandwidth"}
}

// Enqueue implements Device. It does not allocate unless it fails.
func (d *v4l2Device) Enqueue(index int) error {
	d.buf = v4l2Buffer{index: uint32(index), typ: v4l2BufTypeVideoCapture, memory: v4l2MemoryMmap}
	if err := d.ioctl(vidiocQbuf, unsafe.Pointer(&d.buf)); err != nil {
		return deviceErr(d.path, "VIDIOC_QBUF", err)
	}
	return nil
}

// Close implements Device.
func (d *v4l2Device) Close() error {
	if d.fd < 0 {
		return nil
	}
	if d.on {
		typ := int32(v4l2BufTypeVideoCapture)
		d.ioctl(vidiocStreamoff, unsafe.Pointer(&typ)) // the device may be gone; closing still frees it
	}
	for _, b := range d.bufs {
		unix.Munmap(b)
	}
	d.bufs = nil
	err := unix.Close(d.fd)
	d.fd = -1
	if err != nil {
		return deviceErr(d.path, "close", err)
	}
	return nil
}

// deviceErr classifies an errno: the device is absent (never there, or unplugged) or broken.
func deviceErr(path, op string, err error) *DeviceError {
	e := &DeviceError{Path: path, Op: op, Kind: ErrBroken, Err: err}
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		e.Kind = ErrAbsent
		if op == "open" {
			e.Hint = "is the camera connected? `geogate camera list` shows what is there"
		} else {
			e.Hint = "the camera disappeared; check its cable"
		}
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		e.Hint = "is geogate a member of group 'video'?"
	case errors.Is(err, unix.EBUSY):
		e.Hint = "another process is using the camera"
	}
	return e
}

// cstr returns the NUL-terminated string at the start of b.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
