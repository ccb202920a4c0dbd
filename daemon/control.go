package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"strconv"
	"time"

	"github.com/geogate/geogate/control"
)

// Status is what the control socket's "status" command returns: counts since start and the
// state of each part, never a position, a zone or the time of a decision.
type Status struct {
	Summary
	// Storing is false while nothing can be stored (no key, no log: fail closed).
	Storing bool `json:"storing"`
	// PolicyUnsigned is true while the running policy was loaded without verification.
	PolicyUnsigned bool `json:"policy_unsigned"`
	// Health is "ok" or "unhealthy: ..." as the watchdog sees it.
	Health string `json:"health"`
	// Healthy is true when every health check passes.
	Healthy bool `json:"healthy"`
	// Line is the status line as the journal and STATUS= show it.
	Line string `json:"line"`
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
	s.Handle("status", func(context.Context, json.RawMessage) (any, error) { return r.status(), nil })
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
	}
}

// status collects the control socket's status answer.
func (r *run) status() Status {
	rep := r.health.Last()
	return Status{
		Summary: r.summary(), Storing: r.store.Log() != nil, PolicyUnsigned: r.unsigned.Load(),
		Health: rep.String(), Healthy: rep.Healthy, Line: r.statusLine(),
	}
}

// healthReport collects the control socket's health answer: the watchdog's checks, and
// what an A/B updater must also see before it commits a new image (docs/OTA.md): a policy
// in force that was verified against policy.trusted_keys, and a receiver that is absent
// (a documented reason: unplugged or not fitted) or working, not one that is there and
// failing. These do not stop the watchdog: a daemon without them keeps running, fail closed.
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
	h.Healthy = rep.Healthy && len(h.Problems) == 0
	return h
}
