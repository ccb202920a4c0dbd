package mapsvg_test

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/geogate/geogate/mapsvg"
	"github.com/geogate/geogate/mapsvg/svgtest"
	"github.com/geogate/geogate/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func square(lon, lat, d float64) policy.Polygon {
	return policy.Polygon{policy.Ring{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}
}

// testMap has one zone of each rule, a tier grid, points of every class and a track.
func testMap() *mapsvg.Map {
	m := &mapsvg.Map{
		Title:    "test <map> & \"zones\"",
		Subtitle: "three zones",
		Tier:     policy.Tier{Name: "public", PrecisionM: 50},
		Zones: []policy.Zone{
			{ID: "deny-1", Rule: policy.RuleDeny, MarginM: 300, Polygons: []policy.Polygon{square(116.30, 39.90, 0.02)}},
			{ID: "coarse", Rule: policy.RuleCoarsen, PrecisionM: 1000, Windows: []string{"summer"}, Polygons: []policy.Polygon{square(116.25, 39.85, 0.12)}},
			{ID: "allow", Rule: policy.RuleAllow, Polygons: []policy.Polygon{square(116.335, 39.925, 0.012)}},
		},
		Tracks: []mapsvg.Line{{{116.26, 39.91}, {116.30, 39.91}, {116.33, 39.92}}},
		Notes:  []string{"a note that is long enough to be wrapped onto a second line of the legend panel"},
	}
	for i := range 7 {
		m.Points = append(m.Points, mapsvg.Point{Lat: 39.91, Lon: 116.26 + float64(i)*0.002, Class: mapsvg.Kept})
	}
	for i := range 5 {
		m.Points = append(m.Points, mapsvg.Point{Lat: 39.915, Lon: 116.27 + float64(i)*0.01, Class: mapsvg.Coarsened})
	}
	for i := range 3 {
		m.Points = append(m.Points, mapsvg.Point{Lat: 39.91, Lon: 116.305 + float64(i)*0.003, Class: mapsvg.Dropped})
	}
	m.Points = append(m.Points, mapsvg.Point{Lat: 39.93, Lon: 116.34, Class: mapsvg.Frame})
	m.Tallies = []mapsvg.Tally{
		{Class: mapsvg.Kept, Total: 7, Note: "full precision"},
		{Class: mapsvg.Coarsened, Total: 5},
		{Class: mapsvg.Dropped, Total: 4, Note: "3 drawn"},
	}
	return m
}

