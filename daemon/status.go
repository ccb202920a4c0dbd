package daemon

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/policy"
)

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
			name = "gate" // allowed by the policy, dropped by the gate: scaler busy, frame too large, not anonymized
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d", name, fix, frame))
	}
	for _, n := range []struct {
		name string
		v    uint64
	}{{"no-store", c.NoStore.Load()}, {"power-fail", c.PowerFail.Load()}, {"store-error", c.StoreErrors.Load()},
		{"anonymizer", c.AnonymizeFailed.Load()}, {"anonymizer-busy", c.AnonymizeBusy.Load()}} {
		if n.v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n.name, n.v))
		}
	}
	return strings.Join(parts, ", ")
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
	if st.Version == 0 {
		b.WriteString(" | NO POLICY")
	} else {
		fmt.Fprintf(&b, " | policy v%d", st.Version)
	}
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
