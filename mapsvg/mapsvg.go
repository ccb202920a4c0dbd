package mapsvg

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/geogate/geogate/policy"
)

// Errors [Map.SVG] returns; callers branch on them with errors.Is.
var (
	// ErrEmpty means the map has neither zones nor points: there is nothing to draw.
	ErrEmpty = errors.New("mapsvg: nothing to draw (no zones and no points)")
	// ErrCoordinate means a point or track position is NaN, infinite or outside
	// [-90,90] x [-180,180]. The error names the point.
	ErrCoordinate = errors.New("mapsvg: coordinate out of range")
)

// Class is what became of a fix, and so how its point is drawn.
type Class uint8

// Classes, in the order the legend lists them.
const (
	Kept      Class = iota // stored at full precision: a blue dot
	Coarsened              // stored on a grid point: a purple square
	Dropped                // not stored: a red cross (only where the caller may show it)
	Frame                  // a stored camera frame's position: a hollow teal square
	numClasses
)

var classNames = [numClasses]string{Kept: "kept", Coarsened: "coarsened", Dropped: "dropped", Frame: "frame"}

// String returns "kept", "coarsened", "dropped" or "frame", the SVG class name of the
// class's point group.
func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Point is one position to draw, WGS-84 degrees.
type Point struct {
	Lat, Lon float64
	Class    Class
}

// Line is a polyline of [lon, lat] positions in WGS-84 degrees (GeoJSON order, as
// policy.Ring).
type Line [][2]float64

// Tally is one legend row for a class: "kept: 523" and a note. Total may exceed the points
// of the class drawn (dropped fixes that are not drawn, say); the note says why.
type Tally struct {
	Class Class
	Total int
	Note  string // e.g. "full precision"; "" for none
}

// Map is what to draw. The zero value of each field draws nothing of it.
type Map struct {
	// Title and Subtitle head the picture (policy, tier, input).
	Title, Subtitle string
	// Warning is a line in red under the title, e.g. that dropped fixes are drawn.
	Warning string
	// Zones are the policy's zones, WGS-84 (policy.ReadSpec converts GCJ-02 sources).
	// Zones far from the points are left out of the extent (and clipped).
	Zones []policy.Zone
	// Tier is the tier the points were decided at: its grid applies outside deny zones.
	// A zero Tier (PrecisionM 0) has no grid.
	Tier policy.Tier
	// Points are drawn in the order given, grouped by class.
	Points []Point
	// Tracks are drawn as thin grey lines under the points.
	Tracks []Line
	// Tallies are the legend's rows for the classes, in order. A class with points but no
	// tally gets one counting its points.
	Tallies []Tally
	// Notes are lines of text under the legend.
	Notes []string
}

// Layout in pixels. The plot is as wide as a laptop screen shows without scrolling next to
// the legend; its height follows the extent's aspect within [minPlotH, maxPlotH] (the extent
// is widened to fit, so that a metre is as long across as up).
const (
	plotW     = 960
	minPlotH  = 480
	maxPlotH  = 960
	pad       = 16  // around the plot and the legend
	headerH   = 80  // title, subtitle, warning
	legendW   = 360 // wraps at about 50 characters of 12 px DejaVu Sans
	rowH      = 20  // legend row
	wrapChars = 50
	// minGridPx is the smallest cell drawn: finer grids would grey the zone out.
	minGridPx = 6
	// marginFrac pads the extent by 4 % on each side so points on its edge are not cut.
	marginFrac = 0.04
	// minExtentM keeps the map of a single point or a short stretch a readable 2 km.
	minExtentM = 2000
	// zoneFitFactor: a zone much larger than the points' extent (a province) would shrink
	// the drive to a dot; zones up to this many times the extent's size are shown whole.
	zoneFitFactor = 4
)

// mPerDeg is the length of a degree of latitude on policy's sphere (docs/POLICY.md,
// "Distances": the IUGG mean radius 6,371,008.8 m), so grids and margins are drawn in the
// metres the policy measures them in.
const mPerDeg = 6371008.8 * math.Pi / 180

// Colours: pastel areas so that the saturated points stand out on them.
type ruleStyle struct{ fill, margin, line, grid, text, text2 string }

