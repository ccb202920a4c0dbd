package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/atomicfile"
	"github.com/geogate/geogate/mapsvg"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// mapStdin is where "geogate map ... -" reads a drive; tests replace it.
var mapStdin io.Reader = os.Stdin

// mapUsage is the usage line for the dispatch table.
const mapUsage = "map -policy DIR [-tier NAME] [-test-drive] -o FILE.svg [-png FILE.png] [FILE.nmea|-] | map -stored (-dir DIR -key KEYFILE | -config FILE) [-policy DIR] -o FILE.svg: draw a policy and a drive, or a log"

const mapUsageText = `usage: geogate map -policy DIR [-tier NAME] [-test-drive] -o FILE.svg [-png FILE.png] [FILE.nmea|-]
       geogate map -stored (-dir DIR -key KEYFILE | -config FILE [-dir DIR]) [-policy DIR] -o FILE.svg [-png FILE.png]

Draws a map (SVG, and PNG with -png where rsvg-convert or ImageMagick is installed): the
policy's zones with their margins and grids, and positions coloured by what the policy made
of them, with a legend and a scale bar. No base map; nothing is fetched.

The first form decides the fixes of an NMEA 0183 capture (a file, "-" or nothing for
standard input) as "geogate policy eval" does, and draws each kept or coarsened fix where
it would be stored. Dropped fixes are counted but not drawn: their positions are what the
policy withholds. Only with -test-drive, for synthetic or test drives, are dropped fixes
drawn at their true positions, with the true track.

The second form draws what a storage log holds, read with the device key: the stored
positions of fixes and frames, nothing else (coarsened positions stay coarse; dropped
fixes are not in a log). -policy adds the zones.

The files hold positions: they are written with mode 0600. GCJ-02 positions are drawn
converted back to WGS-84, the datum of the zones.
`

// mapMain implements "geogate map".
func mapMain(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("map", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, mapUsageText)
		fl.PrintDefaults()
	}
	var o mapOptions
	fl.StringVar(&o.policyDir, "policy", "", "policy bundle `DIR`ectory (required without -stored)")
	fl.StringVar(&o.tier, "tier", "public", "tier to decide the drive at")
	fl.BoolVar(&o.testDrive, "test-drive", false, "the input is a synthetic or test drive: draw dropped fixes at their true positions, and the true track")
	fl.StringVar(&o.out, "o", "", "write the SVG to `FILE` (required)")
	fl.StringVar(&o.png, "png", "", "also write a PNG to `FILE`, with rsvg-convert or ImageMagick")
	fl.BoolVar(&o.stored, "stored", false, "draw what the storage log in -dir holds instead of a drive")
	fl.StringVar(&o.dir, "dir", "", "log `DIR`ectory (with -stored)")
	fl.StringVar(&o.key, "key", "", "device key `FILE` (with -stored)")
	fl.StringVar(&o.config, "config", "", "with -stored: the keys as the daemon takes them, from its configuration `FILE` (storage.key_provider, the TPM too), and its data_dir unless -dir is given")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if msg := o.misuse(fl); msg != "" {
		fmt.Fprintln(stderr, "geogate map: "+msg)
		fl.Usage()
		return errUsage
	}
	var m *mapsvg.Map
	var summary string
	var err error
	if o.stored {
		m, summary, err = storedMap(&o, stderr)
	} else {
		m, summary, err = driveMap(&o, fl.Arg(0))
	}
	if m == nil {
		return err
	}
	svg, rerr := m.SVG()
	if rerr != nil {
		return rerr
	}
	if werr := atomicfile.Write(o.out, svg, 0o600, true); werr != nil {
		return fmt.Errorf("write %s: %w", o.out, werr)
	}
	fmt.Fprintf(stdout, "wrote %s: %s\n", o.out, summary)
	if o.png != "" {
		png, perr := rasterise(svg)
		if perr != nil {
			return fmt.Errorf("png (the SVG is written to %s): %w", o.out, perr)
		}
		if werr := atomicfile.Write(o.png, png, 0o600, true); werr != nil {
			return fmt.Errorf("write %s: %w", o.png, werr)
		}
		fmt.Fprintf(stdout, "wrote %s\n", o.png)
	}
	return err
}

