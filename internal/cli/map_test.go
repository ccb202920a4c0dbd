package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/internal/testtool"
	"github.com/geogate/geogate/mapsvg/svgtest"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

var update = flag.Bool("update", false, "rewrite golden files (the map test: docs/beidaihe-drive.svg and .png)")

const samplePolicy = "../../examples/policy"

// beidaiheDrive is a drive through the sample policy's zones, built from their outlines: from
// west of the summer belt (kept at the licensed tier), east through Beidaihe on its middle
// latitude (coarsened in the belt, dropped in the deny zone and its margin), north-east to the
// middle of the port zone (coarsened to its grid) and out of the belt to the east (kept). 1 Hz
// at 30 m/s, starting on a July morning, when the summer window is open.
func beidaiheDrive(t *testing.T) []byte {
	t.Helper()
	spec, err := policy.ReadSpec(os.DirFS(samplePolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	box := map[string][4]float64{} // west, south, east, north
	for _, z := range spec.Zones {
		b := [4]float64{180, 90, -180, -90}
		for _, v := range z.Polygons[0][0] {
			b = [4]float64{min(b[0], v[0]), min(b[1], v[1]), max(b[2], v[0]), max(b[3], v[1])}
		}
		box[z.ID] = b
	}
	belt, deny, port := box["beidaihe-summer-buffer"], box["beidaihe"], box["qinhuangdao-port-gcj"]
	if belt[0] == 0 || deny[0] == 0 || port[0] == 0 {
		t.Fatalf("sample policy lacks a zone the drive is built from: %v", box)
	}
	lat := (deny[1] + deny[3]) / 2
	portLat, portLon := (port[1]+port[3])/2, (port[0]+port[2])/2
	out := 0.04 // degrees beyond the belt: about 3.4 km of kept fixes at each end
	start := time.Date(2026, 7, 15, 1, 0, 0, 0, time.UTC)
	samples := sim.Route(start, 1, 30,
		sim.Point{Lat: lat, Lon: belt[0] - out},
		sim.Point{Lat: lat, Lon: deny[2] + 0.03},
		sim.Point{Lat: portLat, Lon: portLon},
		sim.Point{Lat: portLat, Lon: belt[2] + out})
	return sim.Generator{}.Bytes(samples)
}

// runMap runs "geogate map" with the drive on standard input.
func runMap(t *testing.T, drive []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	mapStdin = bytes.NewReader(drive)
	t.Cleanup(func() { mapStdin = os.Stdin })
	var o, e bytes.Buffer
	err = mapMain(args, &o, &e)
	return o.String(), e.String(), err
}

// drawnMap is a parsed map: the document, and the drawn points per class in degrees, mapped
// back from pixels with the extent and plot rectangle the SVG declares.
type drawnMap struct {
	root   *svgtest.Node
	points map[string][][2]float64 // class -> [lat, lon]
	pxDeg  [2]float64              // degrees of latitude, longitude per pixel
}

func readMap(t *testing.T, name string) *drawnMap {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	root := svgtest.Parse(t, data)
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s: bad number %q", name, s)
		}
		return v
	}
	plot := root.Find(func(n *svgtest.Node) bool { return n.Attr("id") == "plot" })
	frame := root.Find(func(n *svgtest.Node) bool { return n.HasClass("plot-frame") })
	if len(plot) != 1 || len(frame) != 1 {
		t.Fatalf("%s: %d plots, %d frames", name, len(plot), len(frame))
	}
	w, s, e, n := num(plot[0].Attr("data-west")), num(plot[0].Attr("data-south")), num(plot[0].Attr("data-east")), num(plot[0].Attr("data-north"))
	x0, y0, pw, ph := num(frame[0].Attr("x")), num(frame[0].Attr("y")), num(frame[0].Attr("width")), num(frame[0].Attr("height"))
	m := &drawnMap{root: root, points: map[string][][2]float64{}, pxDeg: [2]float64{(n - s) / ph, (e - w) / pw}}
	for _, g := range root.Find(func(n *svgtest.Node) bool { return n.HasClass("points") }) {
		class := strings.TrimSpace(strings.TrimPrefix(g.Attr("class"), "points"))
		for _, el := range g.Nodes {
			var x, y float64
			switch el.XMLName.Local {
			case "circle":
				x, y = num(el.Attr("cx")), num(el.Attr("cy"))
			case "rect":
				x, y = num(el.Attr("x"))+num(el.Attr("width"))/2, num(el.Attr("y"))+num(el.Attr("height"))/2
			case "path": // "Mx y l6 6m0 -6l-6 6": a cross centred 3 px right of and below M
				f := strings.Fields(strings.TrimPrefix(strings.SplitN(el.Attr("d"), "l", 2)[0], "M"))
				x, y = num(f[0])+3, num(f[1])+3
			default:
				t.Fatalf("%s: unexpected %s in the %s points", name, el.XMLName.Local, class)
			}
			m.points[class] = append(m.points[class], [2]float64{n - (y-y0)/ph*(n-s), w + (x-x0)/pw*(e-w)})
		}
	}
	return m
}

