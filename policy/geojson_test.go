package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The reference for parseGeoJSON and parseZoneProps: the zone file reader as it was before
// it had its own parser, on encoding/json (json.Decoder for the document and the zone
// properties, json.Unmarshal into [][][]float64 for coordinates).

func refReadGeoJSON(raw []byte, file string, region bool, fileDatum Datum, budget *int) ([]Zone, error) {
	var doc geoJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if off := dec.InputOffset(); len(bytes.TrimLeft(raw[off:], " \t\r\n")) > 0 {
		return nil, errors.New("trailing data")
	}
	feats := doc.Features
	switch doc.Type {
	case "FeatureCollection":
	case "Feature":
		feats = []geoJSON{doc}
	default:
		return nil, errors.New("type")
	}
	if len(feats) == 0 {
		return nil, errors.New("no features")
	}
	var zones []Zone
	for i, f := range feats {
		z := Zone{Source: Source{File: file, Feature: i}, ID: fmt.Sprintf("%s#%d", file, i)}
		datum := fileDatum
		if f.Type != "Feature" {
			return nil, errors.New("feature type")
		}
		if !region {
			var p zoneProps
			if len(f.Properties) == 0 || string(f.Properties) == "null" {
				return nil, errors.New("no properties")
			}
			if err := refParseZoneProps(f.Properties, &p); err != nil {
				return nil, err
			}
			if p.ID == nil || *p.ID == "" || p.Action == nil {
				return nil, errors.New("id or action missing")
			}
			z.ID = *p.ID
			if err := p.apply(&z, &datum); err != nil {
				return nil, err
			}
		}
		if f.Geometry == nil {
			return nil, errors.New("no geometry")
		}
		var cs [][][][]float64
		switch f.Geometry.Type {
		case "Polygon":
			var c [][][]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &c); err != nil {
				return nil, err
			}
			cs = [][][][]float64{c}
		case "MultiPolygon":
			if err := json.Unmarshal(f.Geometry.Coordinates, &cs); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("geometry type")
		}
		for _, c := range cs {
			poly := make(Polygon, len(c))
			for ri, rc := range c {
				poly[ri] = make(Ring, len(rc))
				for k, pos := range rc {
					if len(pos) < 2 {
						return nil, errors.New("short position")
					}
					poly[ri][k] = [2]float64{pos[0], pos[1]}
				}
			}
			if err := convertPolygon(poly, datum, budget); err != nil {
				return nil, err
			}
			z.Polygons = append(z.Polygons, poly)
		}
		zones = append(zones, z)
	}
	return zones, nil
}

func refParseZoneProps(raw json.RawMessage, p *zoneProps) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("properties: want a JSON object")
	}
	fields := map[string]any{"id": &p.ID, "action": &p.Action, "margin_m": &p.MarginM, "precision_m": &p.PrecisionM,
		"datum": &p.Datum, "max_image_pixels": &p.MaxImagePixels, "windows": &p.Windows, "name": &p.Name}
	seen := map[string]bool{}
	var first error
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		if seen[key] && first == nil {
			first = errors.New("appears twice")
		}
		seen[key] = true
		if freeFormProp(key) {
			continue
		}
		field, ok := fields[key]
		if !ok {
			if first == nil {
				first = errors.New("unknown property")
			}
			continue
		}
		if err := json.Unmarshal(val, field); err != nil {
			return err
		}
	}
	return first
}

// sameZones reports whether a and b hold the same zones (an empty and a nil slice alike).
func sameZones(a, b []Zone) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d zones, want %d", len(a), len(b))
	}
	for i := range a {
		za, zb := a[i], b[i]
		if za.ID != zb.ID || za.Rule != zb.Rule || za.MarginM != zb.MarginM || za.PrecisionM != zb.PrecisionM ||
			za.MaxImagePixels != zb.MaxImagePixels || za.Source != zb.Source || strings.Join(za.Windows, "\x00") != strings.Join(zb.Windows, "\x00") ||
			(za.Windows == nil) != (zb.Windows == nil) {
			return fmt.Sprintf("zone %d: %+v, want %+v", i, za, zb)
		}
		if len(za.Polygons) != len(zb.Polygons) {
			return fmt.Sprintf("zone %d: %d polygons, want %d", i, len(za.Polygons), len(zb.Polygons))
		}
		for pi := range za.Polygons {
			pa, pb := za.Polygons[pi], zb.Polygons[pi]
			if len(pa) != len(pb) {
				return fmt.Sprintf("zone %d polygon %d: %d rings, want %d", i, pi, len(pa), len(pb))
			}
			for ri := range pa {
				if !slicesEqualRing(pa[ri], pb[ri]) {
					return fmt.Sprintf("zone %d polygon %d ring %d: %v, want %v", i, pi, ri, pa[ri], pb[ri])
				}
			}
		}
	}
	return ""
}

