package daemon

import (
	"context"
	"errors"
	"fmt"
	"github.com/geogate/geogate/anonymize"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// Storage retry: a log that fails to open (a briefly full disk refusing the first
// segment's fallocate, a data dir not mounted yet) is retried, the wait doubling from
// storageRetryMin to storageRetryMax: soon enough that little is lost once the cause is
// gone, rarely enough that a lasting fault does not flood the journal.
const (
	storageRetryMin = 500 * time.Millisecond
	storageRetryMax = 30 * time.Second
)

// Key retry: with storage.key_provider = "tpm" a device key that cannot be unsealed is asked
// for again, the wait doubling from keyRetryMin to keyRetryMax, so a TPM that was absent or
// failing, or a signed PCR policy installed for a new boot, takes effect without a restart.
// The provider connects to the TPM anew on every try; an attempt costs one storage root key
// derivation, which keyRetryMax keeps rare on a TPM that stays away.
const (
	keyRetryMin = 500 * time.Millisecond
	keyRetryMax = 30 * time.Second
)

// storeHolder is the loop's store: the log once it is open, until then nothing, so records
// are dropped as no-store (fail closed). It is safe for concurrent use.
type storeHolder struct {
	log   atomic.Pointer[storage.Log]
	mu    sync.Mutex
	why   error // why no log is open; nil once one is
	noKey bool  // why is the device key's failure, not the log's
}

// Append implements gate.Store.
func (s *storeHolder) Append(typ storage.Type, at time.Time, payload []byte) (uint64, error) {
	l := s.log.Load()
	if l == nil {
		return 0, gate.ErrNoStore
	}
	return l.Append(typ, at, payload)
}

// AppendPlaceholder puts a sealed placeholder where the gate dropped a fix, so the stored
// stream has no gap; nothing while no log is open.
func (s *storeHolder) AppendPlaceholder(at time.Time, size int) (uint64, error) {
	l := s.log.Load()
	if l == nil {
		return 0, gate.ErrNoStore
	}
	return l.AppendPlaceholder(at, size)
}

// Log returns the open log, nil while there is none.
func (s *storeHolder) Log() *storage.Log { return s.log.Load() }

// Why returns why no log is open, nil once one is.
func (s *storeHolder) Why() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why
}

// keyWhy returns the device key's failure, nil when the key was unsealed (or nothing was
// tried yet).
func (s *storeHolder) keyWhy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.noKey {
		return nil
	}
	return s.why
}

func (s *storeHolder) set(l *storage.Log, why error) {
	s.mu.Lock()
	s.why, s.noKey = why, false
	s.mu.Unlock()
	if l != nil {
		s.log.Store(l)
	}
}

// setNoKey records that the device key could not be had: nothing is stored.
func (s *storeHolder) setNoKey(why error) {
	s.mu.Lock()
	s.why, s.noKey = why, true
	s.mu.Unlock()
}

// openStorage unseals the device keys and opens the log. Without a usable key the daemon
// stores nothing (fail closed) and says why; with the "tpm" provider it asks the TPM again
// with backoff until ctx ends. A log that fails to open is retried the same way, and the
// daemon says so until it is open. Retries run in one goroutine that closeStorage waits for.
func (r *run) openStorage(ctx context.Context) {
	keys, ring, err := r.deviceKeys()
	r.audit.deviceKey(r.cfg.Storage.KeyProvider, keys, err)
	if err != nil {
		r.store.setNoKey(err)
		r.log.Error("NO DEVICE KEY: storing nothing", "err", err, "retrying", r.retriesKey())
		if !r.retriesKey() {
			return
		}
	} else if r.tryOpenLog(ctx, keys, ring, 1) {
		return
	}
	r.storageRetry = make(chan struct{})
	go func() {
		defer close(r.storageRetry)
		defer keys.Clear()
		if keys.Current == nil {
			if keys, ring = r.retryKey(ctx); keys.Current == nil {
				return
			}
			if r.tryOpenLog(ctx, keys, ring, 1) {
				return
			}
		}
		r.retryLog(ctx, keys, ring)
	}()
}

// retriesKey reports whether a device key that cannot be had is asked for again while the
// daemon runs: the TPM may come back, or a signed policy be installed. A key file or a
// systemd credential does not change under a running service.
func (r *run) retriesKey() bool { return r.cfg.Storage.KeyProvider == "tpm" }

// retryKey asks for the device keys with backoff until it has them or ctx ends (then it
// returns no keys). Each new failure is logged once; the store says the latest.
func (r *run) retryKey(ctx context.Context) (board.Keys, *board.TPMKeyring) {
	wait := keyRetryMin
	for attempt := 2; ; attempt++ {
		select {
		case <-ctx.Done():
			return board.Keys{}, nil
		case <-time.After(wait):
		}
		keys, ring, err := r.deviceKeys()
		if err == nil {
			r.log.Info("device key unsealed after a failure: opening storage", "attempt", attempt)
			r.audit.deviceKey(r.cfg.Storage.KeyProvider, keys, nil)
			return keys, ring
		}
		if last := r.store.keyWhy(); last == nil || last.Error() != err.Error() {
			r.log.Error("NO DEVICE KEY: storing nothing", "err", err, "attempt", attempt, "retrying", true)
			r.audit.deviceKey(r.cfg.Storage.KeyProvider, keys, err)
		}
		r.store.setNoKey(err)
		wait = min(2*wait, keyRetryMax)
	}
}

