package daemon

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
)

// What leaves the process in clear (the status line, logged every status_interval and sent
// as STATUS=; the log; the summary) holds counts since start, health and versions only:
// never a position, a zone, or the verdict on the latest fix, which with the journal's
// timestamps would record when the car was in a place that must not be recorded. Drops by
// reason are in the summary only, printed once at exit.

// Summary is what a run did, printed at exit. Every fix and frame the daemon received is
// counted once: Fixes = FixesKept + FixesCoarsened + FixesDropped, and the same for frames.
// Kept and coarsened name the stored records' action ("keep", "coarsen" in store cat).
type Summary struct {
	Uptime                                             time.Duration
	Fixes, FixesKept, FixesCoarsened, FixesDropped     uint64
	Frames, FramesKept, FramesCoarsened, FramesDropped uint64
	FramesDownscaled                                   uint64 // of the frames stored
	Records, Bytes, Durable, Syncs                     uint64
	Reconnects                                         uint64 // GNSS device reconnects
	PolicyVersion                                      uint64
	// DropReasons lists why fixes and frames were dropped, with counts as fixes/frames, e.g.
	// "zone-deny 566/170, backlog 0/2", in gate.Reason order.
	DropReasons string
	// GNSSRejected lists the receiver's sentences the decoder rejected, by reason, e.g.
	// "checksum 3, truncated 1". Empty: none.
	GNSSRejected string
	// Camera lists the capture's troubles, e.g. "read errors 1, reconnects 1". Empty: none.
	Camera string
}

func (s Summary) String() string {
	line := fmt.Sprintf("ran %s: fixes %d (kept %d, coarsened %d, dropped %d), frames %d (kept %d, coarsened %d, dropped %d; downscaled %d), records stored %d (%s, durable up to seq %d, %d fdatasyncs), gnss reconnects %d, policy v%d",
		s.Uptime.Round(time.Millisecond), s.Fixes, s.FixesKept, s.FixesCoarsened, s.FixesDropped,
		s.Frames, s.FramesKept, s.FramesCoarsened, s.FramesDropped, s.FramesDownscaled,
		s.Records, bytesString(s.Bytes), s.Durable, s.Syncs, s.Reconnects, s.PolicyVersion)
	for _, part := range []struct{ name, v string }{
		{"dropped (fixes/frames)", s.DropReasons}, {"gnss sentences rejected", s.GNSSRejected}, {"camera", s.Camera},
	} {
		if part.v != "" {
			line += "; " + part.name + ": " + part.v
		}
	}
	return line
}

// tally is every counter of the run, gathered at one moment: the loop's, and those of the
// parts that drop before the loop sees a fix or frame (the GNSS reader's full channel, the
// camera ring's backlog, frames the capture could not use).
type tally struct {
	fixes, fixesKept, fixesCoarsened, fixesDropped                       uint64
	frames, framesKept, framesCoarsened, framesDropped, framesDownscaled uint64
	drops                                                                [gate.NumReasons][2]uint64 // fixes, frames
	rejected                                                             [gnss.NumReasons]uint64
	cam                                                                  camera.CaptureStats
}

func (r *run) tally() tally {
	c := &r.loop.Counters
	t := tally{
		fixes: c.Fixes.Load(), fixesKept: c.FixesKept.Load(), fixesCoarsened: c.FixesCoarsened.Load(), fixesDropped: c.FixesDropped.Load(),
		frames: c.Frames.Load(), framesKept: c.FramesKept.Load(), framesCoarsened: c.FramesCoarsened.Load(), framesDropped: c.FramesDropped.Load(),
		framesDownscaled: c.FramesDownscaled.Load(),
	}
	for why := range gate.NumReasons {
		t.drops[why] = [2]uint64{c.FixDrops(why), c.FrameDrops(why)}
	}
	early := func(why gate.Reason, kind int, n uint64) {
		t.drops[why][kind] += n
		if kind == 0 {
			t.fixes, t.fixesDropped = t.fixes+n, t.fixesDropped+n
		} else {
			t.frames, t.framesDropped = t.frames+n, t.framesDropped+n
		}
	}
	early(gate.ReasonBacklog, 0, r.reader.Dropped.Load())
	t.rejected = r.reader.Stats().Rejected
	if r.ring != nil {
		early(gate.ReasonBacklog, 1, r.ring.Stats().Dropped)
	}
	if r.cap != nil {
		t.cam = r.cap.Stats()
		early(gate.ReasonTooLarge, 1, t.cam.ShortBuffers)
		early(gate.ReasonBadFrame, 1, t.cam.BadFrames)
	}
	return t
}

// dropReasons formats the drop counts by reason for the summary.
func (t *tally) dropReasons() string {
	var parts []string
	for why, n := range t.drops {
		if n[0]+n[1] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d/%d", gate.Reason(why), n[0], n[1]))
		}
	}
	return strings.Join(parts, ", ")
}