var ruleStyles = map[policy.Rule]ruleStyle{
	policy.RuleDeny:    {fill: "#f2c4c0", margin: "#f9e1de", line: "#b22d22", text: "deny: nothing is stored", text2: "#8a1c12"},
	policy.RuleCoarsen: {fill: "#fcefd6", margin: "#fdf6e8", line: "#c27c0e", grid: "#e8c98a", text: "coarsen: stored on the zone's grid", text2: "#6e4506"},
	policy.RuleAllow:   {fill: "#d7efd9", margin: "#ebf7ec", line: "#2e7d4f", grid: "#9fcfb0", text: "allow: stored at the tier's precision", text2: "#1d5535"},
}

var classColour = [numClasses]string{Kept: "#1f5fbf", Coarsened: "#6a1b9a", Dropped: "#d7191c", Frame: "#0b7a75"}

const (
	trackColour = "#7d7d7d"
	fontFamily  = "DejaVu Sans, Verdana, Arial, sans-serif"
)

// bbox is a longitude/latitude box; ok is false while it is empty.
type bbox struct {
	w, s, e, n float64
	ok         bool
}

func (b *bbox) add(lon, lat float64) {
	if !b.ok {
		*b = bbox{lon, lat, lon, lat, true}
		return
	}
	b.w, b.e = min(b.w, lon), max(b.e, lon)
	b.s, b.n = min(b.s, lat), max(b.n, lat)
}

func (b *bbox) union(o bbox) {
	if o.ok {
		b.add(o.w, o.s)
		b.add(o.e, o.n)
	}
}

func (b bbox) intersects(o bbox) bool {
	return b.ok && o.ok && b.w <= o.e && o.w <= b.e && b.s <= o.n && o.s <= b.n
}

// grow widens b by dx metres east and west and dy metres north and south.
func (b bbox) grow(dx, dy float64) bbox {
	c := math.Cos((b.s + b.n) / 2 * math.Pi / 180)
	b.w -= dx / (mPerDeg * c)
	b.e += dx / (mPerDeg * c)
	b.s -= dy / mPerDeg
	b.n += dy / mPerDeg
	return b
}

// size returns b's width and height in metres.
func (b bbox) size() (w, h float64) {
	c := math.Cos((b.s + b.n) / 2 * math.Pi / 180)
	return (b.e - b.w) * mPerDeg * c, (b.n - b.s) * mPerDeg
}

func zoneBox(z *policy.Zone) bbox {
	var b bbox
	for _, p := range z.Polygons {
		if len(p) > 0 {
			for _, v := range p[0] {
				b.add(v[0], v[1])
			}
		}
	}
	if b.ok && z.MarginM > 0 {
		b = b.grow(z.MarginM, z.MarginM)
	}
	return b
}

func (m *Map) check() error {
	bad := func(lat, lon float64) bool {
		return !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)
	}
	for i, p := range m.Points {
		if bad(p.Lat, p.Lon) {
			return fmt.Errorf("%w: point %d (%s) at lat %v, lon %v", ErrCoordinate, i, p.Class, p.Lat, p.Lon)
		}
		if p.Class >= numClasses {
			return fmt.Errorf("mapsvg: point %d has unknown %v", i, p.Class)
		}
	}
	for i, l := range m.Tracks {
		for j, v := range l {
			if bad(v[1], v[0]) {
				return fmt.Errorf("%w: track %d position %d at lat %v, lon %v", ErrCoordinate, i, j, v[1], v[0])
			}
		}
	}
	for _, t := range m.Tallies {
		if t.Class >= numClasses {
			return fmt.Errorf("mapsvg: tally of unknown %v", t.Class)
		}
	}
	return nil
}

// extent is the box the plot shows: the points and tracks, every zone near them that is not
// much larger than they are; without points, every zone. It is padded and at least
// minExtentM across.
func (m *Map) extent() (bbox, bool) {
	var pts bbox
	for _, p := range m.Points {
		pts.add(p.Lon, p.Lat)
	}
	for _, l := range m.Tracks {
		for _, v := range l {
			pts.add(v[0], v[1])
		}
	}
	ext := pts
	if pts.ok {
		w, h := pts.size()
		near := pts.grow(max(w/10, 1000), max(h/10, 1000))
		nw, nh := near.size()
		for i := range m.Zones {
			zb := zoneBox(&m.Zones[i])
			zw, zh := zb.size()
			if zb.intersects(near) && zw <= zoneFitFactor*nw && zh <= zoneFitFactor*nh {
				ext.union(zb)
			}
		}
	} else {
		for i := range m.Zones {
			ext.union(zoneBox(&m.Zones[i]))
		}
	}
	if !ext.ok {
		return ext, false
	}
	w, h := ext.size()
	ext = ext.grow(max(w*marginFrac, (minExtentM-w)/2), max(h*marginFrac, (minExtentM-h)/2))
	ext.s, ext.n = max(ext.s, -90), min(ext.n, 90)
	return ext, true
}