// tryOpenLog opens the log with keys and, if it opens, starts what needs it; it reports
// whether the log is open. A failure is recorded for the status and health.
func (r *run) tryOpenLog(ctx context.Context, keys board.Keys, ring *board.TPMKeyring, attempt int) bool {
	l, err := r.openLog(keys)
	if err != nil {
		if last := r.store.Why(); attempt == 1 || last == nil || last.Error() != err.Error() {
			r.log.Error("STORAGE UNAVAILABLE: storing nothing, retrying", "dir", r.cfg.DataDir, "err", err, "attempt", attempt)
			r.audit.storageFault(err)
		}
		r.store.set(nil, err)
		return false
	}
	r.store.set(l, nil)
	r.uploadWait = StartUploader(ctx, r.cfg, keys.Current, r.audit.auditLog(), r.log)
	if ring != nil {
		// The log now writes under the current key only: old keys nothing needs can go.
		n, err := ring.Retire(func(k []byte) (bool, error) { return storage.KeyInUse(r.cfg.DataDir, k) })
		r.audit.keysRetired(n, err)
	}
	if attempt > 1 {
		r.log.Info("storage open: storing again", "dir", r.cfg.DataDir, "attempt", attempt)
	}
	keys.Clear()
	return true
}

// retryLog opens the log with backoff until it is open or ctx ends.
func (r *run) retryLog(ctx context.Context, keys board.Keys, ring *board.TPMKeyring) {
	wait := storageRetryMin
	for attempt := 2; ; attempt++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if r.tryOpenLog(ctx, keys, ring, attempt) {
			return
		}
		wait = min(2*wait, storageRetryMax)
	}
}

