package mapsvg_test

import (
	"bytes"
	"fmt"

	"github.com/geogate/geogate/mapsvg"
	"github.com/geogate/geogate/policy"
)

// A deny zone with a margin, two stored positions and one dropped fix the caller may show
// (a test drive), drawn as an SVG document.
func Example() {
	m := mapsvg.Map{
		Title: "a deny zone and three fixes",
		Zones: []policy.Zone{{
			ID: "office", Rule: policy.RuleDeny, MarginM: 200,
			Polygons: []policy.Polygon{{{{116.30, 39.90}, {116.31, 39.90}, {116.31, 39.91}, {116.30, 39.91}, {116.30, 39.90}}}},
		}},
		Points: []mapsvg.Point{
			{Lat: 39.905, Lon: 116.290, Class: mapsvg.Kept},
			{Lat: 39.905, Lon: 116.295, Class: mapsvg.Coarsened},
			{Lat: 39.905, Lon: 116.305, Class: mapsvg.Dropped},
		},
		Tallies: []mapsvg.Tally{{Class: mapsvg.Dropped, Total: 1, Note: "test drive: drawn"}},
	}
	svg, err := m.SVG()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(bytes.SplitN(svg, []byte("\n"), 2)[0]))
	fmt.Println(bytes.Count(svg, []byte(`class="zone deny"`)), "zone,", bytes.Count(svg, []byte(`<g class="points`)), "point groups")
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// 1 zone, 3 point groups
}
