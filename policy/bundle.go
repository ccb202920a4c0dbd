package policy

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
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
	Issued        time.Time             `toml:"issued"`
	Expires       time.Time             `toml:"expires"`
	NextKeys      []string              `toml:"next_keys"`
	NextThreshold int                   `toml:"next_threshold"`
}

type regionTOML struct {
	Files   []string `toml:"files"`
	Datum   string   `toml:"datum"`
	MarginM float64  `toml:"margin_m"`
}

type tierTOML struct {
	PrecisionM     float64 `toml:"precision_m"`
	MaxImagePixels int     `toml:"max_image_pixels"`
	MaxFPS         float64 `toml:"max_fps"`
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
// GCJ-02 geometry to WGS-84 (densifying the edges of GCJ-02 zones, see gcjZoneRingToWGS84).
// Every file is read under one rule: a regular file inside the bundle, reached through no
// symbolic link, of at most MaxFileBytes (ErrBadFile otherwise). Spec.Digest is the SHA-256
// over the files read.
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
	digest := sha256.New()
	read := func(name string) ([]byte, error) {
		data, err := readBundleFile(fsys, name)
		if err != nil {
			return nil, fileErr(name, err)
		}
		// Name and length first, so that no two sequences of files hash alike.
		digest.Write(binary.BigEndian.AppendUint64([]byte(name+"\x00"), uint64(len(data))))
		digest.Write(data)
		return data, nil
	}
	raw, err := read(ManifestFile)
	if err != nil {
		return nil, err
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
	var files []string
	if b.GCJ02Region != nil {
		files = b.GCJ02Region.Files
	}
	for _, list := range []struct {
		key   string
		files []string
	}{{"zone_files", b.ZoneFiles}, {"gcj02_region.files", files}} {
		for i, f := range list.files {
			if err := checkBundlePath(f); err != nil {
				return nil, fileErr(ManifestFile, fmt.Errorf("%s[%d]: %w", list.key, i, err))
			}
		}
	}
	budget := maxDensifyVertices
	for _, f := range b.ZoneFiles {
		raw, err := read(f)
		if err != nil {
			return nil, err
		}
		zs, err := readGeoJSON(raw, f, false, WGS84, &budget)
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
			raw, err := read(f)
			if err != nil {
				return nil, err
			}
			zs, err := readGeoJSON(raw, f, true, datum, nil)
			if err != nil {
				return nil, err
			}
			for i := range zs {
				zs[i].MarginM = b.GCJ02Region.MarginM
			}
			spec.GCJ02Regions = append(spec.GCJ02Regions, zs...)
		}
	}
	digest.Sum(spec.Digest[:0])
	return spec, nil
}

func (b *bundleTOML) spec() (*Spec, error) {
	if b.Version < 1 {
		return nil, fmt.Errorf("%w: version %d must be >= 1", ErrInvalid, b.Version)
	}
	s := &Spec{ID: b.ID, Version: uint64(b.Version), HysteresisM: b.HysteresisM, Issued: b.Issued, Expires: b.Expires}
	if !b.Issued.IsZero() && !b.Expires.IsZero() && !b.Expires.After(b.Issued) {
		return nil, fmt.Errorf("%w: expires %s is not after issued %s", ErrInvalid, b.Expires.Format(time.RFC3339), b.Issued.Format(time.RFC3339))
	}
	for i, k := range b.NextKeys {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: next_keys[%d]: want the base64 of a %d-byte ed25519 public key (the text of a PREFIX.pub)", ErrInvalid, i, ed25519.PublicKeySize)
		}
		for _, prev := range s.NextKeys {
			if bytes.Equal(prev, raw) {
				return nil, fmt.Errorf("%w: next_keys[%d]: listed twice", ErrInvalid, i)
			}
		}
		s.NextKeys = append(s.NextKeys, ed25519.PublicKey(raw))
	}
	switch {
	case len(b.NextKeys) == 0 && b.NextThreshold != 0:
		return nil, fmt.Errorf("%w: next_threshold without next_keys", ErrInvalid)
	case len(b.NextKeys) > 0 && (b.NextThreshold < 1 || b.NextThreshold > len(b.NextKeys)):
		return nil, fmt.Errorf("%w: next_threshold %d: want 1..%d (how many of next_keys must sign a bundle)", ErrInvalid, b.NextThreshold, len(b.NextKeys))
	}
	s.NextThreshold = b.NextThreshold
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
		s.Tiers = append(s.Tiers, Tier{Name: n, PrecisionM: t.PrecisionM, MaxImagePixels: t.MaxImagePixels, MaxFPS: t.MaxFPS, GCJ02: t.GCJ02, Anonymize: t.Anonymize})
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
	Name           *string  `json:"name"` // decoded only to check that it is a string
}