// openLog opens the log with the current key (and the old ones for reading), and reports
// a recovery.
func (r *run) openLog(keys board.Keys) (*storage.Log, error) {
	cipher := storage.AES256GCM
	if r.cfg.Storage.Cipher == "xchacha20-poly1305" {
		cipher = storage.XChaCha20Poly1305
	}
	l, err := storage.Open(r.cfg.DataDir, storage.Options{
		Key: keys.Current, OldKeys: keys.Old, Cipher: cipher, Logger: r.log, Hold: UploadHold(r.cfg),
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
		return nil, err
	}
	rec := l.Recovery()
	if len(rec.Cut)+len(rec.Damaged)+len(rec.Unreadable) > 0 || rec.Scanned > 0 {
		r.log.Warn("storage recovered after an unclean stop", "scanned", rec.Scanned, "cut", len(rec.Cut), "damaged", len(rec.Damaged), "unreadable", len(rec.Unreadable))
	}
	return l, nil
}

// deviceKeys unseals the device keys from storage.key_provider. ring is the TPM keyring
// (nil for the other providers), whose unused old keys go once the log is open. A "tpm"
// keyring that does not exist yet is sealed first (first boot). Key events are logged by
// board with their running counts (r.keyEvents, in the status); no key byte is.
func (r *run) deviceKeys() (keys board.Keys, ring *board.TPMKeyring, err error) {
	s := r.cfg.Storage
	ev := &r.keyEvents
	var kf *board.KeyFile
	switch {
	case s.KeyProvider == "tpm":
		ring = board.NewTPMKeyring(board.TPMConfig{Device: s.TPMDevice, Keyring: s.TPMKeyring,
			Authority: s.TPMPolicyAuthority, Policies: s.TPMPolicies, Logger: r.log, Events: ev})
		if _, err := ring.Provision(); err != nil {
			return keys, nil, err
		}
		keys, err = ring.DeviceKeys()
		return keys, ring, err
	case s.Production && s.KeyProvider != "systemd-creds":
		return keys, nil, fmt.Errorf("daemon: storage.key_provider %q is refused in production", s.KeyProvider)
	case s.KeyProvider == "systemd-creds":
		if kf, err = board.NewCredential(os.Getenv); err != nil {
			ev.Failed(r.log, "systemd credential", "unseal", err)
			return keys, nil, err
		}
	case s.KeyFile != "":
		kf = board.NewKeyFile(s.KeyFile)
	default:
		kf = board.NewKeyFile(board.DefaultKeyFile(os.Getenv))
	}
	start := time.Now()
	if keys.Current, err = kf.DeviceKey(); err != nil {
		ev.Failed(r.log, kf.String(), "unseal", err)
		return keys, nil, err
	}
	ev.Unsealed(r.log, kf.String(), 1, time.Since(start))
	return keys, nil, nil
}

// storageHealthy is the health probe: unhealthy while storage failed to open (and is being
// retried) or fails to sync, and while the TPM holding the device key is absent or failing
// (the key is asked for again meanwhile). A key refused by design (none provisioned, sealed by
// another TPM, PCRs no signed policy approves) leaves the daemon healthy: that is the
// fail-closed state, which a restart would not change (the status line says STORING NOTHING
// and why).
func (r *run) storageHealthy() error {
	if l := r.store.Log(); l != nil {
		err := l.Sync()
		fault := ""
		switch {
		case err != nil:
			fault = err.Error()
		case l.Stats().Full:
			fault = "disk full: new records dropped until there is room"
		}
		r.audit.storageState(fault)
		return err
	}
	if err := r.store.keyWhy(); err != nil {
		if r.retriesKey() && keyFault(err) {
			return fmt.Errorf("daemon: device key unavailable, retrying: %w", err)
		}
		return nil
	}
	if err := r.store.Why(); err != nil {
		return fmt.Errorf("daemon: no log open: %w", err)
	}
	return errors.New("daemon: no log open")
}

// keyFault reports whether err is the key provider's hardware failing (the TPM absent, or a
// TPM command failing) rather than a refusal by design.
func keyFault(err error) bool {
	if errors.Is(err, board.ErrSealedElsewhere) || errors.Is(err, board.ErrPolicy) {
		return false
	}
	return errors.Is(err, board.ErrAbsent) || errors.Is(err, board.ErrTPM)
}

// closeStorage stops the retries and the uploader (their ctx has ended) and closes the
// log, if one is open.
func (r *run) closeStorage() {
	if r.storageRetry != nil {
		<-r.storageRetry
	}
	if r.uploadWait != nil {
		r.uploadWait()
	}
	l := r.store.Log()
	if l == nil {
		return
	}
	if err := l.Close(); err != nil {
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

// Power-fail watcher restarts: a watcher that stopped (its input unreadable for several
// polls, a GPIO read error) is started again after powerRetryMin, the wait doubling up to
// powerRetryMax while it keeps failing. Health reports it down meanwhile.
const (
	powerRetryMin = 100 * time.Millisecond
	powerRetryMax = 5 * time.Second
)

// watchPower runs the power-fail input's watcher until ctx ends, restarting it whenever it
// stops: power-fail handling must never be off silently.
func (r *run) watchPower(ctx context.Context, events chan<- board.PowerEvent) {
	wait := powerRetryMin
	for restarts := 0; ; restarts++ {
		err := r.power.Watch(ctx, events)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("daemon: power-fail watcher returned")
		}
		if r.powerDown.Swap(&err) == nil {
			wait = powerRetryMin // it had delivered the input's state: a new fault
		}
		r.log.Error("POWER-FAIL WATCHER STOPPED: restarting", "input", r.power.String(), "err", err, "restarts", restarts+1, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, powerRetryMax)
	}
}

// powerHealthy is the health probe of the power-fail watcher: unhealthy from its stop until
// the restarted watcher has delivered the input's state.
func (r *run) powerHealthy() error {
	if err := r.powerDown.Load(); err != nil {
		return fmt.Errorf("daemon: power-fail watcher stopped: %w", *err)
	}
	return nil
}

// powerEvent acts on a power event from the watcher. A restarted watcher first reports the
// current state again: an event equal to the latest is not acted on twice.
func (r *run) powerEvent(ev board.PowerEvent) {
	if r.powerDown.Swap(nil) != nil {
		r.log.Info("power-fail watcher running again", "state", ev.String())
	}
	first := r.powerLast == 0
	if ev == r.powerLast {
		return
	}
	r.powerLast = ev
	if first && ev == board.PowerOK {
		r.log.Info("power-fail input watched", "input", r.power.String())
		return
	}
	r.audit.power(ev)
	switch ev {
	case board.PowerOK:
		r.loop.PowerRestored()
		r.log.Info("power ok")
	default:
		r.loop.PowerFail()
		if l := r.store.Log(); l != nil {
			if err := l.Sync(); err != nil {
				r.log.Error("flush on power-fail", "err", err)
			}
		}
		r.log.Warn("power failing: flushed storage, accepting nothing new", "event", ev.String())
	}
}

// deviceID finds the device's identity and logs it. A configured ID that is not valid stops
// the start; one that cannot be derived (no machine ID yet) is logged and the daemon runs.
func (r *run) deviceID() error {
	id, err := board.DeviceID(os.DirFS("/"), r.cfg.DeviceID)
	switch {
	case err == nil:
		r.log.Info("device", "id", id, "configured", r.cfg.DeviceID != "")
	case r.cfg.DeviceID != "":
		return fmt.Errorf("daemon: device_id: %w", err)
	default:
		r.log.Warn("device id unknown", "err", err)
	}
	return nil
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
