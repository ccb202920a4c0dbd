package mapsvg

import (
	"strconv"
	"strings"

	"github.com/geogate/geogate/policy"
)

// legend is the panel right of the plot: a list of rows, each an optional swatch and text.
type legend struct{ rows []legendRow }

type legendRow struct {
	heading bool
	swatch  string // SVG of the swatch at (0,0)-(20,12), or ""
	text    string
	small   bool // a continuation or note line
	class   string
}

func (l *legend) add(r legendRow) { l.rows = append(l.rows, r) }

// addText adds text wrapped at wrapChars, the first line with swatch.
func (l *legend) addText(swatch, text, class string, small bool) {
	for i, line := range wrap(text, wrapChars) {
		r := legendRow{text: line, small: small || i > 0, class: class}
		if i == 0 {
			r.swatch = swatch
		}
		l.add(r)
	}
}

func (l *legend) height() int {
	h := 8
	for _, r := range l.rows {
		h += rowHeight(r)
	}
	return h
}

func rowHeight(r legendRow) int {
	switch {
	case r.heading:
		return rowH + 8
	case r.small:
		return rowH - 4
	}
	return rowH
}

// wrap breaks s into lines of at most n characters at spaces (a longer word stands alone;
// no-break spaces hold).
func wrap(s string, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Split(s, " ") {
		if w == "" {
			continue
		}
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= n:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// buildLegend lists what the plot shows: the zone rules present, margins, time windows,
// grids, then one row per class tally, the tracks, and the notes.
func (m *Map) buildLegend(l *legend, p *proj) {
	l.add(legendRow{heading: true, text: "Zones"})
	var rules [3]bool
	margin, windowed, grid := false, false, false
	for i := range m.Zones {
		z := &m.Zones[i]
		if int(z.Rule) < len(rules) {
			rules[z.Rule] = true
		}
		margin = margin || z.MarginM > 0
		windowed = windowed || len(z.Windows) > 0
		if g := gridOf(z, m.Tier); g*p.pxPerM >= minGridPx {
			grid = true
		}
	}
	if len(m.Zones) == 0 {
		l.addText("", "none (no policy given)", "", true)
	}
	for _, r := range []policy.Rule{policy.RuleDeny, policy.RuleCoarsen, policy.RuleAllow} {
		if rules[r] {
			st := ruleStyles[r]
			l.addText(`<rect width="20" height="12" fill="`+st.fill+`" stroke="`+st.line+`" stroke-width="1.5"/>`, st.text, "zone-"+r.String(), false)
		}
	}
	if margin {
		st := ruleStyles[policy.RuleDeny]
		l.addText(`<rect width="20" height="12" fill="`+st.margin+`"/><path d="M20 0V12" stroke="`+st.line+`" stroke-width="1.5"/>`,
			"margin: the band around a zone that counts as inside it", "margin", false)
	}
	if windowed {
		l.addText(`<path d="M0 6H20" stroke="#555555" stroke-width="1.5" stroke-dasharray="8 5"/>`,
			"dashed outline: in force only in its time window", "window", false)
	}
	if grid {
		st := ruleStyles[policy.RuleCoarsen]
		l.addText(`<path d="M0 0H20M0 6H20M0 12H20M0 0V12M7 0V12M14 0V12M20 0V12" stroke="`+st.grid+`" stroke-width="0.8" fill="none"/>`,
			"grid cells: a coarsened position is the centre of its cell", "grid", false)
	}
	if t := m.Tier; t.PrecisionM > 0 {
		px := t.PrecisionM * p.pxPerM
		note := "tier " + t.Name + ": positions outside zones snap to a " + metres(t.PrecisionM) + " grid"
		if px < minGridPx {
			note += " (too fine to draw here: " + strconv.FormatFloat(px, 'f', 1, 64) + " px)"
		}
		l.addText("", note, "tier", true)
	}

	l.add(legendRow{heading: true, text: "Positions"})
	tallies := append([]Tally(nil), m.Tallies...)
	var drawn [numClasses]int
	for _, pt := range m.Points {
		drawn[pt.Class]++
	}
	for c := Class(0); c < numClasses; c++ {
		listed := false
		for _, t := range tallies {
			listed = listed || t.Class == c
		}
		if !listed && drawn[c] > 0 {
			tallies = append(tallies, Tally{Class: c, Total: drawn[c]})
		}
	}
	for _, t := range tallies {
		text := t.Class.String() + ": " + strconv.Itoa(t.Total)
		if t.Note != "" {
			text += " (" + t.Note + ")"
		}
		l.addText(`<g transform="translate(10 6)" `+markerStyle(t.Class)+`>`+marker(t.Class, 0, 0)+`</g>`, text, "tally-"+t.Class.String(), false)
	}
	if len(m.Tracks) > 0 {
		l.addText(`<path d="M0 6H20" stroke="`+trackColour+`" stroke-width="1"/>`, "true track, as received", "track", false)
	}
	if len(m.Notes) > 0 {
		l.add(legendRow{heading: true, text: "Notes"})
		for _, n := range m.Notes {
			l.addText("", n, "note", true)
		}
	}
	l.add(legendRow{text: "Scale bar bottom left; north is up.", small: true})
}

// markerStyle is the paint of a class's points, as points draws them.
func markerStyle(c Class) string {
	switch c {
	case Kept:
		return `fill="` + classColour[c] + `" stroke="none"`
	case Coarsened:
		return `fill="` + classColour[c] + `" stroke="#ffffff" stroke-width="0.6"`
	}
	return `fill="none" stroke="` + classColour[c] + `" stroke-width="1.6"`
}

// write draws the legend with its top left corner at (x, y).
func (l *legend) write(b *svgBuf, x, y int) {
	b.f(`<g class="legend">`+"\n"+`<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafa" stroke="#cccccc"/>`+"\n", x, y, legendW, l.height())
	cy := y + 8
	for _, r := range l.rows {
		h := rowHeight(r)
		base := cy + h - 6
		cls := ""
		if r.class != "" {
			cls = ` class="` + r.class + `"`
		}
		switch {
		case r.heading:
			b.f(`<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", x+10, base, esc(r.text))
		default:
			if r.swatch != "" {
				b.f(`<g%s transform="translate(%d %d)">%s</g>`, cls, x+10, base-10, r.swatch)
			}
			size := 12
			if r.small {
				size = 11
			}
			b.f(`<text%s x="%d" y="%d" font-size="%d" fill="#222222">%s</text>`+"\n", cls, x+38, base, size, esc(r.text))
		}
		cy += h
	}
	b.f("</g>\n")
}