// proj maps degrees to pixels: equirectangular around the extent's middle latitude.
type proj struct {
	ext            bbox
	kx, ky         float64 // pixels per degree of longitude, latitude
	x0, y0, w, h   float64 // the plot rectangle
	pxPerM, cosLat float64
}

func newProj(ext bbox) *proj {
	c := math.Cos((ext.s + ext.n) / 2 * math.Pi / 180)
	wm, hm := ext.size()
	switch {
	case hm/wm > maxPlotH/float64(plotW): // too tall: widen
		d := (hm*plotW/maxPlotH - wm) / 2 / (mPerDeg * c)
		ext.w, ext.e = ext.w-d, ext.e+d
	case hm/wm < minPlotH/float64(plotW): // too flat: heighten
		d := (wm*minPlotH/plotW - hm) / 2 / mPerDeg
		ext.s, ext.n = ext.s-d, ext.n+d
	}
	wm, hm = ext.size()
	p := &proj{ext: ext, x0: pad, y0: headerH, w: plotW, cosLat: c}
	p.pxPerM = plotW / wm
	p.h = math.Round(hm * p.pxPerM)
	p.kx = plotW / (ext.e - ext.w)
	p.ky = p.h / (ext.n - ext.s)
	return p
}

// xy returns the pixel position of (lon, lat). The conversions keep Go from fusing the
// multiply-adds on some architectures and not on others, which would move a coordinate
// across a rounding boundary and break golden files.
func (p *proj) xy(lon, lat float64) (float64, float64) {
	return p.x0 + float64((lon-p.ext.w)*p.kx), p.y0 + float64((p.ext.n-lat)*p.ky)
}

