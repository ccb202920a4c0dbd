package gate

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// ErrNoStore is what a Store returns from Append while it has nowhere to write (storage
// not open yet, or failed to open): the record is dropped as ReasonNoStore, and not logged
// as a storage error.
var ErrNoStore = errors.New("gate: no store open")

// Store is where the loop writes what the policy lets through; *storage.Log implements it.
// Append is called from the loop and from its scaler goroutine, so it must be safe for
// concurrent use.
type Store interface {
	Append(typ storage.Type, at time.Time, payload []byte) (uint64, error)
}

// Anonymizer masks faces and number plates in a frame before it is stored, for tiers that
// require it (policy.Decision.Anonymize). It writes the masked frame into dst, which the
// caller owns, and returns it; any error means the frame could not be masked and is dropped.
// The loop calls it from its frame worker only, never from the hot loop.
// *anonymize.Anonymizer implements it.
type Anonymizer interface {
	Anonymize(dst []byte, f camera.Frame) (camera.Frame, error)
}

// Beater is told the loop is alive: on every fix, on every tick that finds no fix (an explicit
// "no fix" state), never when the loop is stuck. *board.Beat implements it.
type Beater interface{ OK() }

// Defaults.
const (
	// DefaultTick is how often the loop wakes with nothing to do: it expires frames that wait
	// too long for a fix and beats the health check. 100 ms is one 10 Hz epoch.
	DefaultTick = 100 * time.Millisecond
	// DefaultFrameWait is how long a frame waits for the fix after its capture time. A 1 Hz
	// receiver completes its epoch up to a second after the frame, plus serial latency.
	DefaultFrameWait = 1500 * time.Millisecond
	// maxPending bounds the frames held while waiting for a fix: 1.5 s at 30 fps is 45.
	maxPending = 64
)

// Config configures a Loop. Policy is required; the rest is optional.
type Config struct {
	// Fixes delivers the receiver's fixes (see ReadGNSS). Nil: no positions, so every frame
	// is dropped for lack of one.
	Fixes <-chan gnss.Fix
	// Frames delivers camera frames. Nil: no camera.
	Frames *camera.Ring
	// Policy decides every fix and frame.
	Policy *policy.Holder
	// Tier is the policy tier the stored data belongs to. Zero: the policy's default tier.
	Tier string
	// Store receives kept records. Nil (no device key): nothing is stored and every record
	// that would have been is counted in Counters.NoStore. Fail closed.
	Store Store
	// Now is the local clock; it must carry a monotonic reading comparable with
	// gnss.Fix.Received and camera.Frame.Captured. Zero: the system clock (internal/clock.Now),
	// which GNSSReader and camera.SystemClock default to as well.
	Now func() time.Time
	// Tick wakes the loop when no input arrives. Zero: a DefaultTick ticker.
	Tick <-chan time.Time
	// FrameWait bounds how long a frame waits for the next fix. Zero: DefaultFrameWait.
	FrameWait time.Duration
	// MaxFrameBytes is the largest frame the loop must copy into a record. Zero: 4 MiB.
	MaxFrameBytes int
	// Anonymizer masks faces and plates for tiers that require it. Nil: every frame of such
	// a tier is dropped as ReasonAnonymizer. Fail closed.
	Anonymizer Anonymizer
	// Beat is told the loop is alive. Zero: nobody.
	Beat Beater
	// Backlog counts the fixes dropped before the loop (GNSSReader.Dropped: the channel
	// was full). For each, Run appends a sealed placeholder of a fix record's size once it
	// runs again, before the next fix, so that a loop that fell behind leaves no gap in the
	// stored stream either. Nil: nothing is dropped before the loop.
	Backlog *atomic.Uint64
	// Log receives state changes (store errors, power-fail). Zero: discarded.
	Log *slog.Logger
}