func (m *drawnMap) legend() string {
	l := m.root.Find(func(n *svgtest.Node) bool { return n.HasClass("legend") })
	if len(l) != 1 {
		return ""
	}
	var lines []string // wrapped lines joined again
	for _, t := range l[0].Find(func(n *svgtest.Node) bool { return n.XMLName.Local == "text" }) {
		lines = append(lines, t.Text())
	}
	return strings.Join(lines, " ")
}

// evalCounts runs "policy eval" on the drive and returns the lines.
func evalLines(t *testing.T, drive []byte, tier string) []evalLine {
	t.Helper()
	policyStdin = bytes.NewReader(drive)
	t.Cleanup(func() { policyStdin = os.Stdin })
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"eval", "-policy", samplePolicy, "-tier", tier, "-"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var lines []evalLine
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v evalLine
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("bad JSON %q: %v", l, err)
		}
		lines = append(lines, v)
	}
	return lines
}

type evalLine struct {
	Action, Datum string
	Lat, Lon      float64
}

// TestMapDriveMatchesEval draws the Beidaihe drive at both tiers, with and without
// -test-drive, and compares with "policy eval": as many points of each class as eval has
// decisions, every kept or coarsened point where eval says it is stored, and dropped fixes
// drawn only for a test drive.
func TestMapDriveMatchesEval(t *testing.T) {
	drive := beidaiheDrive(t)
	for _, tier := range []string{"licensed", "public"} {
		lines := evalLines(t, drive, tier)
		count := map[string]int{}
		stored := map[string][][2]float64{}
		for _, l := range lines {
			count[l.Action]++
			if l.Action != "drop" {
				lat, lon := l.Lat, l.Lon
				if l.Datum == "GCJ-02" {
					lat, lon = policy.GCJ02ToWGS84(lat, lon)
				}
				class := map[string]string{"keep": "kept", "coarsen": "coarsened"}[l.Action]
				stored[class] = append(stored[class], [2]float64{lat, lon})
			}
		}
		t.Logf("tier %s: eval %v", tier, count)
		if tier == "licensed" && (count["keep"] == 0 || count["coarsen"] == 0 || count["drop"] == 0) {
			t.Fatalf("the drive should meet every decision at the licensed tier: %v", count)
		}
		for _, testDrive := range []bool{false, true} {
			t.Run(tier+"/test-drive="+strconv.FormatBool(testDrive), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "map.svg")
				args := []string{"-policy", samplePolicy, "-tier", tier, "-o", out}
				if testDrive {
					args = append(args, "-test-drive")
				}
				stdout, stderr, err := runMap(t, drive, append(args, "-")...)
				if err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				if !strings.Contains(stdout, strconv.Itoa(len(lines))+" fixes") {
					t.Errorf("summary %q", stdout)
				}
				m := readMap(t, out)
				for class, want := range stored {
					got := m.points[class]
					if len(got) != len(want) {
						t.Errorf("%d %s points, eval has %d", len(got), class, len(want))
						continue
					}
					for i := range got { // same order: the fixes' order
						if math.Abs(got[i][0]-want[i][0]) > 0.06*m.pxDeg[0] || math.Abs(got[i][1]-want[i][1]) > 0.06*m.pxDeg[1] {
							t.Fatalf("%s point %d drawn at %v, stored at %v", class, i, got[i], want[i])
						}
					}
				}
				dropped := len(m.points["dropped"])
				tracks := m.root.Find(func(n *svgtest.Node) bool { return n.HasClass("tracks") })
				warning := m.root.Find(func(n *svgtest.Node) bool { return n.HasClass("warning") })
				if testDrive {
					if dropped != count["drop"] || len(tracks) != 1 || len(warning) != 1 {
						t.Errorf("test drive: %d dropped drawn of %d, %d tracks, %d warnings", dropped, count["drop"], len(tracks), len(warning))
					}
				} else if dropped != 0 || len(tracks) != 0 || len(warning) != 0 {
					t.Errorf("a dropped fix's position reached the map: %d dropped points, %d tracks, %d warnings", dropped, len(tracks), len(warning))
				}
				legend := m.legend()
				for _, s := range []string{"kept: " + strconv.Itoa(count["keep"]), "coarsened: " + strconv.Itoa(count["coarsen"]), "dropped: " + strconv.Itoa(count["drop"])} {
					if !strings.Contains(legend, s) {
						t.Errorf("legend lacks %q:\n%s", s, legend)
					}
				}
				zones := m.root.Find(func(n *svgtest.Node) bool { return n.XMLName.Local == "g" && n.HasClass("zone") })
				if len(zones) != 3 {
					t.Errorf("%d zones drawn, the sample has 3", len(zones))
				}
				if len(m.root.Find(func(n *svgtest.Node) bool { return n.HasClass("scalebar") })) != 1 {
					t.Error("no scale bar")
				}
				if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("map file mode: %v %v", fi.Mode(), err)
				}
			})
		}
	}
}

