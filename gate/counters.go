package gate

import (
	"sync/atomic"

	"github.com/geogate/geogate/policy"
)

// maxReasons sizes the per-reason arrays; policy has fewer reasons than this.
const maxReasons = 16

// Counters count what the loop did. They are updated atomically on the hot path without
// allocating and may be read from any goroutine.
type Counters struct {
	Fixes, FixesKept, FixesCoarsened, FixesDropped      atomic.Uint64
	Frames, FramesKept, FramesDownscaled, FramesDropped atomic.Uint64

	Records     atomic.Uint64 // records appended to storage
	Bytes       atomic.Uint64 // payload bytes appended (before encryption and framing)
	NoStore     atomic.Uint64 // records not stored because there is no store (no device key)
	PowerFail   atomic.Uint64 // records not stored because power is failing
	StoreErrors atomic.Uint64 // records storage refused (full disk, I/O error)
	ScaleErrors atomic.Uint64 // frames that could not be downscaled (dropped)
	ScaleBusy   atomic.Uint64 // frames to downscale dropped because the scaler was still busy
	TooLarge    atomic.Uint64 // frames larger than the record buffer (dropped)

	// FramesAnonymized counts frames stored after masking (also counted as kept or downscaled).
	FramesAnonymized atomic.Uint64
	// AnonymizeFailed counts frames dropped because they could not be masked: no detector
	// configured or listening, a crash, a malformed or late answer, an undecodable frame.
	AnonymizeFailed atomic.Uint64
	// AnonymizeBusy counts frames to mask dropped because the worker was still busy with an
	// earlier frame (the detector is slower than the camera).
	AnonymizeBusy atomic.Uint64

	fixDrops, frameDrops [maxReasons]atomic.Uint64
}

// FixDrops returns how many fixes were dropped for reason r.
func (c *Counters) FixDrops(r policy.Reason) uint64 { return c.fixDrops[r%maxReasons].Load() }

// FrameDrops returns how many frames were dropped for reason r. ReasonOK counts frames dropped
// by the gate itself after the policy allowed them (scale error or busy, too large, not
// anonymized).
func (c *Counters) FrameDrops(r policy.Reason) uint64 { return c.frameDrops[r%maxReasons].Load() }