// Loop is geogate's hot loop: one goroutine that takes fixes and frames, asks the policy, and
// stores only what it allows. After New, Run allocates nothing per fix or frame in steady
// state (the MJPEG downscale path excepted: see camera.Scaler).
type Loop struct {
	cfg       Config
	fixEng    *policy.Engine
	frameEng  *policy.Engine
	scaler    camera.Scaler
	rate      rate // the tier's max_fps, over the frames the policy lets through or places (framePlaceholder)
	track     track
	pending   [maxPending]camera.Frame
	phead, pn int
	ifix      gnss.Fix
	fixBuf    []byte
	frameBuf  []byte
	scaleBuf  []byte // the scaler goroutine's image buffer
	scaleRec  []byte // the scaler goroutine's record buffer
	anonBuf   []byte // the scaler goroutine's masked image, when there is an Anonymizer
	scaleJobs chan scaleJob
	scaleDone chan struct{}
	powerFail atomic.Bool
	backlog   uint64 // Config.Backlog as far as placeholders stand for it
	// scaleRatio is the stored size of the last downscaled frame over its captured size, in
	// 2^-32ths; the scaler goroutine writes it, framePlaceholder reads it. 0 before the first.
	scaleRatio atomic.Uint64
	storeErr   atomic.Bool // the last Append failed; logged once per change
	anonErr    atomic.Bool // the last Anonymize failed, or there is no Anonymizer; logged once per change

	// Counters count everything the loop does; read them from any goroutine.
	Counters Counters

	mu     sync.Mutex
	status Status
}

// Status is the loop's latest state, for status lines. It holds no position and nothing
// about the policy's verdict on it (no zone, no action): a status line is logged with a
// timestamp, and must not tell when the car met a zone.
type Status struct {
	HaveFix bool          // the receiver's latest fix has a usable position
	Reason  policy.Reason // without one, why: ReasonNoFix, ReasonInvalid or ReasonStale
}

