package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/geogate/geogate/policy"
)

// PublicTier is the policy tier whose decisions may reach the console: the tier of data that
// leaves the licensed chain.
const PublicTier = "public"

// MinPrecisionM is the finest grid a Position accepts: the sample policy's public tier. A
// decision on a finer grid (a policy whose "public" tier is too precise) is withheld.
const MinPrecisionM = 50

// milli is a Position's unit: a thousandth of a degree, 111 m of latitude and 85 m of
// longitude at Beidaihe (39.8 N), coarser than the public tier's 50 m grid, so printing a
// coarsened position never shows more than the grid holds.
const milli = 1000

// Position is the only form in which a position reaches the console: a public-tier decision's
// output position rounded to a thousandth of a degree, or Withheld. Its fields are integers
// and unexported, so no raw float position can be put in or printed out; the zero value is
// Withheld. It marshals to and from JSON as its text.
type Position struct {
	ok       bool
	gcj      bool
	lat, lon int32 // thousandths of a degree
}

// Withheld is the Position the console prints when it shows none: no fix, no policy, a
// position the public tier does not store, whatever the reason (the reason would tell).
var Withheld = Position{}

// withheldText is how Withheld prints.
const withheldText = "withheld"

// RedactDecision makes the Position of a public-tier decision: its output position (already
// quantized by the policy, in GCJ-02 where the tier says so) when the decision stores one on a
// grid of at least MinPrecisionM; Withheld otherwise (drop, full precision, fine grid).
func RedactDecision(tier string, d *policy.Decision) Position {
	if tier != PublicTier || d.Action == policy.Drop || d.PrecisionM < MinPrecisionM ||
		math.IsNaN(d.Lat) || math.IsNaN(d.Lon) || math.Abs(d.Lat) > 90 || math.Abs(d.Lon) > 180 {
		return Withheld
	}
	return Position{ok: true, gcj: d.Datum == policy.GCJ02,
		lat: int32(math.Round(d.Lat * milli)), lon: int32(math.Round(d.Lon * milli))}
}

// Shown reports whether p holds a position.
func (p Position) Shown() bool { return p.ok }

// String returns "39.861,119.426 (GCJ-02, public tier)" or "withheld".
func (p Position) String() string {
	if !p.ok {
		return withheldText
	}
	datum := "WGS-84"
	if p.gcj {
		datum = "GCJ-02"
	}
	return fmt.Sprintf("%s,%s (%s, public tier)", millis(p.lat), millis(p.lon), datum)
}

// millis prints thousandths as a decimal with three digits after the point.
func millis(v int32) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%03d", sign, v/milli, v%milli)
}

// MarshalJSON implements json.Marshaler: the text of String.
func (p Position) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON implements json.Unmarshaler for what MarshalJSON wrote; anything else is an
// error, so a daemon cannot slip a finer position through the console's decoder.
func (p *Position) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("console: position: %w", err)
	}
	if s == withheldText {
		*p = Withheld
		return nil
	}
	q, err := parsePosition(s)
	if err != nil {
		return fmt.Errorf("console: position %q: %w", s, err)
	}
	*p = q
	return nil
}

// parsePosition parses String's output exactly: three decimals, a known datum.
func parsePosition(s string) (Position, error) {
	coords, rest, ok := strings.Cut(s, " (")
	datum, ok2 := strings.CutSuffix(rest, ", public tier)")
	latS, lonS, ok3 := strings.Cut(coords, ",")
	if !ok || !ok2 || !ok3 || (datum != "GCJ-02" && datum != "WGS-84") {
		return Withheld, errors.New("not LAT,LON (DATUM, public tier)")
	}
	lat, err1 := parseMillis(latS)
	lon, err2 := parseMillis(lonS)
	if err := errors.Join(err1, err2); err != nil {
		return Withheld, err
	}
	if lat < -90*milli || lat > 90*milli || lon < -180*milli || lon > 180*milli {
		return Withheld, errors.New("out of range")
	}
	return Position{ok: true, gcj: datum == "GCJ-02", lat: lat, lon: lon}, nil
}

// parseMillis parses "-39.861": digits, a point, exactly three digits.
func parseMillis(s string) (int32, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 3 || len(whole) == 0 || len(whole) > 3 {
		return 0, fmt.Errorf("%q: want degrees with three decimals", s)
	}
	var v int32
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q: not a number", s)
		}
		v = v*10 + int32(c-'0')
	}
	if neg {
		v = -v
	}
	return v, nil
}
