package daemon

import (
	"context"
	"crypto/sha256"
	"io"
	"path/filepath"
	"strings"

	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"filippo.io/age"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/storage"
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
			return r.consoleExport(a)
		},
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

// exportRecord is one line of an export: the same fields as "geogate store export" writes
// for a record, its payload whole.
type exportRecord struct {
	Seq     uint64    `json:"seq"`
	Type    uint16    `json:"type"`
	Time    time.Time `json:"time"`
	Payload []byte    `json:"payload"`
}

// consoleExport writes every readable record, encrypted to the recipient a.To (an age X25519
// key), to a new file under <data_dir>/export, the one directory the service may write. The
// device key is unsealed again for it (the running log holds it no longer) and cleared after.
// A log whose segment chain is broken is refused, as by "geogate store export".
func (r *run) consoleExport(a console.ExportArgs) (console.Export, error) {
	rcpt, err := age.ParseX25519Recipient(strings.TrimSpace(a.To))
	if err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: recipient: %w", err)
	}
	keys, _, err := r.deviceKeys()
	if err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: device key: %w", err)
	}
	defer keys.Clear()
	if l := r.store.Log(); l != nil {
		l.Sync() // what was acknowledged is on disk before it is read
	}
	rd, err := storage.NewReader(r.cfg.DataDir, keys.Current, keys.Old...)
	if err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: %w", err)
	}
	segs, err := rd.Segments()
	if err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: %w", err)
	}
	for _, s := range segs {
		if errors.Is(s.Err, storage.ErrChain) || s.Chain != nil {
			return console.Export{}, fmt.Errorf("daemon: export: the log's segment chain is broken; run geogate store verify: %w", storage.ErrChain)
		}
	}
	dir := filepath.Join(r.cfg.DataDir, "export")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: %w", err)
	}
	name := filepath.Join(dir, "export-"+clock.Now().UTC().Format("20060102T150405Z")+".age")
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: %w", err)
	}
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	n, err := writeExport(cw, rcpt, rd, segs)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return console.Export{}, fmt.Errorf("daemon: export: %w", err)
	}
	r.log.Info("console export written", "path", name, "records", n)
	r.audit.record(audit.Entry{Kind: audit.Export, Object: filepath.Base(name), Peer: rcpt.String(),
		SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: uint64(cw.n)})
	return console.Export{File: name, Records: n}, nil
}

func writeExport(w io.Writer, rcpt age.Recipient, rd *storage.Reader, segs []storage.SegmentInfo) (int, error) {
	aw, err := age.Encrypt(w, rcpt)
	if err != nil {
		return 0, err
	}
	enc := json.NewEncoder(aw)
	n := 0
	for _, s := range segs {
		if s.Err != nil {
			continue
		}
		if _, err := rd.Scan(s.ID, func(rec *storage.Record) error {
			n++
			return enc.Encode(exportRecord{Seq: rec.Seq, Type: uint16(rec.Type), Time: rec.Time.UTC(), Payload: rec.Payload})
		}); err != nil {
			return n, err
		}
	}
	return n, aw.Close()
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
