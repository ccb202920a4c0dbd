package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ManifestFile is the name of the bundle's top file.
const ManifestFile = "policy.toml"

// Verifier checks a bundle before anything in it is parsed and returns the file system Load
// must read from: typically an in-memory copy of exactly the files it verified, so that
// nothing changes between verification and use. It returns an error wrapping ErrUnverified
// to reject the bundle. Signed over-the-air bundles plug in here.
type Verifier func(fsys fs.FS) (fs.FS, error)

// LoadOptions tune Load. The zero value (or nil) loads an unsigned bundle.
type LoadOptions struct {
	// Verify, if not nil, must accept the bundle before it is read; SignedBy(keys...)
	// demands an ed25519-signed manifest. nil accepts unsigned bundles.
	Verify Verifier
}

// bundleTOML is policy.toml. Field docs are in docs/POLICY.md.
type bundleTOML struct {
	ID            string                `toml:"id"`
	Version       int64                 `toml:"version"`
	DefaultAction string                `toml:"default_action"`
	MaxAge        string                `toml:"max_age"`
	HysteresisM   float64               `toml:"hysteresis_m"`
	ZoneFiles     []string              `toml:"zone_files"`
	GCJ02Region   *regionTOML           `toml:"gcj02_region"`
	Tiers         map[string]tierTOML   `toml:"tiers"`
	Windows       map[string]windowTOML `toml:"windows"`
}

type regionTOML struct {
	Files   []string `toml:"files"`
	Datum   string   `toml:"datum"`
	MarginM float64  `toml:"margin_m"`
}

type tierTOML struct {
	PrecisionM     float64 `toml:"precision_m"`
	MaxImagePixels int     `toml:"max_image_pixels"`
	GCJ02          bool    `toml:"gcj02"`
	Anonymize      bool    `toml:"anonymize"`
}

type windowTOML struct {
	Months    []int    `toml:"months"`
	Weekdays  []string `toml:"weekdays"`
	From      string   `toml:"from"`
	To        string   `toml:"to"`
	UTCOffset string   `toml:"utc_offset"`
}

// Load reads, verifies and compiles the bundle at the root of fsys (policy.toml and the
// GeoJSON files it names). Use os.DirFS(dir) for a directory. Errors are *BundleError
// values naming the file and feature and wrapping a sentinel (ErrMalformed, ErrInvalid,
// ErrUnknownAction, ErrBadCoordinate, ErrUnclosedRing, ErrSelfIntersection, ErrUnverified).
// Load is the slow path: it allocates freely.
func Load(fsys fs.FS, opts *LoadOptions) (*Policy, error) {
	spec, err := ReadSpec(fsys, opts)
	if err != nil {
		return nil, err
	}
	return Compile(spec)
}

