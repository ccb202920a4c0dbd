// Package mapsvg draws a policy and what it did to a drive as one self-contained SVG file:
// the zones with their margins and grids, the positions of fixes coloured by what became of
// them (kept, coarsened, dropped; stored frames), a legend and a scale bar. It has no base
// map and fetches nothing: the picture is made from what the caller hands over and nothing
// else, so a map of a storage log can show no more than the log holds.
//
// # Drawing
//
// A [Map] lists zones (as a policy bundle holds them, WGS-84), the points to draw and the
// legend's tallies; [Map.SVG] renders it:
//
//	m := mapsvg.Map{Title: "policy geogate-sample v1, tier licensed", Zones: spec.Zones}
//	m.Points = append(m.Points, mapsvg.Point{Lat: d.Lat, Lon: d.Lon, Class: mapsvg.Kept})
//	m.Tallies = []mapsvg.Tally{{Class: mapsvg.Kept, Total: 1}}
//	svg, err := m.SVG()
//
// The drawing is a plain equirectangular projection around the middle latitude of the
// extent, so that one metre is the same length across and up (the projection the policy
// measures margins and grids in, see docs/POLICY.md "Distances"). Margins are drawn as the
// zone's boundary stroked twice the margin wide with round joins: the outer half of that
// stroke is exactly the set of points less than the margin from the boundary. Coarsen zones
// (and a tier's grid, where it is coarse enough to see) show the cells positions snap to,
// computed as docs/POLICY.md "Precision" defines them.
//
// # Determinism
//
// The output depends on the Map only: no dates, no random ids, coordinates rounded to a
// tenth of a pixel and products kept unfused, so golden files compare byte for byte. The
// plot group carries the extent (data-west, data-south, data-east, data-north) and the plot
// rectangle so that a reader can map any drawn coordinate back to degrees.
//
// # Privacy
//
// mapsvg draws every point it is given, where it is given. Which positions a caller may
// hand over (a dropped fix's true position, say) is the caller's decision; geogate map
// documents its own.
package mapsvg
