package daemon

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/update"
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
	// Version is the binary's version, recorded in the audit trail at start. Zero: "dev".
	Version string
	// Dev marks a development run (geogate run -dev), which is not warned that its policy is
	// unsigned. False: a run without policy.trusted_keys logs a WARN at every (re)load.
	Dev bool
}

// stopBudget is how long shutdown may take: systemd's TimeoutStopSec is longer, but a car's
// hold-up capacitors are not.
const stopBudget = 2 * time.Second

// run is one daemon's parts, built from the config.
type run struct {
	opts   Options
	cfg    *config.Config
	log    *slog.Logger
	start  time.Time
	holder policy.Holder
	store  storeHolder
	// keyEvents counts the device key's events (sealed, unsealed, failed...) since start.
	keyEvents board.KeyEvents
	// storageRetry is closed when the goroutine retrying a failed storage open has ended;
	// nil when none was started.
	storageRetry chan struct{}
	// uploadWait waits for the uploader ([upload] enabled) to stop; nil when none started.
	uploadWait func()
	serial     *gnss.Serial
	sim        *sim.Receiver
	reader     *gate.GNSSReader
	ring       *camera.Ring
	cap        *camera.Capture
	loop       *gate.Loop
	sd         *board.Notifier
	wd         *board.Watchdog
	health     *board.Health
	power      *board.PowerLine
	// powerDown is why the power-fail watcher is not watching, nil while it is.
	powerDown atomic.Pointer[error]
	powerLast board.PowerEvent // the latest event acted on

	// unsigned is set while the running policy was loaded without signature verification
	// (no policy.trusted_keys); the status line says so.
	unsigned atomic.Bool
	// undecoded and clockOff are set while the receiver's bytes do not decode and while GNSS
	// time disagrees with the notion of now (daemon/sanity.go), to log changes only.
	undecoded, clockOff atomic.Bool
	// audit records the run's events in the tamper-evident audit log (never nil).
	audit *auditTrail
	// logTail keeps the latest log lines, desensitized, for the console (daemon/console.go).
	logTail *console.LogRing
	// exports runs the console's exports in the background (daemon/export.go).
	exports exports
	// upd installs over-the-air bundles (daemon/update.go), opened on first use; updDown is
	// set while its state directory cannot be opened.
	updMu   sync.Mutex
	upd     *update.Installer
	updDown atomic.Bool
}

// Run runs the daemon until ctx ends or SIGINT/SIGTERM arrives, then stops everything within
// stopBudget and returns the summary. It returns an error only when it cannot start at all
// (e.g. the GNSS source is misconfigured); every runtime failure fails closed instead.
func Run(ctx context.Context, opts Options) (Summary, error) {
	r := &run{opts: opts, cfg: opts.Config, log: opts.Log, start: time.Now()}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.teeConsoleLog()
	// Positions, frames and the device key are in the clear in memory: no core file, no
	// ptrace or /proc/PID/mem by other processes of this user.
	if err := board.NoCoreDumps(); err != nil {
		r.log.Warn("cannot disable core dumps", "err", err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(r.cfg.MemoryLimitMB << 20)
	}
	// No garbage collection until READY=1: the start allocates a few MiB once (the frame
	// ring, the parts' buffers), and collecting them was half the CPU the start took, which
	// two busy cores turn into tens of milliseconds. The memory limit above still bounds the
	// heap meanwhile.
	gcPercent := debug.SetGCPercent(-1)
	gcOn := sync.OnceFunc(func() { debug.SetGCPercent(gcPercent) })
	defer gcOn()
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

	if err := r.deviceID(); err != nil {
		return Summary{}, err
	}
	if err := r.openCamera(); err != nil {
		return Summary{}, err
	}
	r.audit = openAudit(r.cfg, r.log)
	// The policy loads once READY=1 is sent (below): reading, verifying and compiling a
	// bundle is CPU work that would compete with the start. Until it is in force the loop
	// drops everything (no-policy): fail closed.
	firstLoad := make(chan struct{})
	policyLoaded := firstLoad // set to nil once seen, so the select stops taking it
	storeCtx, stopStorage := context.WithCancel(ctx)
	defer stopStorage()
	r.openStorage(storeCtx)
	if err := r.openGNSS(); err != nil {
		r.audit.stopped(nil, "start failed: "+err.Error())
		stopStorage()
		r.closeStorage()
		return Summary{}, err
	}
	r.openBoard()

	fixes := make(chan gnss.Fix, 64)
	r.reader.Out = fixes
	r.loop = gate.New(gate.Config{
		Fixes: fixes, Frames: r.ring, Policy: &r.holder, Tier: r.cfg.Policy.Tier,
		Store: &r.store, Beat: r.health.Beat("pipeline", 5*time.Second),
		MaxFrameBytes: r.frameBytes(), Log: r.log, Anonymizer: r.anonymizer(), Backlog: &r.reader.Dropped,
	})
	r.health.Probe("storage", r.storageHealthy)
	stopControl := r.startControl(ctx)
	r.startIncoming(ctx, firstLoad)

	// The sources stop before the loop (sources), so the loop counts every fix and frame
	// they delivered; the loop stops last (loopDone).
	var sources, loopDone sync.WaitGroup
	loopCtx, stopLoop := context.WithCancel(context.Background())
	srcCtx, stopSources := context.WithCancel(ctx)
	loopDone.Go(func() { r.loop.Run(loopCtx) })
	sources.Go(func() {
		if err := r.reader.Run(srcCtx); err != nil {
			r.log.Error("gnss source ended", "err", err)
		}
	})
	powerEvents := make(chan board.PowerEvent, 4)
	if r.power != nil {
		r.health.Probe("power-fail input", r.powerHealthy)
		sources.Go(func() { r.watchPower(srcCtx, powerEvents) })
	}
	healthCtx, stopHealth := context.WithCancel(context.Background())
	go r.health.Run(healthCtx)

	if err := r.sd.Ready(); err != nil {
		r.log.Warn("systemd notify failed", "err", err)
	}
	readyIn := time.Since(r.start)
	// What need not come before READY=1 starts now: the collector, the policy's first load
	// (nothing is stored until it is in force) and the camera, whose device opens (or whose
	// synthetic test pattern renders, a second of CPU) in its capture goroutine.
	gcOn()
	go func() {
		defer close(firstLoad)
		r.loadPolicy(false)
	}()
	if r.cap != nil {
		sources.Go(func() { r.cap.Run(srcCtx) })
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	r.audit.started(version)
	r.log.Info("running", "ready_in", readyIn.Round(time.Microsecond), "storing", r.store.Log() != nil)

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
		case <-r.audit.ticks:
			r.audit.decisions(&r.loop.Counters)
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
	sources.Wait()
	if r.ring != nil {
		r.ring.Close()
	}
	stopLoop()
	loopDone.Wait()
	stopControl()
	<-firstLoad // its outcome is in the audit log before the stop
	r.audit.stopped(&r.loop.Counters, "stopped")
	stopHealth()
	sum := r.summary()
	stopStorage()
	r.closeStorage()
	if l := r.store.Log(); l != nil {
		st := l.Stats()
		sum.Durable, sum.Syncs = st.Durable, st.Syncs
	}
	r.closeBoard()
	return sum, nil
}
