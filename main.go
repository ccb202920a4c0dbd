// Command geogate is a vehicle-side geodata compliance gate: it reads GNSS fixes and camera
// frames, decides per fix and per frame what a policy allows to exist, and stores only that,
// encrypted. See README.md; the subcommands live in internal/cli.
package main

import (
	"os"

	"github.com/geogate/geogate/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
