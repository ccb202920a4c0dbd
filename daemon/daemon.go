package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// Options are what Run needs besides the config.
type Options struct {
	// Config is the validated configuration. Required.
	Config *config.Config
	// BuiltinPolicy is the bundle used when Config.Policy.Dir is empty (the sample bundle
	// compiled into the binary). Nil: no policy, so nothing is stored.
	BuiltinPolicy fs.FS
	// Log receives state changes and periodic counters. Nil: discarded.
	Log *slog.Logger
	// Status, if set, gets a one-line live status, rewritten in place (for a terminal).
	Status io.Writer
	// Signals delivers SIGHUP, SIGINT and SIGTERM. Nil: the process's own signals.
	Signals <-chan os.Signal
	// Dev marks a development run (geogate run -dev), which is not warned that its policy is
	// unsigned. False: a run without policy.trusted_keys logs a WARN at every (re)load.
	Dev bool
}

// stopBudget is how long shutdown may take: systemd's TimeoutStopSec is longer, but a car's
// hold-up capacitors are not.
const stopBudget = 2 * time.Second

// Summary is what a run did, printed at exit.
type Summary struct {
	Uptime                                      time.Duration
	Fixes, FixesKept, FixesCoarsened, FixDrop   uint64
	Frames, FramesKept, FramesScaled, FrameDrop uint64
	Records, Bytes, Durable, Syncs              uint64
	Reconnects                                  uint64
	PolicyVersion                               uint64
	NoStore                                     bool
	// DropReasons lists why fixes and frames were dropped, with counts as fixes/frames, e.g.
	// "zone-deny 566/170", in policy.Reason order, then the gate's own reasons.
	DropReasons string
}

func (s Summary) String() string {
	line := fmt.Sprintf("ran %s: fixes %d (kept %d, coarsened %d, dropped %d), frames %d (kept %d, downscaled %d, dropped %d), records stored %d (%s, durable up to seq %d, %d fdatasyncs), gnss reconnects %d, policy v%d",
		s.Uptime.Round(time.Millisecond), s.Fixes, s.FixesKept, s.FixesCoarsened, s.FixDrop,
		s.Frames, s.FramesKept, s.FramesScaled, s.FrameDrop, s.Records, bytesString(s.Bytes), s.Durable, s.Syncs, s.Reconnects, s.PolicyVersion)
	if s.DropReasons != "" {
		line += "; dropped (fixes/frames): " + s.DropReasons
	}
	return line
}

// dropReasons formats the loop's per-reason drop counters for the summary.
func dropReasons(c *gate.Counters) string {
	var parts []string
	for r := range policy.Reason(16) {
		fix, frame := c.FixDrops(r), c.FrameDrops(r)
		if fix+frame == 0 {
			continue
		}
		name := r.String()
		if r == policy.ReasonOK {
			name = "gate" // allowed by the policy, dropped by the gate: scaler busy, frame too large
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d", name, fix, frame))
	}
	for _, n := range []struct {
		name string
		v    uint64
	}{{"no-store", c.NoStore.Load()}, {"power-fail", c.PowerFail.Load()}, {"store-error", c.StoreErrors.Load()}} {
		if n.v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n.name, n.v))
		}
	}
	return strings.Join(parts, ", ")
}

// run is one daemon's parts, built from the config.
type run struct {
	opts   Options
	cfg    *config.Config
	log    *slog.Logger
	start  time.Time
	holder policy.Holder
	store  *storage.Log
	noKey  error // why nothing is stored, nil when storing
	serial *gnss.Serial
	sim    *sim.Receiver
	reader *gate.GNSSReader
	ring   *camera.Ring
	cap    *camera.Capture
	loop   *gate.Loop
	sd     *board.Notifier
	wd     *board.Watchdog
	health *board.Health
	power  *board.PowerLine

	// unsigned is set while the running policy was loaded without signature verification
	// (no policy.trusted_keys); the status line says so.
	unsigned atomic.Bool
}

