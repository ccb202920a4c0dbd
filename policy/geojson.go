package policy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The zone files' GeoJSON is read by a small parser of its own rather than encoding/json:
// a 1 MB bundle must install in a few milliseconds (issue 18), and decoding the coordinate
// arrays through reflection into [][][]float64, one slice per position, took most of it.
// The parser reads the JSON text once, checking its full syntax (RFC 8259) as it goes,
// builds the same geoJSON values as encoding/json would (members matched without regard to
// case, unknown members skipped), and decodes positions straight into rings. It is stricter
// than encoding/json in two places, both rows of the "no silent weakening" rule: a member of
// a feature, collection or geometry given twice is an error (encoding/json kept the last),
// and a null where a coordinate belongs is an error (encoding/json read it as 0). FuzzGeoJSON
// checks it against encoding/json.

// maxJSONDepth bounds the nesting of arrays and objects, as encoding/json does (10000), so
// that a hostile file cannot exhaust the stack.
const maxJSONDepth = 10000

// jsonScan reads JSON text b from offset i.
type jsonScan struct {
	b []byte
	i int
}

// errAt returns a syntax error at the current offset.
func (s *jsonScan) errAt(what string) error {
	if s.i >= len(s.b) {
		return fmt.Errorf("%w: unexpected end of JSON input at byte %d, %s", ErrMalformed, s.i, what)
	}
	return fmt.Errorf("%w: invalid character %q at byte %d, %s", ErrMalformed, s.b[s.i], s.i, what)
}

// ws skips JSON white space.
func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *jsonScan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads a string token at s.i and returns its contents (escapes resolved as
// encoding/json resolves them, which also replaces invalid UTF-8).
func (s *jsonScan) str() (string, error) {
	start := s.i
	plain, err := s.skipString()
	if err != nil {
		return "", err
	}
	if plain {
		b := s.b[start+1 : s.i-1]
		if v, ok := internedStrings[string(b)]; ok { // no allocation for the lookup
			return v, nil
		}
		return string(b), nil
	}
	var v string
	if err := json.Unmarshal(s.b[start:s.i], &v); err != nil {
		return "", fmt.Errorf("%w: string at byte %d: %w", ErrMalformed, start, err)
	}
	return v, nil
}

// internedStrings are the member names and values every zone file repeats for every
// feature: str returns them without allocating a copy each time.
var internedStrings = func() map[string]string {
	m := map[string]string{}
	for _, list := range [][]string{docMembers, geomMembers, zonePropNames,
		{"FeatureCollection", "Feature", "Polygon", "MultiPolygon", "deny", "coarsen", "allow", "WGS-84", "GCJ-02", "meta"}} {
		for _, v := range list {
			m[v] = v
		}
	}
	return m
}()

// skipString checks the string token at s.i and moves past it. plain reports that it holds
// only printable ASCII and no escape, so that its bytes are its value.
func (s *jsonScan) skipString() (plain bool, err error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false, s.errAt("looking for the beginning of a string")
	}
	s.i++
	plain = true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return plain, nil
		case c < 0x20:
			return false, s.errAt("in a string literal")
		case c == '\\':
			plain = false
			s.i++
			if s.i >= len(s.b) {
				return false, s.errAt("in a string escape")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if s.i >= len(s.b) || !isHex(s.b[s.i]) {
						return false, s.errAt("in a \\u escape")
					}
					s.i++
				}
			default:
				return false, s.errAt("in a string escape")
			}
		default:
			if c >= 0x80 {
				plain = false
			}
			s.i++
		}
	}
	return false, s.errAt("in a string literal")
}

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// number checks the number token at s.i and moves past it, returning its text.
func (s *jsonScan) number() ([]byte, error) {
	start := s.i
	digits := func() bool {
		n := s.i
		for s.i < len(s.b) && s.b[s.i]-'0' < 10 {
			s.i++
		}
		return s.i > n
	}
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case !digits():
		return nil, s.errAt("in a number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !digits() {
			return nil, s.errAt("after a decimal point")
		}
	}
	if s.i < len(s.b) && s.b[s.i]|0x20 == 'e' {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !digits() {
			return nil, s.errAt("in an exponent")
		}
	}
	return s.b[start:s.i], nil
}

// float reads a number token as encoding/json reads it into a float64.
func (s *jsonScan) float() (float64, error) {
	start := s.i
	num, err := s.number()
	if err != nil {
		return 0, err
	}
	if f, ok := fastFloat(num); ok {
		return f, nil
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return 0, fmt.Errorf("%w: number %s at byte %d does not fit a float64", ErrMalformed, num, start)
	}
	return f, nil
}

