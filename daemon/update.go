package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/update"
)

// expiryCheck is how often the update goroutine compares update.Installer.Now with the
// running policy's expiry (Decide catches the system clock passing it at once; this catches
// the signed time or the build time passing it) and retries a state directory that could
// not be opened.
const expiryCheck = 10 * time.Second

// installer opens the policy installer on update.state_dir at first use, and again at
// every call while that fails (the data partition may not be mounted yet). Without it no
// policy loads: the anti-rollback floor is unknown, so nothing is stored (fail closed).
func (r *run) installer() (*update.Installer, error) {
	r.updMu.Lock()
	defer r.updMu.Unlock()
	if r.upd != nil {
		return r.upd, nil
	}
	cfg := update.Config{Dir: r.cfg.Update.StateDirOrDefault(r.cfg.DataDir), Threshold: r.cfg.Update.KeyThreshold, Log: r.log}
	if files := r.cfg.Policy.TrustedKeys; len(files) > 0 {
		keys, err := policy.ReadTrustedKeys(files)
		if err != nil {
			r.log.Error("over-the-air policy updates off: a trusted key is unusable", "err", err)
		}
		cfg.Keys = keys
	}
	in, err := update.Open(cfg, &r.holder)
	if err != nil {
		if !r.updDown.Swap(true) {
			r.log.Error("NO POLICY: the policy state (anti-rollback floor) cannot be opened; storing nothing, retrying", "dir", cfg.Dir, "err", err)
		}
		return nil, err
	}
	r.upd = in
	return in, nil
}

// reloadPolicy puts the better of the installed bundle and the factory one (fsys, checked
// with opts) in force, refusing anything below the anti-rollback floor. It reports where the
// policy came from and whether its signature was checked.
func (r *run) reloadPolicy(fsys fs.FS, factory string, opts *policy.LoadOptions) (*policy.Policy, string, bool, error) {
	in, err := r.installer()
	if err != nil {
		return nil, "", false, fmt.Errorf("daemon: no policy state: %w", err)
	}
	p, where, err := in.Load(fsys, opts)
	if err != nil {
		return nil, "", false, err
	}
	if where == "factory" {
		where = factory
	}
	if p.Expired() {
		r.log.Error("POLICY EXPIRED: its signed expiry has passed; every fix is dropped as policy-expired until a fresh bundle is installed",
			"version", p.Version(), "expires", p.Summary().Expires)
		r.audit.policyExpired(p)
	}
	return p, where, opts != nil || where != factory, nil
}

// startIncoming runs the update goroutine until ctx ends: after the first policy load it
// watches update.incoming for bundles, checks the running policy's expiry every
// expiryCheck, and retries a policy state directory that could not be opened (then loads
// the policy as at start).
func (r *run) startIncoming(ctx context.Context, firstLoad <-chan struct{}) {
	dir := r.cfg.Update.IncomingOrDefault(r.cfg.DataDir)
	go func() {
		<-firstLoad
		t := time.NewTicker(expiryCheck)
		defer t.Stop()
		watching := dir == "off"
		for {
			if in, err := r.installer(); err == nil {
				if r.updDown.Swap(false) {
					r.log.Info("policy state open")
					r.loadPolicy(false)
				}
				if !watching {
					watching = true
					go r.watchIncoming(ctx, in, dir)
				}
				if in.CheckExpiry() {
					r.log.Error("POLICY EXPIRED: its signed expiry has passed; every fix is dropped as policy-expired until a fresh bundle is installed")
					r.audit.policyExpired(r.holder.Policy())
				}
			}
			r.gnssUndecoded() // log changes even when nobody asks for health
			r.clockProblem()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// watchIncoming installs every bundle dropped into dir until ctx ends.
func (r *run) watchIncoming(ctx context.Context, in *update.Installer, dir string) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		r.log.Error("no incoming directory: bundles can only be installed with geogate policy install", "dir", dir, "err", err)
		return
	}
	r.log.Info("watching for policy bundles", "incoming", dir)
	err := update.Watch(ctx, dir, func(name string) {
		p, err := in.Take(dir, name)
		if err != nil {
			r.log.Error("policy bundle rejected; the running policy stays in force", "bundle", name,
				"moved_to", filepath.Join(dir, "rejected", name), "err", err)
			return
		}
		r.unsigned.Store(false)
		r.log.Info("policy bundle installed", "bundle", name, "summary", policySummary(p))
	})
	if err != nil {
		r.log.Error("not watching the incoming directory; install bundles with geogate policy install", "dir", dir, "err", err)
	}
}

// InstallArgs are the arguments of the control socket's "install" command.
type InstallArgs struct {
	// Dir is the bundle directory, an absolute path the daemon can read.
	Dir string `json:"dir"`
}

// Installed is the answer of the control socket's "install" command.
type Installed struct {
	// Version is the policy version now in force.
	Version uint64 `json:"version"`
	// Floor is the anti-rollback floor after the install.
	Floor uint64 `json:"floor"`
	// Summary describes the policy: id, version, zones, vertices.
	Summary string `json:"summary"`
}

// handleUpdate adds the control socket's "install" command: install a bundle directory
// as the incoming directory would (geogate policy install).
func (r *run) handleUpdate(s *control.Server) {
	s.Handle("install", func(_ context.Context, raw json.RawMessage) (any, error) {
		var a InstallArgs
		if err := json.Unmarshal(raw, &a); err != nil || !filepath.IsAbs(a.Dir) {
			return nil, errors.New("daemon: install: want {\"dir\": ABSOLUTE PATH}")
		}
		in, err := r.installer()
		if err != nil {
			return nil, fmt.Errorf("daemon: install: no policy state: %w", err)
		}
		p, err := in.Install(a.Dir)
		if err != nil {
			r.log.Error("policy install rejected; the running policy stays in force", "bundle", a.Dir, "err", err)
			return nil, err
		}
		r.unsigned.Store(false)
		r.log.Info("policy bundle installed", "bundle", a.Dir, "summary", policySummary(p))
		return Installed{Version: p.Version(), Floor: in.State().Floor, Summary: policySummary(p)}, nil
	})
}
