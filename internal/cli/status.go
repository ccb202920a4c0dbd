package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/daemon"
)

const (
	statusUsage = "status [-json] [-socket PATH | -config FILE]: the running daemon's state, read over its control socket"
	healthUsage = "health [-socket PATH | -config FILE]: exit 0 only when the running daemon is healthy (for systemd and OTA updaters)"
)

// controlTimeout bounds one exchange with the daemon: it answers from memory.
const controlTimeout = 5 * time.Second

// socketFlags adds -socket and -config to fl and returns a function giving the socket path.
func socketFlags(fl *flag.FlagSet) func() (string, error) {
	socket := fl.String("socket", "", "the daemon's control `PATH` (default: control.socket of -config, else "+config.Default().Control.Socket+")")
	cfgFile := fl.String("config", "", "read the socket path from the daemon's configuration `FILE`")
	return func() (string, error) {
		switch {
		case *socket != "" && *cfgFile != "":
			return "", fmt.Errorf("-socket and -config exclude each other: %w", errUsage)
		case *socket != "":
			return *socket, nil
		case *cfgFile != "":
			c, err := config.Load(*cfgFile)
			if err != nil {
				return "", err
			}
			return c.Control.Socket, nil
		}
		return config.Default().Control.Socket, nil
	}
}

// call asks the daemon at path for cmd's answer; args may be nil.
func call(path, cmd string, args, out any) error {
	if path == "off" {
		return fmt.Errorf("the control socket is off (control.socket = \"off\"): %w", control.ErrNotRunning)
	}
	c, err := control.Dial(path, controlTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(cmd, args, out)
}

// statusMain implements "geogate status".
func statusMain(args []string, stdout, stderr io.Writer) error {
	var asJSON *bool
	var st daemon.Status
	if err := askDaemon("status", statusUsage, args, stderr, func(fl *flag.FlagSet) {
		asJSON = fl.Bool("json", false, "print the whole answer as JSON")
	}, &st); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	if st.ZoneBlind {
		storing := "storing"
		if !st.Storing {
			storing = "STORING NOTHING (" + st.NotStoring + ")"
		}
		fmt.Fprintf(stdout, "%s, %s, policy v%d; ran %s: fixes %d, frames %d received (what the policy made of them is shown to root and the service user only)\n",
			st.Health, storing, st.PolicyVersion, st.Uptime.Round(time.Second), st.Fixes, st.Frames)
		return nil
	}
	fmt.Fprintln(stdout, st.Line)
	fmt.Fprintln(stdout, st.Summary)
	return nil
}

// askDaemon parses the flags of a command that asks the running daemon (-socket, -config and
// those flags adds), sends the command name and decodes the answer into out.
func askDaemon(name, usage string, args []string, stderr io.Writer, flags func(*flag.FlagSet), out any) error {
	fl := newFlags(name, stderr, "usage: geogate "+usage)
	if flags != nil {
		flags(fl)
	}
	socket := socketFlags(fl)
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return errUsage
	}
	path, err := socket()
	if err != nil {
		return err
	}
	if err := call(path, name, nil, out); err != nil {
		return explainNotRunning(err)
	}
	return nil
}

// healthMain implements "geogate health": exit 0 healthy, 1 unhealthy or unreachable.
func healthMain(args []string, stdout, stderr io.Writer) error {
	var h daemon.Health
	if err := askDaemon("health", healthUsage, args, stderr, nil, &h); err != nil {
		return err
	}
	if !h.Healthy {
		return fmt.Errorf("unhealthy: %s", strings.Join(h.Problems, "; "))
	}
	fmt.Fprintf(stdout, "healthy: policy v%d, storing %v\n", h.Policy, h.Storing)
	return nil
}

// explainNotRunning adds what to do when no daemon answers.
func explainNotRunning(err error) error {
	if errors.Is(err, control.ErrNotRunning) {
		return fmt.Errorf("%w; is geogate running (systemctl status geogate), and is -socket its control.socket?", err)
	}
	return err
}