// num formats a pixel coordinate to a tenth of a pixel, shortest form.
func num(v float64) string {
	r := math.Round(v*10) / 10
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// svgBuf builds the document; text goes through esc.
type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(b, format, args...) }

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		default:
			if r < 0x20 && r != '\t' && r != '\n' || r == 0xFFFD {
				r = '?'
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SVG renders the map as a self-contained SVG 1.1 document (no scripts, no external
// references, fonts by family name). The same Map always gives the same bytes.
func (m *Map) SVG() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	ext, ok := m.extent()
	if !ok {
		return nil, ErrEmpty
	}
	p := newProj(ext)
	order := make([]int, len(m.Zones)) // drawn from least to most restrictive: deny on top
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(m.Zones[a].Rule) - int(m.Zones[b].Rule) })

	var lg legend
	m.buildLegend(&lg, p)
	width := pad + plotW + pad + legendW + pad
	height := int(math.Max(p.y0+p.h, headerH+float64(lg.height()))) + pad

	var b svgBuf
	b.f(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.f(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s" font-size="12">`+"\n",
		width, height, width, height, fontFamily)
	b.f("<title>%s</title>\n", esc(m.Title))
	b.f(`<rect class="background" width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	m.header(&b)

	// Clip paths: the plot, and each zone whose grid is drawn.
	b.f("<defs>\n")
	b.f(`<clipPath id="plot-clip"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath>`+"\n", num(p.x0), num(p.y0), num(p.w), num(p.h))
	grids := make([]float64, len(m.Zones))
	for i := range m.Zones {
		z := &m.Zones[i]
		if g := gridOf(z, m.Tier); z.Rule != policy.RuleDeny && g*p.pxPerM >= minGridPx {
			grids[i] = g
			b.f(`<clipPath id="zone-clip-%d"><path clip-rule="evenodd" d="%s"/></clipPath>`+"\n", i, zonePath(p, z))
		}
	}
	b.f("</defs>\n")

	b.f(`<g id="plot" clip-path="url(#plot-clip)" data-west="%s" data-south="%s" data-east="%s" data-north="%s">`+"\n",
		deg(p.ext.w), deg(p.ext.s), deg(p.ext.e), deg(p.ext.n))
	b.f(`<rect class="plot-background" x="%s" y="%s" width="%s" height="%s" fill="#f6f6f2"/>`+"\n", num(p.x0), num(p.y0), num(p.w), num(p.h))
	if g := m.Tier.PrecisionM; g > 0 && g*p.pxPerM >= minGridPx {
		b.f(`<path class="tier-grid" fill="none" stroke="#c9c9c0" stroke-width="0.5" d="%s"/>`+"\n", gridPath(p, p.ext, g))
	}
	for _, i := range order {
		m.zone(&b, p, i, grids[i])
	}
	m.outlines(&b, p, order)
	m.tracks(&b, p)
	m.points(&b, p)
	m.labels(&b, p, order)
	scaleBar(&b, p)
	northArrow(&b, p)
	b.f("</g>\n")
	b.f(`<rect class="plot-frame" x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#555555" stroke-width="1"/>`+"\n", num(p.x0), num(p.y0), num(p.w), num(p.h))
	lg.write(&b, pad+plotW+pad, headerH)
	b.f("</svg>\n")
	return []byte(b.String()), nil
}

// deg formats a coordinate of the extent, to 1e-7 degree (1 cm).
func deg(v float64) string { return strconv.FormatFloat(v, 'f', 7, 64) }

func (m *Map) header(b *svgBuf) {
	b.f(`<g class="header">`)
	b.f(`<text x="%d" y="28" font-size="18" font-weight="bold" fill="#222222">%s</text>`, pad, esc(m.Title))
	if m.Subtitle != "" {
		b.f(`<text x="%d" y="48" font-size="12" fill="#444444">%s</text>`, pad, esc(m.Subtitle))
	}
	if m.Warning != "" {
		b.f(`<text class="warning" x="%d" y="68" font-size="13" font-weight="bold" fill="%s">%s</text>`, pad, classColour[Dropped], esc(m.Warning))
	}
	b.f("</g>\n")
}

// gridOf is the grid a zone's positions snap to: the coarser of the tier's and the zone's.
func gridOf(z *policy.Zone, t policy.Tier) float64 {
	switch z.Rule {
	case policy.RuleCoarsen:
		return max(z.PrecisionM, t.PrecisionM)
	case policy.RuleAllow:
		return t.PrecisionM
	}
	return 0
}

// zonePath is the SVG path of a zone's polygons and holes (even-odd).
// pathTo writes the SVG path commands of pts to s: a move to the first point, then each point
// that lands on other pixels than the one before, preceded by sep.
func pathTo(s *strings.Builder, p *proj, pts [][2]float64, sep string) {
	last := ""
	for i, v := range pts {
		x, y := p.xy(v[0], v[1])
		pt := num(x) + " " + num(y)
		switch {
		case i == 0:
			s.WriteString("M" + pt)
		case pt != last:
			s.WriteString(sep + pt)
		}
		last = pt
	}
}

func zonePath(p *proj, z *policy.Zone) string {
	var s strings.Builder
	for _, poly := range z.Polygons {
		for _, ring := range poly {
			pathTo(&s, p, ring, " ")
			s.WriteString("Z")
		}
	}
	return s.String()
}

// gridPath draws the cells of a grid of g metres over box, as docs/POLICY.md "Precision"
// defines it: rows of g/111195 degrees of latitude centred on its multiples; in each row,
// cells of the same length in metres at the row's centre latitude. A coarsened position is
// the centre of its cell.
func gridPath(p *proj, box bbox, g float64) string {
	var s strings.Builder
	dLat := g / mPerDeg
	k0, k1 := math.Floor(box.s/dLat-0.5), math.Ceil(box.n/dLat+0.5)
	xw, _ := p.xy(box.w, 0)
	xe, _ := p.xy(box.e, 0)
	for k := k0; k <= k1; k++ {
		_, y := p.xy(0, (k+0.5)*dLat)
		s.WriteString("M" + num(xw) + " " + num(y) + "H" + num(xe))
		c := math.Cos(k * dLat * math.Pi / 180)
		if c < 1e-9 {
			continue
		}
		dLon := dLat / c
		_, yTop := p.xy(0, (k+0.5)*dLat)
		_, yBot := p.xy(0, (k-0.5)*dLat)
		for j := math.Floor(box.w/dLon - 0.5); j <= math.Ceil(box.e/dLon+0.5); j++ {
			x, _ := p.xy((j+0.5)*dLon, 0)
			s.WriteString("M" + num(x) + " " + num(yTop) + "V" + num(yBot))
		}
	}
	return s.String()
}

// zone draws one zone: its margin, its area and its grid. The outline comes later (outlines).
func (m *Map) zone(b *svgBuf, p *proj, i int, grid float64) {
	z := &m.Zones[i]
	st := ruleStyles[z.Rule]
	d := zonePath(p, z)
	b.f(`<g class="zone %s" data-zone="%s">`, z.Rule, esc(z.ID))
	if z.MarginM > 0 {
		b.f(`<path class="margin" fill="%s" stroke="%s" stroke-width="%s" stroke-linejoin="round" d="%s"/>`,
			st.margin, st.margin, num(2*z.MarginM*p.pxPerM), d)
	}
	b.f(`<path class="area" fill="%s" fill-rule="evenodd" d="%s"/>`, st.fill, d)
	if grid > 0 {
		zb := zoneBox(z)
		box := bbox{max(zb.w, p.ext.w), max(zb.s, p.ext.s), min(zb.e, p.ext.e), min(zb.n, p.ext.n), true}
		if box.w < box.e && box.s < box.n {
			b.f(`<path class="grid" fill="none" stroke="%s" stroke-width="0.5" clip-path="url(#zone-clip-%d)" d="%s"/>`, st.grid, i, gridPath(p, box, grid))
		}
	}
	b.f("</g>\n")
}

// outlines draws every zone's boundary over all areas, so that a zone a more restrictive
// one covers still shows where it is; dashed when only a time window puts it in force.
func (m *Map) outlines(b *svgBuf, p *proj, order []int) {
	b.f(`<g class="outlines" fill="none" stroke-width="1.5">` + "\n")
	for _, i := range order {
		z := &m.Zones[i]
		dash := ""
		if len(z.Windows) > 0 {
			dash = ` stroke-dasharray="8 5"`
		}
		b.f(`<path data-zone="%s" stroke="%s"%s d="%s"/>`+"\n", esc(z.ID), ruleStyles[z.Rule].line, dash, zonePath(p, z))
	}
	b.f("</g>\n")
}

func (m *Map) tracks(b *svgBuf, p *proj) {
	if len(m.Tracks) == 0 {
		return
	}
	b.f(`<g class="tracks" fill="none" stroke="%s" stroke-width="1" stroke-linejoin="round">`, trackColour)
	for _, l := range m.Tracks {
		var s strings.Builder
		pathTo(&s, p, l, "L")
		b.f(`<path d="%s"/>`, s.String())
	}
	b.f("</g>\n")
}

// points draws one group per class that has points, one element per point.
func (m *Map) points(b *svgBuf, p *proj) {
	for _, c := range []Class{Kept, Coarsened, Frame, Dropped} {
		n := 0
		for _, pt := range m.Points {
			if pt.Class != c {
				continue
			}
			if n == 0 {
				b.f(`<g class="points %s" %s>`+"\n", c, markerStyle(c))
			}
			n++
			x, y := p.xy(pt.Lon, pt.Lat)
			b.f("%s\n", marker(c, x, y))
		}
		if n > 0 {
			b.f("</g>\n")
		}
	}
}

// marker is the element of one point of class c at (x, y).
func marker(c Class, x, y float64) string {
	switch c {
	case Kept:
		return `<circle cx="` + num(x) + `" cy="` + num(y) + `" r="2.2"/>`
	case Coarsened:
		return `<rect x="` + num(x-2.8) + `" y="` + num(y-2.8) + `" width="5.6" height="5.6"/>`
	case Frame:
		return `<rect x="` + num(x-3.5) + `" y="` + num(y-3.5) + `" width="7" height="7"/>`
	}
	return `<path d="M` + num(x-3) + " " + num(y-3) + "l6 6m0 -6l-6 6" + `"/>`
}

// labels writes each zone's name and rule where it is easiest to read, with a white halo;
// see labelSpot.
func (m *Map) labels(b *svgBuf, p *proj, order []int) {
	if len(m.Zones) == 0 {
		return
	}
	b.f(`<g class="labels" font-size="12" font-weight="bold" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">` + "\n")
	var dots [][2]float64 // what a label should not hide
	for _, pt := range m.Points {
		x, y := p.xy(pt.Lon, pt.Lat)
		dots = append(dots, [2]float64{x, y})
	}
	for _, l := range m.Tracks {
		for _, v := range l {
			x, y := p.xy(v[0], v[1])
			dots = append(dots, [2]float64{x, y})
		}
	}
	var taken [][4]float64
	for oi, i := range order {
		z := &m.Zones[i]
		text := zoneText(z)
		w := float64(len([]rune(text)))*7.4 + 4 // DejaVu Sans Bold 12 px averages under 7.4 px a character
		x, y, ok := m.labelSpot(p, order[oi+1:], z, w, taken, dots)
		if !ok {
			continue // no room: the legend still explains the colours
		}
		taken = append(taken, labelBox(x, y, w))
		b.f(`<text x="%s" y="%s" text-anchor="middle" fill="%s" data-zone="%s">%s</text>`+"\n", num(x), num(y), ruleStyles[z.Rule].text2, esc(z.ID), esc(text))
	}
	b.f("</g>\n")
}

// labelBox is the box a label w pixels wide takes, centred on x with its baseline at y.
func labelBox(x, y, w float64) [4]float64 {
	return [4]float64{x - w/2, y - 13, x + w/2, y + 4}
}

// zoneText is a zone's label: "beidaihe: deny, margin 500 m".
func zoneText(z *policy.Zone) string {
	s := z.ID + ": " + z.Rule.String()
	if z.Rule == policy.RuleCoarsen {
		s += " to " + metres(z.PrecisionM)
	}
	if z.MarginM > 0 {
		s += ", margin " + metres(z.MarginM)
	}
	if len(z.Windows) > 0 {
		s += " (only in " + strings.Join(z.Windows, ", ") + ")"
	}
	return s
}

// metres formats a length: "500 m", "1 km", "2.5 km", with a no-break space that the
// legend does not wrap at.
func metres(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'g', 4, 64) + "\u00a0km"
	}
	return strconv.FormatFloat(v, 'g', 4, 64) + "\u00a0m"
}