// mapOptions are the flags of "geogate map".
type mapOptions struct {
	policyDir, tier, out, png, dir, key, config string
	testDrive, stored                           bool
}

// misuse says what is wrong with the flags, or "".
func (o *mapOptions) misuse(fl *flag.FlagSet) string {
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case o.out == "":
		return "missing -o FILE.svg"
	case o.stored && o.testDrive:
		return "-test-drive draws the true positions of a drive; a log holds none: not with -stored"
	case o.key != "" && o.config != "":
		return "-key and -config exclude each other (-config takes the key from storage.key_provider)"
	case o.stored && o.config == "" && (o.dir == "" || o.key == ""):
		return "-stored needs -dir DIR (the log directory) and -key KEYFILE (the device key of the unit that wrote it), or -config FILE (the daemon's configuration)"
	case o.stored && set["tier"]:
		return "-tier decides a drive; a log's records carry their own precision: not with -stored"
	case o.stored && fl.NArg() > 0:
		return fmt.Sprintf("unexpected arguments %q: -stored reads -dir", fl.Args())
	case !o.stored && (set["dir"] || set["key"] || set["config"]):
		return "-dir, -key and -config read a log: add -stored"
	case !o.stored && o.policyDir == "":
		return "missing -policy DIR"
	case !o.stored && fl.NArg() > 1:
		return fmt.Sprintf("one drive at a time, not %d", fl.NArg())
	}
	return ""
}

// wgs84 returns a decided or stored position in WGS-84, the zones' datum: GCJ-02 outputs are
// converted back (exactly, see policy.GCJ02ToWGS84) so that they are drawn where they are.
func wgs84(lat, lon float64, datum policy.Datum) (float64, float64) {
	if datum == policy.GCJ02 {
		return policy.GCJ02ToWGS84(lat, lon)
	}
	return lat, lon
}

