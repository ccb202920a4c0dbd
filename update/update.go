package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/policy"
)

// Errors a caller may branch on with errors.Is.
var (
	// ErrDowngrade: the bundle's version is below the floor, the highest version ever in
	// force on this unit (anti-rollback).
	ErrDowngrade = errors.New("update: version below the installed floor")
	// ErrExpired: the bundle's signed expiry time has passed (by Now): installing it would
	// put nothing in force.
	ErrExpired = errors.New("update: bundle expired")
	// ErrNoKeys: no trusted keys are configured, so no bundle can be verified; over-the-air
	// installs need policy.trusted_keys.
	ErrNoKeys = errors.New("update: no trusted keys")
	// ErrState: state.json cannot be read or makes no sense; the floor is unknown, so
	// nothing is loaded (fail closed).
	ErrState = errors.New("update: bad state file")
	// ErrTooLarge: the bundle holds more than MaxBundleBytes or MaxBundleFiles.
	ErrTooLarge = errors.New("update: bundle too large")
)

// Limits on what an install copies: a bundle is a policy, not a disk image.
const (
	// MaxBundleBytes is the most an installed bundle may hold: 4 policy.MaxFileBytes files.
	MaxBundleBytes = 4 * policy.MaxFileBytes
	// MaxBundleFiles is the most files (and directories) a bundle may hold.
	MaxBundleFiles = 1024
)

// File and directory names in the state directory.
const (
	stateFile  = "state.json"
	bundlesDir = "bundles"
	stagingPfx = ".staging-"
)

// buildTime is set with the linker's -X flag (the Makefile sets the commit's time, RFC 3339):
// the binary cannot have been built before it, so Now never reads earlier. Empty: unknown.
var buildTime string

// BuildTime returns the build time linked into the binary, zero if none.
func BuildTime() time.Time { return mustBuildTime(buildTime) }

func mustBuildTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(fmt.Sprintf("update: link-time build time %q: %v", s, err))
	}
	return t
}

// Config configures an Installer.
type Config struct {
	// Dir is the state directory. Required.
	Dir string
	// Keys and Threshold are the configured trust set (policy.trusted_keys and
	// update.key_threshold): Threshold of Keys must sign a bundle, until an installed bundle
	// rotates them (next_keys). No keys: nothing can be installed (ErrNoKeys).
	Keys      []ed25519.PublicKey
	Threshold int
	// Clock is the system clock. Nil: internal/clock.Now.
	Clock func() time.Time
	// Build is the build time. Zero: BuildTime().
	Build time.Time
	// Log receives installs, refusals and expiries. Nil: discarded.
	Log *slog.Logger
}

// State is what state.json holds: the anti-rollback floor and what is installed.
type State struct {
	// Floor is the highest policy version ever in force; nothing lower loads. 0: none yet.
	Floor uint64 `json:"floor"`
	// Current names the installed bundle's directory under bundles/, "" for none.
	Current string `json:"current,omitempty"`
	// Digest is the installed bundle's policy.Spec.Digest, hex: it was verified when it
	// was installed, and only the same content loads from Current.
	Digest string `json:"digest,omitempty"`
	// Signed is the latest "issued" time of a verified bundle: Now never reads earlier.
	Signed time.Time `json:"signed,omitzero"`
	// Keys and Threshold are the rotated trust set (base64 ed25519 public keys), empty
	// while the configured one applies.
	Keys      []string `json:"keys,omitempty"`
	Threshold int      `json:"threshold,omitempty"`
}

// Installer installs bundles into its state directory and swaps them into a Holder. Its
// methods are safe for concurrent use; installs are serialised.
type Installer struct {
	cfg    Config
	holder *policy.Holder
	ops    fileOps
	mu     sync.Mutex
	st     State
	keys   []ed25519.PublicKey // st.Keys decoded
}

// Open reads the state directory (creating it, mode 0700, if missing) and removes what an
// interrupted install left there. The holder receives every policy put in force.
func Open(cfg Config, h *policy.Holder) (*Installer, error) { return open(cfg, h, osOps{}) }