// exactPow10 are the powers of ten a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat converts a JSON number of at most 15 digits, without an exponent, as
// strconv.ParseFloat would, and faster (most coordinates look like this): the digits make
// an integer below 2^53 and the decimals a power of ten up to 1e22, both exact in a
// float64, so their quotient is the correctly rounded value (Clinger's fast path, which
// strconv also takes after its general parsing). ok is false for any other number.
func fastFloat(b []byte) (f float64, ok bool) {
	i, neg := 0, b[0] == '-'
	if neg {
		i++
	}
	var m uint64
	nd, frac := 0, 0
	for ; i < len(b) && b[i]-'0' < 10; i++ {
		m, nd = m*10+uint64(b[i]-'0'), nd+1
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i]-'0' < 10; i++ {
			m, nd, frac = m*10+uint64(b[i]-'0'), nd+1, frac+1
		}
	}
	if i != len(b) || nd > 15 || frac >= len(exactPow10) {
		return 0, false
	}
	f = float64(m) / exactPow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// literal moves past the literal word w (true, false, null) at s.i.
func (s *jsonScan) literal(w string) error {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		for k := 0; k < len(w) && s.i < len(s.b) && s.b[s.i] == w[k]; k++ {
			s.i++
		}
		return s.errAt("in a literal " + w)
	}
	s.i += len(w)
	return nil
}

// null moves past a null literal if one is next and reports whether it did.
func (s *jsonScan) null() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// skip checks the value at s.i (after white space) and moves past it, returning its text.
func (s *jsonScan) skip(depth int) ([]byte, error) {
	s.ws()
	start := s.i
	var err error
	switch s.peek() {
	case '{':
		err = s.object(depth, func(string) error {
			_, err := s.skip(depth + 1)
			return err
		})
	case '[':
		err = s.skipArray(depth)
	case '"':
		_, err = s.skipString()
	case 't':
		err = s.literal("true")
	case 'f':
		err = s.literal("false")
	case 'n':
		err = s.literal("null")
	default:
		_, err = s.number()
	}
	if err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

// skipArray checks the array at s.i and moves past it. Numbers, most of a zone file, are
// read in the loop itself rather than through array's callback.
func (s *jsonScan) skipArray(depth int) error {
	if depth >= maxJSONDepth {
		return fmt.Errorf("%w: nested deeper than %d at byte %d", ErrMalformed, maxJSONDepth, s.i)
	}
	s.i++ // '['
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if c := s.peek(); c == '-' || c-'0' < 10 {
			if _, err := s.number(); err != nil {
				return err
			}
		} else if _, err := s.skip(depth + 1); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errAt("after an array element")
		}
	}
}

// object reads an object at s.i, calling member for each key with s.i at its value, which
// member must read.
func (s *jsonScan) object(depth int, member func(key string) error) error {
	if depth >= maxJSONDepth {
		return fmt.Errorf("%w: nested deeper than %d at byte %d", ErrMalformed, maxJSONDepth, s.i)
	}
	if s.peek() != '{' {
		return s.errAt("looking for the beginning of an object")
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		key, err := s.str()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.errAt("after an object key")
		}
		s.i++
		s.ws()
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errAt("after an object member")
		}
	}
}

// array reads an array at s.i, calling elem with s.i at each element, which elem must read.
func (s *jsonScan) array(depth int, elem func() error) error {
	if depth >= maxJSONDepth {
		return fmt.Errorf("%w: nested deeper than %d at byte %d", ErrMalformed, maxJSONDepth, s.i)
	}
	if s.peek() != '[' {
		return s.errAt("looking for the beginning of an array")
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errAt("after an array element")
		}
	}
}

// members tracks which of an object's known members were seen, matched as encoding/json
// matches keys to struct fields (without regard to case), and refuses a repeated one.
type members struct {
	names []string
	seen  uint32
}

// match returns the index in names of key, -1 for an unknown key, or an error for a known
// one given twice.
func (m *members) match(key string, at int) (int, error) {
	for k, n := range m.names {
		if strings.EqualFold(key, n) {
			if m.seen&(1<<k) != 0 {
				return 0, fmt.Errorf("%w: member %q appears twice (at byte %d): a reader would see one value and the policy take the other", ErrMalformed, n, at)
			}
			m.seen |= 1 << k
			return k, nil
		}
	}
	return -1, nil
}

var (
	docMembers  = []string{"type", "features", "properties", "geometry"}
	geomMembers = []string{"type", "coordinates"}
)

// optString reads a string or null (which leaves *v as it is, as encoding/json does).
func (s *jsonScan) optString(v *string, what string) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if s.peek() != '"' {
		return s.errAt(what + ": want a string")
	}
	var err error
	*v, err = s.str()
	return err
}

// parseGeoJSON parses raw, a whole zone file, into doc: one JSON value and nothing after it
// but white space.
func parseGeoJSON(raw []byte, doc *geoJSON) error {
	s := &jsonScan{b: raw}
	if err := s.geoObject(0, doc); err != nil {
		return err
	}
	if s.peek() != 0 {
		return fmt.Errorf("%w: trailing data at byte %d, after the first JSON value (a zone file holds exactly one FeatureCollection or Feature)", ErrMalformed, s.i)
	}
	return nil
}

