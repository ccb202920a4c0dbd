package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/policy"
)

// policyStdin is where "geogate policy eval ... -" reads; tests replace it.
var policyStdin io.Reader = os.Stdin

const policyUsage = "usage: geogate policy check DIR | geogate policy eval -policy DIR [-tier NAME] [FILE.nmea|-]"

// policyMain implements "geogate policy check DIR" (validate a bundle, print a summary) and
// "geogate policy eval -policy DIR [FILE.nmea|-]" (decide every fix of an NMEA stream).
func policyMain(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, policyUsage)
		return errUsage
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], stdout, stderr)
	case "eval":
		return policyEval(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, policyUsage)
	return errUsage
}

func policyCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: geogate policy check DIR")
		fmt.Fprintln(stderr, "Validates the policy bundle in DIR and prints a summary, or the file, feature and fault.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	start := time.Now()
	p, err := policy.Load(os.DirFS(fs.Arg(0)), nil)
	if err != nil {
		return fmt.Errorf("check %s: %w", fs.Arg(0), err)
	}
	s := p.Summary()
	w := bufio.NewWriter(stdout)
	fmt.Fprintf(w, "policy %q version %d: OK (compiled in %v)\n", s.ID, s.Version, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(w, "zones:    %d (deny %d, coarsen %d, allow %d), %d vertices\n",
		s.Zones, s.ZonesByRule["deny"], s.ZonesByRule["coarsen"], s.ZonesByRule["allow"], s.Vertices)
	fmt.Fprintf(w, "gcj02:    %d region features, %d vertices\n", s.Regions, s.RegionVertices)
	for _, t := range s.Tiers {
		prec, px, datum := "full precision", "frames unlimited", "WGS-84"
		if t.PrecisionM > 0 {
			prec = "grid " + strconv.FormatFloat(t.PrecisionM, 'g', -1, 64) + " m"
		}
		if t.MaxImagePixels > 0 {
			px = "frames <= " + strconv.Itoa(t.MaxImagePixels) + " px"
		}
		if t.GCJ02 {
			datum = "GCJ-02 inside the region"
		}
		fmt.Fprintf(w, "tier:     %s: %s, %s, %s\n", t.Name, prec, px, datum)
	}
	def := "drop"
	if s.DefaultKeep {
		def = "keep"
	}
	fmt.Fprintf(w, "rules:    default %s, max_age %v, hysteresis %g m, %d time windows\n", def, s.MaxAge, s.HysteresisM, s.Windows)
	fmt.Fprintf(w, "index:    %.1f MiB\n", float64(s.IndexBytes)/(1<<20))
	return w.Flush()
}

func policyEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: geogate policy eval -policy DIR [-tier NAME] [FILE.nmea|-]")
		fmt.Fprintln(stderr, "Decodes NMEA 0183 and prints one JSON object per fix: time, action, zone, reason,")
		fmt.Fprintln(stderr, "and for kept or coarsened fixes the output lat, lon and datum. Each fix is judged")
		fmt.Fprintln(stderr, "fresh at its own UTC time (the local clock when it has none).")
		fs.PrintDefaults()
	}
	dir := fs.String("policy", "", "policy bundle directory (required)")
	tier := fs.String("tier", "public", "tier to decide at")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	var h policy.Holder
	if _, err := h.Reload(os.DirFS(*dir), nil); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if _, ok := findTier(h.Policy(), *tier); !ok {
		return fmt.Errorf("eval: policy %q has no tier %q", h.Policy().ID(), *tier)
	}
	e := h.NewEngine(*tier)
	in, name := policyStdin, "-"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		name = fs.Arg(0)
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		defer f.Close()
		in = f
	}
	w := bufio.NewWriter(stdout)
	d := gnss.NewDecoder(gnss.Config{})
	var line []byte
	err := d.Scan(in, time.Now, func(f *gnss.Fix) error {
		fix := *f
		now := fix.Received
		if fix.Has&gnss.HasTime != 0 {
			now = fix.Time
		}
		fix.Received = now
		line = appendDecision(line[:0], &fix, e.Decide(&fix, now))
		_, err := w.Write(line)
		return err
	})
	if err != nil {
		return fmt.Errorf("eval %s: %w", name, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("eval: write: %w", err)
	}
	return nil
}

func findTier(p *policy.Policy, name string) (policy.Tier, bool) {
	for _, t := range p.Summary().Tiers {
		if t.Name == name {
			return t, true
		}
	}
	return policy.Tier{}, false
}

// appendDecision appends one decision as a JSON line. The raw position never appears: a
// dropped fix has no lat/lon at all, a kept or coarsened one shows only the output.
func appendDecision(b []byte, f *gnss.Fix, d policy.Decision) []byte {
	b = append(b, '{')
	if f.Has&gnss.HasTime != 0 {
		b = append(b, `"time":"`...)
		b = f.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
		b = append(b, `",`...)
	}
	b = append(b, `"action":"`...)
	b = append(b, d.Action.String()...)
	b = append(b, `","zone":`...)
	zone, _ := json.Marshal(d.Zone) // a string always marshals
	b = append(b, zone...)
	b = append(b, `,"reason":"`...)
	b = append(b, d.Reason.String()...)
	b = append(b, '"')
	if d.Action != policy.Drop {
		b = append(b, `,"lat":`...)
		b = strconv.AppendFloat(b, d.Lat, 'f', 7, 64)
		b = append(b, `,"lon":`...)
		b = strconv.AppendFloat(b, d.Lon, 'f', 7, 64)
		b = append(b, `,"datum":"`...)
		b = append(b, d.Datum.String()...)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}
