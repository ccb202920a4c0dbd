package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

const goodTOML = `id = "t"
version = 3
default_action = "keep"
max_age = "2s"
hysteresis_m = 50
zone_files = ["zones.geojson"]
[tiers.public]
precision_m = 50
`

const goodZones = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"a","action":"deny","margin_m":100},"geometry":{"type":"Polygon","coordinates":[[[119.0,39.0],[119.1,39.0],[119.1,39.1],[119.0,39.1],[119.0,39.0]]]}},
{"type":"Feature","properties":{"id":"b","action":"coarsen","precision_m":500},"geometry":{"type":"MultiPolygon","coordinates":[[[[118.0,39.0],[118.1,39.0],[118.1,39.1],[118.0,39.0]]]]}}
]}`

func bundle(toml, zones string) fstest.MapFS {
	return fstest.MapFS{"policy.toml": {Data: []byte(toml)}, "zones.geojson": {Data: []byte(zones)}}
}

// zoneB replaces feature b's geometry with geom.
func zoneB(geom string) string {
	return `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"a","action":"deny"},"geometry":{"type":"Polygon","coordinates":[[[119.0,39.0],[119.1,39.0],[119.1,39.1],[119.0,39.0]]]}},
{"type":"Feature","properties":{"id":"b","action":"deny"},"geometry":` + geom + `}]}`
}

func TestLoadGood(t *testing.T) {
	p, err := Load(bundle(goodTOML, goodZones), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Summary()
	if s.Version != 3 || s.Zones != 2 || s.Vertices != 7 || s.ZonesByRule["deny"] != 1 || len(s.Tiers) != 1 {
		t.Errorf("summary %+v", s)
	}
}

func TestLoadBadInput(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		zones   string
		wantErr error
		wantMsg string // must appear in the message: file, feature, what
	}{
		{"TOML syntax", "id = ", goodZones, ErrMalformed, "policy.toml"},
		{"TOML unknown key", goodTOML + "colour = 1\n", goodZones, ErrInvalid, "colour"},
		{"TOML wrong type", strings.Replace(goodTOML, "version = 3", `version = "3"`, 1), goodZones, ErrMalformed, "policy.toml"},
		{"version 0", strings.Replace(goodTOML, "version = 3", "version = 0", 1), goodZones, ErrInvalid, "version"},
		{"negative version", strings.Replace(goodTOML, "version = 3", "version = -2", 1), goodZones, ErrInvalid, "version"},
		{"default action", strings.Replace(goodTOML, `"keep"`, `"maybe"`, 1), goodZones, ErrUnknownAction, "maybe"},
		{"max_age", strings.Replace(goodTOML, `"2s"`, `"soon"`, 1), goodZones, ErrInvalid, "max_age"},
		{"max_age zero", strings.Replace(goodTOML, `"2s"`, `"0s"`, 1), goodZones, ErrInvalid, "max_age"},
		{"negative hysteresis", strings.Replace(goodTOML, "hysteresis_m = 50", "hysteresis_m = -1", 1), goodZones, ErrInvalid, "hysteresis"},
		{"no tiers", strings.Replace(goodTOML, "[tiers.public]\nprecision_m = 50\n", "", 1), goodZones, ErrInvalid, "no tiers"},
		{"negative precision", strings.Replace(goodTOML, "precision_m = 50", "precision_m = -50", 1), goodZones, ErrInvalid, "public"},
		{"missing zone file", strings.Replace(goodTOML, "zones.geojson", "nope.geojson", 1), goodZones, ErrMalformed, "nope.geojson"},
		{"escaping zone file", strings.Replace(goodTOML, "zones.geojson", "../zones.geojson", 1), goodZones, ErrBadFile,
			`policy: policy.toml: zone_files[0]: refused bundle file: "../zones.geojson" leaves the bundle: name files by their path inside the bundle directory`},
		{"absolute zone file", strings.Replace(goodTOML, "zones.geojson", "/etc/passwd", 1), goodZones, ErrBadFile,
			`policy: policy.toml: zone_files[0]: refused bundle file: "/etc/passwd" leaves the bundle`},
		{"escaping region file", goodTOML + "[gcj02_region]\nfiles = [\"zones.geojson\", \"sub/../../x.json\"]\n", goodZones, ErrBadFile,
			`policy: policy.toml: gcj02_region.files[1]: refused bundle file: "sub/../../x.json" leaves the bundle`},
		{"unclean zone file path", strings.Replace(goodTOML, "zones.geojson", "./zones.geojson", 1), goodZones, ErrBadFile,
			`zone_files[0]: refused bundle file: "./zones.geojson" is not a clean path inside the bundle`},
		{"bad window month", goodTOML + "[windows.w]\nmonths = [13]\n", goodZones, ErrInvalid, "month 13"},
		{"bad window clock", goodTOML + "[windows.w]\nfrom = \"25:00\"\n", goodZones, ErrInvalid, "from"},
		{"GeoJSON syntax", goodTOML, `{"type":"FeatureCollection","features":[`, ErrMalformed, "zones.geojson"},
		{"second FeatureCollection after the first", goodTOML, goodZones + "\n" + goodZones, ErrMalformed,
			fmt.Sprintf("policy: zones.geojson: malformed bundle file: trailing data at byte %d, after the first JSON value", len(goodZones)+1)},
		{"bytes after the FeatureCollection", goodTOML, goodZones + " \t\r\n]", ErrMalformed,
			fmt.Sprintf("policy: zones.geojson: malformed bundle file: trailing data at byte %d, after the first JSON value", len(goodZones)+4)},
		{"misspelt datum", goodTOML, strings.Replace(goodZones, `"margin_m":100`, `"datun":"GCJ-02"`, 1), ErrInvalid,
			`policy: zones.geojson: feature 0 (id "a"): invalid value: unknown property "datun" (did you mean "datum"?) (zone properties are id, action, margin_m,`},
		{"misspelt margin", goodTOML, strings.Replace(goodZones, `"margin_m":100`, `"margin":300`, 1), ErrInvalid,
			`feature 0 (id "a"): invalid value: unknown property "margin" (did you mean "margin_m"?)`},
		{"unknown property before the id", goodTOML, strings.Replace(goodZones, `{"id":"a"`, `{"colour":"red","id":"a"`, 1), ErrInvalid,
			`feature 0 (id "a"): invalid value: unknown property "colour" (zone properties are`},
		{"property given twice", goodTOML, strings.Replace(goodZones, `"action":"deny"`, `"action":"deny","action":"allow"`, 1), ErrInvalid,
			`feature 0 (id "a"): invalid value: property "action" appears twice`},
		{"properties not an object", goodTOML, strings.Replace(goodZones, `{"id":"a","action":"deny","margin_m":100}`, `["a"]`, 1), ErrMalformed,
			"feature 0: malformed bundle file: properties: want a JSON object"},
		{"GeoJSON not a collection", goodTOML, `{"type":"Point","coordinates":[1,2]}`, ErrMalformed, "Point"},
		{"GeoJSON empty", goodTOML, `{"type":"FeatureCollection","features":[]}`, ErrInvalid, "no features"},
		{"unknown action", goodTOML, strings.Replace(goodZones, `"coarsen"`, `"blur"`, 1), ErrUnknownAction, `feature 1 (id "b"): unknown action "blur"`},
		{"missing action", goodTOML, strings.Replace(goodZones, `"action":"deny",`, ``, 1), ErrUnknownAction, "feature 0"},
		{"missing id", goodTOML, strings.Replace(goodZones, `"id":"a",`, ``, 1), ErrInvalid, "feature 0: invalid value: property id missing"},
		{"duplicate id", goodTOML, strings.Replace(goodZones, `"id":"b"`, `"id":"a"`, 1), ErrInvalid, "duplicate zone id"},
		{"numeric id", goodTOML, strings.Replace(goodZones, `"id":"a"`, `"id":7`, 1), ErrMalformed, "feature 0"},
		{"coarsen without precision", goodTOML, strings.Replace(goodZones, `,"precision_m":500`, ``, 1), ErrInvalid, "precision_m"},
		{"negative margin", goodTOML, strings.Replace(goodZones, `"margin_m":100`, `"margin_m":-5`, 1), ErrInvalid, "margin_m"},
		{"unknown datum", goodTOML, strings.Replace(goodZones, `"margin_m":100`, `"datum":"BD-09"`, 1), ErrInvalid, "BD-09"},
		{"unknown window", goodTOML, strings.Replace(goodZones, `"margin_m":100`, `"windows":["never"]`, 1), ErrInvalid, "never"},
		{"unclosed ring", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.1,39],[118.1,39.1],[118,39.1]]]}`), ErrUnclosedRing, `zones.geojson: feature 1 (id "b"): polygon 0 ring 0: unclosed ring`},
		{"unclosed 2-position ring", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.1,39]]]}`), ErrUnclosedRing,
			"polygon 0 ring 0: unclosed ring: last position [118.1 39] differs from first [118 39]"},
		{"closed 2-position ring", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.1,39],[118,39]]]}`), ErrDegenerateRing,
			`feature 1 (id "b"): polygon 0 ring 0: degenerate ring: 3 positions, 2 distinct: a ring encloses an area only with at least 3 distinct positions, then the first again`},
		{"closed ring of one repeated position", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118,39],[118,39],[118,39]]]}`), ErrDegenerateRing,
			"degenerate ring: 4 positions, 1 distinct"},
		{"ring without positions", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[]]}`), ErrDegenerateRing, "degenerate ring: no positions"},
		{"degenerate ring", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.1,39],[118.1,39],[118,39]]]}`), ErrDegenerateRing, "2 distinct"},
		{"edge across the antimeridian", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[179.5,60],[-179.5,60],[-179.5,61],[179.5,61],[179.5,60]]]}`), ErrAntimeridian,
			`feature 1 (id "b"): polygon 0 ring 0: edge crosses the antimeridian: edge 0 from [179.5 60] to [-179.5 60] spans 359 degrees of longitude, so it would be read the long way round the globe: split the polygon at 180 degrees`},
		{"GCJ-02 zone outside the GCJ-02 box", goodTOML, strings.Replace(zoneB(`{"type":"Polygon","coordinates":[[[140,39],[140.1,39],[140.1,39.1],[140,39]]]}`), `"id":"b","action":"deny"`, `"id":"b","action":"deny","datum":"GCJ-02"`, 1), ErrBadCoordinate,
			`feature 1 (id "b"): polygon 0 ring 0: bad coordinate: position 0 [140, 39] of a GCJ-02 zone lies outside longitude 72.004-137.8347`},
		{"GCJ-02 zone self-intersecting as drawn", goodTOML, strings.Replace(zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.1,39.1],[118.1,39],[118,39.1],[118,39]]]}`), `"id":"b","action":"deny"`, `"id":"b","action":"deny","datum":"GCJ-02"`, 1), ErrSelfIntersection,
			`feature 1 (id "b"): polygon 0 ring 0: self-intersecting ring: edges 0 and 2 meet near [118, 39]`},
		{"self-intersecting bow tie", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.1,39.1],[118.1,39],[118,39.1],[118,39]]]}`), ErrSelfIntersection, `feature 1 (id "b"): polygon 0 ring 0: self-intersecting ring: edges 0 and 2`},
		{"self-touching ring", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.2,39],[118.1,39.1],[118.2,39.2],[118,39.2],[118.1,39.1],[118,39]]]}`), ErrSelfIntersection, "feature 1"},
		{"spike", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.2,39],[118.1,39],[118.1,39.1],[118,39]]]}`), ErrSelfIntersection, "feature 1"},
		{"hole self-intersects", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,39],[119,39],[119,40],[118,39]],[[118.5,39.2],[118.6,39.3],[118.6,39.2],[118.5,39.3],[118.5,39.2]]]}`), ErrSelfIntersection, "ring 1"},
		{"longitude out of range", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[181,39],[118.1,39],[118.1,39.1],[181,39]]]}`), ErrBadCoordinate, "feature 1"},
		{"latitude out of range", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118,-91],[118.1,39],[118.1,39.1],[118,-91]]]}`), ErrBadCoordinate, "position 0"},
		{"huge number", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[1e400,39],[118.1,39],[118.1,39.1],[1e400,39]]]}`), ErrMalformed, "feature 1"},
		{"NaN literal", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[NaN,39],[118.1,39],[118.1,39.1],[NaN,39]]]}`), ErrMalformed, "zones.geojson"},
		{"one-number position", goodTOML, zoneB(`{"type":"Polygon","coordinates":[[[118],[118.1,39],[118.1,39.1],[118]]]}`), ErrBadCoordinate, "position 0 has 1"},
		{"point geometry", goodTOML, zoneB(`{"type":"Point","coordinates":[118,39]}`), ErrMalformed, `geometry type "Point"`},
		{"no geometry", goodTOML, zoneB(`null`), ErrMalformed, "no geometry"},
		{"empty multipolygon", goodTOML, zoneB(`{"type":"MultiPolygon","coordinates":[]}`), ErrMalformed, "no polygons"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Holder{}
			good, err := Load(bundle(goodTOML, goodZones), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Swap(good); err != nil {
				t.Fatal(err)
			}
			_, err = h.Reload(bundle(tt.toml, tt.zones), nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			var be *BundleError
			if !errors.As(err, &be) {
				t.Fatalf("error %T is not a *BundleError", err)
			}
			if !strings.HasPrefix(err.Error(), "policy: ") || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if h.Policy() != good {
				t.Error("the running policy was replaced")
			}
		})
	}
}

// TestLoadChinaAsZones loads the 34 DataV province outlines as GCJ-02 deny zones, with
// DataV's own properties kept under "meta": 11 of their 336 rings touch themselves, and the
// loader must say which.
func TestLoadChinaAsZones(t *testing.T) {
	china, err := os.ReadFile("testdata/geo/china_100000_full.json")
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Type     string           `json:"type"`
		Features []map[string]any `json:"features"`
	}
	if err := json.Unmarshal(china, &fc); err != nil {
		t.Fatal(err)
	}
	for _, f := range fc.Features {
		meta := f["properties"].(map[string]any)
		f["properties"] = map[string]any{"id": meta["adcode"], "action": "deny", "datum": "GCJ-02", "meta": meta}
	}
	zones, err := json.Marshal(fc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(bundle(goodTOML, string(zones)), nil)
	if !errors.Is(err, ErrSelfIntersection) || !strings.Contains(err.Error(), `zones.geojson: feature 0 (id "110000")`) {
		t.Errorf("got %v", err)
	}
}

// TestLoadFreeFormProperties: "name", "meta" (any JSON value) and "x-" properties are
// accepted and change nothing; the zone decides as without them.
func TestLoadFreeFormProperties(t *testing.T) {
	plain, err := Load(bundle(goodTOML, goodZones), nil)
	if err != nil {
		t.Fatal(err)
	}
	zones := strings.Replace(goodZones, `"margin_m":100`,
		`"margin_m":100,"name":"A","meta":{"source":"survey 2026","margin_m":0,"datum":"GCJ-02"},"x-note":"fenced","x-margin_m":0`, 1)
	p, err := Load(bundle(goodTOML, zones), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range []*Policy{plain, p} {
		h := &Holder{}
		if err := h.Swap(pol); err != nil {
			t.Fatal(err)
		}
		// 50 m south of zone a's southern edge: inside its 100 m margin.
		if d := h.NewEngine("public").Decide(fixAt(39.0-50/mPerDeg, 119.05, t0), t0); d.Reason != ReasonZoneDeny || d.Zone != "a" {
			t.Errorf("50 m outside zone a: %v %v %q, want zone-deny a", d.Action, d.Reason, d.Zone)
		}
	}
}

func FuzzLoad(f *testing.F) {
	sample, err := os.ReadFile("../examples/policy/zones.geojson")
	if err != nil {
		f.Fatal(err)
	}
	sampleTOML, err := os.ReadFile("../examples/policy/policy.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(goodTOML), []byte(goodZones))
	f.Add([]byte(goodTOML+"[windows.w]\nmonths=[7]\nfrom=\"22:00\"\nto=\"06:00\"\n"), []byte(strings.Replace(goodZones, `"margin_m":100`, `"windows":["w"],"datum":"GCJ-02"`, 1)))
	f.Add([]byte(strings.Replace(goodTOML, `"keep"`, `"drop"`, 1)), sample)
	f.Add(sampleTOML, []byte(goodZones))
	f.Add([]byte(goodTOML), []byte(zoneB(`{"type":"Polygon","coordinates":[[[118,39],[118.1,39.1],[118.1,39],[118,39.1],[118,39]]]}`)))
	// Trailing data, misspelt and free-form properties, the antimeridian, huge rings (20,000
	// vertices; and a GCJ-02 square of 400 km edges that densification turns into thousands).
	f.Add([]byte(goodTOML), []byte(goodZones+goodZones))
	f.Add([]byte(goodTOML), []byte(goodZones+"\n,"))
	f.Add([]byte(goodTOML), []byte(strings.Replace(goodZones, `"margin_m":100`, `"datun":"GCJ-02","margin":300`, 1)))
	f.Add([]byte(goodTOML), []byte(strings.Replace(goodZones, `"margin_m":100`, `"margin_m":100,"meta":{"a":[1]},"x-b":2,"name":"n"`, 1)))
	f.Add([]byte(goodTOML), []byte(zoneB(`{"type":"MultiPolygon","coordinates":[[[[179,60],[180,60],[180,61],[179,60]]],[[[-180,60],[-179,60],[-180,61],[-180,60]]]]}`)))
	f.Add([]byte(goodTOML), []byte(zoneB(`{"type":"Polygon","coordinates":[[[179.5,60],[-179.5,60],[-179.5,61],[179.5,60]]]}`)))
	f.Add([]byte(goodTOML), []byte(zoneB(`{"type":"Polygon","coordinates":[`+hugeRing(20000)+`]}`)))
	f.Add([]byte(goodTOML), []byte(strings.Replace(zoneB(`{"type":"Polygon","coordinates":[[[100,30],[104,30],[104,34],[100,34],[100,30]]]}`), `"id":"b","action":"deny"`, `"id":"b","action":"deny","datum":"GCJ-02"`, 1)))
	f.Fuzz(func(t *testing.T, toml, zones []byte) {
		p, err := Load(bundle(string(toml), string(zones)), nil)
		// Anything after the first JSON value of the zone file fails the load.
		dec := json.NewDecoder(bytes.NewReader(zones))
		var first json.RawMessage
		if dec.Decode(&first) == nil && len(bytes.TrimLeft(zones[dec.InputOffset():], " \t\r\n")) > 0 && err == nil {
			t.Fatalf("a zone file with data after its first value (at byte %d) loaded", dec.InputOffset())
		}
		if err != nil {
			var be *BundleError
			if !errors.As(err, &be) || !strings.HasPrefix(err.Error(), "policy: ") {
				t.Fatalf("error %q is not a *BundleError", err)
			}
			return
		}
		// A bundle that loads must decide without panicking anywhere in its box, and never
		// output a WGS-84 position inside a deny zone or its margin.
		h := &Holder{}
		if err := h.Swap(p); err != nil {
			t.Fatal(err)
		}
		// Around the first vertices, the index's leaf parts agree with its edges.
		ix := p.zoneIx
		ref := edgesOnly(ix)
		for v := range min(len(ix.pts)/2, 64) {
			vx, vy := ix.vertex(v)
			for _, d := range [][2]float64{{1e-4, 0}, {0, -3e-4}, {-2e-3, 1e-3}, {5e-3, 4e-3}} {
				x, y := vx+d[0], vy+d[1]
				if got, want := ix.lookup(x, y, -1, ^uint64(0)), ref.lookup(x, y, -1, ^uint64(0)); got != want {
					t.Fatalf("lookup(%v, %v) = %d from the leaf parts, %d from the edges", x, y, got, want)
				}
			}
		}
		for _, tier := range p.tiers {
			e := h.NewEngine(tier.Name)
			for _, pt := range [][2]float64{{39.05, 119.05}, {39, 119}, {0, 0}, {-90, -180}, {90, 180}} {
				d := e.Decide(fixAt(pt[0], pt[1], t0), t0)
				if d.Action == Drop || d.Datum != WGS84 {
					continue
				}
				if q := p.zoneIx.lookup(d.Lon, d.Lat, -1, e.mask); q >= 0 && p.zones[q].rule == RuleDeny {
					t.Fatalf("tier %s, fix %v: output %v,%v lies in deny zone %q", tier.Name, pt, d.Lat, d.Lon, p.zones[q].id)
				}
			}
		}
	})
}

// hugeRing returns a closed ring of n vertices on a circle of 5 km around 118.5 E 39.5 N,
// as GeoJSON coordinates.
func hugeRing(n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for k := range n + 1 {
		a := 2 * math.Pi * float64(k%n) / float64(n)
		fmt.Fprintf(&b, "[%.7f,%.7f],", 118.5+5000*math.Cos(a)/(mPerDeg*math.Cos(39.5*deg2rad)), 39.5+5000*math.Sin(a)/mPerDeg)
	}
	return strings.TrimSuffix(b.String(), ",") + "]"
}

// TestLoadAntimeridianSplit: a zone across the antimeridian, split at 180 degrees into a
// MultiPolygon as RFC 7946 asks, loads and denies on both sides of the line. A fix exactly
// on the line lies on the boundary of both parts: a margin covers it (docs/POLICY.md).
func TestLoadAntimeridianSplit(t *testing.T) {
	geom := `{"type":"MultiPolygon","coordinates":[[[[179,60],[180,60],[180,61],[179,61],[179,60]]],[[[-180,60],[-179,60],[-179,61],[-180,61],[-180,60]]]]}`
	for _, margin := range []string{"0", "1"} {
		zones := strings.Replace(zoneB(geom), `"id":"b","action":"deny"`, `"id":"b","action":"deny","margin_m":`+margin, 1)
		p, err := Load(bundle(strings.Replace(goodTOML, "precision_m = 50", "precision_m = 0", 1), zones), nil)
		if err != nil {
			t.Fatal(err)
		}
		h := &Holder{}
		if err := h.Swap(p); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			lon    float64
			denied bool
		}{{179.5, true}, {179.9999999, true}, {-179.9999999, true}, {-179.5, true}, {180, true}, {-180, true},
			{178.9, false}, {-178.9, false}, {0, false}} {
			if math.Abs(tt.lon) == 180 && margin == "0" {
				continue // on the boundary: in or out, as for any zone without a margin
			}
			e := h.NewEngine("public")
			if d := e.Decide(fixAt(60.5, tt.lon, t0), t0); (d.Reason == ReasonZoneDeny) != tt.denied {
				t.Errorf("margin %s m, 60.5 N %v E: %v, want denied %v", margin, tt.lon, d.Reason, tt.denied)
			}
		}
	}
}

// TestReloadSameVersion: a version names one content. Reloading the running bundle is
// harmless; the same version with any file changed (even a comment) is refused and the
// running policy stays; a raised version is taken.
func TestReloadSameVersion(t *testing.T) {
	h := &Holder{}
	p1, err := h.Reload(bundle(goodTOML, goodZones), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Reload(bundle(goodTOML, goodZones), nil); err != nil {
		t.Errorf("the same bundle again: %v", err)
	}
	for _, b := range []fstest.MapFS{
		bundle(goodTOML, strings.Replace(goodZones, `"margin_m":100`, `"margin_m":10`, 1)),
		bundle(goodTOML+"# a comment\n", goodZones),
	} {
		_, err := h.Reload(b, nil)
		if !errors.Is(err, ErrVersionReused) || !strings.Contains(err.Error(), "policy: policy.toml: version already names other content: version 3 is running with other content (SHA-256 ") ||
			!strings.Contains(err.Error(), "raise version for every change") {
			t.Errorf("same version, other content: %v", err)
		}
	}
	if h.Policy().digest != p1.digest {
		t.Error("a refused reload replaced the running policy")
	}
	p4, err := h.Reload(bundle(strings.Replace(goodTOML, "version = 3", "version = 4", 1), goodZones), nil)
	if err != nil || h.Policy() != p4 {
		t.Errorf("version 4: %v", err)
	}
}