// apply sets z's rule and the optional properties p holds, and *datum when p names one; p's
// action must be set.
func (p *zoneProps) apply(z *Zone, datum *Datum) error {
	var err error
	if z.Rule, err = ParseRule(*p.Action); err != nil {
		return err
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
		if *datum, err = parseDatum(*p.Datum); err != nil {
			return err
		}
	}
	return nil
}

// zonePropNames are the properties a zone may have, as zoneProps spells them. Besides them
// a zone may carry free-form data under "meta" and under names starting with "x-"; any
// other property is an error, so that a misspelt "datun" or "margin" never leaves a zone
// in the wrong datum or without its margin.
var zonePropNames = []string{"id", "action", "margin_m", "precision_m", "datum", "max_image_pixels", "windows", "name"}

// freeFormProp reports whether a zone property is free-form data, ignored by the policy.
func freeFormProp(name string) bool { return name == "meta" || strings.HasPrefix(name, "x-") }

// parseZoneProps decodes a zone's properties object (valid JSON text, as parseGeoJSON
// returns it): known names into p, free-form ones skipped; an unknown or repeated name is an
// error (a repeated one would let a reader of the file see one value while the policy took
// the other). It decodes every known name even after such an error, so that the caller can
// name the zone. Plain strings and numbers are decoded here; any other value goes through
// encoding/json into the field, which gives its type errors.
func parseZoneProps(raw []byte, p *zoneProps) error {
	s := &jsonScan{b: raw}
	if s.peek() != '{' {
		return fmt.Errorf("%w: properties: want a JSON object", ErrMalformed)
	}
	var seenBuf [8]string // enough for every known name once, without allocating
	seen := seenBuf[:0]
	var first error // the first unknown or repeated name
	err := s.object(0, func(key string) error {
		start := s.i
		val, err := s.skip(1)
		if err != nil {
			return err
		}
		if slices.Contains(seen, key) && first == nil {
			first = fmt.Errorf("%w: property %q appears twice", ErrInvalid, key)
		}
		seen = append(seen, key)
		if freeFormProp(key) {
			return nil
		}
		var str **string
		var num **float64
		var field any
		switch key {
		case "id":
			str, field = &p.ID, &p.ID
		case "action":
			str, field = &p.Action, &p.Action
		case "datum":
			str, field = &p.Datum, &p.Datum
		case "name":
			str, field = &p.Name, &p.Name
		case "margin_m":
			num, field = &p.MarginM, &p.MarginM
		case "precision_m":
			num, field = &p.PrecisionM, &p.PrecisionM
		case "max_image_pixels":
			field = &p.MaxImagePixels
		case "windows":
			field = &p.Windows
		default:
			if first == nil {
				first = fmt.Errorf("%w: unknown property %q%s (zone properties are %s; put free-form data under \"meta\" or names starting with \"x-\")",
					ErrInvalid, key, didYouMean(key, zonePropNames), strings.Join(zonePropNames, ", "))
			}
			return nil
		}
		switch v := (&jsonScan{b: raw, i: start}); {
		case str != nil && val[0] == '"':
			if st, err := v.str(); err == nil {
				*str = &st
				return nil
			}
		case num != nil && (val[0] == '-' || val[0]-'0' < 10):
			if f, err := v.float(); err == nil {
				*num = &f
				return nil
			}
		}
		if err := json.Unmarshal(val, field); err != nil {
			return fmt.Errorf("%w: property %q: %w", ErrMalformed, key, err)
		}
		return nil
	})
	if err != nil {
		return err // a syntax error (not after parseGeoJSON) or a property's type error
	}
	return first
}