// driveMap decides the drive in file ("" or "-": mapStdin) and returns its map.
func driveMap(o *mapOptions, file string) (*mapsvg.Map, string, error) {
	e, spec, err := evalEngine(o.policyDir, o.tier)
	if err != nil {
		return nil, "", err
	}
	in, name := mapStdin, "standard input"
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		in, name = f, filepath.Base(file)
	}
	m := &mapsvg.Map{Zones: spec.Zones}
	for _, t := range spec.Tiers {
		if t.Name == o.tier {
			m.Tier = t
		}
	}
	var n [3]int // by policy.Action
	reasons := map[string]int{}
	undrawn, gcj := 0, 0
	var track mapsvg.Line
	err = decideNMEA(in, e, func(f *gnss.Fix, d policy.Decision) error {
		n[d.Action]++
		if o.testDrive {
			if f.Has&gnss.HasPos != 0 && f.Valid {
				track = append(track, [2]float64{f.Lon, f.Lat})
			} else if len(track) > 0 {
				m.Tracks, track = append(m.Tracks, track), nil
			}
		}
		switch d.Action {
		case policy.Keep, policy.Coarsen:
			c := mapsvg.Kept
			if d.Action == policy.Coarsen {
				c = mapsvg.Coarsened
			}
			if d.Datum == policy.GCJ02 {
				gcj++
			}
			lat, lon := wgs84(d.Lat, d.Lon, d.Datum)
			m.Points = append(m.Points, mapsvg.Point{Lat: lat, Lon: lon, Class: c})
		default:
			reasons[d.Reason.String()]++
			// The only place a true position of a dropped fix reaches the map, and only
			// for a drive the user declared a test drive.
			if o.testDrive && f.Has&gnss.HasPos != 0 && f.Valid && f.Lat >= -90 && f.Lat <= 90 && f.Lon >= -180 && f.Lon <= 180 {
				m.Points = append(m.Points, mapsvg.Point{Lat: f.Lat, Lon: f.Lon, Class: mapsvg.Dropped})
			} else {
				undrawn++
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	if len(track) > 0 {
		m.Tracks = append(m.Tracks, track)
	}
	total := n[policy.Keep] + n[policy.Coarsen] + n[policy.Drop]
	m.Title = fmt.Sprintf("Policy %q v%d, tier %s: a drive", spec.ID, spec.Version, o.tier)
	m.Subtitle = fmt.Sprintf("%s: %d fixes, decided one by one as \"geogate policy eval\" does. WGS-84, equirectangular, no base map.", name, total)
	dropNote := "not drawn: their positions are what the policy withholds"
	if o.testDrive {
		m.Warning = "TEST DRIVE (-test-drive): dropped fixes are drawn at their true positions"
		dropNote = "drawn at their true positions"
		if undrawn > 0 {
			dropNote += "; " + strconv.Itoa(undrawn) + " had no valid position"
		}
	}
	m.Tallies = []mapsvg.Tally{
		{Class: mapsvg.Kept, Total: n[policy.Keep], Note: "full precision"},
		{Class: mapsvg.Coarsened, Total: n[policy.Coarsen], Note: "drawn where stored: a grid point"},
		{Class: mapsvg.Dropped, Total: n[policy.Drop], Note: dropNote},
	}
	if len(reasons) > 0 {
		m.Notes = append(m.Notes, "Why dropped: "+countList(reasons)+".")
	}
	if gcj > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d stored positions would be GCJ-02; they are drawn converted back to WGS-84.", gcj))
	}
	summary := fmt.Sprintf("%d fixes: %d kept, %d coarsened, %d dropped (%d of them drawn)",
		total, n[policy.Keep], n[policy.Coarsen], n[policy.Drop], n[policy.Drop]-undrawn)
	return m, summary, nil
}

// countList formats counts as "a 3, b 1", largest first, then by name.
func countList(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c[a] != c[b] {
			return c[b] - c[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + strconv.Itoa(c[k])
	}
	return strings.Join(parts, ", ")
}

// storedMap reads the log in o.dir and returns the map of its stored positions. Only the
// decoded records' positions are drawn; a record that does not decode, or holds a position
// out of range, is counted and left out. Problems with segments are printed to stderr and
// returned (with the map of what could be read).
func storedMap(o *mapOptions, stderr io.Writer) (*mapsvg.Map, string, error) {
	m := &mapsvg.Map{}
	policyNote := "no -policy: zones not drawn"
	if o.policyDir != "" {
		spec, err := policy.ReadSpec(os.DirFS(o.policyDir), nil)
		if err == nil {
			_, err = policy.Compile(spec) // the same checks a daemon makes
		}
		if err != nil {
			return nil, "", err
		}
		m.Zones = spec.Zones
		policyNote = fmt.Sprintf("zones of policy %q v%d", spec.ID, spec.Version)
	}
	var cfg *config.Config
	if o.config != "" {
		var err error
		if cfg, err = config.Load(o.config); err != nil {
			return nil, "", err
		}
		if o.dir == "" {
			o.dir = cfg.DataDir
		}
	}
	if _, err := os.Stat(o.dir); err != nil {
		return nil, "", fmt.Errorf("log directory: %w", err)
	}
	var keys board.Keys
	var kerr error
	if cfg != nil {
		keys, kerr = storeKeys(cfg.Storage)
	} else {
		keys.Current, kerr = board.NewKeyFile(o.key).DeviceKey()
	}
	if kerr != nil {
		return nil, "", kerr
	}
	r, err := storage.NewReader(o.dir, keys.Current, keys.Old...)
	keys.Clear()
	if err != nil {
		return nil, "", err
	}
	segs, err := r.Segments()
	if err != nil {
		return nil, "", err
	}
	if len(segs) == 0 {
		return nil, "", fmt.Errorf("%s holds no log (no segment files): is -dir the daemon's data directory?", o.dir)
	}
	var n [3]int // fixes by policy.Action
	frames, bad, other, gcj := 0, 0, 0, 0
	add := func(action policy.Action, datum policy.Datum, lat, lon float64, c mapsvg.Class) bool {
		if action != policy.Keep && action != policy.Coarsen {
			return false
		}
		lat, lon = wgs84(lat, lon, datum)
		if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
			return false
		}
		if datum == policy.GCJ02 {
			gcj++
		}
		m.Points = append(m.Points, mapsvg.Point{Lat: lat, Lon: lon, Class: c})
		return true
	}
	var problems []error
	for _, s := range segs {
		if s.Err != nil {
			problems = append(problems, wrongKeyHint(s.Err))
			continue
		}
		rep, err := r.Scan(s.ID, func(rec *storage.Record) error {
			switch rec.Type {
			case record.TypeFix:
				f, err := record.DecodeFix(rec.Payload)
				c := mapsvg.Kept
				if f.Action == policy.Coarsen {
					c = mapsvg.Coarsened
				}
				if err != nil || !add(f.Action, f.Datum, f.Lat, f.Lon, c) {
					bad++
					return nil
				}
				n[f.Action]++
			case record.TypeFrame:
				h, _, err := record.DecodeFrame(rec.Payload)
				if err != nil || !add(h.Action, h.Datum, h.Lat, h.Lon, mapsvg.Frame) {
					bad++
					return nil
				}
				frames++
			default:
				other++
			}
			return nil
		})
		if err != nil {
			problems = append(problems, wrongKeyHint(err))
			continue
		}
		if e := rep.Err(); e != nil {
			problems = append(problems, e)
		}
	}
	if len(m.Points) == 0 && len(problems) > 0 && len(problems) == len(segs) {
		return nil, "", fmt.Errorf("nothing in %s could be read: %w", o.dir, errors.Join(problems...))
	}
	m.Title = "What a storage log holds"
	m.Subtitle = fmt.Sprintf("%s: %d records drawn, %s. WGS-84, equirectangular, no base map.", filepath.Base(filepath.Clean(o.dir)), len(m.Points), policyNote)
	m.Tallies = []mapsvg.Tally{
		{Class: mapsvg.Kept, Total: n[policy.Keep], Note: "fixes stored at full precision"},
		{Class: mapsvg.Coarsened, Total: n[policy.Coarsen], Note: "fixes stored on a grid point"},
		{Class: mapsvg.Frame, Total: frames, Note: "camera frames, at their stored positions"},
	}
	m.Notes = append(m.Notes, "Only what the log holds is drawn: dropped fixes were never stored.")
	if gcj > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d stored positions are GCJ-02; they are drawn converted back to WGS-84.", gcj))
	}
	if bad > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("Records left out because they do not decode or hold no valid position: %d.", bad))
	}
	if other > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("Records of other types (no position) left out: %d.", other))
	}
	if len(problems) > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("Segments with problems: %d (run geogate store verify).", len(problems)))
	}
	summary := fmt.Sprintf("%d fixes (%d kept, %d coarsened) and %d frames drawn, %d records left out",
		n[policy.Keep]+n[policy.Coarsen], n[policy.Keep], n[policy.Coarsen], frames, bad+other)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, "geogate map:", p)
		}
		return m, summary, fmt.Errorf("%d segments with problems; the map shows what could be read; run geogate store verify", len(problems))
	}
	return m, summary, nil
}

