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
	fl := flag.NewFlagSet("status", flag.ContinueOnError)
	fl.SetOutput(stderr)
	asJSON := fl.Bool("json", false, "print the whole answer as JSON")
	socket := socketFlags(fl)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: geogate "+statusUsage)
		fl.PrintDefaults()
	}
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
	var st daemon.Status
	if err := call(path, "status", nil, &st); err != nil {
		return explainNotRunning(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Fprintln(stdout, st.Line)
	fmt.Fprintln(stdout, st.Summary)
	return nil
}

// healthMain implements "geogate health": exit 0 healthy, 1 unhealthy or unreachable.
func healthMain(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("health", flag.ContinueOnError)
	fl.SetOutput(stderr)
	socket := socketFlags(fl)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: geogate "+healthUsage)
		fl.PrintDefaults()
	}
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
	var h daemon.Health
	if err := call(path, "health", nil, &h); err != nil {
		return explainNotRunning(err)
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
