package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/control"
)

// Status is what the control socket's "status" command returns: counts since start and the
// state of each part, never a position, a zone or the time of a decision.
type Status struct {
	Summary
	// GNSS is the receiver's state as the status line shows it: "fix", "no fix (stale)",
	// "absent", "down".
	GNSS string `json:"gnss"`
	// Clock says that the unit's time and GNSS time disagree by more than an hour (an RTC
	// to fix; GNSS time never moves the unit's notion of now); empty while they agree.
	Clock string `json:"clock,omitempty"`
	// Storing is false while nothing can be stored (no key, no log: fail closed).
	Storing bool `json:"storing"`
	// NotStoring says why nothing is stored, as the status line does; empty while Storing.
	NotStoring string `json:"not_storing,omitempty"`
	// Keys counts the device key's events since start: unseal failures, and unseals after
	// them when the TPM came back.
	Keys board.KeyCounts `json:"keys"`
	// PolicyUnsigned is true while the running policy was loaded without verification.
	PolicyUnsigned bool `json:"policy_unsigned"`
	// Health is "ok" or "unhealthy: ..." as the watchdog sees it.
	Health string `json:"health"`
	// Healthy is true when every health check passes.
	Healthy bool `json:"healthy"`
	// Line is the status line as the journal and STATUS= show it.
	Line string `json:"line"`
	// ZoneBlind is true when the answer leaves out what moves with the zones (see zoneBlind):
	// the asking peer is neither root nor the service user.
	ZoneBlind bool `json:"zone_blind,omitempty"`
}

// zoneBlind is st without what moves with the zones the car meets: the decision counts, the
// drop reasons, what was stored and the status line that prints them. Polled by a peer of the
// control group (a workshop account, the console's user), those would tell when the car was
// in a zone. What is left counts what arrived, not what the policy made of it.
func (st Status) zoneBlind() Status {
	sum := st.Summary
	st.Summary = Summary{Uptime: sum.Uptime, Fixes: sum.Fixes, Frames: sum.Frames, Reconnects: sum.Reconnects,
		PolicyVersion: sum.PolicyVersion, GNSSRejected: sum.GNSSRejected, Camera: sum.Camera}
	st.Line, st.ZoneBlind = "", true
	return st
}

// Health is what the control socket's "health" command returns.
type Health struct {
	Healthy bool `json:"healthy"`
	// Problems are the failing checks, "check: reason".
	Problems []string `json:"problems,omitempty"`
	// Policy is the running policy's version, 0 for none.
	Policy uint64 `json:"policy"`
	// Storing is false while nothing can be stored.
	Storing bool `json:"storing"`
}

// startControl opens the control socket unless it is "off". A socket that cannot be opened
// is logged and the daemon runs on without it: diagnostics must not stop the gate.
func (r *run) startControl(ctx context.Context) (stop func()) {
	path := r.cfg.Control.Socket
	if path == "" || path == "off" {
		return func() {}
	}
	gid := -1
	if g := r.cfg.Control.Group; g != "" {
		grp, err := user.LookupGroup(g)
		if err == nil {
			gid, err = strconv.Atoi(grp.Gid)
		}
		if err != nil {
			r.log.Error("control socket: unknown group; only root and the service user may connect", "group", g, "err", err)
			gid = -1
		}
	}
	s := &control.Server{Path: path, Group: gid, Log: r.log}
	s.Handle("status", func(ctx context.Context, _ json.RawMessage) (any, error) {
		st := r.status()
		if p, ok := control.PeerFrom(ctx); !ok || (p.UID != 0 && p.UID != os.Getuid()) {
			st = st.zoneBlind()
		}
		return st, nil
	})
	s.Handle("health", func(context.Context, json.RawMessage) (any, error) { return r.healthReport(), nil })
	r.handleConsole(s)
	r.handleUpdate(s)
	if err := s.Listen(); err != nil {
		r.log.Error("no control socket: geogate status and health cannot reach this daemon", "err", err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Serve(ctx); err != nil {
			r.log.Error("control socket stopped", "err", err)
		}
	}()
	r.log.Info("control socket", "path", path)
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Second): // a stuck client must not hold up the stop budget
		}
		r.exports.stop() // a console's export, cut short: it leaves no file by its name
	}
}

// status collects the control socket's status answer.
func (r *run) status() Status {
	rep := r.health.Last()
	st := Status{
		Summary: r.summary(), GNSS: strings.TrimPrefix(r.gnssState(r.loop.Status()), "gnss "),
		Keys: r.keyEvents.Counts(), PolicyUnsigned: r.unsigned.Load(), Health: rep.String(), Healthy: rep.Healthy,
		Line: r.statusLine(), Clock: r.clockProblem(),
	}
	if l := r.store.Log(); l != nil {
		s := l.Stats()
		st.Storing, st.Durable, st.Syncs = true, s.Durable, s.Syncs
	} else {
		st.NotStoring = shortErr(r.store.Why())
	}
	return st
}

// healthReport collects the control socket's health answer: the watchdog's checks, and
// what an A/B updater must also see before it commits a new image (docs/OTA.md): a policy
// in force that was verified against policy.trusted_keys, and a receiver that is absent
// (a documented reason: unplugged or not fitted) or working, not one that is there and
// failing or sending bytes that do not decode, and a GNSS time that agrees with the
// daemon's notion of now (daemon/sanity.go). These do not stop the watchdog: a daemon
// without them keeps running, fail closed.
func (r *run) healthReport() Health {
	rep := r.health.Last()
	h := Health{Healthy: rep.Healthy, Storing: r.store.Log() != nil}
	for _, p := range rep.Problems {
		h.Problems = append(h.Problems, fmt.Sprintf("%s: %v", p.Check, p.Err))
	}
	switch p := r.holder.Policy(); {
	case p == nil:
		h.Problems = append(h.Problems, "policy: none in force (nothing is stored)")
	case r.unsigned.Load():
		h.Policy = p.Summary().Version
		h.Problems = append(h.Problems, "policy: loaded without signature verification (policy.trusted_keys is empty)")
	default:
		h.Policy = p.Summary().Version
	}
	if g := r.gnssState(r.loop.Status()); g == "gnss down" {
		h.Problems = append(h.Problems, "gnss: the receiver is there but failing (see the log)")
	}
	if p := r.gnssUndecoded(); p != "" {
		h.Problems = append(h.Problems, p)
	}
	h.Healthy = rep.Healthy && len(h.Problems) == 0
	return h
}
