package cli

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/geogate/geogate/daemon"
)

const markGoodUsage = "mark-good [-hold 120s] [-timeout 300s] [-good CMD] [-bad CMD] [-socket PATH | -config FILE]: after an A/B update, tell the updater the new slot is good once health held (else bad)"

// markGoodMain implements "geogate mark-good": it asks the daemon's health every -interval;
// once it has been healthy for -hold without a break it runs -good and exits 0; if that has
// not happened within -timeout it runs -bad and exits 1. Either command may be "" (none):
// as a Mender state script, the exit status is the verdict.
func markGoodMain(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("mark-good", stderr, "usage: geogate "+markGoodUsage)
	hold := fl.Duration("hold", 120*time.Second, "how long the daemon must stay healthy without a break")
	timeout := fl.Duration("timeout", 300*time.Second, "give up and mark the slot bad after this long (at least -hold)")
	interval := fl.Duration("interval", 5*time.Second, "how often to ask the daemon's health")
	good := fl.String("good", "rauc status mark-good", "`COMMAND` that marks the booted slot good (split at spaces, no shell); \"\": none")
	bad := fl.String("bad", "rauc status mark-bad", "`COMMAND` that marks the booted slot bad; \"\": none")
	socket := socketFlags(fl)
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 || *hold <= 0 || *interval <= 0 || *timeout < *hold {
		fmt.Fprintln(stderr, "geogate mark-good: want positive -hold and -interval, and -timeout >= -hold")
		fl.Usage()
		return errUsage
	}
	path, err := socket()
	if err != nil {
		return err
	}
	start := time.Now()
	var since time.Time // start of the current healthy streak; zero while unhealthy
	last := "no answer yet"
	for {
		var h daemon.Health
		err := call(path, "health", nil, &h)
		switch {
		case err != nil:
			since, last = time.Time{}, explainNotRunning(err).Error()
		case !h.Healthy:
			since, last = time.Time{}, "unhealthy: "+strings.Join(h.Problems, "; ")
		case since.IsZero():
			since, last = time.Now(), fmt.Sprintf("healthy: policy v%d, storing %v", h.Policy, h.Storing)
		}
		if !since.IsZero() && time.Since(since) >= *hold {
			fmt.Fprintf(stdout, "geogate mark-good: healthy for %v (%s); marking good\n", *hold, last)
			return runUpdater(*good)
		}
		if time.Since(start) >= *timeout {
			fmt.Fprintf(stdout, "geogate mark-good: not healthy for %v within %v (last: %s); marking bad\n", *hold, *timeout, last)
			if err := runUpdater(*bad); err != nil {
				return err
			}
			return fmt.Errorf("mark-good: not healthy for %v within %v: %s", *hold, *timeout, last)
		}
		time.Sleep(*interval)
	}
}

// runUpdater runs an updater's command line ("" does nothing).
func runUpdater(cmdline string) error {
	argv := strings.Fields(cmdline)
	if len(argv) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mark-good: %s: %w: %s", cmdline, err, strings.TrimSpace(string(out)))
	}
	return nil
}