// labelSpot finds where to put a zone's label w pixels wide. Candidates: the zone's centroid,
// a 24x24 lattice over its box (top row first), then spots just outside the box (above,
// below, left, right). It takes the first candidate where the whole label lies inside the
// zone, covers no point, no zone drawn above it and no other label; failing that, the first
// outside spot that covers no point or label; failing that, the first with the label's middle
// inside the zone.
func (m *Map) labelSpot(p *proj, above []int, z *policy.Zone, w float64, taken [][4]float64, dots [][2]float64) (x, y float64, ok bool) {
	rings := pixelRings(p, z)
	var aboveRings [][][][2]float64
	for _, i := range above {
		aboveRings = append(aboveRings, pixelRings(p, &m.Zones[i]))
	}
	var bx bbox
	for _, r := range rings {
		for _, v := range r {
			bx.add(v[0], v[1])
		}
	}
	onPlot := func(bo [4]float64) bool {
		// The bottom 50 px hold the scale bar, the top right corner the north arrow.
		return bo[0] >= p.x0+2 && bo[2] <= p.x0+p.w-2 && bo[1] >= p.y0+2 && bo[3] <= p.y0+p.h-50 &&
			!(bo[2] > p.x0+p.w-44 && bo[1] < p.y0+64)
	}
	clear := func(bo [4]float64) bool {
		for _, t := range taken {
			if bo[0] < t[2] && t[0] < bo[2] && bo[1] < t[3] && t[1] < bo[3] {
				return false
			}
		}
		for _, d := range dots {
			if d[0] > bo[0]-3 && d[0] < bo[2]+3 && d[1] > bo[1]-3 && d[1] < bo[3]+3 {
				return false
			}
		}
		return true
	}
	corners := func(bo [4]float64) [][2]float64 {
		return [][2]float64{{bo[0], bo[1]}, {bo[2], bo[1]}, {bo[0], bo[3]}, {bo[2], bo[3]}, {(bo[0] + bo[2]) / 2, (bo[1] + bo[3]) / 2}}
	}
	within := func(bo [4]float64) bool {
		for _, c := range corners(bo) {
			if !inside(rings, c[0], c[1]) {
				return false
			}
			for _, r := range aboveRings {
				if inside(r, c[0], c[1]) {
					return false
				}
			}
		}
		return true
	}
	var in [][2]float64
	if cx, cy, ok := centroid(rings); ok {
		in = append(in, [2]float64{cx, cy + 5})
	}
	const steps = 24
	for iy := 1; iy < steps; iy++ {
		for ix := 1; ix < steps; ix++ {
			// Pixel y grows downwards: bx.s is the top.
			in = append(in, [2]float64{bx.w + (bx.e-bx.w)*float64(ix)/steps, bx.s + (bx.n-bx.s)*float64(iy)/steps})
		}
	}
	cx := (bx.w + bx.e) / 2
	out := [][2]float64{{cx, bx.s - 6}, {cx, bx.n + 17}, {bx.w - w/2 - 6, (bx.s + bx.n) / 2}, {bx.e + w/2 + 6, (bx.s + bx.n) / 2}}
	for _, c := range in {
		if bo := labelBox(c[0], c[1], w); onPlot(bo) && clear(bo) && within(bo) {
			return c[0], c[1], true
		}
	}
	for _, c := range out {
		if bo := labelBox(c[0], c[1], w); onPlot(bo) && clear(bo) {
			return c[0], c[1], true
		}
	}
	for _, c := range in {
		if bo := labelBox(c[0], c[1], w); onPlot(bo) && inside(rings, c[0], c[1]-5) {
			return c[0], c[1], true
		}
	}
	return 0, 0, false
}

