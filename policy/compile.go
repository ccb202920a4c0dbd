package policy

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Policy is a compiled policy, immutable but for its expired flag (Expire). It is safe for concurrent use; Engines read it
// through a Holder.
type Policy struct {
	id          string
	version     uint64
	digest      [32]byte // Spec.Digest: the bundle files' SHA-256
	defaultKeep bool
	maxAge      time.Duration
	hysteresisM float64

	tiers     []Tier
	tierIndex map[string]int
	windows   []Window

	zones     []zoneInfo // in precedence order: deny, then coarsen (coarsest first), then allow
	zoneIndex map[string]int32
	zoneIx    *index
	regionIx  *index

	vertices, regionVertices int

	// expires is Spec.Expires in Unix seconds, 0 for never; expired is set by Expire.
	expires int64
	expired atomic.Bool
}

// zoneInfo is what Decide needs about a zone besides its geometry.
type zoneInfo struct {
	id             string
	rule           Rule
	precisionM     float64
	maxImagePixels int
	// denyClearM is a grid size, in metres, below which a position of this zone (inside it
	// or its buffer) cannot be quantized into any deny zone or its buffer: Decide skips
	// looking the grid point up again. 0 when that is not known.
	denyClearM float64
}

// maxMarginM bounds margins and hysteresis: 100 km is far beyond any legal buffer and keeps
// the grid's edge lists bounded.
const maxMarginM = 100e3

// maxWindows is the number of time windows a policy may define (one bit each in a uint64).
const maxWindows = 64

func specErr(src Source, id string, err error) error {
	return &BundleError{File: src.File, Feature: src.Feature, ID: id, Err: err}
}

func finiteNonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

// Compile validates spec and builds the query index. Errors are *BundleError values naming
// the file and feature (from Zone.Source) and wrapping a sentinel error. The spec is not
// retained.
func Compile(spec *Spec) (*Policy, error) { return compile(spec, true) }

