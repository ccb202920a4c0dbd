package policy

import (
	"fmt"
	"io/fs"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geogate/geogate/gnss"
)

// Holder holds the running policy and swaps it atomically: readers (Engines) never lock and
// never see a half-built policy. Reloads are serialised among themselves. The zero value
// holds no policy (every decision drops with ReasonNoPolicy) and is ready to use.
type Holder struct {
	cur      atomic.Pointer[Policy]
	reloadMu sync.Mutex
}

// Policy returns the running policy, or nil.
func (h *Holder) Policy() *Policy { return h.cur.Load() }

// Swap makes p the running policy, unless its version is lower than the running one's
// (ErrOldVersion), or equal to it with other content (ErrVersionReused: a version names one
// content, so a changed bundle needs a new version); the running policy then stays.
// Reloading the same bundle is harmless. Content is compared by Spec.Digest, the SHA-256 of
// the bundle files (zero for a Spec built in memory).
func (h *Holder) Swap(p *Policy) error {
	if p == nil {
		panic("BUG: policy: Swap(nil)")
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	return h.swapLocked(p)
}

func (h *Holder) swapLocked(p *Policy) error {
	old := h.cur.Load()
	switch {
	case old == nil:
	case p.version < old.version:
		return &BundleError{File: ManifestFile, Feature: -1,
			Err: fmt.Errorf("%w: version %d < running %d", ErrOldVersion, p.version, old.version)}
	case p.version == old.version && p.digest != old.digest:
		return &BundleError{File: ManifestFile, Feature: -1,
			Err: fmt.Errorf("%w: version %d is running with other content (SHA-256 %x..., this bundle %x...): raise version for every change", ErrVersionReused, p.version, old.digest[:4], p.digest[:4])}
	}
	h.cur.Store(p)
	return nil
}

// Reload loads, verifies and compiles the bundle in fsys and swaps it in. On any error the
// running policy stays in force and the error names the file and feature at fault.
func (h *Holder) Reload(fsys fs.FS, opts *LoadOptions) (*Policy, error) {
	p, err := Load(fsys, opts)
	if err != nil {
		return nil, err
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	if err := h.swapLocked(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Engine decides for one stream of fixes (one receiver, one tier). It keeps per-stream
// state (hysteresis) and must be used by one goroutine; make one Engine per stream.
type Engine struct {
	h       *Holder
	tier    string
	pol     *Policy // policy the cached fields below belong to
	tierIdx int     // index into pol.tiers, -1 if the tier is missing
	sticky  int32   // zone the stream was last inside (hysteresis), -1 if none
	sec     int64   // unix second maskOpen was computed for
	mask    uint64  // windows open at sec
}

// NewEngine returns an Engine deciding at the named tier (e.g. "public") with h's policy.
// If the running policy has no such tier, every decision drops with ReasonNoTier.
func (h *Holder) NewEngine(tier string) *Engine {
	return &Engine{h: h, tier: tier, tierIdx: -1, sticky: -1}
}

// Tier returns the tier name the engine decides at.
func (e *Engine) Tier() string { return e.tier }

// FrameLimits returns the max_fps and max_image_pixels of the engine's tier in the policy in
// force (zero: unlimited), the limits a Decision that keeps a frame outside every zone
// carries; ok is false without a policy or without the tier. A Drop carries no limits, so the
// camera gate asks here to place what it drops at the rate and size it would have stored. It
// does not allocate.
func (e *Engine) FrameLimits() (maxFPS float64, maxPixels int, ok bool) {
	p := e.h.cur.Load()
	if p == nil {
		return 0, 0, false
	}
	if p != e.pol {
		e.adopt(p)
	}
	if e.tierIdx < 0 {
		return 0, 0, false
	}
	t := &p.tiers[e.tierIdx]
	return t.MaxFPS, t.MaxImagePixels, true
}

func (e *Engine) adopt(p *Policy) {
	if e.pol != nil && e.sticky >= 0 {
		// Carry hysteresis over a reload: stay "inside" the zone with the same id.
		if z, ok := p.zoneIndex[e.pol.zones[e.sticky].id]; ok {
			e.sticky = z
		} else {
			e.sticky = -1
		}
	}
	e.pol = p
	e.tierIdx = -1
	if i, ok := p.tierIndex[e.tier]; ok {
		e.tierIdx = i
	}
	e.sec = math.MinInt64
}

// Decide returns what may be stored for fix at local time now (the same clock that set
// fix.Received). It fails closed: no policy, no fix, an invalid or stale fix -> Drop.
//
// Precedence: deny beats coarsen beats allow; among coarsen zones the coarsest precision
// wins; remaining ties go to bundle order. A stream that was inside a deny or coarsen zone
// stays inside it until it is farther than margin + hysteresis from the boundary. A
// coarsened position is checked again after quantization and dropped if the grid point
// falls inside a deny zone or its margin, so no stored position is ever in one.
//
// Decide does not allocate, takes no locks and writes no memory shared with other
// goroutines (no counters: the caller counts by d.Reason if it wants to); fix is only read.
func (e *Engine) Decide(fix *gnss.Fix, now time.Time) Decision {
	var d Decision
	e.decide(&d, fix, now)
	return d
}

// decide fills in d, which must be the zero Decision (Action Drop), field by field: the
// Decision is built once, in the caller's frame, not copied through return values. Every
// Drop leaves Lat, Lon, Datum, PrecisionM, MaxImagePixels and MaxFPS zero.
func (e *Engine) decide(d *Decision, fix *gnss.Fix, now time.Time) {
	p := e.h.cur.Load()
	if p == nil {
		d.Reason = ReasonNoPolicy
		return
	}
	if p != e.pol {
		e.adopt(p)
	}
	d.Version = p.version
	sec := now.Unix()
	if p.expires != 0 && sec >= p.expires || p.expired.Load() {
		d.Reason = ReasonExpired
		return
	}
	if fix == nil || fix.Has&gnss.HasPos == 0 {
		d.Reason = ReasonNoFix
		return
	}
	lat, lon := fix.Lat, fix.Lon
	if !fix.Valid || !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		d.Reason = ReasonInvalid
		return
	}
	// fix.Usable(now, p.maxAge), whose Valid and HasPos tests have just been made.
	if age := now.Sub(fix.Received); fix.Received.IsZero() || age < 0 || age > p.maxAge {
		d.Reason = ReasonStale
		return
	}
	if e.tierIdx < 0 {
		d.Reason = ReasonNoTier
		return
	}
	if sec != e.sec {
		e.sec, e.mask = sec, p.windowMask(now)
	}
	tier := &p.tiers[e.tierIdx]
	reason, zone := ReasonOK, ""
	precisionM, maxPixels := tier.PrecisionM, tier.MaxImagePixels

	z := p.zoneIx.lookup(lon, lat, e.sticky, e.mask)
	e.sticky = -1
	if z >= 0 {
		zi := &p.zones[z]
		zone = zi.id
		switch zi.rule {
		case RuleDeny:
			e.sticky = z
			d.Reason, d.Zone = ReasonZoneDeny, zi.id
			return
		case RuleCoarsen:
			e.sticky = z
			reason = ReasonZoneCoarsen
			precisionM = max(precisionM, zi.precisionM)
			if zi.maxImagePixels > 0 && (maxPixels == 0 || zi.maxImagePixels < maxPixels) {
				maxPixels = zi.maxImagePixels
			}
		case RuleAllow:
			reason = ReasonZoneAllow
		}
	} else if !p.defaultKeep {
		d.Reason = ReasonDefaultDeny
		return
	}

	action := Keep
	if precisionM > 0 {
		action = Coarsen
		lat, lon = quantize(lat, lon, precisionM)
		// The grid point may lie in a deny zone, unless every deny zone is too far away.
		if z < 0 || !(precisionM < p.zones[z].denyClearM) {
			if q := p.zoneIx.lookup(lon, lat, -1, e.mask); q >= 0 && p.zones[q].rule == RuleDeny {
				d.Reason, d.Zone = ReasonZoneDeny, p.zones[q].id
				return
			}
		}
	}
	if tier.GCJ02 && p.regionIx.lookup(lon, lat, -1, 0) >= 0 {
		lat, lon = toGCJ(lat, lon)
		d.Datum = GCJ02
	}
	d.Action, d.Reason, d.Zone = action, reason, zone
	d.Lat, d.Lon, d.PrecisionM, d.MaxImagePixels, d.MaxFPS = lat, lon, precisionM, maxPixels, tier.MaxFPS
	d.Anonymize = tier.Anonymize
}

// quantize snaps (lat, lon) to a grid of about precisionM metres: latitude in steps of
// precisionM/mPerDeg degrees, then longitude in steps of the same length in metres at the
// snapped latitude. The result is at most precisionM/sqrt(2) from the input.
func quantize(lat, lon, precisionM float64) (float64, float64) {
	dLat := precisionM / mPerDeg
	qLat := math.Round(lat/dLat) * dLat
	qLat = min(max(qLat, -90), 90)
	c := math.Cos(qLat * deg2rad)
	if c < 1e-9 {
		return qLat, 0
	}
	dLon := dLat / c
	qLon := math.Round(lon/dLon) * dLon
	if qLon > 180 {
		qLon -= 360
	} else if qLon < -180 {
		qLon += 360
	}
	return qLat, qLon
}
