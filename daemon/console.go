package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/clock"
)

// The serial console's commands over the control socket (package console defines the
// answers). They read the receiver's, the camera's and the log's counters and states, never
// a position, a zone or anything the policy decided: TestConsoleZoneBlind runs every command
// over a drive through Beidaihe and over the same drive with the zones moved away, and the
// outputs must be equal. Every command served is logged (the log names the command only).

// teeConsoleLog keeps the daemon's log lines, desensitized, for the console's log command.
func (r *run) teeConsoleLog() {
	r.logTail = new(console.LogRing)
	r.log = slog.New(r.logTail.Tee(r.log.Handler()))
}

// handleConsole registers the console's commands on s, and the console's events, which go
// into the audit trail with the peer's credentials.
func (r *run) handleConsole(s *control.Server) {
	for cmd, f := range r.consoleHandlers() {
		s.Handle(cmd, func(_ context.Context, args json.RawMessage) (any, error) {
			r.log.Info("console command", "cmd", cmd)
			return f(args)
		})
	}
	s.Handle(console.CmdEvent, func(ctx context.Context, args json.RawMessage) (any, error) {
		return nil, r.consoleEvent(ctx, args)
	})
}

// consoleEvent records a console's event (console.Event) in the audit trail and the log,
// with the console process's pid as the session and its uid as the peer, both from
// SO_PEERCRED. An event outside the console's vocabulary is refused, so no free text reaches
// the trail.
func (r *run) consoleEvent(ctx context.Context, args json.RawMessage) error {
	var e console.Event
	if err := json.Unmarshal(args, &e); err != nil {
		return fmt.Errorf("daemon: console event: %w", err)
	}
	if err := e.Valid(); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	entry := audit.Entry{Kind: audit.ConsoleCommand, ID: "console", Peer: "unknown", Detail: e.String()}
	if e.Session() {
		entry.Kind = audit.ConsoleSession
	}
	if p, ok := control.PeerFrom(ctx); ok {
		entry.ID, entry.Peer = fmt.Sprintf("console pid %d", p.PID), fmt.Sprintf("uid %d", p.UID)
	}
	r.log.Info("console event", "id", entry.ID, "peer", entry.Peer, "event", entry.Detail)
	r.audit.record(entry)
	return nil
}

// consoleHandlers are the console's commands, by name.
func (r *run) consoleHandlers() map[string]func(json.RawMessage) (any, error) {
	return map[string]func(json.RawMessage) (any, error){
		console.CmdGNSS:    func(json.RawMessage) (any, error) { return r.consoleGNSS(), nil },
		console.CmdCamera:  func(json.RawMessage) (any, error) { return r.consoleCamera(), nil },
		console.CmdPolicy:  func(json.RawMessage) (any, error) { return r.consolePolicy(), nil },
		console.CmdStorage: func(json.RawMessage) (any, error) { return r.consoleStorage(), nil },
		console.CmdLog:     func(json.RawMessage) (any, error) { return console.LogTail{Lines: r.logTail.Lines()}, nil },
		console.CmdReload:  func(json.RawMessage) (any, error) { return r.consoleReload(), nil },
		console.CmdExport: func(args json.RawMessage) (any, error) {
			var a console.ExportArgs
			if err := json.Unmarshal(args, &a); err != nil {
				return nil, fmt.Errorf("daemon: export: %w", err)
			}
			return r.startExport(a)
		},
		console.CmdExportStatus: func(json.RawMessage) (any, error) { return r.exports.status(), nil },
	}
}

// perSecX10 is n per second over d, times ten (one decimal without a float on the wire).
func perSecX10(n uint64, d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(float64(n) * 10 / d.Seconds())
}

// qualityNames names the GGA fix quality indicator's values.
var qualityNames = [...]string{"invalid", "GPS", "DGPS", "PPS", "RTK fixed", "RTK float", "dead reckoning", "manual", "simulation"}