// compile is Compile; strict = false skips the self-intersection test of zone rings (for
// benchmarks over real outlines that have a few self-touching rings).
func compile(spec *Spec, strict bool) (*Policy, error) {
	top := Source{Feature: -1}
	if spec.ID == "" {
		return nil, specErr(top, "", fmt.Errorf("%w: id is empty", ErrInvalid))
	}
	if spec.Version == 0 {
		return nil, specErr(top, "", fmt.Errorf("%w: version must be >= 1", ErrInvalid))
	}
	if spec.MaxAge <= 0 {
		return nil, specErr(top, "", fmt.Errorf("%w: max_age must be > 0", ErrInvalid))
	}
	if !finiteNonNeg(spec.HysteresisM) || spec.HysteresisM > maxMarginM {
		return nil, specErr(top, "", fmt.Errorf("%w: hysteresis_m %v out of [0, %v]", ErrInvalid, spec.HysteresisM, maxMarginM))
	}
	p := &Policy{
		id: spec.ID, version: spec.Version, digest: spec.Digest, defaultKeep: spec.DefaultKeep, maxAge: spec.MaxAge,
		hysteresisM: spec.HysteresisM, tierIndex: map[string]int{}, zoneIndex: map[string]int32{},
	}
	if !spec.Expires.IsZero() {
		p.expires = spec.Expires.Unix()
	}
	if len(spec.Tiers) == 0 {
		return nil, specErr(top, "", fmt.Errorf("%w: no tiers", ErrInvalid))
	}
	for _, t := range spec.Tiers {
		if t.Name == "" {
			return nil, specErr(top, "", fmt.Errorf("%w: tier with empty name", ErrInvalid))
		}
		if _, dup := p.tierIndex[t.Name]; dup {
			return nil, specErr(top, "", fmt.Errorf("%w: duplicate tier %q", ErrInvalid, t.Name))
		}
		if !finiteNonNeg(t.PrecisionM) || t.MaxImagePixels < 0 || !finiteNonNeg(t.MaxFPS) {
			return nil, specErr(top, "", fmt.Errorf("%w: tier %q: precision_m, max_image_pixels and max_fps must be >= 0", ErrInvalid, t.Name))
		}
		p.tierIndex[t.Name] = len(p.tiers)
		p.tiers = append(p.tiers, t)
	}
	if len(spec.Windows) > maxWindows {
		return nil, specErr(top, "", fmt.Errorf("%w: %d windows, at most %d", ErrInvalid, len(spec.Windows), maxWindows))
	}
	windowBit := map[string]uint64{}
	for i, w := range spec.Windows {
		if err := checkWindow(&w); err != nil {
			return nil, specErr(top, "", err)
		}
		if _, dup := windowBit[w.Name]; dup {
			return nil, specErr(top, "", fmt.Errorf("%w: duplicate window %q", ErrInvalid, w.Name))
		}
		windowBit[w.Name] = 1 << i
		p.windows = append(p.windows, w)
	}

	// Precedence: deny, then coarsen from the coarsest precision, then allow; ties keep
	// bundle order (file order in zone_files, then feature order).
	order := make([]int, 0, len(spec.Zones))
	for _, r := range []Rule{RuleDeny, RuleCoarsen, RuleAllow} {
		start := len(order)
		for i := range spec.Zones {
			if spec.Zones[i].Rule == r {
				order = append(order, i)
			}
		}
		if r == RuleCoarsen {
			seg := order[start:]
			for a := 1; a < len(seg); a++ { // stable insertion sort by precision, descending
				for b := a; b > 0 && spec.Zones[seg[b]].PrecisionM > spec.Zones[seg[b-1]].PrecisionM; b-- {
					seg[b], seg[b-1] = seg[b-1], seg[b]
				}
			}
		}
	}
	// Zones are checked on every core (testing each ring for self-intersection is a fifth of
	// compiling a large bundle); the loop below reports the first error in precedence order,
	// as checking them one after the other would.
	checked := make([]izone, len(order))
	checkErr := make([]error, len(order))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(order)) {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(order); k = int(next.Add(1) - 1) {
				if z := &spec.Zones[order[k]]; z.Rule <= RuleDeny {
					checked[k], checkErr[k] = checkZone(z, spec.HysteresisM, windowBit, strict)
				}
			}
		})
	}
	wg.Wait()
	izones := make([]izone, 0, len(spec.Zones))
	for k, i := range order {
		z := &spec.Zones[i]
		if z.Rule > RuleDeny {
			return nil, specErr(z.Source, z.ID, fmt.Errorf("%w: rule %d", ErrUnknownAction, z.Rule))
		}
		iz, err := checked[k], checkErr[k]
		if err != nil {
			return nil, specErr(z.Source, z.ID, err)
		}
		if _, dup := p.zoneIndex[z.ID]; dup {
			return nil, specErr(z.Source, z.ID, fmt.Errorf("%w: duplicate zone id %q", ErrInvalid, z.ID))
		}
		p.zoneIndex[z.ID] = int32(len(p.zones))
		p.zones = append(p.zones, zoneInfo{id: z.ID, rule: z.Rule, precisionM: z.PrecisionM, maxImagePixels: z.MaxImagePixels})
		izones = append(izones, iz)
		p.vertices += countVertices(iz.polys)
	}
	regions := make([]izone, 0, len(spec.GCJ02Regions))
	for i := range spec.GCJ02Regions {
		z := &spec.GCJ02Regions[i]
		// Region outlines only choose the output datum, and public outlines (DataV) have a
		// few self-touching rings: they are checked for coordinates and closure only.
		polys, err := checkPolygons(z.Polygons, false)
		if err != nil {
			return nil, specErr(z.Source, z.ID, err)
		}
		if !finiteNonNeg(z.MarginM) || z.MarginM > maxMarginM {
			return nil, specErr(z.Source, z.ID, fmt.Errorf("%w: gcj02_region margin_m %v out of [0, %v]", ErrInvalid, z.MarginM, maxMarginM))
		}
		regions = append(regions, izone{polys: polys, marginM: z.MarginM, bufM: z.MarginM})
		p.regionVertices += countVertices(polys)
	}
	wg.Go(func() { p.regionIx = buildIndex(regions) }) // beside the zones' index, on another core
	p.zoneIx = buildIndex(izones)
	wg.Wait()
	setDenyClear(p.zones, izones)
	return p, nil
}

// maxDenyClearM caps denyClearM: a grid below it moves a position by under half a degree
// of latitude, well within the degree of slack setDenyClear allows for.
const maxDenyClearM = 100e3

// maxDenyClearPairs bounds the (zone, deny zone) pairs setDenyClear compares; beyond it
// every zone keeps denyClearM 0 (Decide always looks the grid point up again).
const maxDenyClearPairs = 1 << 24

