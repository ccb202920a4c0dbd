package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/policy"
)

// auditInterval is how often the decision counts go into the audit log: a day, so the
// plaintext log cannot tell within the day when the car met a zone (a drop count that rises
// says only "some time that day"); the last interval is closed at every stop.
const auditInterval = 24 * time.Hour

// auditTrail writes the daemon's events into the audit log (package audit) in <data_dir>/audit,
// signed with the key in <data_dir>/audit.key (created on first start, mode 0600). Its
// methods never block the caller (they queue, or drop and count) and do nothing when the log
// could not be opened, so the daemon runs on without it: the failure was logged loudly.
//
// Run opens it before the policy's first load, records the start once running, the policy
// loads and rejections, power events and the decision counts every auditInterval, and closes
// it after the loop has stopped.
type auditTrail struct {
	log    *audit.Log
	slog   *slog.Logger
	ticker *time.Ticker
	// ticks fires every auditInterval while the log is open (nil otherwise: a select on it
	// never fires).
	ticks <-chan time.Time
	since time.Time // start of the current decision interval (clock.Now)
	last  counts    // the gate's counters at since

	mu       sync.Mutex
	logFault string // the data log's fault last recorded, "" for none
}

// counts is a snapshot of the gate's decision counters.
type counts struct {
	fixes, fixesKept, fixesCoarsened, fixDrops   uint64
	frames, framesKept, framesScaled, frameDrops uint64
}

func snapshot(c *gate.Counters) counts {
	return counts{c.Fixes.Load(), c.FixesKept.Load(), c.FixesCoarsened.Load(), c.FixesDropped.Load(),
		c.Frames.Load(), c.FramesKept.Load(), c.FramesDownscaled.Load(), c.FramesDropped.Load()}
}

// openAudit opens the audit log under cfg.DataDir. A failure (an unreadable or tampered log,
// a key with loose permissions) is logged as an error and leaves a trail that records nothing.
func openAudit(cfg *config.Config, log *slog.Logger) *auditTrail {
	a := &auditTrail{slog: log, since: clock.Now()}
	origin := "geogate-audit"
	if cfg.DeviceID != "" {
		origin = "geogate/" + strings.ReplaceAll(cfg.DeviceID, "+", "-") + "/audit"
	}
	// The audit log opens before storage, which would create the data directory.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		log.Error("NO AUDIT TRAIL: no data directory; running without it", "dir", cfg.DataDir, "err", err)
		return a
	}
	l, err := audit.Open(filepath.Join(cfg.DataDir, "audit"), audit.Options{
		KeyFile: filepath.Join(cfg.DataDir, "audit.key"), Origin: origin, Logger: log,
	})
	if err != nil {
		log.Error("NO AUDIT TRAIL: the audit log cannot be opened; running without it", "dir", filepath.Join(cfg.DataDir, "audit"), "err", err)
		return a
	}
	a.log = l
	a.ticker = time.NewTicker(auditInterval)
	a.ticks = a.ticker.C
	return a
}

// auditLog returns the open audit log, nil without one.
func (a *auditTrail) auditLog() *audit.Log {
	if a == nil {
		return nil
	}
	return a.log
}

// record queues e; a nil trail (a run part tested alone) records nothing.
func (a *auditTrail) record(e audit.Entry) {
	if a != nil && a.log != nil {
		a.log.Record(e)
	}
}

// started records the daemon's start with its version.
func (a *auditTrail) started(version string) {
	a.record(audit.Entry{Kind: audit.DaemonStart, Detail: version})
}

// policyLoaded records the policy now in force; keys describes the trusted keys it was
// checked against (policyKeyIDs).
func (a *auditTrail) policyLoaded(p *policy.Policy, keys string) {
	s := p.Summary()
	a.record(audit.Entry{Kind: audit.PolicyLoaded, ID: s.ID, Version: s.Version, Key: keys})
}

// policyRejected records a bundle that was not loaded, and why.
func (a *auditTrail) policyRejected(err error, keys string) {
	a.record(audit.Entry{Kind: audit.PolicyRejected, Key: keys, Detail: err.Error()})
}

// power records a power-fail input event.
func (a *auditTrail) power(ev board.PowerEvent) {
	k := audit.PowerFail
	if ev == board.PowerOK {
		k = audit.PowerOK
	}
	a.record(audit.Entry{Kind: k, Detail: ev.String()})
}