// gnssRejected formats the decoder's rejects by reason.
func (t *tally) gnssRejected() (string, uint64) {
	var parts []string
	var total uint64
	for why, n := range t.rejected {
		if n > 0 && gnss.Reason(why) != gnss.ReasonNone {
			parts = append(parts, fmt.Sprintf("%s %d", gnss.Reason(why), n))
			total += n
		}
	}
	return strings.Join(parts, ", "), total
}

// cameraTrouble formats the capture's failures.
func (t *tally) cameraTrouble() string {
	var parts []string
	for _, n := range []struct {
		name string
		v    uint64
	}{{"read errors", t.cam.ReadErrors}, {"open failures", t.cam.OpenFailures}, {"reconnects", t.cam.Reconnects}} {
		if n.v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n.name, n.v))
		}
	}
	return strings.Join(parts, ", ")
}

// gnssState says whether the receiver is there and has a fix: "gnss fix", "gnss no fix
// (stale)", "gnss absent" (its device is not there, e.g. unplugged) or "gnss down" (there
// but failing). It is the receiver's state, never the policy's verdict.
func (r *run) gnssState(st gate.Status) string {
	if r.serial != nil {
		s, err := r.serial.Stats(), r.serial.LastError()
		if s.Opens <= s.Disconnects && err != nil {
			if errors.Is(err, gnss.ErrDeviceAbsent) {
				return "gnss absent"
			}
			return "gnss down"
		}
	}
	if !st.HaveFix {
		return "gnss no fix (" + st.Reason.String() + ")"
	}
	return "gnss fix"
}

func (r *run) statusLine() string {
	st := r.loop.Status()
	t := r.tally()
	var b strings.Builder
	b.WriteString(r.gnssState(st))
	if _, n := t.gnssRejected(); n > 0 {
		fmt.Fprintf(&b, ", %d sentences rejected", n)
	}
	fmt.Fprintf(&b, " | fixes %d kept %d coarsened %d dropped %d", t.fixes, t.fixesKept, t.fixesCoarsened, t.fixesDropped)
	if r.ring != nil {
		fmt.Fprintf(&b, " | frames %d kept %d coarsened %d dropped %d", t.frames, t.framesKept, t.framesCoarsened, t.framesDropped)
		if !t.cam.Up {
			b.WriteString(", camera down")
		}
		if n := t.cam.ReadErrors + t.cam.OpenFailures; n > 0 {
			fmt.Fprintf(&b, ", camera errors %d", n)
		}
	}
	if l := r.store.Log(); l != nil {
		fmt.Fprintf(&b, " | stored %s durable #%d", bytesString(r.loop.Counters.Bytes.Load()), l.Durable())
	} else {
		fmt.Fprintf(&b, " | STORING NOTHING (%v)", shortErr(r.store.Why()))
	}
	// The version in force, not the one of the latest decision: with no fixes (a receiver
	// absent) there is none.
	var version uint64
	if p := r.holder.Policy(); p != nil {
		version = p.Summary().Version
	}
	fmt.Fprintf(&b, " | %s", r.policyStatus(version))
	fmt.Fprintf(&b, " | health %s", r.health.Last().String())
	return b.String()
}

func (r *run) summary() Summary {
	t := r.tally()
	rejected, _ := t.gnssRejected()
	s := Summary{
		Uptime: time.Since(r.start),
		Fixes:  t.fixes, FixesKept: t.fixesKept, FixesCoarsened: t.fixesCoarsened, FixesDropped: t.fixesDropped,
		Frames: t.frames, FramesKept: t.framesKept, FramesCoarsened: t.framesCoarsened, FramesDropped: t.framesDropped,
		FramesDownscaled: t.framesDownscaled,
		Records:          r.loop.Counters.Records.Load(), Bytes: r.loop.Counters.Bytes.Load(),
		DropReasons: t.dropReasons(), GNSSRejected: rejected, Camera: t.cameraTrouble(),
	}
	if r.serial != nil {
		s.Reconnects = r.serial.Stats().Reconnects
	}
	if p := r.holder.Policy(); p != nil {
		s.PolicyVersion = p.Summary().Version
	}
	return s
}

// shortErr says in a few words why nothing is stored, for the status line and the console:
// the device key's failure by its kind (never the key), else the error cut to 60 bytes.
func shortErr(err error) string {
	if err == nil {
		return "no key"
	}
	for _, k := range []struct {
		err  error
		says string
	}{
		{board.ErrSealedElsewhere, "device key sealed by another TPM"},
		{board.ErrPolicy, "no signed PCR policy unseals the device key"},
		{board.ErrNoKey, "no device key"},
		{board.ErrAbsent, "device key: TPM absent, retrying"},
		{board.ErrTPM, "device key: TPM failing, retrying"},
	} {
		if errors.Is(err, k.err) {
			return k.says
		}
	}
	s := err.Error()
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