func open(cfg Config, h *policy.Holder, ops fileOps) (*Installer, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Now
	}
	if cfg.Build.IsZero() {
		cfg.Build = BuildTime()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Threshold = max(cfg.Threshold, 1)
	in := &Installer{cfg: cfg, holder: h, ops: ops}
	for _, d := range []string{cfg.Dir, filepath.Join(cfg.Dir, bundlesDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("update: state directory: %w", err)
		}
		if err := policy.CheckBundleDir(d); err != nil {
			return nil, fmt.Errorf("update: state directory: %w", err)
		}
	}
	b, err := os.ReadFile(filepath.Join(cfg.Dir, stateFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	default:
		if err := in.setState(b); err != nil {
			return nil, err
		}
	}
	in.collect()
	return in, nil
}

// setState decodes and checks state.json.
func (in *Installer) setState(b []byte) error {
	name := filepath.Join(in.cfg.Dir, stateFile)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%w: %s: %w (restore it from a backup, or remove it to lose the anti-rollback floor)", ErrState, name, err)
	}
	var keys []ed25519.PublicKey
	for _, k := range st.Keys {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: %s: keys: %q is not an ed25519 public key", ErrState, name, k)
		}
		keys = append(keys, raw)
	}
	if len(keys) > 0 && (st.Threshold < 1 || st.Threshold > len(keys)) || st.Current != "" && (!fs.ValidPath(st.Current) || strings.Contains(st.Current, "/")) {
		return fmt.Errorf("%w: %s: inconsistent (threshold %d of %d keys, current %q)", ErrState, name, st.Threshold, len(keys), st.Current)
	}
	in.st, in.keys = st, keys
	return nil
}