// Run runs the daemon until ctx ends or SIGINT/SIGTERM arrives, then stops everything within
// stopBudget and returns the summary. It returns an error only when it cannot start at all
// (e.g. the GNSS source is misconfigured); every runtime failure fails closed instead.
func Run(ctx context.Context, opts Options) (Summary, error) {
	r := &run{opts: opts, cfg: opts.Config, log: opts.Log, start: time.Now()}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	// Positions, frames and the device key are in the clear in memory: no core file, no
	// ptrace or /proc/PID/mem by other processes of this user.
	if err := board.NoCoreDumps(); err != nil {
		r.log.Warn("cannot disable core dumps", "err", err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(r.cfg.MemoryLimitMB << 20)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Signals are caught from the start: a SIGTERM during start-up still gets an orderly stop.
	sigs := opts.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}

	if err := r.openCamera(); err != nil {
		return Summary{}, err
	}
	// The policy compiles while the rest starts (the sample bundle's China outline takes a
	// quarter of a second). Until it is in force the loop drops everything: fail closed.
	firstLoad := make(chan struct{})
	policyLoaded := firstLoad // set to nil once seen, so the select stops taking it
	go func() {
		defer close(firstLoad)
		r.loadPolicy(false)
	}()
	r.openStorage()
	if err := r.openGNSS(); err != nil {
		r.closeStorage()
		return Summary{}, err
	}
	r.openBoard()

	fixes := make(chan gnss.Fix, 64)
	r.reader.Out = fixes
	r.loop = gate.New(gate.Config{
		Fixes: fixes, Frames: r.ring, Policy: &r.holder, Tier: r.cfg.Policy.Tier,
		Store: r.appender(), Beat: r.health.Beat("pipeline", 5*time.Second),
		MaxFrameBytes: r.frameBytes(), Log: r.log,
	})
	r.health.Probe("storage", r.storageHealthy)

	var wg sync.WaitGroup
	loopCtx, stopLoop := context.WithCancel(context.Background())
	srcCtx, stopSources := context.WithCancel(ctx)
	wg.Go(func() { r.loop.Run(loopCtx) })
	wg.Go(func() {
		if err := r.reader.Run(srcCtx); err != nil {
			r.log.Error("gnss source ended", "err", err)
		}
	})
	if r.cap != nil {
		wg.Go(func() { r.cap.Run(srcCtx) })
	}
	healthCtx, stopHealth := context.WithCancel(context.Background())
	go r.health.Run(healthCtx)
	powerEvents := make(chan board.PowerEvent, 4)
	if r.power != nil {
		go r.power.Watch(srcCtx, powerEvents)
	}

	if err := r.sd.Ready(); err != nil {
		r.log.Warn("systemd notify failed", "err", err)
	}
	r.log.Info("running", "ready_in", time.Since(r.start).Round(time.Microsecond), "storing", r.store != nil)

	statusEvery := time.NewTicker(r.cfg.StatusInterval.Duration)
	defer statusEvery.Stop()
	var live <-chan time.Time
	if opts.Status != nil {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		live = t.C
	}
	for stop := false; !stop; {
		select {
		case <-ctx.Done():
			stop = true
		case <-policyLoaded:
			policyLoaded = nil
			if r.holder.Policy() != nil {
				r.log.Info("policy in force", "after", time.Since(r.start).Round(time.Microsecond))
			}
		case s := <-sigs:
			if s == syscall.SIGHUP {
				<-firstLoad // a reload must not race the first load
				r.loadPolicy(true)
				continue
			}
			r.log.Info("stopping", "signal", s.String())
			stop = true
		case ev := <-powerEvents:
			r.powerEvent(ev)
		case <-statusEvery.C:
			line := r.statusLine()
			r.log.Info("status", "line", line)
			r.sd.Status(line)
		case <-live:
			fmt.Fprintf(opts.Status, "\r\033[K%s", r.statusLine())
		}
	}

	// Shutdown, within stopBudget: sources first, so nothing new arrives; then the loop;
	// then the log is flushed and fsynced.
	if opts.Status != nil {
		fmt.Fprint(opts.Status, "\r\033[K")
	}
	r.sd.Stopping()
	deadline := time.AfterFunc(stopBudget, func() {
		r.log.Error("shutdown exceeded its budget; exiting with what is durable", "budget", stopBudget)
		os.Exit(1)
	})
	defer deadline.Stop()
	stopSources()
	r.closeGNSS()
	if r.ring != nil {
		r.ring.Close()
	}
	stopLoop()
	wg.Wait()
	stopHealth()
	sum := r.summary()
	r.closeStorage()
	if r.store != nil {
		st := r.store.Stats()
		sum.Durable, sum.Syncs = st.Durable, st.Syncs
	}
	r.closeBoard()
	return sum, nil
}

// loadPolicy reads, verifies and swaps in the bundle: at start (reload false) a failure
// leaves no policy, so nothing is stored; on SIGHUP (reload true) the running policy stays.
func (r *run) loadPolicy(reload bool) {
	fsys, where := r.policyFS()
	if fsys == nil {
		if !reload {
			r.log.Error("NO POLICY: no policy directory configured and none built in; storing nothing")
		}
		return
	}
	keyFail, bundleFail, ok := "NO POLICY: a trusted policy key is unusable, so no bundle can be verified; storing nothing until it is fixed (SIGHUP)",
		"NO POLICY: bundle rejected; storing nothing until a valid one is loaded (SIGHUP)", "policy loaded"
	if reload {
		keyFail, bundleFail, ok = "policy reload rejected: a trusted policy key is unusable; the running policy stays in force",
			"policy reload rejected; the running policy stays in force", "policy reloaded"
	}
	opts, signature, err := r.policyOptions()
	if err != nil {
		r.log.Error(keyFail, "bundle", where, "err", err)
		return
	}
	if opts == nil && !r.opts.Dev {
		r.log.Warn("policy unsigned: no policy.trusted_keys, so whatever bundle is in place is enforced unverified; licensed vehicles must set trusted_keys (docs/POLICY.md, \"Signed bundles\")", "bundle", where)
	}
	if dir := r.cfg.Policy.Dir; dir != "" {
		if err := policy.CheckBundleDir(dir); err != nil {
			r.log.Error(bundleFail, "bundle", where, "err", err)
			return
		}
	}
	p, err := r.holder.Reload(fsys, opts)
	if err != nil {
		r.log.Error(bundleFail, "bundle", where, "signature", signature, "err", err)
		return
	}
	r.unsigned.Store(opts == nil)
	r.log.Info(ok, "bundle", where, "signature", signature, "summary", policySummary(p))
}

// policyStatus is the status line's policy part: "policy v3", with " | policy unsigned" when
// it was loaded without signature verification, or "NO POLICY" for version 0.
func (r *run) policyStatus(version uint64) string {
	switch {
	case version == 0:
		return "NO POLICY"
	case r.unsigned.Load():
		return fmt.Sprintf("policy v%d | policy unsigned", version)
	}
	return fmt.Sprintf("policy v%d", version)
}

// policyOptions reads the configured trusted keys afresh (at every load, so a rotated key
// takes effect with the next SIGHUP) and returns the options that make a bundle verify
// against them, and how the bundle is checked, for the log. No keys configured: nil
// options, unsigned bundles accepted. An unusable key file is an error: the caller then
// rejects the bundle (fail closed) rather than load it unverified.
func (r *run) policyOptions() (*policy.LoadOptions, string, error) {
	files := r.cfg.Policy.TrustedKeys
	if len(files) == 0 {
		return nil, "not checked (no policy.trusted_keys: development only)", nil
	}
	keys, err := policy.ReadTrustedKeys(files)
	if err != nil {
		return nil, "", err
	}
	return &policy.LoadOptions{Verify: policy.SignedBy(keys...)}, fmt.Sprintf("ed25519, %d trusted keys", len(keys)), nil
}

func (r *run) policyFS() (fs.FS, string) {
	if dir := r.cfg.Policy.Dir; dir != "" {
		return os.DirFS(dir), dir
	}
	return r.opts.BuiltinPolicy, "built-in sample"
}

func policySummary(p *policy.Policy) string {
	s := p.Summary()
	return fmt.Sprintf("%s v%d, %d zones, %d vertices", s.ID, s.Version, s.Zones, s.Vertices)
}

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
		rp, err = gnss.NewReplay(&driveReader{start: time.Now().UTC().Truncate(time.Second)}, cfg)
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

func (r *run) statusLine() string {
	st := r.loop.Status()
	c := &r.loop.Counters
	var b strings.Builder
	switch {
	case !st.HaveFix:
		fmt.Fprintf(&b, "fix NONE (%s)", st.Reason)
	default:
		fmt.Fprintf(&b, "fix ok")
	}
	zone := st.Zone
	if zone == "" {
		zone = "-"
	}
	fmt.Fprintf(&b, " | zone %s | %s %s | fixes %d kept %d coarse %d dropped %d",
		zone, st.Action, st.Reason, c.Fixes.Load(), c.FixesKept.Load(), c.FixesCoarsened.Load(), c.FixesDropped.Load())
	if r.ring != nil {
		fmt.Fprintf(&b, " | frames kept %d scaled %d dropped %d", c.FramesKept.Load(), c.FramesDownscaled.Load(), c.FramesDropped.Load()+r.ring.Stats().Dropped)
	}
	switch {
	case r.store == nil:
		fmt.Fprintf(&b, " | STORING NOTHING (%v)", shortErr(r.noKey))
	default:
		fmt.Fprintf(&b, " | stored %s durable #%d", bytesString(c.Bytes.Load()), r.store.Durable())
	}
	fmt.Fprintf(&b, " | %s", r.policyStatus(st.Version))
	fmt.Fprintf(&b, " | health %s", r.health.Last().String())
	return b.String()
}

func (r *run) summary() Summary {
	c := &r.loop.Counters
	s := Summary{
		Uptime: time.Since(r.start),
		Fixes:  c.Fixes.Load(), FixesKept: c.FixesKept.Load(), FixesCoarsened: c.FixesCoarsened.Load(), FixDrop: c.FixesDropped.Load(),
		Frames: c.Frames.Load(), FramesKept: c.FramesKept.Load(), FramesScaled: c.FramesDownscaled.Load(), FrameDrop: c.FramesDropped.Load(),
		Records: c.Records.Load(), Bytes: c.Bytes.Load(), NoStore: r.store == nil,
		DropReasons: dropReasons(c),
	}
	if r.ring != nil {
		s.FrameDrop += r.ring.Stats().Dropped
	}
	if r.serial != nil {
		s.Reconnects = r.serial.Stats().Reconnects
	}
	if p := r.holder.Policy(); p != nil {
		s.PolicyVersion = p.Summary().Version
	}
	return s
}

func shortErr(err error) string {
	if err == nil {
		return "no key"
	}
	s := err.Error()
	if errors.Is(err, board.ErrNoKey) {
		return "no device key"
	}
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

func bytesString(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