// setDenyClear sets each non-deny zone's denyClearM from the buffered boxes buildIndex
// computed (zones[i] is izones[i]). quantize moves a position by at most half a grid step
// in latitude (precision/mPerDeg degrees per step) and half a step in longitude (the same
// length at the grid latitude), so a grid size below the larger of a deny box's latitude gap
// (in metres) and its longitude gap (in metres at the highest latitude either box reaches,
// plus a degree for the snap itself) cannot carry a position across; at most
// maxDenyClearM. Boxes within a degree of the antimeridian (where quantize wraps) or beyond
// 80 degrees of latitude keep 0.
func setDenyClear(zones []zoneInfo, izones []izone) {
	var deny []int
	for i := range zones {
		if zones[i].rule == RuleDeny {
			deny = append(deny, i)
		}
	}
	if len(deny)*(len(zones)-len(deny)) > maxDenyClearPairs {
		return
	}
	// Per zone: the buffered box, and the metres per degree of longitude a degree beyond
	// its highest latitude (cos falls with latitude: the smaller of two zones' is theirs).
	type bbox struct{ x0, y0, x1, y1, kx float64 }
	boxes := make([]bbox, len(izones))
	for i := range izones {
		z := &izones[i]
		b := bbox{x0: z.minX - z.bufX, y0: z.minY - z.bufY, x1: z.maxX + z.bufX, y1: z.maxY + z.bufY}
		if b.x0 > -179 && b.x1 < 179 && b.y0 > -80 && b.y1 < 80 {
			b.kx = mPerDeg * math.Cos((max(math.Abs(b.y0), math.Abs(b.y1))+1)*deg2rad)
		}
		boxes[i] = b
	}
	for i := range zones {
		z := &boxes[i]
		if zones[i].rule == RuleDeny || z.kx == 0 {
			continue
		}
		clearM := maxDenyClearM
		for _, d := range deny {
			b := &boxes[d]
			if b.kx == 0 {
				clearM = 0
				break
			}
			gapY := max(b.y0-z.y1, z.y0-b.y1, 0) * mPerDeg
			gapX := max(b.x0-z.x1, z.x0-b.x1, 0) * min(z.kx, b.kx)
			clearM = min(clearM, max(gapX, gapY))
		}
		zones[i].denyClearM = clearM
	}
}

func countVertices(polys []Polygon) int {
	n := 0
	for _, poly := range polys {
		for _, r := range poly {
			n += len(r) - 1
		}
	}
	return n
}

func checkWindow(w *Window) error {
	if w.Name == "" {
		return fmt.Errorf("%w: window with empty name", ErrInvalid)
	}
	for _, m := range w.Months {
		if m < time.January || m > time.December {
			return fmt.Errorf("%w: window %q: month %d", ErrInvalid, w.Name, m)
		}
	}
	for _, d := range w.Weekdays {
		if d < time.Sunday || d > time.Saturday {
			return fmt.Errorf("%w: window %q: weekday %d", ErrInvalid, w.Name, d)
		}
	}
	if w.FromMin < 0 || w.FromMin >= 24*60 || w.ToMin < 0 || w.ToMin >= 24*60 {
		return fmt.Errorf("%w: window %q: times must be within 00:00-23:59", ErrInvalid, w.Name)
	}
	if w.UTCOffset < -14*time.Hour || w.UTCOffset > 14*time.Hour {
		return fmt.Errorf("%w: window %q: utc_offset %v", ErrInvalid, w.Name, w.UTCOffset)
	}
	return nil
}

func checkZone(z *Zone, hysteresisM float64, windowBit map[string]uint64, strict bool) (izone, error) {
	if z.ID == "" {
		return izone{}, fmt.Errorf("%w: zone id is empty", ErrInvalid)
	}
	if !finiteNonNeg(z.MarginM) || z.MarginM > maxMarginM {
		return izone{}, fmt.Errorf("%w: margin_m %v out of [0, %v]", ErrInvalid, z.MarginM, maxMarginM)
	}
	if !finiteNonNeg(z.PrecisionM) || z.MaxImagePixels < 0 {
		return izone{}, fmt.Errorf("%w: precision_m and max_image_pixels must be >= 0", ErrInvalid)
	}
	if z.Rule == RuleCoarsen && z.PrecisionM <= 0 {
		return izone{}, fmt.Errorf("%w: a coarsen zone needs precision_m > 0", ErrInvalid)
	}
	iz := izone{marginM: z.MarginM, bufM: z.MarginM + hysteresisM}
	for _, name := range z.Windows {
		bit, ok := windowBit[name]
		if !ok {
			return izone{}, fmt.Errorf("%w: unknown window %q", ErrInvalid, name)
		}
		iz.mask |= bit
	}
	polys, err := checkPolygons(z.Polygons, strict)
	if err != nil {
		return izone{}, err
	}
	iz.polys = polys
	return iz, nil
}