// ReadSpec is Load without the compilation: it reads and verifies the bundle and converts
// GCJ-02 geometry to WGS-84.
func ReadSpec(fsys fs.FS, opts *LoadOptions) (*Spec, error) {
	if opts != nil && opts.Verify != nil {
		v, err := opts.Verify(fsys)
		if err != nil {
			if !errors.Is(err, ErrUnverified) {
				err = fmt.Errorf("%w: %w", ErrUnverified, err)
			}
			return nil, &BundleError{Feature: -1, Err: err}
		}
		fsys = v
	}
	fileErr := func(file string, err error) error { return &BundleError{File: file, Feature: -1, Err: err} }
	raw, err := fs.ReadFile(fsys, ManifestFile)
	if err != nil {
		return nil, fileErr(ManifestFile, fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	var b bundleTOML
	md, err := toml.Decode(string(raw), &b)
	if err != nil {
		return nil, fileErr(ManifestFile, fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fileErr(ManifestFile, fmt.Errorf("%w: unknown keys %s", ErrInvalid, strings.Join(keys, ", ")))
	}
	spec, err := b.spec()
	if err != nil {
		return nil, fileErr(ManifestFile, err)
	}
	for _, f := range b.ZoneFiles {
		zs, err := readGeoJSON(fsys, f, false, WGS84)
		if err != nil {
			return nil, err
		}
		spec.Zones = append(spec.Zones, zs...)
	}
	if b.GCJ02Region != nil {
		datum, err := parseDatum(b.GCJ02Region.Datum)
		if err != nil {
			return nil, fileErr(ManifestFile, fmt.Errorf("gcj02_region: %w", err))
		}
		for _, f := range b.GCJ02Region.Files {
			zs, err := readGeoJSON(fsys, f, true, datum)
			if err != nil {
				return nil, err
			}
			for i := range zs {
				zs[i].MarginM = b.GCJ02Region.MarginM
			}
			spec.GCJ02Regions = append(spec.GCJ02Regions, zs...)
		}
	}
	return spec, nil
}

func (b *bundleTOML) spec() (*Spec, error) {
	if b.Version < 1 {
		return nil, fmt.Errorf("%w: version %d must be >= 1", ErrInvalid, b.Version)
	}
	s := &Spec{ID: b.ID, Version: uint64(b.Version), HysteresisM: b.HysteresisM}
	switch b.DefaultAction {
	case "keep":
		s.DefaultKeep = true
	case "drop":
	default:
		return nil, fmt.Errorf("%w: default_action %q (want keep or drop)", ErrUnknownAction, b.DefaultAction)
	}
	var err error
	if s.MaxAge, err = time.ParseDuration(b.MaxAge); err != nil {
		return nil, fmt.Errorf("%w: max_age: %w", ErrInvalid, err)
	}
	names := make([]string, 0, len(b.Tiers))
	for n := range b.Tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := b.Tiers[n]
		s.Tiers = append(s.Tiers, Tier{Name: n, PrecisionM: t.PrecisionM, MaxImagePixels: t.MaxImagePixels, GCJ02: t.GCJ02, Anonymize: t.Anonymize})
	}
	names = names[:0]
	for n := range b.Windows {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := b.Windows[n].window(n)
		if err != nil {
			return nil, err
		}
		s.Windows = append(s.Windows, w)
	}
	return s, nil
}

func (wt windowTOML) window(name string) (Window, error) {
	w := Window{Name: name}
	bad := func(what string, v any) (Window, error) {
		return Window{}, fmt.Errorf("%w: window %q: %s %v", ErrInvalid, name, what, v)
	}
	for _, m := range wt.Months {
		if m < 1 || m > 12 {
			return bad("month", m)
		}
		w.Months = append(w.Months, time.Month(m))
	}
	for _, d := range wt.Weekdays {
		found := false
		for i := time.Sunday; i <= time.Saturday; i++ {
			if strings.EqualFold(d, i.String()[:3]) || strings.EqualFold(d, i.String()) {
				w.Weekdays, found = append(w.Weekdays, i), true
			}
		}
		if !found {
			return bad("weekday", d)
		}
	}
	var ok bool
	if w.FromMin, ok = parseClock(wt.From); !ok {
		return bad("from", wt.From)
	}
	if w.ToMin, ok = parseClock(wt.To); !ok {
		return bad("to", wt.To)
	}
	if wt.UTCOffset != "" {
		t, err := time.Parse("-07:00", wt.UTCOffset)
		if err != nil {
			return bad("utc_offset", wt.UTCOffset)
		}
		_, off := t.Zone()
		w.UTCOffset = time.Duration(off) * time.Second
	}
	return w, nil
}

// parseClock parses "HH:MM" (empty = 00:00) into minutes after midnight.
func parseClock(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

func parseDatum(s string) (Datum, error) {
	switch s {
	case "", "WGS-84":
		return WGS84, nil
	case "GCJ-02":
		return GCJ02, nil
	}
	return 0, fmt.Errorf("%w: datum %q (want WGS-84 or GCJ-02)", ErrInvalid, s)
}

type geoJSON struct {
	Type       string          `json:"type"`
	Features   []geoJSON       `json:"features"`
	Properties json.RawMessage `json:"properties"`
	Geometry   *geoGeometry    `json:"geometry"`
}

type geoGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

type zoneProps struct {
	ID             *string  `json:"id"`
	Action         *string  `json:"action"`
	MarginM        *float64 `json:"margin_m"`
	PrecisionM     *float64 `json:"precision_m"`
	Datum          *string  `json:"datum"`
	MaxImagePixels *int     `json:"max_image_pixels"`
	Windows        []string `json:"windows"`
}

// readGeoJSON reads a FeatureCollection (or a single Feature) of Polygon/MultiPolygon
// features. For region files (region = true) properties are ignored and every feature is
// in fileDatum; zone files need id and action and may set datum per feature.
func readGeoJSON(fsys fs.FS, file string, region bool, fileDatum Datum) ([]Zone, error) {
	raw, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, &BundleError{File: file, Feature: -1, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	}
	var doc geoJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		return nil, &BundleError{File: file, Feature: -1, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	}
	feats := doc.Features
	switch doc.Type {
	case "FeatureCollection":
	case "Feature":
		feats = []geoJSON{doc}
	default:
		return nil, &BundleError{File: file, Feature: -1, Err: fmt.Errorf("%w: type %q, want FeatureCollection or Feature", ErrMalformed, doc.Type)}
	}
	if len(feats) == 0 {
		return nil, &BundleError{File: file, Feature: -1, Err: fmt.Errorf("%w: no features", ErrInvalid)}
	}
	zones := make([]Zone, 0, len(feats))
	for i, f := range feats {
		z := Zone{Source: Source{File: file, Feature: i}, ID: fmt.Sprintf("%s#%d", file, i)}
		datum := fileDatum
		fail := func(err error) error { return &BundleError{File: file, Feature: i, ID: z.ID, Err: err} }
		if f.Type != "Feature" {
			return nil, fail(fmt.Errorf("%w: type %q, want Feature", ErrMalformed, f.Type))
		}
		if !region {
			z.ID = ""
			var p zoneProps
			if len(f.Properties) == 0 || string(f.Properties) == "null" {
				return nil, fail(fmt.Errorf("%w: no properties (need id and action)", ErrInvalid))
			}
			if err := json.Unmarshal(f.Properties, &p); err != nil {
				return nil, fail(fmt.Errorf("%w: properties: %w", ErrMalformed, err))
			}
			if p.ID == nil || *p.ID == "" {
				return nil, fail(fmt.Errorf("%w: property id missing", ErrInvalid))
			}
			z.ID = *p.ID
			if p.Action == nil {
				return nil, fail(fmt.Errorf("%w: property action missing", ErrUnknownAction))
			}
			if z.Rule, err = ParseRule(*p.Action); err != nil {
				return nil, fail(err)
			}
			if p.MarginM != nil {
				z.MarginM = *p.MarginM
			}
			if p.PrecisionM != nil {
				z.PrecisionM = *p.PrecisionM
			}
			if p.MaxImagePixels != nil {
				z.MaxImagePixels = *p.MaxImagePixels
			}
			z.Windows = p.Windows
			if p.Datum != nil {
				if datum, err = parseDatum(*p.Datum); err != nil {
					return nil, fail(err)
				}
			}
		}
		if f.Geometry == nil {
			return nil, fail(fmt.Errorf("%w: no geometry", ErrMalformed))
		}
		switch f.Geometry.Type {
		case "Polygon":
			var c [][][]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &c); err != nil {
				return nil, fail(fmt.Errorf("%w: coordinates: %w", ErrMalformed, err))
			}
			poly, err := toPolygon(c, datum)
			if err != nil {
				return nil, fail(fmt.Errorf("polygon 0: %w", err))
			}
			z.Polygons = []Polygon{poly}
		case "MultiPolygon":
			var c [][][][]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &c); err != nil {
				return nil, fail(fmt.Errorf("%w: coordinates: %w", ErrMalformed, err))
			}
			for pi, pc := range c {
				poly, err := toPolygon(pc, datum)
				if err != nil {
					return nil, fail(fmt.Errorf("polygon %d: %w", pi, err))
				}
				z.Polygons = append(z.Polygons, poly)
			}
		default:
			return nil, fail(fmt.Errorf("%w: geometry type %q, want Polygon or MultiPolygon", ErrMalformed, f.Geometry.Type))
		}
		zones = append(zones, z)
	}
	return zones, nil
}

// toPolygon converts GeoJSON rings to a Polygon in WGS-84. Geometry is validated later by
// Compile; here only the shape of positions is checked.
func toPolygon(c [][][]float64, datum Datum) (Polygon, error) {
	poly := make(Polygon, len(c))
	for ri, rc := range c {
		r := make(Ring, len(rc))
		for k, pos := range rc {
			if len(pos) < 2 {
				return nil, fmt.Errorf("ring %d: %w: position %d has %d numbers", ri, ErrBadCoordinate, k, len(pos))
			}
			lon, lat := pos[0], pos[1]
			if datum == GCJ02 {
				lat, lon = GCJ02ToWGS84(lat, lon)
			}
			r[k] = [2]float64{lon, lat}
		}
		poly[ri] = r
	}
	return poly, nil
}
