package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/daemon"
	"github.com/geogate/geogate/examples"
	"github.com/geogate/geogate/policy"
)

const runUsage = "run -config FILE | run -dev [-data DIR]: the daemon (-dev: built-in simulation, no hardware)"

// runMain implements "geogate run".
func runMain(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("run", stderr, "usage: geogate "+runUsage)
	cfgFile := fl.String("config", "", "daemon configuration `FILE` (TOML, see examples/geogate.toml)")
	dev := fl.Bool("dev", false, "run the built-in simulation: GNSS drive past Beidaihe on a pseudo-terminal, synthetic camera, sample policy, a development key")
	data := fl.String("data", "var", "with -dev: `DIR` for the data log and the development key")
	speedup := fl.Float64("speedup", 10, "with -dev: play the simulated drive this many times faster than real time")
	if err := fl.Parse(args); err != nil {
		return err
	}
	var misuse string
	switch {
	case *cfgFile == "" && !*dev:
		misuse = "want -config FILE (a unit) or -dev (the built-in simulation)"
	case *cfgFile != "" && *dev:
		misuse = "-config and -dev exclude each other"
	case fl.NArg() > 0:
		misuse = fmt.Sprintf("unexpected arguments %q", fl.Args())
	case !*dev:
		fl.Visit(func(f *flag.Flag) {
			if f.Name == "data" || f.Name == "speedup" {
				misuse = "-" + f.Name + " applies to -dev only; a unit's config sets data_dir and gnss.speedup"
			}
		})
	}
	if misuse != "" {
		fmt.Fprintln(stderr, "geogate run: "+misuse)
		fl.Usage()
		return errUsage
	}
	var cfg *config.Config
	if *dev {
		var err error
		if cfg, err = devConfig(*data, *speedup, stderr); err != nil {
			return err
		}
	} else {
		var err error
		if cfg, err = config.Load(*cfgFile); err != nil {
			return err
		}
	}
	logger := newLogger(cfg.Log, stderr)
	opts := daemon.Options{Config: cfg, BuiltinPolicy: examples.SamplePolicy(), Log: logger, Dev: *dev, Version: version}
	if isTerminal(stdout) {
		opts.Status = stdout
	}
	sum, err := daemon.Run(context.Background(), opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "geogate:", sum)
	if *dev {
		fmt.Fprintf(stdout, "inspect the encrypted log:\n  ./geogate store verify -dir %[1]s -key %[2]s\n  ./geogate store cat -dir %[1]s -key %[2]s | head\n", cfg.DataDir, cfg.Storage.KeyFile)
	}
	return nil
}

// devConfig is the built-in simulation's config: everything simulated, data under dir, and a
// development key created there on first use.
func devConfig(dir string, speedup float64, stderr io.Writer) (*config.Config, error) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.GNSS.Source = "sim"
	cfg.GNSS.Speedup = speedup
	cfg.Camera.Source = "synthetic"
	// VGA fits the sample policy's public tier (307,200 pixels), so frames pass through as
	// the camera encoded them; at 1080p every frame would be re-encoded smaller.
	cfg.Camera.Width, cfg.Camera.Height = 640, 480
	cfg.StatusInterval.Duration = 10 * time.Second
	cfg.Storage.KeyFile = filepath.Join(dir, "dev.key")
	cfg.Control.Socket = filepath.Join(dir, "control.sock")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	err := board.GenerateKeyFile(cfg.Storage.KeyFile)
	switch {
	case err == nil:
		fmt.Fprintf(stderr, "geogate: created development key %s (mode 0600)\n", cfg.Storage.KeyFile)
	case !errors.Is(err, fs.ErrExist):
		return nil, err
	}
	// The development console token key: "geogate console -dev DIR" trusts its .pub, and
	// "geogate console token -key DIR/dev-console.key" signs with it. Development only: a
	// unit's console.token_keys name the workshop's keys.
	prefix := filepath.Join(dir, devConsoleKey)
	if _, err := os.Stat(prefix + ".pub"); errors.Is(err, fs.ErrNotExist) {
		if _, err := policy.WriteKeyPair(prefix); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "geogate: created development console token key %s.key (mode 0600)\n", prefix)
	}
	fmt.Fprintf(stderr, "geogate: console: ./geogate console -dev %s   (unlock: ./geogate console token -key %s.key -device ID -nonce N)\n", dir, prefix)
	if err := devPolicy(cfg, dir, stderr); err != nil {
		return nil, err
	}
	return cfg, nil
}

// devPolicy makes -dev run signed policies as a unit does: a development signing key pair
// (dir/policy-dev.key, .pub) made on first use, the sample bundle copied to dir/policy and
// signed with it, the .pub trusted, and dir/incoming watched for bundles it signed.
func devPolicy(cfg *config.Config, dir string, stderr io.Writer) error {
	prefix := filepath.Join(dir, "policy-dev")
	cfg.Policy.Dir = filepath.Join(dir, "policy")
	cfg.Policy.TrustedKeys = []string{prefix + ".pub"}
	cfg.Update.StateDir = filepath.Join(dir, "policy-state")
	cfg.Update.Incoming = filepath.Join(dir, "incoming")
	if _, err := os.Stat(prefix + ".key"); errors.Is(err, fs.ErrNotExist) {
		if _, err := policy.WriteKeyPair(prefix); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "geogate: created development policy signing key %s.key (trusted: %s.pub)\n", prefix, prefix)
	}
	if _, err := os.Stat(cfg.Policy.Dir); err == nil {
		return nil // signed on an earlier run (or edited and re-signed since): keep it
	}
	key, _, err := policy.ReadSigningKey(prefix + ".key")
	if err != nil {
		return err
	}
	defer clear(key)
	tmp := cfg.Policy.Dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.CopyFS(tmp, examples.SamplePolicy()); err != nil {
		return fmt.Errorf("dev policy: %w", err)
	}
	man, sig, err := policy.Sign(os.DirFS(tmp), key)
	if err != nil {
		return fmt.Errorf("dev policy: %w", err)
	}
	for name, data := range map[string][]byte{policy.ManifestHashes: man, policy.ManifestSignature: sig} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return fmt.Errorf("dev policy: %w", err)
		}
	}
	if err := os.Rename(tmp, cfg.Policy.Dir); err != nil {
		return fmt.Errorf("dev policy: %w", err)
	}
	fmt.Fprintf(stderr, "geogate: wrote the sample policy bundle to %s, signed with %s.key\n", cfg.Policy.Dir, prefix)
	return nil
}

// newLogger logs text on a terminal, and on journald the same without a timestamp (journald
// adds its own), or JSON when asked.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	switch {
	case c.Format == "json":
		return slog.New(slog.NewJSONHandler(w, opts))
	case c.Format == "auto" && !isTerminal(w):
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// isTerminal reports whether w is a character device (a terminal), not a pipe or file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