// pixelRings returns every ring of z in pixels.
func pixelRings(p *proj, z *policy.Zone) [][][2]float64 {
	var out [][][2]float64
	for _, poly := range z.Polygons {
		for _, ring := range poly {
			r := make([][2]float64, len(ring))
			for i, v := range ring {
				r[i][0], r[i][1] = p.xy(v[0], v[1])
			}
			out = append(out, r)
		}
	}
	return out
}

// inside is the even-odd rule over all rings (holes included).
func inside(rings [][][2]float64, x, y float64) bool {
	in := false
	for _, r := range rings {
		for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
			a, c := r[i], r[j]
			if (a[1] > y) != (c[1] > y) && x < (c[0]-a[0])*(y-a[1])/(c[1]-a[1])+a[0] {
				in = !in
			}
		}
	}
	return in
}

// centroid is the area centroid of the first (outer) ring.
func centroid(rings [][][2]float64) (x, y float64, ok bool) {
	if len(rings) == 0 {
		return 0, 0, false
	}
	r := rings[0]
	var a, cx, cy float64
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		f := r[j][0]*r[i][1] - r[i][0]*r[j][1]
		a += f
		cx += (r[j][0] + r[i][0]) * f
		cy += (r[j][1] + r[i][1]) * f
	}
	if a == 0 {
		return 0, 0, false
	}
	return cx / (3 * a), cy / (3 * a), true
}