// decisions records the gate's decision counts since the last call (or the start).
func (a *auditTrail) decisions(c *gate.Counters) {
	now, cur := clock.Now(), snapshot(c)
	d, secs := cur, uint64(now.Sub(a.since).Round(time.Second)/time.Second)
	d.fixes -= a.last.fixes
	d.fixesKept -= a.last.fixesKept
	d.fixesCoarsened -= a.last.fixesCoarsened
	d.fixDrops -= a.last.fixDrops
	d.frames -= a.last.frames
	d.framesKept -= a.last.framesKept
	d.framesScaled -= a.last.framesScaled
	d.frameDrops -= a.last.frameDrops
	a.since, a.last = now, cur
	a.record(audit.Entry{Kind: audit.Decisions, Counts: audit.Counts{Seconds: max(secs, 1),
		Fixes: d.fixes, FixesKept: d.fixesKept, FixesCoarsened: d.fixesCoarsened, FixDrops: d.fixDrops,
		Frames: d.frames, FramesKept: d.framesKept, FramesScaled: d.framesScaled, FrameDrops: d.frameDrops}})
}

// stopped records the last interval's counts (c may be nil) and the stop, then closes the
// log: fsync and a last signed checkpoint.
func (a *auditTrail) stopped(c *gate.Counters, why string) {
	if a == nil || a.log == nil {
		return
	}
	a.ticker.Stop()
	if c != nil {
		a.decisions(c)
	}
	a.record(audit.Entry{Kind: audit.DaemonStop, Detail: why})
	if err := a.log.Close(); err != nil {
		a.slog.Error("audit log close", "err", err)
	}
	if st := a.log.Stats(); st.Dropped > 0 {
		a.slog.Warn("audit entries dropped (queue full)", "dropped", st.Dropped)
	}
}

// policyKeyIDs names the trusted policy keys for the audit log: the first 8 bytes of each
// key's SHA-256 in hex, comma-separated; "unsigned" when none are configured.
func policyKeyIDs(cfg *config.Config) string {
	if len(cfg.Policy.TrustedKeys) == 0 {
		return "unsigned"
	}
	keys, err := policy.ReadTrustedKeys(cfg.Policy.TrustedKeys)
	if err != nil {
		return "unreadable"
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		sum := sha256.Sum256(k)
		ids[i] = hex.EncodeToString(sum[:8])
	}
	return strings.Join(ids, ",")
}

// storageFault records that the log could not be opened or written (the error names no
// place or time).
func (a *auditTrail) storageFault(err error) {
	a.record(audit.Entry{Kind: audit.StorageFault, Detail: err.Error()})
}

// policyExpired records that the policy in force passed its signed expiry.
func (a *auditTrail) policyExpired(p *policy.Policy) {
	if p == nil {
		return
	}
	s := p.Summary()
	a.record(audit.Entry{Kind: audit.PolicyExpired, ID: s.ID, Version: s.Version})
}

// keysRetired records old device keys retired from the TPM keyring once nothing stored
// under them remained (n of them), or that retiring failed. Nothing to say: no entry.
func (a *auditTrail) keysRetired(n int, err error) {
	switch {
	case err != nil:
		a.record(audit.Entry{Kind: audit.KeyEvent, ID: "device:tpm", Detail: "retire failed: " + err.Error()})
	case n > 0:
		a.record(audit.Entry{Kind: audit.KeyEvent, ID: "device:tpm", Detail: fmt.Sprintf("retired %d old key(s)", n)})
	}
}

// storageState records a fault of the open data log (fault: what the health probe found,
// "" for none) when it differs from the last one recorded, and its end: a failing or full
// disk is an entry when it starts and when it ends, not at every probe.
func (a *auditTrail) storageState(fault string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	last := a.logFault
	a.logFault = fault
	a.mu.Unlock()
	switch {
	case fault == last:
	case fault != "":
		a.record(audit.Entry{Kind: audit.StorageFault, Detail: fault})
	default:
		a.record(audit.Entry{Kind: audit.StorageFault, Detail: "recovered: " + last})
	}
}

// deviceKey records that the device keys were unsealed (err nil: keys of them, more than one
// after a rotation) or could not be, by provider ("file", "tpm", "systemd-creds"; "" is the
// key file). board's errors never quote a key.
func (a *auditTrail) deviceKey(provider string, keys board.Keys, err error) {
	if provider == "" {
		provider = "file"
	}
	e := audit.Entry{Kind: audit.KeyEvent, ID: "device:" + provider, Detail: "unsealed"}
	if n := len(keys.Old); n > 0 {
		e.Detail = fmt.Sprintf("unsealed (%d keys: the current and %d rotated out)", n+1, n)
	}
	if err != nil {
		e.Detail = "unseal failed: " + err.Error()
	}
	a.record(e)
}