// rasterisers are the commands tried, in order, to turn the SVG (standard input) into a PNG
// (standard output): librsvg's (Debian librsvg2-bin), then ImageMagick 7's and 6's.
var rasterisers = [][]string{
	{"rsvg-convert", "--format=png"},
	{"magick", "svg:-", "png:-"},
	{"convert", "svg:-", "png:-"},
}

// rasteriseTimeout bounds a rasteriser: the sample map takes well under a second; a stuck
// tool must not hang the command.
const rasteriseTimeout = time.Minute

// errNoRasteriser means none of the rasterisers is installed.
var errNoRasteriser = errors.New("no SVG rasteriser: install rsvg-convert (Debian: apt-get install librsvg2-bin) or ImageMagick")

// rasterise renders svg to PNG with the first rasteriser installed.
func rasterise(svg []byte) ([]byte, error) {
	for _, cmd := range rasterisers {
		path, err := exec.LookPath(cmd[0])
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), rasteriseTimeout)
		c := exec.CommandContext(ctx, path, cmd[1:]...)
		var out, errOut bytes.Buffer
		c.Stdin, c.Stdout, c.Stderr = bytes.NewReader(svg), &out, &errOut
		err = c.Run()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %s", cmd[0], err, strings.TrimSpace(errOut.String()))
		}
		if !bytes.HasPrefix(out.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
			return nil, fmt.Errorf("%s wrote no PNG (%d bytes)", cmd[0], out.Len())
		}
		return out.Bytes(), nil
	}
	return nil, errNoRasteriser
}