// TestMapGolden: the README's picture is the golden file. go test ./internal/cli -run
// MapGolden -update rewrites docs/beidaihe-drive.svg and, with a rasteriser, its PNG; look at
// the PNG before committing.
func TestMapGolden(t *testing.T) {
	tmp := t.TempDir()
	out, drive := filepath.Join(tmp, "map.svg"), filepath.Join(tmp, "beidaihe-drive.nmea")
	writeFile(t, drive, beidaiheDrive(t))
	args := []string{"-policy", samplePolicy, "-tier", "licensed", "-test-drive", "-o", out}
	golden := "../../docs/beidaihe-drive.svg"
	if *update {
		args = append(args, "-png", strings.TrimSuffix(golden, ".svg")+".png")
	}
	if _, stderr, err := runMap(t, nil, append(args, drive)...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the map differs from %s (the README's picture); if the change is meant, rerun with -update and look at the PNG", golden)
	}
}

// TestMapStored writes a log as the gate does (the Beidaihe drive decided at the public tier,
// a frame every 100th stored fix, plus a record of another type), then checks that the map
// of the log draws exactly the stored positions: one point per record, each where the record
// says, and nothing else.
func TestMapStored(t *testing.T) {
	tmp := t.TempDir()
	dir, keyPath := filepath.Join(tmp, "log"), filepath.Join(tmp, "device.key")
	if err := board.GenerateKeyFile(keyPath); err != nil {
		t.Fatal(err)
	}
	key, err := board.NewKeyFile(keyPath).DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	l, err := storage.Open(dir, storage.Options{Key: key, SegmentSize: 64 << 10, BufferSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := evalEngine(samplePolicy, "public")
	if err != nil {
		t.Fatal(err)
	}
	var want [][3]float64 // class (0 fix, 1 frame), lat, lon in WGS-84
	var buf []byte
	drops, fixes, frames := 0, 0, 0
	err = decideNMEA(bytes.NewReader(beidaiheDrive(t)), e, func(f *gnss.Fix, d policy.Decision) error {
		if d.Action == policy.Drop {
			drops++
			return nil
		}
		wl, wn := d.Lat, d.Lon
		if d.Datum == policy.GCJ02 {
			wl, wn = policy.GCJ02ToWGS84(wl, wn)
		}
		r := record.Fix{Action: d.Action, Datum: d.Datum, Policy: uint32(d.Version), Time: f.Time, HasTime: true,
			Lat: d.Lat, Lon: d.Lon, PrecisionM: float32(d.PrecisionM)}
		buf = record.AppendFix(buf[:0], &r)
		if _, err := l.Append(record.TypeFix, f.Time, buf); err != nil {
			return err
		}
		want = append(want, [3]float64{0, wl, wn})
		if fixes++; fixes%100 == 0 {
			h := record.FrameHeader{Action: d.Action, Datum: d.Datum, Format: camera.MJPEG, Time: f.Time,
				Lat: d.Lat, Lon: d.Lon, Width: 64, Height: 48, PrecisionM: float32(d.PrecisionM)}
			buf = append(record.AppendFrameHeader(buf[:0], &h), "not really a JPEG"...)
			if _, err := l.Append(record.TypeFrame, f.Time, buf); err != nil {
				return err
			}
			want = append(want, [3]float64{1, wl, wn})
			frames++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(9, time.Date(2026, 7, 15, 2, 0, 0, 0, time.UTC), []byte("no position")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if drops == 0 {
		t.Fatal("the drive dropped nothing: it does not test that drops stay out")
	}

	out := filepath.Join(tmp, "stored.svg")
	stdout, stderr, err := runMap(t, nil, "-stored", "-dir", dir, "-key", keyPath, "-policy", samplePolicy, "-o", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	t.Log(stdout)
	m := readMap(t, out)
	var got [][3]float64
	for class, pts := range m.points {
		c := map[string]float64{"kept": 0, "coarsened": 0, "frame": 1}[class]
		if class != "kept" && class != "coarsened" && class != "frame" {
			t.Errorf("%d points of class %q in a map of a log", len(pts), class)
		}
		for _, p := range pts {
			got = append(got, [3]float64{c, p[0], p[1]})
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d points drawn, the log holds %d positions", len(got), len(want))
	}
	// Every drawn point is a stored position (to a twentieth of a pixel), each used once.
	used := make([]bool, len(want))
	for _, g := range got {
		found := false
		for i, w := range want {
			if !used[i] && g[0] == w[0] && math.Abs(g[1]-w[1]) <= 0.06*m.pxDeg[0] && math.Abs(g[2]-w[2]) <= 0.06*m.pxDeg[1] {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Fatalf("point %v is drawn but the log holds no such position", g)
		}
	}
	if len(m.root.Find(func(n *svgtest.Node) bool { return n.HasClass("tracks") })) != 0 {
		t.Error("a map of a log draws a track")
	}
	legend := m.legend()
	for _, s := range []string{"coarsened: " + strconv.Itoa(fixes), "frame: " + strconv.Itoa(frames), "dropped fixes were never stored", "Records of other types (no position) left out: 1."} {
		if !strings.Contains(legend, s) {
			t.Errorf("legend lacks %q:\n%s", s, legend)
		}
	}

	// With -config the keys and the directory come from the daemon's configuration: the same map.
	cfg := filepath.Join(tmp, "geogate.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "data_dir = %q\n[storage]\nkey_file = %q\n", dir, keyPath), 0o600); err != nil {
		t.Fatal(err)
	}
	outCfg := filepath.Join(tmp, "stored-config.svg")
	if _, stderr, err := runMap(t, nil, "-stored", "-config", cfg, "-policy", samplePolicy, "-o", outCfg); err != nil {
		t.Fatalf("-stored -config: %v\n%s", err, stderr)
	}
	if a, b := mustRead(t, out), mustRead(t, outCfg); !bytes.Equal(a, b) {
		t.Error("the map drawn with -config differs from the one drawn with -dir and -key")
	}

	// The wrong key reads nothing and says so; no map is written.
	other := filepath.Join(tmp, "other.key")
	if err := board.GenerateKeyFile(other); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(tmp, "wrong.svg")
	if _, _, err := runMap(t, nil, "-stored", "-dir", dir, "-key", other, "-o", out2); !errors.Is(err, storage.ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := os.Stat(out2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a map was written from an unreadable log: %v", err)
	}
}

// needTool returns the path of command name from Debian package pkg. Where CI is set a
// missing tool fails the test, elsewhere it skips (the rule of internal/testtool, which is
// not on main yet).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	return testtool.LookPath(t, name, pkg)
}

func TestMapPNG(t *testing.T) {
	needTool(t, "rsvg-convert", "librsvg2-bin")
	tmp := t.TempDir()
	svgName, pngName := filepath.Join(tmp, "m.svg"), filepath.Join(tmp, "m.png")
	stdout, stderr, err := runMap(t, beidaiheDrive(t), "-policy", samplePolicy, "-o", svgName, "-png", pngName, "-")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "wrote "+pngName) {
		t.Errorf("stdout %q", stdout)
	}
	f, err := os.Open(pngName)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	root := readMap(t, svgName).root
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); strconv.Itoa(w) != root.Attr("width") || strconv.Itoa(h) != root.Attr("height") {
		t.Errorf("PNG %dx%d, SVG %sx%s", w, h, root.Attr("width"), root.Attr("height"))
	}
	if fi, _ := os.Stat(pngName); fi.Mode().Perm() != 0o600 {
		t.Errorf("PNG mode %v", fi.Mode())
	}
}

// TestMapNoRasteriser: without a rasteriser -png fails, says what to install, and the SVG
// is written all the same.
func TestMapNoRasteriser(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tmp := t.TempDir()
	svgName := filepath.Join(tmp, "m.svg")
	_, _, err := runMap(t, beidaiheDrive(t), "-policy", samplePolicy, "-o", svgName, "-png", filepath.Join(tmp, "m.png"), "-")
	if !errors.Is(err, errNoRasteriser) || !strings.Contains(err.Error(), "librsvg2-bin") {
		t.Errorf("got %v", err)
	}
	if _, err := os.Stat(svgName); err != nil {
		t.Errorf("SVG not written: %v", err)
	}
}

func TestMapMisuse(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "m.svg")
	usage := [][]string{
		{"-policy", samplePolicy},
		{"-o", out},
		{"-policy", samplePolicy, "-o", out, "a.nmea", "b.nmea"},
		{"-stored", "-dir", tmp, "-key", "k", "-test-drive", "-o", out},
		{"-stored", "-dir", tmp, "-o", out},
		{"-stored", "-dir", tmp, "-key", "k", "-tier", "public", "-o", out},
		{"-stored", "-dir", tmp, "-key", "k", "-o", out, "drive.nmea"},
		{"-policy", samplePolicy, "-dir", tmp, "-o", out},
		{"-policy", samplePolicy, "-config", "geogate.toml", "-o", out},
		{"-stored", "-config", "geogate.toml", "-key", "k", "-o", out},
	}
	for _, args := range usage {
		if _, _, err := runMap(t, nil, args...); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	errs := []struct {
		args []string
		want string
	}{
		{[]string{"-policy", "no-such-dir", "-o", out, "-"}, "policy.toml"},
		{[]string{"-policy", samplePolicy, "-tier", "secret", "-o", out, "-"}, "secret"},
		{[]string{"-policy", samplePolicy, "-o", out, filepath.Join(tmp, "missing.nmea")}, "missing.nmea"},
		{[]string{"-policy", samplePolicy, "-o", filepath.Join(tmp, "no", "dir", "m.svg"), "-"}, "m.svg"},
		{[]string{"-stored", "-dir", filepath.Join(tmp, "nolog"), "-key", "k", "-o", out}, "log directory"},
		{[]string{"-stored", "-dir", tmp, "-key", filepath.Join(tmp, "nokey"), "-o", out}, "nokey"},
	}
	for _, tt := range errs {
		_, _, err := runMap(t, beidaiheDrive(t)[:2000], tt.args...)
		if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error naming %q", tt.args, err, tt.want)
		}
	}
	// Nothing decodable and no zones near: still a map (the zones), never a crash.
	if _, _, err := runMap(t, []byte("garbage\n"), "-policy", samplePolicy, "-o", out, "-"); err != nil {
		t.Errorf("empty drive: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