// scaleBar draws a bar of a round length (1, 2 or 5 times a power of ten metres) near a
// fifth of the plot's width in its bottom left corner.
func scaleBar(b *svgBuf, p *proj) {
	target := p.w / 5 / p.pxPerM
	length := math.Pow(10, math.Floor(math.Log10(target)))
	for _, f := range []float64{5, 2} {
		if length*f <= target {
			length *= f
			break
		}
	}
	bar := length * p.pxPerM
	x, y := p.x0+16, p.y0+p.h-16
	b.f(`<g class="scalebar" data-metres="%s">`, strconv.FormatFloat(length, 'f', -1, 64))
	b.f(`<rect x="%s" y="%s" width="%s" height="34" fill="#ffffff" fill-opacity="0.85" stroke="#999999" stroke-width="0.5"/>`, num(x-10), num(y-26), num(bar+20))
	b.f(`<rect x="%s" y="%s" width="%s" height="6" fill="#222222"/>`, num(x), num(y-6), num(bar/2))
	b.f(`<rect x="%s" y="%s" width="%s" height="6" fill="#ffffff" stroke="#222222" stroke-width="1"/>`, num(x+bar/2), num(y-6), num(bar/2))
	b.f(`<text x="%s" y="%s" text-anchor="middle" font-size="11">0</text>`, num(x), num(y-10))
	b.f(`<text x="%s" y="%s" text-anchor="middle" font-size="11">%s</text>`, num(x+bar), num(y-10), metres(length))
	b.f("</g>\n")
}

// northArrow marks north (up) in the top right corner.
func northArrow(b *svgBuf, p *proj) {
	x, y := p.x0+p.w-24, p.y0+14
	b.f(`<g class="north"><path d="M%s %sl7 20l-7 -5l-7 5z" fill="#333333"/><text x="%s" y="%s" text-anchor="middle" font-size="12" font-weight="bold">N</text></g>`+"\n",
		num(x), num(y+10), num(x), num(y+44))
}