func checkPolygons(in []Polygon, strict bool) ([]Polygon, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: no polygons", ErrMalformed)
	}
	out := make([]Polygon, len(in))
	for pi, poly := range in {
		if len(poly) == 0 {
			return nil, fmt.Errorf("%w: polygon %d has no rings", ErrMalformed, pi)
		}
		out[pi] = make(Polygon, len(poly))
		for ri, r := range poly {
			c, err := checkRing(r, strict)
			if err != nil {
				return nil, fmt.Errorf("polygon %d ring %d: %w", pi, ri, err)
			}
			out[pi][ri] = c
		}
	}
	return out, nil
}

// ID returns the policy's id from policy.toml.
func (p *Policy) ID() string { return p.id }

// Version returns the policy's version; a Holder refuses to replace it with a lower one.
func (p *Policy) Version() uint64 { return p.version }

// Summary describes a compiled policy, for `geogate policy check` and logs.
type Summary struct {
	ID             string
	Version        uint64
	Zones          int            // zones in total
	ZonesByRule    map[string]int // "deny", "coarsen", "allow" -> count
	Vertices       int            // zone vertices (rings counted open)
	Regions        int            // GCJ-02 region features
	RegionVertices int
	Tiers          []Tier
	Windows        int
	MaxAge         time.Duration
	HysteresisM    float64
	DefaultKeep    bool
	IndexBytes     int // approximate heap held by the compiled indexes
	// Expires is the signed expiry time, zero for never; Expired says whether Expire was called.
	Expires time.Time
	Expired bool
}

// Summary returns a description of p.
func (p *Policy) Summary() Summary {
	s := Summary{ID: p.id, Version: p.version, Zones: len(p.zones), ZonesByRule: map[string]int{},
		Vertices: p.vertices, RegionVertices: p.regionVertices, Tiers: append([]Tier(nil), p.tiers...),
		Windows: len(p.windows), MaxAge: p.maxAge, HysteresisM: p.hysteresisM, DefaultKeep: p.defaultKeep,
		IndexBytes: p.zoneIx.memBytes() + p.regionIx.memBytes()}
	for _, z := range p.zones {
		s.ZonesByRule[z.rule.String()]++
	}
	s.Regions = len(p.regionIx.mask)
	if p.expires != 0 {
		s.Expires = time.Unix(p.expires, 0).UTC()
	}
	s.Expired = p.expired.Load()
	return s
}

// Expire puts p in expired mode: from now on Decide drops every fix with ReasonExpired,
// whatever the clock it is given says. The update package calls it when its own notion of
// the time (which a clock set back cannot move backwards) passes the bundle's expiry; there
// is no way back, a fresh bundle replaces p instead. Decide also expires p by itself when
// the time it is given passes the expiry.
func (p *Policy) Expire() { p.expired.Store(true) }

// Expired reports whether Expire was called.
func (p *Policy) Expired() bool { return p.expired.Load() }

// windowMask returns the bits of the windows open at now. A clock before 2020 cannot be
// trusted to say which windows are open, so every window counts as open (fail closed: a
// windowed deny zone stays in force).
func (p *Policy) windowMask(now time.Time) uint64 {
	var m uint64
	if now.Year() < 2020 {
		return ^uint64(0)
	}
	for i := range p.windows {
		if p.windows[i].open(now) {
			m |= 1 << i
		}
	}
	return m
}

func (w *Window) open(now time.Time) bool {
	t := now.UTC().Add(w.UTCOffset)
	if len(w.Months) > 0 && !containsVal(w.Months, t.Month()) {
		return false
	}
	if len(w.Weekdays) > 0 && !containsVal(w.Weekdays, t.Weekday()) {
		return false
	}
	if w.FromMin == w.ToMin {
		return true
	}
	m := t.Hour()*60 + t.Minute()
	if w.FromMin < w.ToMin {
		return m >= w.FromMin && m < w.ToMin
	}
	return m >= w.FromMin || m < w.ToMin
}

func containsVal[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