// New makes a Loop. It allocates every buffer the loop will use.
func New(cfg Config) *Loop {
	if cfg.Policy == nil {
		panic("BUG: gate.New without a policy holder")
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.FrameWait == 0 {
		cfg.FrameWait = DefaultFrameWait
	}
	if cfg.MaxFrameBytes == 0 {
		cfg.MaxFrameBytes = 4 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	l := &Loop{
		cfg:      cfg,
		fixEng:   cfg.Policy.NewEngine(cfg.Tier),
		frameEng: cfg.Policy.NewEngine(cfg.Tier),
		fixBuf:   make([]byte, 0, record.FixSize),
	}
	if cfg.Frames != nil {
		l.frameBuf = make([]byte, 0, record.FrameHeaderSize+cfg.MaxFrameBytes)
		l.scaleBuf = make([]byte, cfg.MaxFrameBytes)
		l.scaleRec = make([]byte, 0, record.FrameHeaderSize+cfg.MaxFrameBytes)
		if cfg.Anonymizer != nil {
			l.anonBuf = make([]byte, cfg.MaxFrameBytes)
		}
	}
	return l
}

// PowerFail tells the loop the supply is failing: from now on it stores nothing new, so the
// caller's flush finishes with what was acknowledged. Safe from any goroutine.
func (l *Loop) PowerFail() {
	if !l.powerFail.Swap(true) {
		l.cfg.Log.Warn("power failing: storing nothing more")
	}
}

// PowerRestored undoes PowerFail: the supply is back, storing resumes.
func (l *Loop) PowerRestored() {
	if l.powerFail.Swap(false) {
		l.cfg.Log.Info("power restored: storing again")
	}
}

// Status returns the latest state.
func (l *Loop) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Run processes input until ctx ends, then releases held frames and returns nil.
func (l *Loop) Run(ctx context.Context) error {
	tick := l.cfg.Tick
	if tick == nil {
		t := time.NewTicker(DefaultTick)
		defer t.Stop()
		tick = t.C
	}
	var ready <-chan struct{}
	if l.cfg.Frames != nil {
		ready = l.cfg.Frames.Ready()
	}
	fixes := l.cfg.Fixes
	l.startScaler()
	for {
		select {
		case <-ctx.Done():
			l.fillBacklog()
			l.stop()
			return nil
		case f, ok := <-fixes:
			if !ok {
				fixes = nil
				continue
			}
			l.fillBacklog()
			l.HandleFix(&f)
			l.drainFrames()
		case <-ready:
			l.drainFrames()
		case <-tick:
			l.fillBacklog()
			l.drainFrames()
			l.noFixState()
			if l.cfg.Beat != nil {
				l.cfg.Beat.OK()
			}
		}
	}
}

// placeholderStore is a Store that can put a sealed placeholder where a record was dropped;
// *storage.Log implements it.
type placeholderStore interface {
	AppendPlaceholder(at time.Time, size int) (uint64, error)
}

// fillBacklog appends a placeholder of a fix record's size for each fix dropped before the
// loop since the last call (Config.Backlog), dated now: its time is sealed, and the fixes it
// stands for were received about now. After a power-fail, or without a Store that takes
// placeholders, it only takes note. It does not allocate.
func (l *Loop) fillBacklog() {
	if l.cfg.Backlog == nil {
		return
	}
	n := l.cfg.Backlog.Load()
	missing := n - l.backlog
	l.backlog = n
	p, ok := l.cfg.Store.(placeholderStore)
	if missing == 0 || !ok || l.powerFail.Load() {
		return
	}
	at := l.cfg.Now().UTC()
	for range missing {
		p.AppendPlaceholder(at, record.FixSize)
	}
}

// HandleFix decides one fix and stores what the policy allows; a fix the policy drops is
// replaced by a sealed placeholder of a fix record's size (if the Store can), so the stored
// stream has no gap that tells, without the key, when fixes were dropped. Run calls it for
// every fix; it is exported for tests and benchmarks. It does not allocate.
func (l *Loop) HandleFix(f *gnss.Fix) {
	now := l.cfg.Now()
	d := l.fixEng.Decide(f, now)
	l.track.add(f, &d)
	c := &l.Counters
	c.Fixes.Add(1)
	st := Status{HaveFix: true}
	if d.Reason == policy.ReasonNoFix || d.Reason == policy.ReasonInvalid || d.Reason == policy.ReasonStale {
		st.HaveFix, st.Reason = false, d.Reason
	}
	l.mu.Lock()
	l.status = st
	l.mu.Unlock()
	if l.cfg.Beat != nil {
		l.cfg.Beat.OK()
	}
	if d.Action == policy.Drop {
		c.dropFix(PolicyReason(d.Reason))
		// At the fix's epoch time, like a stored fix. Storage counts what it refuses
		// (a full disk); the fix is dropped either way.
		if p, ok := l.cfg.Store.(placeholderStore); ok && !l.powerFail.Load() {
			p.AppendPlaceholder(recordTime(f, now), record.FixSize)
		}
		return
	}
	rec := record.Fix{
		Action: d.Action, Datum: d.Datum, Policy: uint32(d.Version),
		Lat: d.Lat, Lon: d.Lon, PrecisionM: float32(d.PrecisionM),
	}
	rec.Time, rec.HasTime = recordTime(f, now), f.Has&gnss.HasTime != 0
	// Speed, course and altitude are kept only at full precision: integrated over 10 Hz
	// fixes, exact speed and course would rebuild the path a coarsened grid hides.
	if d.Action == policy.Keep {
		if f.Has&gnss.HasSpeed != 0 && f.Has&gnss.HasTrack != 0 {
			rec.Speed, rec.Track, rec.HasSpeed = float32(f.Speed), float32(f.Track), true
		}
		if f.Has&gnss.HasAlt != 0 {
			rec.Alt, rec.HasAlt = float32(f.Alt), true
		}
	}
	switch why := l.store(record.TypeFix, rec.Time, record.AppendFix(l.fixBuf[:0], &rec)); {
	case why != stored:
		c.dropFix(why)
	case d.Action == policy.Coarsen:
		c.FixesCoarsened.Add(1)
	default:
		c.FixesKept.Add(1)
	}
}

// noFixState turns the status into an explicit "no fix" when the receiver has said nothing
// for FrameWait (unplugged, silent, or the loop is fed nothing), so the status never shows a
// stale fix as current.
func (l *Loop) noFixState() {
	if l.track.n > 0 && l.cfg.Now().Sub(l.track.fixes[l.track.head].fix.Received) < l.cfg.FrameWait {
		return
	}
	l.mu.Lock()
	if l.status.HaveFix || l.status.Reason != policy.ReasonNoFix {
		l.status = Status{Reason: policy.ReasonNoFix}
	}
	l.mu.Unlock()
}

// drainFrames moves queued frames from the ring into the pending list and decides every
// pending frame whose position is known, oldest first.
func (l *Loop) drainFrames() {
	ring := l.cfg.Frames
	if ring == nil {
		return
	}
	for {
		for l.pn < maxPending {
			f, ok, _ := ring.TryRecv()
			if !ok {
				break
			}
			l.pending[(l.phead+l.pn)%maxPending] = f
			l.pn++
			l.Counters.Frames.Add(1)
		}
		if l.pn == 0 || !l.decideHead() {
			return
		}
	}
}

// decideHead decides the oldest pending frame if it can be decided now and reports whether it
// was. A frame newer than the newest fix waits, up to FrameWait.
func (l *Loop) decideHead() bool {
	f := l.pending[l.phead]
	now := l.cfg.Now()
	before, after, s := l.track.around(f.Captured)
	switch s {
	case spanPending:
		if now.Sub(f.Captured) < l.cfg.FrameWait {
			return false
		}
		l.Counters.dropFrame(PolicyReason(policy.ReasonStale)) // no fix came after it in time: position unknown
		l.cfg.Frames.Release(f)
	case spanNone:
		l.Counters.dropFrame(PolicyReason(policy.ReasonNoFix))
		l.cfg.Frames.Release(f)
	case spanFound:
		if l.gateFrame(&f, before, after, now) {
			break // the scaler releases it
		}
		l.cfg.Frames.Release(f)
	default:
		l.cfg.Frames.Release(f)
	}
	l.pending[l.phead] = camera.Frame{}
	l.phead = (l.phead + 1) % maxPending
	l.pn--
	return true
}

// gateFrame decides a frame whose capture time lies between two fixes, and stores it if the
// policy allows. A frame is never treated more leniently than the fixes on either side of it:
// if either was dropped or coarsened, the frame is dropped, so interpolation can never carry a
// frame across a zone edge. Of the frames the policy allows, only the tier's max_fps a second
// go on (see rate); the rest are dropped as "rate", before any downscaling. A frame that must be downscaled is handed to the scaler goroutine,
// which then owns it (handedOff), so a slow MJPEG re-encode never stalls fixes.
func (l *Loop) gateFrame(f *camera.Frame, before, after *tracked, now time.Time) (handedOff bool) {
	interpolate(&l.ifix, &before.fix, &after.fix, f.Captured)
	d := l.frameEng.Decide(&l.ifix, now)
	for _, n := range [2]*tracked{before, after} {
		if n.action < d.Action {
			r := n.reason
			if n.action != policy.Drop {
				r = policy.ReasonZoneCoarsen
			}
			l.Counters.dropFrame(PolicyReason(r))
			l.framePlaceholder(f, r, now)
			return false
		}
	}
	if d.Action == policy.Drop {
		l.Counters.dropFrame(PolicyReason(d.Reason))
		l.framePlaceholder(f, d.Reason, now)
		return false
	}
	if d.MaxFPS > 0 && !l.rate.keep(f.Captured, d.MaxFPS) {
		l.Counters.dropFrame(ReasonRate) // planned: the tier wants fewer frames than the camera gives
		return false
	}
	h := record.FrameHeader{
		Action: d.Action, Datum: d.Datum, Format: f.Format, Policy: uint32(d.Version),
		Time: recordTime(&l.ifix, now), Lat: d.Lat, Lon: d.Lon, PrecisionM: float32(d.PrecisionM),
	}
	if d.Anonymize && l.cfg.Anonymizer == nil {
		l.anonymizeFailed(errNoAnonymizer)
		return false
	}
	if d.Anonymize || d.MaxImagePixels > 0 && f.Width*f.Height > d.MaxImagePixels {
		select {
		case l.scaleJobs <- scaleJob{frame: *f, hdr: h, maxPixels: d.MaxImagePixels, anonymize: d.Anonymize}:
			return true
		default:
			if d.Anonymize {
				l.Counters.dropFrame(ReasonAnonymizerBusy)
			} else {
				l.Counters.dropFrame(ReasonScalerBusy)
			}
			return false
		}
	}
	l.writeFrame(l.frameBuf, &h, f, false)
	return false
}

// recordTime is the time a record (or its placeholder) of fix f carries: the receiver's epoch
// time, or the local clock's now when the fix has none.
func recordTime(f *gnss.Fix, now time.Time) time.Time {
	if f.Has&gnss.HasTime != 0 {
		return f.Time
	}
	return now.UTC()
}

// framePlaceholder appends a sealed placeholder of about the frame record's size where the
// policy dropped frame f for where the car was (a deny zone or its margin, next to a
// coarsened fix) and the tier's max_fps would have stored it. The frames of a drive
// through a zone then leave the same cadence of sealed records of the same sizes as frames
// stored outside it: without the key, the frame stream does not tell when the car met a
// zone, as the fixes' placeholders do not. A frame the tier stores downscaled is placed at
// the size ratio of the last one stored (before the first, the ratio of the pixels). Frames
// dropped for other reasons (no position, the rate, a busy scaler) leave no placeholder:
// those say nothing about where the car was. Nor do frames outside every allowed area of a
// default-deny policy: that is most of the drive there, and placing them would write the
// camera's full rate of sealed zeros wherever recording is not allowed. It does not allocate.
func (l *Loop) framePlaceholder(f *camera.Frame, r policy.Reason, now time.Time) {
	switch r {
	case policy.ReasonZoneDeny, policy.ReasonZoneCoarsen:
	default:
		return
	}
	p, ok := l.cfg.Store.(placeholderStore)
	if !ok || l.powerFail.Load() {
		return
	}
	fps, maxPixels, ok := l.frameEng.FrameLimits()
	if !ok || fps > 0 && !l.rate.keep(f.Captured, fps) {
		return
	}
	size := uint64(len(f.Data))
	if pixels := uint64(f.Width * f.Height); maxPixels > 0 && pixels > uint64(maxPixels) {
		ratio := l.scaleRatio.Load()
		if ratio == 0 {
			ratio = uint64(maxPixels) << 32 / pixels
		}
		size = (size*ratio + 1<<31) >> 32 // frames are at most a few MiB: no overflow
	}
	p.AppendPlaceholder(recordTime(&l.ifix, now), record.FrameHeaderSize+int(size)) // storage counts what it refuses
}

// errNoAnonymizer is logged when a tier requires anonymization and Config has no Anonymizer.
var errNoAnonymizer = errors.New("gate: the tier requires anonymization and no detector is configured")

// anonymizeFailed drops a frame that could not be masked, and logs when masking starts failing.
func (l *Loop) anonymizeFailed(err error) {
	l.Counters.dropFrame(ReasonAnonymizer)
	if !l.anonErr.Swap(true) {
		l.cfg.Log.Error("frames cannot be anonymized; dropping them until the detector answers", "err", err)
	}
}

// writeFrame stores a frame record made of h and img in buf (the caller's record buffer) and
// reports whether it was stored.
func (l *Loop) writeFrame(buf []byte, h *record.FrameHeader, img *camera.Frame, scaled bool) bool {
	c := &l.Counters
	if len(img.Data) > cap(buf)-record.FrameHeaderSize {
		c.dropFrame(ReasonTooLarge)
		return false
	}
	h.Width, h.Height, h.Format = uint16(img.Width), uint16(img.Height), img.Format
	buf = append(record.AppendFrameHeader(buf[:0], h), img.Data...)
	if why := l.store(record.TypeFrame, h.Time, buf); why != stored {
		c.dropFrame(why)
		return false
	}
	if scaled {
		c.FramesDownscaled.Add(1)
	}
	if h.Action == policy.Coarsen {
		c.FramesCoarsened.Add(1)
	} else {
		c.FramesKept.Add(1)
	}
	return true
}

// scaleJob is a frame the policy allows only at a smaller size, or only anonymized.
type scaleJob struct {
	frame     camera.Frame
	hdr       record.FrameHeader
	maxPixels int
	anonymize bool
}

// startScaler starts the goroutine that downscales frames; Run starts it, tests may too.
func (l *Loop) startScaler() {
	l.scaleJobs = make(chan scaleJob, 1)
	l.scaleDone = make(chan struct{})
	go func() {
		defer close(l.scaleDone)
		for j := range l.scaleJobs {
			l.work(&j)
			l.cfg.Frames.Release(j.frame)
		}
	}()
}

// work downscales a frame if it is too large, then masks it if the tier requires it, and
// stores it. Scaling first gives the detector fewer pixels to search and masks exactly the
// pixels that are stored.
func (l *Loop) work(j *scaleJob) {
	img, scaled := j.frame, false
	if j.maxPixels > 0 && img.Width*img.Height > j.maxPixels {
		l.scaler.MaxPixels = j.maxPixels
		small, err := l.scaler.Scale(l.scaleBuf, img)
		if err != nil {
			l.Counters.dropFrame(ReasonScaleError)
			return
		}
		img, scaled = small, true
	}
	if j.anonymize {
		masked, err := l.cfg.Anonymizer.Anonymize(l.anonBuf, img)
		if err != nil {
			l.anonymizeFailed(err)
			return
		}
		if l.anonErr.Swap(false) {
			l.cfg.Log.Info("frames are anonymized again")
		}
		img = masked
	}
	if !l.writeFrame(l.scaleRec, &j.hdr, &img, scaled) {
		return
	}
	if scaled && len(j.frame.Data) > 0 {
		l.scaleRatio.Store(min(uint64(len(img.Data))<<32/uint64(len(j.frame.Data)), 1<<32))
	}
	if j.anonymize {
		l.Counters.FramesAnonymized.Add(1)
	}
}

// stopScaler waits for the frame being downscaled, if any, to be stored and released.
func (l *Loop) stopScaler() {
	if l.scaleJobs != nil {
		close(l.scaleJobs)
		<-l.scaleDone
		l.scaleJobs = nil
	}
}

// stored is what store returns for an accepted record: ReasonOK is no drop reason.
const stored = Reason(policy.ReasonOK)

// store appends one record and returns stored, or why it was not: without a store, or after
// a power-fail, nothing is written.
func (l *Loop) store(typ storage.Type, at time.Time, payload []byte) Reason {
	c := &l.Counters
	switch {
	case l.powerFail.Load():
		return ReasonPowerFail
	case l.cfg.Store == nil:
		return ReasonNoStore
	}
	if _, err := l.cfg.Store.Append(typ, at, payload); err != nil {
		if errors.Is(err, ErrNoStore) {
			return ReasonNoStore
		}
		if !l.storeErr.Swap(true) {
			l.cfg.Log.Error("storage refused a record; dropping until it recovers", "err", err, "full", errors.Is(err, storage.ErrNoSpace))
		}
		return ReasonStoreError
	}
	if l.storeErr.Swap(false) {
		l.cfg.Log.Info("storage accepts records again")
	}
	c.Records.Add(1)
	c.Bytes.Add(uint64(len(payload)))
	return stored
}

// stop ends a run: the frame being downscaled is finished, and every frame still waiting is
// dropped and counted.
func (l *Loop) stop() {
	l.stopScaler()
	l.releasePending()
}

// releasePending drops, as ReasonShutdown, the frames still waiting for a fix and those
// still queued in the ring, so that every frame taken is counted once.
func (l *Loop) releasePending() {
	for ; l.pn > 0; l.pn-- {
		l.Counters.dropFrame(ReasonShutdown)
		l.cfg.Frames.Release(l.pending[l.phead])
		l.pending[l.phead] = camera.Frame{}
		l.phead = (l.phead + 1) % maxPending
	}
	if l.cfg.Frames == nil {
		return
	}
	for {
		f, ok, _ := l.cfg.Frames.TryRecv()
		if !ok {
			return
		}
		l.Counters.Frames.Add(1)
		l.Counters.dropFrame(ReasonShutdown)
		l.cfg.Frames.Release(f)
	}
}
