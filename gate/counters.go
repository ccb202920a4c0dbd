package gate

import (
	"sync/atomic"

	"github.com/geogate/geogate/policy"
)

// Reason says why a fix or frame was not stored. It is the one vocabulary of drop reasons
// that status, summary, logs and docs use. Values below firstGateReason are policy.Reason
// values (the policy said no: "zone-deny", "stale", ...); the rest are reasons after the
// policy allowed it, or before it was asked.
type Reason uint8

// Reasons of the gate and of the parts that feed it. The loop counts the ones it sees; the
// others are counted where they happen (the camera ring, the capture, the GNSS reader) and
// reported under these names.
const (
	firstGateReason      Reason = 16 + iota // above every policy.Reason
	ReasonRate                              // above the tier's max_fps: planned, not an overload
	ReasonScalerBusy                        // the frame had to be downscaled but the scaler was still busy
	ReasonScaleError                        // the frame could not be downscaled (corrupt JPEG)
	ReasonAnonymizer                        // the tier requires masking and the detector failed (none, crashed, late, garbage)
	ReasonAnonymizerBusy                    // the tier requires masking and the worker was still busy (detector slower than the camera)
	ReasonTooLarge                          // the frame did not fit a buffer (ring or record)
	ReasonBadFrame                          // the camera delivered an empty or corrupt frame
	ReasonBacklog                           // the consumer was too slow: the camera ring or the fix channel was full
	ReasonNoStore                           // no store: no device key, or storage failed to open
	ReasonPowerFail                         // the supply is failing: nothing new is stored
	ReasonStoreError                        // storage refused the record (disk full, I/O error)
	ReasonShutdown                          // still waiting for its fix when the daemon stopped
	// NumReasons is the number of Reason values, for arrays indexed by Reason.
	NumReasons
)

var gateReasonNames = [NumReasons - firstGateReason]string{
	"", "rate", "scaler-busy", "scale-error", "anonymizer", "anonymizer-busy", "too-large", "bad-frame", "backlog", "no-store", "power-fail", "store-error", "shutdown",
}

// PolicyReason returns the Reason for a policy decision's reason.
func PolicyReason(r policy.Reason) Reason { return Reason(r) % firstGateReason }

// String returns the reason's name: the policy's ("zone-deny") or the gate's ("scaler-busy").
func (r Reason) String() string {
	switch {
	case r < firstGateReason:
		return policy.Reason(r).String()
	case r < NumReasons && r > firstGateReason:
		return gateReasonNames[r-firstGateReason]
	}
	return "reason(?)"
}

// Counters count what the loop did. They are updated atomically on the hot path without
// allocating and may be read from any goroutine.
//
// Every fix the loop takes ends in exactly one of FixesKept, FixesCoarsened and
// FixesDropped; every frame it takes (Frames) in exactly one of FramesKept, FramesCoarsened
// and FramesDropped, once Run has returned (it drops what is still waiting, as
// ReasonShutdown). Kept and coarsened are the stored record's action ("keep", "coarsen").
// FramesDownscaled counts the stored frames (kept or coarsened) that were made smaller.
type Counters struct {
	Fixes, FixesKept, FixesCoarsened, FixesDropped     atomic.Uint64
	Frames, FramesKept, FramesCoarsened, FramesDropped atomic.Uint64
	FramesDownscaled                                   atomic.Uint64

	Records atomic.Uint64 // records appended to storage
	Bytes   atomic.Uint64 // payload bytes appended (before encryption and framing)

	// FramesAnonymized counts stored frames that were masked (also counted as kept or
	// coarsened).
	FramesAnonymized atomic.Uint64

	fixDrops, frameDrops [NumReasons]atomic.Uint64
}

// FixDrops returns how many fixes the loop dropped for reason r.
func (c *Counters) FixDrops(r Reason) uint64 { return c.fixDrops[r%NumReasons].Load() }

// FrameDrops returns how many frames the loop dropped for reason r.
func (c *Counters) FrameDrops(r Reason) uint64 { return c.frameDrops[r%NumReasons].Load() }

func (c *Counters) dropFix(r Reason) {
	c.FixesDropped.Add(1)
	c.fixDrops[r%NumReasons].Add(1)
}

func (c *Counters) dropFrame(r Reason) {
	c.FramesDropped.Add(1)
	c.frameDrops[r%NumReasons].Add(1)
}
