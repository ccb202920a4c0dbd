package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/daemon"
	"github.com/geogate/geogate/policy"
	policyupdate "github.com/geogate/geogate/update"
)

// policyInstall implements "geogate policy install": over the control socket when the
// daemon runs, else directly into update.state_dir (the daemon loads it at its next start).
func policyInstall(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("policy install", stderr,
		"usage: geogate policy install [-config FILE | -socket PATH] DIR",
		"Installs the signed bundle in DIR as the incoming directory would: through the running",
		"daemon (control socket), or, when none runs, into update.state_dir for its next start.",
		"A stopped daemon's state must be written as the service user (sudo -u geogate ...).",
	)
	cfgFile := fl.String("config", "/etc/geogate/geogate.toml", "the daemon's configuration `FILE`: control socket, update.state_dir, policy.trusted_keys")
	socket := fl.String("socket", "", "install only through the daemon at this control socket `PATH` (no -config; e.g. var/control.sock under make run)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return errUsage
	}
	dir, err := filepath.Abs(fl.Arg(0))
	if err != nil {
		return err
	}
	var got daemon.Installed
	if *socket != "" {
		both := false
		fl.Visit(func(f *flag.Flag) { both = both || f.Name == "config" })
		if both {
			fmt.Fprintln(stderr, "geogate policy install: -socket and -config exclude each other")
			fl.Usage()
			return errUsage
		}
		if err := call(*socket, "install", daemon.InstallArgs{Dir: dir}, &got); err != nil {
			return fmt.Errorf("install %s: %w", dir, explainNotRunning(err))
		}
		fmt.Fprintf(stdout, "installed in the running daemon: %s (anti-rollback floor %d)\n", got.Summary, got.Floor)
		return nil
	}
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		return err
	}
	err = call(cfg.Control.Socket, "install", daemon.InstallArgs{Dir: dir}, &got)
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "installed in the running daemon: %s (anti-rollback floor %d)\n", got.Summary, got.Floor)
		return nil
	case !errors.Is(err, control.ErrNotRunning):
		return fmt.Errorf("install %s: %w", dir, err)
	}
	keys, err := policy.ReadTrustedKeys(cfg.Policy.TrustedKeys)
	if err != nil {
		return err
	}
	var h policy.Holder
	in, err := policyupdate.Open(policyupdate.Config{Dir: cfg.Update.StateDirOrDefault(cfg.DataDir), Keys: keys, Threshold: cfg.Update.KeyThreshold}, &h)
	if err != nil {
		return err
	}
	p, err := in.Install(dir)
	if err != nil {
		return fmt.Errorf("install %s: %w", dir, err)
	}
	fmt.Fprintf(stdout, "no daemon running; installed for its next start: %s v%d (anti-rollback floor %d)\n", p.Summary().ID, p.Version(), in.State().Floor)
	return nil
}