func TestStructure(t *testing.T) {
	m := testMap()
	svg, err := m.SVG()
	if err != nil {
		t.Fatal(err)
	}
	root := svgtest.Parse(t, svg)

	zones := root.Find(func(n *svgtest.Node) bool { return n.XMLName.Local == "g" && n.HasClass("zone") })
	if len(zones) != len(m.Zones) {
		t.Fatalf("%d zone groups, want %d", len(zones), len(m.Zones))
	}
	seen := map[string]*svgtest.Node{}
	for _, z := range zones {
		seen[z.Attr("data-zone")] = z
	}
	for _, z := range m.Zones {
		g := seen[z.ID]
		if g == nil {
			t.Errorf("zone %q not drawn", z.ID)
			continue
		}
		if !g.HasClass(z.Rule.String()) {
			t.Errorf("zone %q: class %q lacks %q", z.ID, g.Attr("class"), z.Rule)
		}
		margins := g.Find(func(n *svgtest.Node) bool { return n.HasClass("margin") })
		if (len(margins) == 1) != (z.MarginM > 0) {
			t.Errorf("zone %q: %d margin paths for margin %v", z.ID, len(margins), z.MarginM)
		}
		grids := g.Find(func(n *svgtest.Node) bool { return n.HasClass("grid") })
		if (len(grids) == 1) != (z.Rule == policy.RuleCoarsen) {
			t.Errorf("zone %q: %d grid paths", z.ID, len(grids))
		}
		if areas := g.Find(func(n *svgtest.Node) bool { return n.HasClass("area") }); len(areas) != 1 {
			t.Errorf("zone %q: %d area paths", z.ID, len(areas))
		}
		outline := root.Find(func(n *svgtest.Node) bool { return n.XMLName.Local == "path" && n.Attr("data-zone") == z.ID })
		if len(outline) != 1 {
			t.Errorf("zone %q: %d outlines", z.ID, len(outline))
		} else if dashed := outline[0].Attr("stroke-dasharray") != ""; dashed != (len(z.Windows) > 0) {
			t.Errorf("zone %q: dashed %v with windows %v", z.ID, dashed, z.Windows)
		}
	}
	labels := root.Find(func(n *svgtest.Node) bool { return n.XMLName.Local == "text" && n.Attr("data-zone") != "" })
	if len(labels) != len(m.Zones) {
		t.Errorf("%d zone labels, want %d", len(labels), len(m.Zones))
	}

	want := map[string]int{"kept": 7, "coarsened": 5, "dropped": 3, "frame": 1}
	for class, n := range want {
		groups := root.Find(func(e *svgtest.Node) bool { return e.HasClass("points") && e.HasClass(class) })
		if len(groups) != 1 {
			t.Errorf("%d point groups of class %s, want 1", len(groups), class)
			continue
		}
		if got := len(groups[0].Nodes); got != n {
			t.Errorf("%d %s points drawn, want %d", got, class, n)
		}
	}
	if tr := root.Find(func(e *svgtest.Node) bool { return e.HasClass("tracks") }); len(tr) != 1 || len(tr[0].Nodes) != 1 {
		t.Errorf("tracks: %d groups", len(tr))
	}

	legend := root.Find(func(e *svgtest.Node) bool { return e.HasClass("legend") })
	if len(legend) != 1 {
		t.Fatalf("%d legends", len(legend))
	}
	var lines []string // wrapped lines joined again
	for _, t := range legend[0].Find(func(n *svgtest.Node) bool { return n.XMLName.Local == "text" }) {
		lines = append(lines, t.Text())
	}
	lt := strings.Join(lines, " ")
	for _, s := range []string{"deny: nothing is stored", "coarsen:", "allow:", "margin:", "time window", "grid cells",
		"kept: 7 (full precision)", "coarsened: 5", "dropped: 4 (3 drawn)", "frame: 1", "true track",
		"tier public", "50\u00a0m grid", "a note that is long enough to be wrapped onto a second line"} {
		if !strings.Contains(lt, s) {
			t.Errorf("legend lacks %q:\n%s", s, lt)
		}
	}
	if title := root.Find(func(e *svgtest.Node) bool { return e.XMLName.Local == "title" }); len(title) != 1 || title[0].Text() != m.Title {
		t.Errorf("title not escaped and kept: %v", title)
	}
}

// TestScaleBar checks the bar's length against the plot's extent, with this test's own
// distance: a degree of longitude at the middle latitude on the IUGG mean sphere.
func TestScaleBar(t *testing.T) {
	for _, span := range []float64{0.001, 0.05, 0.3, 2} {
		m := &mapsvg.Map{Points: []mapsvg.Point{{Lat: 30, Lon: 100}, {Lat: 30 + span/2, Lon: 100 + span}}}
		svg, err := m.SVG()
		if err != nil {
			t.Fatal(err)
		}
		root := svgtest.Parse(t, svg)
		plot := root.Find(func(e *svgtest.Node) bool { return e.Attr("id") == "plot" })[0]
		frame := root.Find(func(e *svgtest.Node) bool { return e.HasClass("plot-frame") })[0]
		bar := root.Find(func(e *svgtest.Node) bool { return e.HasClass("scalebar") })
		if len(bar) != 1 {
			t.Fatalf("%d scale bars", len(bar))
		}
		w, e, s, n := f(t, plot.Attr("data-west")), f(t, plot.Attr("data-east")), f(t, plot.Attr("data-south")), f(t, plot.Attr("data-north"))
		plotPx := f(t, frame.Attr("width"))
		plotM := (e - w) * math.Pi / 180 * 6371008.8 * math.Cos((s+n)/2*math.Pi/180)
		metres := f(t, bar[0].Attr("data-metres"))
		rects := bar[0].Find(func(e *svgtest.Node) bool { return e.XMLName.Local == "rect" })
		barPx := f(t, rects[1].Attr("width")) + f(t, rects[2].Attr("width"))
		if got := barPx / plotPx * plotM; math.Abs(got-metres) > 0.005*metres {
			t.Errorf("span %v: bar of %v px is %.1f m, labelled %v m", span, barPx, got, metres)
		}
		if d := strconv.FormatFloat(metres, 'f', -1, 64); d[0] != '1' && d[0] != '2' && d[0] != '5' || barPx < plotPx/12 || barPx > plotPx/4 {
			t.Errorf("span %v: bar %v m (%v px of %v) is not a round fifth of the plot", span, metres, barPx, plotPx)
		}
		label := bar[0].Find(func(e *svgtest.Node) bool { return e.XMLName.Local == "text" })
		if !strings.HasSuffix(label[1].Text(), "m") {
			t.Errorf("label %q", label[1].Text())
		}
	}
}

