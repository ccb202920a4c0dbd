package daemon

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/geogate/geogate/policy"
)

// loadPolicy reads, verifies and swaps in the bundle: at start (reload false) a failure
// leaves no policy, so nothing is stored; on SIGHUP (reload true) the running policy stays.
func (r *run) loadPolicy(reload bool) {
	fsys, where := r.policyFS()
	if fsys == nil {
		if !reload {
			r.log.Error("NO POLICY: no policy directory configured and none built in; storing nothing")
		}
		return
	}
	keyFail, bundleFail, ok := "NO POLICY: a trusted policy key is unusable, so no bundle can be verified; storing nothing until it is fixed (SIGHUP)",
		"NO POLICY: bundle rejected; storing nothing until a valid one is loaded (SIGHUP)", "policy loaded"
	if reload {
		keyFail, bundleFail, ok = "policy reload rejected: a trusted policy key is unusable; the running policy stays in force",
			"policy reload rejected; the running policy stays in force", "policy reloaded"
	}
	opts, signature, err := r.policyOptions()
	if err != nil {
		r.log.Error(keyFail, "bundle", where, "err", err)
		r.audit.policyRejected(err, policyKeyIDs(r.cfg))
		return
	}
	if opts == nil && !r.opts.Dev {
		r.log.Warn("policy unsigned: no policy.trusted_keys, so whatever bundle is in place is enforced unverified; licensed vehicles must set trusted_keys (docs/POLICY.md, \"Signed bundles\")", "bundle", where)
	}
	if dir := r.cfg.Policy.Dir; dir != "" {
		if err := policy.CheckBundleDir(dir); err != nil {
			r.log.Error(bundleFail, "bundle", where, "err", err)
			r.audit.policyRejected(err, policyKeyIDs(r.cfg))
			return
		}
	}
	p, from, signed, err := r.reloadPolicy(fsys, where, opts)
	if err != nil {
		r.log.Error(bundleFail, "bundle", where, "signature", signature, "err", err)
		r.audit.policyRejected(err, policyKeyIDs(r.cfg))
		return
	}
	r.unsigned.Store(!signed)
	r.log.Info(ok, "bundle", from, "signature", signature, "summary", policySummary(p))
	r.audit.policyLoaded(p, policyKeyIDs(r.cfg))
}

// policyStatus is the status line's policy part: "policy v3", with " | policy unsigned" when
// it was loaded without signature verification, or "NO POLICY" for version 0.
func (r *run) policyStatus(version uint64) string {
	switch {
	case version == 0:
		return "NO POLICY"
	case r.unsigned.Load():
		return fmt.Sprintf("policy v%d | policy unsigned", version)
	}
	if p := r.holder.Policy(); p != nil && p.Expired() {
		return fmt.Sprintf("policy v%d EXPIRED: storing nothing", version)
	}
	return fmt.Sprintf("policy v%d", version)
}

// policyOptions reads the configured trusted keys afresh (at every load, so a rotated key
// takes effect with the next SIGHUP) and returns the options that make a bundle verify
// against them, and how the bundle is checked, for the log. No keys configured: nil
// options, unsigned bundles accepted. An unusable key file is an error: the caller then
// rejects the bundle (fail closed) rather than load it unverified.
func (r *run) policyOptions() (*policy.LoadOptions, string, error) {
	files := r.cfg.Policy.TrustedKeys
	if len(files) == 0 {
		return nil, "not checked (no policy.trusted_keys: development only)", nil
	}
	keys, err := policy.ReadTrustedKeys(files)
	if err != nil {
		return nil, "", err
	}
	return &policy.LoadOptions{Verify: policy.SignedBy(keys...)}, fmt.Sprintf("ed25519, %d trusted keys", len(keys)), nil
}

func (r *run) policyFS() (fs.FS, string) {
	if dir := r.cfg.Policy.Dir; dir != "" {
		return os.DirFS(dir), dir
	}
	return r.opts.BuiltinPolicy, "built-in sample"
}

func policySummary(p *policy.Policy) string {
	s := p.Summary()
	return fmt.Sprintf("%s v%d, %d zones, %d vertices", s.ID, s.Version, s.Zones, s.Vertices)
}
