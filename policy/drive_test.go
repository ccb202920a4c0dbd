package policy

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// driveFixes returns a synthetic 10 Hz drive at 15 m/s (54 km/h) through waypoints
// (lat, lon), with GPS-like error: a slowly wandering bias (random walk, about 3 m) plus
// 1.5 m white noise. Where a waypoint has a dwell, the car parks there (engine idling at
// a checkpoint) while the error keeps jittering. Deterministic for a seed.
func driveFixes(seed uint64, start time.Time, wps []waypoint) []gnss.Fix {
	rng := rand.New(rand.NewPCG(seed, 7))
	const hz, speed = 10, 15.0
	var out []gnss.Fix
	var bx, by float64 // bias, metres
	emit := func(lat, lon float64) {
		bx = 0.98*bx + rng.NormFloat64()*0.6
		by = 0.98*by + rng.NormFloat64()*0.6
		kx := mPerDeg * math.Cos(lat*deg2rad)
		t := start.Add(time.Duration(len(out)) * time.Second / hz)
		f := fixAt(lat+(by+rng.NormFloat64()*1.5)/mPerDeg, lon+(bx+rng.NormFloat64()*1.5)/kx, t)
		out = append(out, *f)
	}
	for i := 0; i+1 < len(wps); i++ {
		a, b := wps[i], wps[i+1]
		kx := mPerDeg * math.Cos(a.lat*deg2rad)
		dist := math.Hypot((b.lat-a.lat)*mPerDeg, (b.lon-a.lon)*kx)
		n := int(dist / (speed / hz))
		for k := range n {
			f := float64(k) / float64(n)
			emit(a.lat+f*(b.lat-a.lat), a.lon+f*(b.lon-a.lon))
		}
		for range int(b.dwell.Seconds() * hz) {
			emit(b.lat, b.lon)
		}
	}
	return out
}

type waypoint struct {
	lat, lon float64
	dwell    time.Duration
}

// beidaiheRoute enters Beidaihe from the west, crosses it, leaves to the east, parks twice
// right on the edge of the 500 m margin (once just outside, once just inside), then drives
// back inland, passing 650 m north of the district's northern tip (just outside margin +
// hysteresis) with jitter.
func beidaiheRoute() []waypoint {
	kx := mPerDeg * math.Cos(39.8203*deg2rad)
	return []waypoint{
		{39.93, 119.20, 0},
		{39.88, 119.30, 0},
		{39.85, 119.42, 0}, // inside
		{39.83, 119.50, 0},
		{39.8203, 119.5354 + 530/kx, 2 * time.Minute}, // 30 m outside the margin, east tip
		{39.8203, 119.5354 + 480/kx, 1 * time.Minute}, // 20 m inside the margin
		{39.8203, 119.5354 + 800/kx, 0},
		{39.90, 119.60, 0},
		{39.9151 + 650/mPerDeg, 119.47, 0}, // 650 m north of the northern tip
		{39.9151 + 650/mPerDeg, 119.40, 0},
		{39.93, 119.20, 0},
	}
}

func TestGoldenDriveBeidaihe(t *testing.T) {
	spec, err := ReadSpec(os.DirFS("../examples/policy"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	var deny *Zone
	for i := range spec.Zones {
		if spec.Zones[i].Rule == RuleDeny {
			deny = &spec.Zones[i]
		}
	}
	o := &oracle{}
	o.add(deny.ID, toOrb(deny.Polygons), deny.MarginM)
	within := func(lat, lon float64) bool { // inside the zone or its margin
		z, _ := o.lookup(lon, lat, -1, 0, 0)
		return z == 0
	}
	var golden bytes.Buffer
	for _, run := range []struct {
		name  string
		tier  string
		start time.Time
	}{
		{"licensed-november", "licensed", time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
		{"public-november", "public", time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
		{"public-july", "public", time.Date(2026, 7, 15, 8, 0, 0, 0, time.UTC)},
	} {
		h := &Holder{}
		if err := h.Swap(p); err != nil {
			t.Fatal(err)
		}
		e := h.NewEngine(run.tier)
		fixes := driveFixes(1, run.start, beidaiheRoute())
		inMargin, stored := 0, 0
		var counts [numReasons]int
		fmt.Fprintf(&golden, "# %s: %d fixes at 10 Hz\n", run.name, len(fixes))
		last := Decision{Action: 255}
		for i := range fixes {
			f := &fixes[i]
			d := e.Decide(f, f.Received)
			counts[d.Reason]++
			raw := within(f.Lat, f.Lon)
			if raw {
				inMargin++
			}
			if d.Action != Drop {
				stored++
				lat, lon := d.Lat, d.Lon
				if d.Datum == GCJ02 {
					lat, lon = GCJ02ToWGS84(lat, lon)
				}
				if raw || within(lat, lon) {
					t.Fatalf("%s fix %d: stored %v,%v (%v) for a fix at %v,%v inside Beidaihe or its margin", run.name, i, d.Lat, d.Lon, d.Reason, f.Lat, f.Lon)
				}
			}
			if d.Action != last.Action || d.Reason != last.Reason || d.Zone != last.Zone || d.Datum != last.Datum {
				datum := ""
				if d.Action != Drop {
					datum = d.Datum.String()
				}
				fmt.Fprintf(&golden, "%6.1fs %-7v %-12v %-6s %s\n", f.Received.Sub(run.start).Seconds(), d.Action, d.Reason, datum, d.Zone)
				last = d
			}
		}
		fmt.Fprintf(&golden, "# raw fixes inside zone or margin: %d; stored: %d; counters:", inMargin, stored)
		for r, n := range counts {
			if n > 0 {
				fmt.Fprintf(&golden, " %v=%d", Reason(r), n)
			}
		}
		golden.WriteString("\n\n")
		if inMargin == 0 {
			t.Errorf("%s: the drive never entered the zone", run.name)
		}
	}
	const file = "testdata/drive_beidaihe.golden"
	if *update {
		if err := os.WriteFile(file, golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(golden.Bytes(), want) {
		t.Errorf("decisions differ from %s (run with -update after checking):\n%s", file, golden.String())
	}
}