func f(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		m    mapsvg.Map
		want error
	}{
		{"empty", mapsvg.Map{}, mapsvg.ErrEmpty},
		{"NaN", mapsvg.Map{Points: []mapsvg.Point{{Lat: math.NaN(), Lon: 1}}}, mapsvg.ErrCoordinate},
		{"lat 91", mapsvg.Map{Points: []mapsvg.Point{{Lat: 91, Lon: 1}}}, mapsvg.ErrCoordinate},
		{"track lon -181", mapsvg.Map{Tracks: []mapsvg.Line{{{-181, 0}}}}, mapsvg.ErrCoordinate},
		{"infinite", mapsvg.Map{Points: []mapsvg.Point{{Lat: 0, Lon: math.Inf(1)}}}, mapsvg.ErrCoordinate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg, err := tt.m.SVG()
			if !errors.Is(err, tt.want) || svg != nil {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "mapsvg: ") {
				t.Errorf("error %q does not name the package", err)
			}
		})
	}
	if _, err := (&mapsvg.Map{Points: []mapsvg.Point{{Class: 9}}}).SVG(); err == nil {
		t.Error("unknown class accepted")
	}
}

// TestFarZone: a zone far from the points does not stretch the map; a near one is shown
// whole.
func TestFarZone(t *testing.T) {
	m := &mapsvg.Map{
		Points: []mapsvg.Point{{Lat: 39.9, Lon: 116.3}, {Lat: 39.91, Lon: 116.31}},
		Zones: []policy.Zone{
			{ID: "near", Rule: policy.RuleDeny, Polygons: []policy.Polygon{square(116.31, 39.9, 0.02)}},
			{ID: "far", Rule: policy.RuleDeny, Polygons: []policy.Polygon{square(121.4, 31.2, 0.02)}},
		},
	}
	svg, err := m.SVG()
	if err != nil {
		t.Fatal(err)
	}
	plot := svgtest.Parse(t, svg).Find(func(e *svgtest.Node) bool { return e.Attr("id") == "plot" })[0]
	if e := f(t, plot.Attr("data-east")); e < 116.33 || e > 116.4 {
		t.Errorf("east edge %v: want the near zone (to 116.33) whole, the far one out", e)
	}
	if s := f(t, plot.Attr("data-south")); s < 39.8 {
		t.Errorf("south edge %v: the far zone stretched the map", s)
	}
}

// TestGolden compares the test map's SVG byte for byte; go test -update rewrites it.
func TestGolden(t *testing.T) {
	svg, err := testMap().SVG()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := testMap().SVG()
	if !bytes.Equal(svg, again) {
		t.Fatal("two renderings of the same map differ")
	}
	golden := filepath.Join("testdata", "test-map.svg")
	if *update {
		if err := os.WriteFile(golden, svg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(svg, want) {
		t.Errorf("SVG differs from %s (go test ./mapsvg -run Golden -update rewrites it; look at it before committing)", golden)
	}
}
