package main

import (
	"fmt"
	"io"
)

// gnssMain implements "geogate gnss ...". TODO(gnss helper): decode subcommand.
func gnssMain(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented")
}