func slicesEqualRing(a, b Ring) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// stricter reports whether err is one of the two refusals parseGeoJSON adds to what
// encoding/json accepted: a member given twice, a null coordinate.
func stricter(err error) bool {
	s := err.Error()
	return strings.Contains(s, "appears twice (at byte") || strings.Contains(s, "where a number belongs")
}

// FuzzGeoJSON checks readGeoJSON against the encoding/json reference: whatever it accepts,
// the reference accepts with the same zones; whatever it refuses, the reference refuses too,
// but for the two documented stricter rules; and every refusal is a *BundleError.
func FuzzGeoJSON(f *testing.F) {
	for _, name := range []string{"../examples/policy/zones.geojson", "testdata/geo/china_100000_full.json"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, byte(0))
		f.Add(raw, byte(3))
	}
	f.Add([]byte(goodZones), byte(0))
	f.Add([]byte(strings.Replace(goodZones, `"margin_m":100`, `"datum":"GCJ-02","meta":{"a":[1,{"b":null}]},"x-b":"\u00e9\n"`, 1)), byte(0))
	f.Add([]byte(strings.Replace(goodZones, `"type"`, `"TYPE"`, 2)), byte(0))
	f.Add([]byte(strings.Replace(goodZones, `"type":"Polygon"`, `"type":"Polygon","type":"MultiPolygon"`, 1)), byte(0))
	f.Add([]byte(zoneB(`{"type":"MultiPolygon","coordinates":[null,[null,[[118,39,5],[118.1,39],[118.1,39.1e0],[-0.0,-1E-2]]]]}`)), byte(0))
	f.Add([]byte(zoneB(`{"type":"Polygon","coordinates":[[[118,null],[118.1,39],[1e400,39.1],[118,39]]]}`)), byte(1))
	f.Add([]byte(`{"type":"Feature","properties":{"id":"a","action":"deny","margin_m":1,"max_image_pixels":5,"windows":["w"]},"geometry":{"type":"Polygon","coordinates":[[[1,2],[3]]],"bbox":[1,2]}} `), byte(0))
	f.Fuzz(func(t *testing.T, raw []byte, mode byte) {
		region, datum := mode&1 != 0, Datum(mode>>1&1)
		var budget, refBudget *int
		if !region {
			b1, b2 := maxDensifyVertices, maxDensifyVertices
			budget, refBudget = &b1, &b2
		}
		got, err := readGeoJSON(raw, "f", region, datum, budget)
		want, refErr := refReadGeoJSON(raw, "f", region, datum, refBudget)
		switch {
		case err == nil && refErr != nil:
			t.Fatalf("accepted, encoding/json refuses: %v", refErr)
		case err != nil && refErr == nil && !stricter(err):
			t.Fatalf("refused (%v), encoding/json accepts", err)
		case err != nil:
			var be *BundleError
			if !errors.As(err, &be) {
				t.Fatalf("error %q is not a *BundleError", err)
			}
		default:
			if d := sameZones(got, want); d != "" {
				t.Fatal(d)
			}
		}
	})
}

// TestFastFloat compares fastFloat with strconv.ParseFloat on numbers at the edges of its
// fast path and on random coordinates.
func TestFastFloat(t *testing.T) {
	nums := []string{"0", "-0", "-0.0", "1", "123456789012345", "-123456789012345", "0.000000000000001",
		"999999999999999", "9007199254740991", "0.1", "0.3", "116.39128", "-179.9999999", "39.9042000000001",
		"1234567.89012345", "1.0000000000000000000001", "5e-324", "1e22", "0.0000000000000000000001"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		nums = append(nums, strconv.FormatFloat((rng.Float64()-0.5)*360, 'f', rng.IntN(16), 64))
	}
	fast := 0
	for _, n := range nums {
		want, err := strconv.ParseFloat(n, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := fastFloat([]byte(n))
		if !ok {
			continue
		}
		fast++
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("fastFloat(%s) = %v, want %v", n, got, want)
		}
	}
	if fast < len(nums)/2 {
		t.Errorf("fast path taken for %d of %d numbers", fast, len(nums))
	}
}
