package daemon

import (
	"fmt"
	"github.com/geogate/geogate/anonymize"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// openStorage unseals the device key and opens the log; on any failure the daemon stores
// nothing (fail closed) and says why.
func (r *run) openStorage() {
	keyFile := r.cfg.Storage.KeyFile
	if keyFile == "" {
		keyFile = board.DefaultKeyFile(os.Getenv)
	}
	key, err := board.NewKeyFile(keyFile).DeviceKey()
	if err != nil {
		r.noKey = err
		r.log.Error("NO DEVICE KEY: storing nothing", "err", err)
		return
	}
	defer clear(key)
	cipher := storage.AES256GCM
	if r.cfg.Storage.Cipher == "xchacha20-poly1305" {
		cipher = storage.XChaCha20Poly1305
	}
	l, err := storage.Open(r.cfg.DataDir, storage.Options{
		Key: key, Cipher: cipher, Logger: r.log,
		SegmentSize:  r.cfg.Storage.SegmentMB << 20,
		Quota:        r.cfg.Storage.QuotaMB << 20,
		SyncInterval: r.cfg.Storage.SyncWindow.Duration,
		MaxAge: map[storage.Type]time.Duration{
			record.TypeFix:   r.cfg.Storage.MaxAgeFix.Duration,
			record.TypeFrame: r.cfg.Storage.MaxAgeFrame.Duration,
		},
		// Each of the three append buffers holds a 100 ms window: a few 1080p frames, or a
		// thousand fixes.
		BufferSize: max(1<<20, 3*r.frameBytes()),
	})
	if err != nil {
		r.noKey = err
		r.log.Error("STORAGE UNAVAILABLE: storing nothing", "dir", r.cfg.DataDir, "err", err)
		return
	}
	rec := l.Recovery()
	if len(rec.Cut)+len(rec.Damaged)+len(rec.Unreadable) > 0 || rec.Scanned > 0 {
		r.log.Warn("storage recovered after an unclean stop", "scanned", rec.Scanned, "cut", len(rec.Cut), "damaged", len(rec.Damaged), "unreadable", len(rec.Unreadable))
	}
	r.store = l
}

// appender returns the loop's store: nil (fail closed) without a log. A typed nil pointer
// must not become a non-nil interface.
func (r *run) appender() gate.Store {
	if r.store == nil {
		return nil
	}
	return r.store
}

func (r *run) storageHealthy() error {
	if r.store == nil {
		return nil // failing closed is a designed state, not a hang: restarting would not help
	}
	return r.store.Sync()
}

func (r *run) closeStorage() {
	if r.store == nil {
		return
	}
	if err := r.store.Close(); err != nil {
		r.log.Error("storage close", "err", err)
	}
}

func (r *run) openGNSS() error {
	g := r.cfg.GNSS
	dec := gnss.NewDecoder(gnss.Config{NoChecksumOK: g.AllowNoChecksum})
	var src gnss.Source
	switch g.Source {
	case "replay":
		rp, err := gnss.OpenReplay(g.File, gnss.ReplayConfig{Pace: true, Speed: g.Speedup})
		if err != nil {
			return err
		}
		src = rp
	case "sim":
		rx, err := r.startSim()
		if err != nil {
			return err
		}
		r.sim = rx
		g.Device = rx.Path()
		fallthrough
	case "serial":
		s, err := gnss.NewSerial(gnss.SerialConfig{Device: g.Device, Baud: g.Baud, Logger: r.log})
		if err != nil {
			return err
		}
		r.serial, src = s, s
	}
	r.reader = &gate.GNSSReader{Source: src, Decoder: dec}
	return nil
}

// startSim starts the pseudo-terminal receiver: a capture file, or the built-in drive past
// Beidaihe, played in real time (times Speedup) forever.
func (r *run) startSim() (*sim.Receiver, error) {
	var rp *gnss.Replay
	var err error
	cfg := gnss.ReplayConfig{Pace: true, Loop: true, Speed: r.cfg.GNSS.Speedup}
	if f := r.cfg.GNSS.File; f != "" {
		rp, err = gnss.OpenReplay(f, cfg)
	} else {
		rp, err = gnss.NewReplay(&driveReader{start: clock.Now().UTC().Truncate(time.Second)}, cfg)
	}
	if err != nil {
		return nil, err
	}
	rx, err := sim.New(sim.Config{Source: rp})
	if err != nil {
		return nil, fmt.Errorf("daemon: gnss simulator: %w", err)
	}
	r.log.Info("gnss simulator on a pseudo-terminal", "device", rx.Path(), "speedup", r.cfg.GNSS.Speedup)
	return rx, nil
}

func (r *run) closeGNSS() {
	if r.serial != nil {
		r.serial.Close()
	}
	if r.reader != nil {
		r.reader.Source.Close()
	}
	if r.sim != nil {
		r.sim.Close()
	}
}

func (r *run) cameraConfig() (camera.Config, error) {
	c := r.cfg.Camera
	f, err := camera.ParseFormat(c.Format)
	if err != nil {
		return camera.Config{}, err
	}
	return camera.Config{Device: c.Device, Width: c.Width, Height: c.Height, FPS: c.FPS, Format: f}, nil
}

// frameBytes is the size of one frame buffer: what the device's mode needs, or for the
// synthetic source its JPEGs (far smaller than a raw frame). Zero without a camera.
func (r *run) frameBytes() int {
	switch r.cfg.Camera.Source {
	case "off":
		return 0
	case "synthetic":
		// The test pattern at quality 85 compresses to 1.75 bits per pixel (453,695 bytes at
		// 1080p); a quarter of the raw pixel count plus 64 KiB leaves room to spare.
		return r.cfg.Camera.Width*r.cfg.Camera.Height/4 + 64<<10
	}
	cc, err := r.cameraConfig()
	if err != nil {
		return 0
	}
	if cc.Format == camera.MJPEG {
		// UVC drivers report two bytes per pixel for MJPEG, the worst case; real MJPEG frames
		// stay far below 4 bits per pixel (the noisy test pattern at quality 85 takes 1.75).
		// Half a byte per pixel keeps 1080p buffers at 1 MB instead of 4 MB; a larger frame
		// is dropped and counted (camera.CaptureStats.ShortBuffers).
		return cc.Width * cc.Height / 2
	}
	return cc.BufferBytes()
}

// openCamera prepares the camera and its ring; the capture goroutine opens the device (and
// reopens it when it vanishes). It runs before storage is opened, which sizes its buffers
// for frames.
func (r *run) openCamera() error {
	if r.cfg.Camera.Source == "off" {
		return nil
	}
	cc, err := r.cameraConfig()
	if err != nil {
		return err
	}
	open := func() (camera.Source, error) { return camera.OpenV4L2(cc, nil, nil) }
	if r.cfg.Camera.Source == "synthetic" {
		// Rendered once, in the capture goroutine (it takes a second and must not delay
		// READY): the synthetic camera never fails, so it is never reopened.
		var synth *camera.Synthetic
		open = func() (camera.Source, error) {
			if synth == nil {
				if synth, err = camera.NewSynthetic(cc, nil); err != nil {
					return nil, err
				}
			}
			return synth, nil
		}
	}
	r.ring = camera.NewRing(r.cfg.Camera.Buffers, r.frameBytes())
	r.cap = &camera.Capture{Open: open, Ring: r.ring, Log: r.log}
	return nil
}

// openBoard opens the optional hardware. Absent parts are logged once; the daemon runs
// without them.
func (r *run) openBoard() {
	var err error
	if r.sd, err = board.NewNotifier(); err != nil {
		r.log.Warn("systemd notify unavailable", "err", err)
	}
	kickers := []board.Kicker{r.sd}
	if dev := r.cfg.Board.Watchdog; dev != "" {
		wd, err := board.OpenWatchdog(dev, r.cfg.Board.WatchdogTimeout.Duration)
		if err != nil {
			r.log.Warn("hardware watchdog not used", "device", dev, "err", err)
		} else {
			r.wd = wd
			kickers = append(kickers, wd)
		}
	}
	r.health = board.NewHealth(board.HealthConfig{Kickers: kickers, Logger: r.log})
	if spec := r.cfg.Board.PowerFail; spec != "" {
		pc, err := powerConfig(r.cfg.Board)
		if err == nil {
			r.power, err = board.OpenPower(pc)
		}
		if err != nil {
			r.log.Warn("power-fail input not used", "input", spec, "err", err)
			r.power = nil
		}
	}
	if m, err := board.ReadEMMC(os.DirFS("/")); err == nil {
		for _, e := range m {
			r.log.Info("emmc health", "device", e.String(), "worn", e.Worn())
		}
	} else {
		r.log.Info("emmc health not available", "err", err)
	}
}

// powerConfig turns config.Board's power input (validated by config) into a board.PowerConfig.
func powerConfig(c config.Board) (board.PowerConfig, error) {
	pc := board.PowerConfig{ActiveLow: c.PowerActiveLow}
	if err := pc.Signal.UnmarshalText([]byte(c.PowerSignal)); err != nil {
		return pc, err
	}
	kind, rest, _ := strings.Cut(c.PowerFail, ":")
	switch kind {
	case "file":
		pc.File = rest
	case "sysfs":
		pc.SysfsValue = rest
	default:
		n, err := strconv.ParseUint(rest, 10, 32)
		if err != nil {
			return pc, fmt.Errorf("daemon: board.power_fail %q: %w", c.PowerFail, err)
		}
		pc.Chip, pc.Line = "/dev/"+kind, uint32(n)
	}
	return pc, nil
}

func (r *run) powerEvent(ev board.PowerEvent) {
	switch ev {
	case board.PowerOK:
		r.loop.PowerRestored()
		r.log.Info("power ok")
	default:
		r.loop.PowerFail()
		if r.store != nil {
			if err := r.store.Sync(); err != nil {
				r.log.Error("flush on power-fail", "err", err)
			}
		}
		r.log.Warn("power failing: flushed storage, accepting nothing new", "event", ev.String())
	}
}

func (r *run) closeBoard() {
	if r.wd != nil {
		r.wd.Close()
	}
	if r.power != nil {
		r.power.Close()
	}
	r.sd.Close()
}

// anonymizer connects frames of a tier with anonymize = true to the configured detector;
// nil without one, and the loop drops such frames (fail closed).
func (r *run) anonymizer() gate.Anonymizer {
	c := r.cfg.Camera
	if c.Detector == "" || c.Source == "off" {
		return nil
	}
	return &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: c.Detector}, Deadline: c.DetectorDeadline.Duration}
}