// geoObject reads a FeatureCollection or Feature into g. Properties and coordinates are kept
// as their JSON text (slices of s.b), decoded by the caller.
func (s *jsonScan) geoObject(depth int, g *geoJSON) error {
	m := members{names: docMembers}
	return s.object(depth, func(key string) error {
		k, err := m.match(key, s.i)
		if err != nil {
			return err
		}
		switch k {
		case 0:
			return s.optString(&g.Type, "type")
		case 1:
			if isNull, err := s.null(); isNull || err != nil {
				g.Features = nil
				return err
			}
			g.Features = g.Features[:0]
			return s.array(depth+1, func() error {
				g.Features = append(g.Features, geoJSON{})
				if isNull, err := s.null(); isNull || err != nil {
					return err
				}
				return s.geoObject(depth+2, &g.Features[len(g.Features)-1])
			})
		case 2:
			g.Properties, err = s.skip(depth + 1)
			return err
		case 3:
			if isNull, err := s.null(); isNull || err != nil {
				g.Geometry = nil
				return err
			}
			g.Geometry = &geoGeometry{}
			return s.geometry(depth+1, g.Geometry)
		}
		_, err = s.skip(depth + 1)
		return err
	})
}

// geometry reads a geometry object into g.
func (s *jsonScan) geometry(depth int, g *geoGeometry) error {
	m := members{names: geomMembers}
	return s.object(depth, func(key string) error {
		k, err := m.match(key, s.i)
		if err != nil {
			return err
		}
		switch k {
		case 0:
			return s.optString(&g.Type, "geometry type")
		case 1:
			g.Coordinates, err = s.skip(depth + 1)
			return err
		}
		_, err = s.skip(depth + 1)
		return err
	})
}

// coords decodes the coordinates of a Polygon (levels 3) or MultiPolygon (levels 4), valid
// JSON text, into polygons of rings, reading null arrays as encoding/json reads them into
// slices (empty). pos is scratch for one ring's positions. A position with fewer than two
// numbers is reported (first one only, after the whole text is read) as short.
type coordReader struct {
	jsonScan
	pos   [][2]float64
	short error
}

// polygons reads the coordinates of a MultiPolygon.
func (c *coordReader) polygons() ([]Polygon, error) {
	var ps []Polygon
	if isNull, err := c.null(); isNull || err != nil {
		return nil, err
	}
	err := c.array(1, func() error {
		p, err := c.polygon(len(ps))
		ps = append(ps, p)
		return err
	})
	return ps, err
}

// polygon reads the rings of polygon pi.
func (c *coordReader) polygon(pi int) (Polygon, error) {
	var p Polygon
	if isNull, err := c.null(); isNull || err != nil {
		return nil, err
	}
	err := c.array(2, func() error {
		r, err := c.ring(pi, len(p))
		p = append(p, r)
		return err
	})
	return p, err
}

// ring reads ring ri of polygon pi.
func (c *coordReader) ring(pi, ri int) (Ring, error) {
	if isNull, err := c.null(); isNull || err != nil {
		return nil, err
	}
	c.pos = c.pos[:0]
	err := c.array(3, func() error {
		k := len(c.pos)
		n, err := c.position()
		if err != nil {
			return err
		}
		if n < 2 && c.short == nil {
			c.short = fmt.Errorf("polygon %d ring %d: %w: position %d has %d numbers", pi, ri, ErrBadCoordinate, k, n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(Ring(nil), c.pos...), nil
}

// position reads one position (an array of numbers, or null for none) and appends its first
// two numbers to c.pos (zeros for those missing); it returns how many numbers it held. The
// numbers are read in a loop of its own, not through array's callback: they are most of a
// zone file.
func (c *coordReader) position() (int, error) {
	c.pos = append(c.pos, [2]float64{})
	xy := &c.pos[len(c.pos)-1]
	if isNull, err := c.null(); isNull || err != nil {
		return 0, err
	}
	if c.peek() != '[' {
		return 0, c.errAt("looking for the beginning of an array")
	}
	c.i++
	n := 0
	if c.peek() == ']' {
		c.i++
		return 0, nil
	}
	for {
		switch b := c.peek(); {
		case b == 'n':
			return n, fmt.Errorf("%w: coordinates: null at byte %d where a number belongs", ErrBadCoordinate, c.i)
		case b != '-' && b-'0' >= 10:
			return n, c.errAt("coordinates: want a number")
		}
		f, err := c.float()
		if err != nil {
			return n, err
		}
		if n < 2 {
			xy[n] = f
		}
		n++
		switch c.peek() {
		case ',':
			c.i++
		case ']':
			c.i++
			return n, nil
		default:
			return n, c.errAt("after an array element")
		}
	}
}
