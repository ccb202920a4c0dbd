// Package cli is geogate's command line: [Main] dispatches the subcommands (run, gnss, policy,
// store, audit, upload, keygen, camera, map, version), each in its own file, which parse
// flags, call into the packages and print. It holds no logic of its own beyond flags and output.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
)

// version is set at build time with -ldflags "-X github.com/geogate/geogate/internal/cli.version=...".
var version = "dev"

// command is one subcommand: run gets the arguments after its name.
type command struct {
	usage string
	run   func(args []string, stdout, stderr io.Writer) error
}

// commands is the dispatch table, one entry per subcommand file.
var commands = map[string]command{
	"version":   {"print the version and build information", versionMain},
	"gnss":      {"gnss decode [-stats] [-nochecksum-ok] [-date-floor YYYY-MM-DD] [FILE|-]: decode NMEA 0183 into fixes (JSON lines)", gnssMain},
	"policy":    {policyUsage, policyMain},
	"store":     {storeUsage, storeMain},
	"audit":     {auditUsage, auditMain},
	"keygen":    {keygenUsage, keygenMain},
	"key":       {keyUsage, keyMain},
	"camera":    {"camera list | camera snap [-device D] [-synthetic] -o FILE.jpg", cameraMain},
	"run":       {runUsage, runMain},
	"status":    {statusUsage, statusMain},
	"health":    {healthUsage, healthMain},
	"mark-good": {markGoodUsage, markGoodMain},
	"map":       {mapUsage, mapMain},
	"console":   {consoleUsage, consoleMain},
	"upload":    {uploadUsage, uploadMain},
}

// errUsage means the arguments were wrong; the subcommand has already printed its usage.
var errUsage = errors.New("usage")

// Main runs the subcommand named by args[0] with the rest of args and returns the process's
// exit code: 0 done (help included), 1 failed (the error is printed to stderr), 2 bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if isHelp(args[0]) {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "geogate: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(args[1:], stdout, stderr); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0 // help was asked for and printed
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(stderr, "geogate %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// groupUsage ends a command with subcommands whose first argument is not one: help asked for
// is flag.ErrHelp (exit 0), anything else is errUsage (exit 2); print the usage first.
func groupUsage(args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		return flag.ErrHelp
	}
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: geogate COMMAND [ARGS]")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].usage)
	}
}

func versionMain(args []string, stdout, _ io.Writer) error {
	rev := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "geogate %s (%s) %s %s/%s\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// newFlags is the flag set of a subcommand: errors and usage go to stderr, and -h or a
// misuse prints the usage lines, then the flags.
func newFlags(name string, stderr io.Writer, usage ...string) *flag.FlagSet {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		for _, line := range usage {
			fmt.Fprintln(stderr, line)
		}
		fl.PrintDefaults()
	}
	return fl
}