func (r *run) consoleGNSS() console.GNSS {
	st := r.reader.Stats()
	last := r.reader.Last()
	up := time.Since(r.start)
	g := console.GNSS{
		State: r.gnssState(r.loop.Status()), Quality: last.Quality, Satellites: last.SatsUsed,
		HDOPx10: int(last.HDOP*10 + 0.5), Fixes: st.Fixes, Sentences: st.Sentences, Bytes: st.Bytes,
		FixesPerSecX10: perSecX10(st.Fixes, up), SentencesPerSecX10: perSecX10(st.Sentences, up),
		Dropped: r.reader.Dropped.Load(), Mode: "no fix",
	}
	if int(last.Quality) < len(qualityNames) {
		g.QualityName = qualityNames[last.Quality]
	}
	switch last.Mode {
	case gnss.Mode2D:
		g.Mode = "2D"
	case gnss.Mode3D:
		g.Mode = "3D"
	}
	for why, n := range st.Rejected {
		if n > 0 && gnss.Reason(why) != gnss.ReasonNone {
			if g.Rejected == nil {
				g.Rejected = map[string]uint64{}
			}
			g.Rejected[gnss.Reason(why).String()] = n
		}
	}
	if r.serial != nil {
		g.Reconnects = r.serial.Stats().Reconnects
	}
	g.AgeX10 = -1
	if !last.Received.IsZero() {
		now := r.reader.Now // the clock that set last.Received
		if now == nil {
			now = clock.Now
		}
		g.AgeX10 = int(now().Sub(last.Received) / (100 * time.Millisecond))
	}
	return g
}

func (r *run) consoleCamera() console.Camera {
	c := r.cfg.Camera
	cam := console.Camera{Source: c.Source, Format: c.Format, Width: c.Width, Height: c.Height, FPS: c.FPS}
	if r.cap == nil {
		return cam
	}
	t := r.tally()
	cam.Up, cam.Frames = t.cam.Up, t.cam.Frames
	cam.FramesPerSecX10 = perSecX10(t.cam.Frames, time.Since(r.start))
	cam.ReadErrors, cam.OpenFailures, cam.Reconnects = t.cam.ReadErrors, t.cam.OpenFailures, t.cam.Reconnects
	// Only what was lost before the policy saw it: the counts of the gate's later stages
	// (rate, scaler, store) rise or stall with the zones the car drives through.
	var ringDrops uint64
	if r.ring != nil {
		ringDrops = r.ring.Stats().Dropped
	}
	for _, d := range []struct {
		why gate.Reason
		n   uint64
	}{{gate.ReasonBacklog, ringDrops}, {gate.ReasonTooLarge, t.cam.ShortBuffers}, {gate.ReasonBadFrame, t.cam.BadFrames}} {
		if d.n > 0 {
			if cam.Drops == nil {
				cam.Drops = map[string]uint64{}
			}
			cam.Drops[d.why.String()] = d.n
		}
	}
	return cam
}

func (r *run) consolePolicy() console.Policy {
	p := console.Policy{Tier: r.cfg.Policy.Tier, Expiry: "none"}
	pol := r.holder.Policy()
	if pol == nil {
		return p
	}
	s := pol.Summary()
	p.Loaded, p.ID, p.Version, p.Zones = true, s.ID, s.Version, s.Zones
	if !s.Expires.IsZero() {
		p.Expiry = s.Expires.Format(time.RFC3339)
	}
	if s.Expired {
		p.Expiry += " (EXPIRED: nothing is stored)"
	}
	p.Signature = fmt.Sprintf("verified (ed25519, %d trusted keys)", len(r.cfg.Policy.TrustedKeys))
	if r.unsigned.Load() {
		p.Signature = "UNSIGNED (no policy.trusted_keys)"
	}
	return p
}

func (r *run) consoleStorage() console.Storage {
	s := console.Storage{QuotaBytes: r.cfg.Storage.QuotaMB << 20}
	if l := r.store.Log(); l != nil {
		st := l.Stats()
		s.Storing, s.Full, s.Dropped = true, st.Full, st.Dropped
	} else {
		s.Why = shortErr(r.store.Why())
	}
	m, err := readEMMC()
	switch {
	case errors.Is(err, board.ErrAbsent):
		s.EMMC = []string{"not available (no eMMC life_time in sysfs)"}
	case err != nil:
		s.EMMC = []string{"unreadable: " + err.Error()}
	}
	for _, e := range m {
		line := e.String()
		if e.Worn() {
			line += " (WORN: plan a replacement)"
		}
		s.EMMC = append(s.EMMC, line)
	}
	return s
}

// readEMMC reads the eMMC wear; a variable so tests can stand in for sysfs.
var readEMMC = func() ([]board.EMMC, error) { return board.ReadEMMC(os.DirFS("/")) }

// consoleReload reloads the policy as SIGHUP does (reloads are serialised by the holder).
func (r *run) consoleReload() console.Reload {
	var before uint64
	if p := r.holder.Policy(); p != nil {
		before = p.Summary().Version
	}
	r.loadPolicy(true)
	var after uint64
	if p := r.holder.Policy(); p != nil {
		after = p.Summary().Version
	}
	return console.Reload{Version: after, Changed: after != before}
}
