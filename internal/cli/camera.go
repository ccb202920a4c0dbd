package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/internal/atomicfile"
)

// The camera seams; tests replace them with cameratest fakes.
var (
	cameraPaths                     = camera.DevicePaths
	cameraOpen  camera.DeviceOpener = camera.OpenDevice
)

// snapSkip is how many frames snap discards first: UVC cameras deliver a few dark or
// half-exposed frames while auto-exposure settles.
const snapSkip = 5

const cameraUsage = `usage: geogate camera list
       geogate camera snap [-device D] [-synthetic] [-width W -height H] [-format F] -o FILE.jpg`

// cameraMain implements "geogate camera list" and "geogate camera snap".
func cameraMain(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, cameraUsage)
		return errUsage
	}
	switch args[0] {
	case "list":
		if len(args) > 1 {
			fmt.Fprintln(stderr, cameraUsage)
			return errUsage
		}
		return cameraList(stdout)
	case "snap":
		return cameraSnap(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, cameraUsage)
	return groupUsage(args)
}

// cameraList prints every V4L2 node with its identity and formats, or says there is none.
func cameraList(stdout io.Writer) error {
	paths := cameraPaths()
	if len(paths) == 0 {
		fmt.Fprintln(stdout, "no cameras found: there is no /dev/video* device (is the camera connected and its driver loaded?)")
		return nil
	}
	for _, p := range paths {
		dev, err := cameraOpen(p)
		if err != nil {
			fmt.Fprintf(stdout, "%s: unusable: %v\n", p, err)
			continue
		}
		info := dev.Info()
		fmt.Fprintf(stdout, "%s: %s (driver %s, bus %s)\n", p, info.Card, info.Driver, info.Bus)
		descs, err := dev.Formats()
		if err != nil {
			fmt.Fprintf(stdout, "  formats: %v\n", err)
		}
		for _, d := range descs {
			var sizes []string
			for _, s := range d.Sizes {
				sizes = append(sizes, fmt.Sprintf("%dx%d", s.Width, s.Height))
			}
			list := strings.Join(sizes, " ")
			if d.Stepwise {
				list = strings.Join(sizes, " to ")
			}
			fmt.Fprintf(stdout, "  %-4v %-22s %s\n", d.Format, d.Description, list)
		}
		dev.Close()
	}
	return nil
}

// cameraSnap implements "geogate camera snap": one frame from the camera (or the synthetic
// source) into a JPEG file, for a person checking a unit's camera.
func cameraSnap(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("camera snap", stderr,
		"usage: geogate camera snap [-device D] [-synthetic] [-width W -height H] [-format F] -o FILE.jpg",
		"Grabs one frame and writes it as a JPEG (MJPEG frames unchanged).",
	)
	device := fs.String("device", camera.DefaultDevice, "V4L2 device node")
	synthetic := fs.Bool("synthetic", false, "take the frame from the built-in test pattern instead of a camera")
	width := fs.Int("width", camera.DefaultWidth, "requested width in pixels")
	height := fs.Int("height", camera.DefaultHeight, "requested height in pixels")
	format := fs.String("format", "", "mjpeg, yuyv or nv12 (default: the best the camera offers, MJPEG first)")
	out := fs.String("o", "", "output JPEG file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	f, err := camera.ParseFormat(*format)
	if err != nil {
		return err
	}
	cfg := camera.Config{Device: *device, Width: *width, Height: *height, Format: f}
	var (
		src  camera.Source
		buf  []byte
		from string
		skip = snapSkip
	)
	if *synthetic {
		cfg.FPS = -1
		s, err := camera.NewSynthetic(cfg, nil)
		if err != nil {
			return err
		}
		src, buf, from, skip = s, make([]byte, s.MaxFrameBytes()), "the synthetic test pattern", 0
	} else {
		v, err := camera.OpenV4L2(cfg, cameraOpen, nil)
		if errors.Is(err, camera.ErrAbsent) && len(cameraPaths()) == 0 {
			return fmt.Errorf("no camera: there is no /dev/video* device; check the cable, or try -synthetic: %w", err)
		}
		if err != nil {
			return err
		}
		src, buf, from = v, make([]byte, v.Mode().FrameBytes), fmt.Sprintf("%s (%s)", *device, v.Info().Card)
	}
	defer src.Close()
	frame, err := readGood(src, buf, skip)
	if err != nil {
		return err
	}
	var jpg bytes.Buffer
	if err := camera.WriteJPEG(&jpg, frame, 0); err != nil {
		return fmt.Errorf("snap: %w", err)
	}
	if err := atomicfile.Write(*out, jpg.Bytes(), 0o644, true); err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %v %dx%d frame from %s, JPEG %d bytes\n", *out, frame.Format, frame.Width, frame.Height, from, fi.Size())
	return nil
}

// readGood discards skip frames, then returns the first good one, tolerating a few corrupt
// frames (cameras send some while starting).
func readGood(src camera.Source, buf []byte, skip int) (camera.Frame, error) {
	const maxBad = 10
	bad := 0
	for {
		f, err := src.ReadFrame(buf)
		switch {
		case errors.Is(err, camera.ErrBadFrame) && bad < maxBad:
			bad++
			continue
		case err != nil:
			return camera.Frame{}, err
		case skip > 0:
			skip--
			continue
		}
		return f, nil
	}
}
