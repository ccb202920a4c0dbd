// Package camera captures camera frames for geogate: from a V4L2 device (a USB or MIPI camera
// on the telematics unit) or from a synthetic test pattern, into a fixed pool of preallocated
// buffers that a consumer (the gate) drains at its own pace. It knows nothing of positions,
// policy or storage: a Frame carries its pixels, size, format and monotonic capture time, and
// the gate decides what happens to it.
//
// # Data path
//
//	Source.ReadFrame(Ring.Buffer()) -> Ring.Commit -> Ring.Recv -> (gate, storage) -> Ring.Release
//
// Capture runs the producer half in its own goroutine and reopens a camera that is absent or
// vanishes, with backoff. The Ring never blocks the producer: when the consumer falls behind it
// drops the oldest queued frame and counts it (see Ring). In steady state no step allocates; a
// test proves it with testing.AllocsPerRun.
//
// # Sources
//
// V4L2 (OpenV4L2) negotiates a mode from Config, preferring MJPEG, which is passed through as
// the camera encoded it, then YUYV, then NV12. Each frame is copied once, from the driver's
// mmap buffer into a Ring buffer. The V4L2 calls sit behind the Device interface: OpenDevice
// is the real one (raw ioctls through golang.org/x/sys/unix, pure Go, so the static
// CGO_ENABLED=0 binary has it), cameratest.Device a scripted fake.
//
// Why not pion/mediadevices for capture: its Linux camera driver (pkg/driver/camera) includes
// linux/videodev2.h through cgo, so with CGO_ENABLED=0 the package builds but holds no driver
// and finds no camera; its frames also come as image.Image through a reader, one allocation
// per frame at least. The ioctls it wraps (through github.com/blackjack/webcam) are the dozen
// in v4l2_linux.go.
//
// Synthetic (NewSynthetic) renders a test pattern into a few real JPEG (or YUYV, NV12) frames at
// start and cycles through them, paced by the injected Clock, for `make run`, tests and
// benchmarks.
//
// # Errors
//
// ErrAbsent (no camera, or it was unplugged) and ErrBroken (a device that does not work) are
// distinct sentinels, carried in a *DeviceError naming the device node, the operation, the
// errno and a hint for the person at the unit.
//
// # Downscaling
//
// Scaler reduces a frame to a pixel budget for policy tiers that limit resolution: directly for
// YUYV and NV12, by decoding and re-encoding for MJPEG. Baseline MJPEG (what cameras send) is
// decoded by the package's own entropy decoder at 1/2, 1/4 or 1/8 scale in the DCT domain,
// keeping only the low-frequency coefficients the small image needs (a 4x4 or 2x2 IDCT, or the
// DC term alone), with Huffman tables from the stream or T.81 K.3's defaults, restart markers,
// and 4:2:0, 4:2:2, 4:4:0, 4:4:4 or grey sampling. The small image is encoded by the package's
// own baseline encoder straight from the decoder's planes, in the same sampling: integer AAN
// forward DCT with its scale folded into reciprocal quantization (T.81 K.1 tables scaled by
// quality as libjpeg does), T.81 K.3's Huffman tables, no allocation. Progressive,
// arithmetic-coded, 12-bit, CMYK and non-interleaved JPEGs are decoded by image/jpeg instead
// (slower, allocating), then box-filtered and encoded the same way.
//
// # Example
//
//	cfg := camera.Config{Device: "/dev/video0"} // 1920x1080 at 30 fps, MJPEG if offered
//	ring := camera.NewRing(8, cfg.BufferBytes())
//	c := &camera.Capture{
//		Open: func() (camera.Source, error) { return camera.OpenV4L2(cfg, nil, nil) },
//		Ring: ring,
//		Log:  logger,
//	}
//	go c.Run(ctx)
//	for {
//		f, err := ring.Recv(ctx)
//		if err != nil {
//			return err
//		}
//		handle(f) // f.Data is valid until Release
//		ring.Release(f)
//	}
package camera