// collect removes staging directories and bundles other than the current one: leftovers of
// an interrupted or superseded install. Failures only leave garbage.
func (in *Installer) collect() {
	dir := filepath.Join(in.cfg.Dir, bundlesDir)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != in.st.Current {
			in.ops.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// State returns a copy of the persisted state.
func (in *Installer) State() State {
	in.mu.Lock()
	defer in.mu.Unlock()
	st := in.st
	st.Keys = append([]string(nil), st.Keys...)
	return st
}

// Now returns the Installer's time: the latest of the system clock, the last verified
// signed time and the build time. It never reads earlier than a bundle it accepted was
// issued, whatever the system clock says.
func (in *Installer) Now() time.Time {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.now()
}

func (in *Installer) now() time.Time {
	t := in.cfg.Clock()
	for _, u := range []time.Time{in.st.Signed, in.cfg.Build} {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// trust returns the trust set bundles are verified with.
func (in *Installer) trust() ([]ed25519.PublicKey, int) {
	if len(in.keys) > 0 {
		return in.keys, in.st.Threshold
	}
	return in.cfg.Keys, in.cfg.Threshold
}

// Install copies the bundle directory src into the state directory, verifies it (k-of-n
// signature, floor, expiry), compiles it, commits it and swaps it into the holder. On any
// error nothing changes: the running policy and the state stay. Installing the bundle that
// is already installed succeeds and changes nothing (an OTA client may deliver twice).
func (in *Installer) Install(src string) (*policy.Policy, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	keys, k := in.trust()
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: set policy.trusted_keys to the keys that sign bundles", ErrNoKeys)
	}
	bundles := filepath.Join(in.cfg.Dir, bundlesDir)
	staging := filepath.Join(bundles, stagingPfx+rand.Text()[:8])
	committed := false
	defer func() {
		if !committed {
			in.ops.RemoveAll(staging)
		}
	}()
	if err := in.copyBundle(src, staging); err != nil {
		return nil, err
	}
	spec, err := policy.ReadSpec(os.DirFS(staging), &policy.LoadOptions{Verify: policy.SignedByThreshold(k, keys...)})
	if err != nil {
		return nil, fmt.Errorf("update: %s: %w", src, err)
	}
	digest := hex.EncodeToString(spec.Digest[:])
	if spec.Version == in.st.Floor && digest == in.st.Digest {
		in.cfg.Log.Info("policy bundle already installed", "version", spec.Version)
		if p := in.holder.Policy(); p != nil && p.Version() == spec.Version {
			return p, nil
		}
	} else if err := in.checkFloor(spec, digest); err != nil {
		return nil, err
	}
	now := in.now()
	if !spec.Expires.IsZero() && !now.Before(spec.Expires) {
		return nil, fmt.Errorf("%w: version %d expired at %s (now %s): sign a fresh one", ErrExpired, spec.Version, spec.Expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	p, err := policy.Compile(spec)
	if err != nil {
		return nil, fmt.Errorf("update: %s: %w", src, err)
	}
	name := fmt.Sprintf("v%d-%s", spec.Version, digest[:12])
	st := in.st
	var renamed []string // directories whose entries must be durable before the state names them
	if name != st.Current {
		final := filepath.Join(bundles, name)
		if err := in.ops.Rename(staging, final); err != nil {
			return nil, fmt.Errorf("update: install: %w", err)
		}
		committed = true // the staging name is gone; final is collected if the commit fails
		renamed = append(renamed, bundles)
	}
	st.Floor, st.Current, st.Digest = spec.Version, name, digest
	if spec.Issued.After(st.Signed) {
		st.Signed = spec.Issued.UTC()
	}
	if len(spec.NextKeys) > 0 {
		st.Keys, st.Threshold = nil, spec.NextThreshold
		for _, k := range spec.NextKeys {
			st.Keys = append(st.Keys, base64.StdEncoding.EncodeToString(k))
		}
	}
	if err := in.writeState(st, renamed...); err != nil {
		return nil, err
	}
	in.collect()
	if err := in.holder.Swap(p); err != nil {
		return nil, fmt.Errorf("update: installed version %d, but the running policy stays: %w", spec.Version, err)
	}
	if len(spec.NextKeys) > 0 {
		in.cfg.Log.Info("policy signing keys rotated", "version", spec.Version, "keys", len(spec.NextKeys), "threshold", spec.NextThreshold)
	}
	return p, nil
}

// checkFloor refuses a version below the floor, or at it with other content.
func (in *Installer) checkFloor(spec *policy.Spec, digest string) error {
	switch {
	case spec.Version < in.st.Floor:
		return fmt.Errorf("%w: version %d < floor %d (the highest version in force on this unit): a downgrade is refused", ErrDowngrade, spec.Version, in.st.Floor)
	case spec.Version == in.st.Floor && in.st.Digest != "" && digest != in.st.Digest:
		return fmt.Errorf("update: %w: version %d is installed with other content: raise version for every change", policy.ErrVersionReused, spec.Version)
	}
	return nil
}

// writeState commits st: temporary file, fsync, rename over state.json, fsync of the
// directory (the order of internal/atomicfile, done through the seam). The directories in
// after are synced with the temporary file, at once, so that what the state names is
// durable before the state is.
func (in *Installer) writeState(st State, after ...string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		panic("BUG: update: marshal state: " + err.Error())
	}
	b = append(b, '\n')
	name := filepath.Join(in.cfg.Dir, stateFile)
	tmp := name + ".tmp"
	for _, step := range []func() error{
		func() error { return in.ops.WriteFile(tmp, b, 0o600) },
		func() error { return in.ops.SyncAll([]string{tmp}, after) },
		func() error { return in.ops.Rename(tmp, name) },
		func() error { return in.ops.SyncDir(in.cfg.Dir) },
	} {
		if err := step(); err != nil {
			return fmt.Errorf("update: write %s: %w", name, err)
		}
	}
	return in.setState(b)
}

// copyBundle copies the regular files and directories of src into dst (created) and makes
// them durable. Symbolic links and other file types are refused, as policy bundles refuse
// them, and so are bundles beyond MaxBundleBytes or MaxBundleFiles.
func (in *Installer) copyBundle(src, dst string) error {
	info, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("update: bundle: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("update: bundle %s: not a directory (a bundle is a directory holding policy.toml)", src)
	}
	if err := in.ops.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	var total int64
	var dirs, written []string
	files := 0
	err = fs.WalkDir(os.DirFS(src), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if files++; files > MaxBundleFiles {
			return fmt.Errorf("%w: more than %d files", ErrTooLarge, MaxBundleFiles)
		}
		to := filepath.Join(dst, filepath.FromSlash(name))
		switch {
		case name == ".":
			dirs = append(dirs, dst)
			return nil
		case d.IsDir():
			dirs = append(dirs, to)
			return in.ops.Mkdir(to, 0o700)
		case !d.Type().IsRegular():
			return fmt.Errorf("%w: %s is not a regular file (%v); a bundle holds regular files and directories only", policy.ErrBadFile, name, d.Type())
		}
		data, err := readCapped(filepath.Join(src, filepath.FromSlash(name)), policy.MaxFileBytes)
		if err != nil {
			return err
		}
		if total += int64(len(data)); total > MaxBundleBytes {
			return fmt.Errorf("%w: more than %d MiB", ErrTooLarge, MaxBundleBytes>>20)
		}
		written = append(written, to)
		return in.ops.WriteFile(to, data, 0o600)
	})
	if err != nil {
		return fmt.Errorf("update: bundle %s: %w", src, err)
	}
	if err := in.ops.SyncAll(written, dirs); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

// readCapped reads a regular file of at most limit bytes, refusing anything else.
func readCapped(name string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || info.Size() > limit {
		return nil, fmt.Errorf("%w: %s: a regular file of at most %d MiB", policy.ErrBadFile, name, limit>>20)
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil && info.Size() > 0 {
		return nil, err
	}
	return data, nil
}

// Load puts the best policy in force at start and on SIGHUP: the installed bundle or the
// factory one (policy.dir or the built-in sample, verified with factoryOpts), whichever has
// the higher version, provided it is not below the floor; the floor then rises to it. A
// bundle past its expiry loads expired. It returns the policy and where it came from.
// factory may be nil.
func (in *Installer) Load(factory fs.FS, factoryOpts *policy.LoadOptions) (*policy.Policy, string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	var (
		best         *policy.Spec
		where        string
		errs         []error
		installedDir string
	)
	if in.st.Current != "" {
		installedDir = filepath.Join(in.cfg.Dir, bundlesDir, in.st.Current)
		spec, err := policy.ReadSpec(os.DirFS(installedDir), nil)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("installed bundle %s: %w", installedDir, err))
		case hex.EncodeToString(spec.Digest[:]) != in.st.Digest:
			errs = append(errs, fmt.Errorf("installed bundle %s: %w: its files changed since it was verified", installedDir, policy.ErrUnverified))
		default:
			best, where = spec, installedDir
		}
	}
	if factory != nil {
		spec, err := policy.ReadSpec(factory, factoryOpts)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("factory bundle: %w", err))
		case spec.Version < in.st.Floor:
			errs = append(errs, fmt.Errorf("factory bundle: %w: version %d < floor %d: a downgrade is refused", ErrDowngrade, spec.Version, in.st.Floor))
		case best == nil || spec.Version > best.Version:
			best, where = spec, "factory"
		}
	}
	if best == nil {
		if len(errs) == 0 {
			errs = append(errs, errors.New("none installed, no factory bundle"))
		}
		return nil, "", fmt.Errorf("update: no bundle to load: %w", errors.Join(errs...))
	}
	if where == "factory" && best.Version == in.st.Floor && in.st.Digest != "" && hex.EncodeToString(best.Digest[:]) != in.st.Digest {
		return nil, "", fmt.Errorf("update: factory bundle: %w: version %d is the floor with other content", policy.ErrVersionReused, best.Version)
	}
	if len(errs) > 0 {
		in.cfg.Log.Warn("policy bundle not loaded; another is", "err", errors.Join(errs...), "loading", where)
	}
	p, err := policy.Compile(best)
	if err != nil {
		return nil, "", fmt.Errorf("update: %s: %w", where, err)
	}
	now := in.now()
	if !best.Expires.IsZero() && !now.Before(best.Expires) {
		p.Expire()
	}
	if err := in.holder.Swap(p); err != nil {
		return nil, "", fmt.Errorf("update: %s: %w", where, err)
	}
	if best.Version > in.st.Floor || best.Issued.After(in.st.Signed) {
		st := in.st
		st.Floor = max(st.Floor, best.Version)
		if best.Issued.After(st.Signed) {
			st.Signed = best.Issued.UTC()
		}
		if err := in.writeState(st); err != nil {
			in.cfg.Log.Error("cannot raise the anti-rollback floor; it rises at the next load", "err", err)
		}
	}
	if where != "factory" {
		where = path.Join("installed", in.st.Current)
	}
	return p, where, nil
}

// CheckExpiry expires the running policy once Now passes its signed expiry time, and
// reports whether it did so now (to log it once). A clock set back cannot undo it.
func (in *Installer) CheckExpiry() bool {
	p := in.holder.Policy()
	if p == nil {
		return false
	}
	s := p.Summary()
	if s.Expired || s.Expires.IsZero() || in.Now().Before(s.Expires) {
		return false
	}
	p.Expire()
	return true
}

// Take installs the bundle dir/name (an incoming drop) and removes it; a bundle that does
// not install is moved to dir/rejected/name, with the reason in dir/rejected/name.reason.
func (in *Installer) Take(dir, name string) (*policy.Policy, error) {
	src := filepath.Join(dir, name)
	p, err := in.Install(src)
	if err == nil {
		if rerr := os.RemoveAll(src); rerr != nil {
			in.cfg.Log.Warn("installed bundle not removed from the incoming directory", "bundle", src, "err", rerr)
		}
		return p, nil
	}
	rej := filepath.Join(dir, "rejected")
	if merr := os.MkdirAll(rej, 0o700); merr == nil {
		os.RemoveAll(filepath.Join(rej, name))
		if merr = os.Rename(src, filepath.Join(rej, name)); merr == nil {
			merr = os.WriteFile(filepath.Join(rej, name+".reason"), []byte(err.Error()+"\n"), 0o600)
		}
		if merr != nil {
			in.cfg.Log.Warn("rejected bundle not moved aside", "bundle", src, "err", merr)
		}
	}
	return nil, err
}