// didYouMean returns ` (did you mean "x"?)` for the name in names closest to s, if it is at
// most two edits away, else "".
func didYouMean(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// readGeoJSON parses raw, the bundle file named file: one FeatureCollection (or a single
// Feature) of Polygon/MultiPolygon features, and nothing after it. For region files (region
// = true) properties are ignored and every feature is in fileDatum, converted vertex by
// vertex; zone files need id and action and may set datum per feature, and a GCJ-02 zone's
// edges are densified from budget, the vertices the bundle may still add (nil for regions).
func readGeoJSON(raw []byte, file string, region bool, fileDatum Datum, budget *int) ([]Zone, error) {
	var doc geoJSON
	if err := parseGeoJSON(raw, &doc); err != nil {
		return nil, &BundleError{File: file, Feature: -1, Err: err}
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
	var cr coordReader
	for i, f := range feats {
		z := Zone{Source: Source{File: file, Feature: i}}
		if region {
			z.ID = fmt.Sprintf("%s#%d", file, i)
		}
		datum := fileDatum
		fail := func(err error) error { return &BundleError{File: file, Feature: i, ID: z.ID, Err: err} }
		if f.Type != "Feature" {
			return nil, fail(fmt.Errorf("%w: type %q, want Feature", ErrMalformed, f.Type))
		}
		if !region {
			var p zoneProps
			if len(f.Properties) == 0 || string(f.Properties) == "null" {
				return nil, fail(fmt.Errorf("%w: no properties (need id and action)", ErrInvalid))
			}
			err := parseZoneProps(f.Properties, &p)
			if p.ID != nil {
				z.ID = *p.ID // named in the error, if there is one
			}
			if err != nil {
				return nil, fail(err)
			}
			if p.ID == nil || *p.ID == "" {
				return nil, fail(fmt.Errorf("%w: property id missing", ErrInvalid))
			}
			z.ID = *p.ID
			if p.Action == nil {
				return nil, fail(fmt.Errorf("%w: property action missing", ErrUnknownAction))
			}
			if err := p.apply(&z, &datum); err != nil {
				return nil, fail(err)
			}
		}
		if f.Geometry == nil {
			return nil, fail(fmt.Errorf("%w: no geometry", ErrMalformed))
		}
		cr.jsonScan = jsonScan{b: f.Geometry.Coordinates}
		cr.short = nil
		var ps []Polygon
		var err error
		switch f.Geometry.Type {
		case "Polygon":
			var p Polygon
			if p, err = cr.polygon(0); err == nil {
				ps = []Polygon{p}
			}
		case "MultiPolygon":
			ps, err = cr.polygons()
		default:
			return nil, fail(fmt.Errorf("%w: geometry type %q, want Polygon or MultiPolygon", ErrMalformed, f.Geometry.Type))
		}
		if err != nil {
			return nil, fail(fmt.Errorf("coordinates: %w", err)) // ErrMalformed or ErrBadCoordinate
		}
		if cr.short != nil {
			return nil, fail(cr.short)
		}
		for pi, p := range ps {
			if err := convertPolygon(p, datum, budget); err != nil {
				return nil, fail(fmt.Errorf("polygon %d %w", pi, err)) // err starts "ring N: "
			}
		}
		z.Polygons = ps
		zones = append(zones, z)
	}
	return zones, nil
}

// convertPolygon converts the rings of poly, as read, to WGS-84 in place. Geometry is
// validated later by Compile, except for GCJ-02 zones (budget not nil), whose rings are
// validated as drawn and then densified by gcjZoneRingToWGS84.
func convertPolygon(poly Polygon, datum Datum, budget *int) error {
	if datum != GCJ02 {
		return nil
	}
	for ri, r := range poly {
		if budget != nil {
			var err error
			if poly[ri], err = gcjZoneRingToWGS84(r, budget); err != nil {
				return fmt.Errorf("ring %d: %w", ri, err)
			}
			continue
		}
		for k, p := range r {
			lat, lon := GCJ02ToWGS84(p[1], p[0])
			r[k] = [2]float64{lon, lat}
		}
	}
	return nil
}
