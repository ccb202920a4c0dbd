package policy

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors a caller may branch on with errors.Is. Load and Compile return them wrapped in a
// *BundleError that names the file and feature.
var (
	// ErrMalformed: policy.toml or a GeoJSON file does not parse, or has the wrong shape.
	ErrMalformed = errors.New("policy: malformed bundle file")
	// ErrInvalid: a value is out of range, missing, duplicated or refers to something unknown.
	ErrInvalid = errors.New("policy: invalid value")
	// ErrUnknownAction: a zone's action is not deny, coarsen or allow (or default_action not keep or drop).
	ErrUnknownAction = errors.New("policy: unknown action")
	// ErrBadCoordinate: a coordinate is NaN, infinite or outside [-180,180] x [-90,90].
	ErrBadCoordinate = errors.New("policy: bad coordinate")
	// ErrUnclosedRing: a ring's last position differs from its first.
	ErrUnclosedRing = errors.New("policy: unclosed ring")
	// ErrDegenerateRing: a ring has fewer than three distinct positions, so it encloses no area.
	ErrDegenerateRing = errors.New("policy: degenerate ring")
	// ErrAntimeridian: an edge spans more than 180 degrees of longitude (RFC 7946 section
	// 3.1.9: such a polygon must be split at the antimeridian into a MultiPolygon).
	ErrAntimeridian = errors.New("policy: edge crosses the antimeridian")
	// ErrSelfIntersection: two non-adjacent edges of a ring touch or cross.
	ErrSelfIntersection = errors.New("policy: self-intersecting ring")
	// ErrOldVersion: the bundle's version is lower than the running policy's.
	ErrOldVersion = errors.New("policy: version older than the running policy")
	// ErrUnverified: the bundle verifier rejected the bundle (bad or missing signature).
	ErrUnverified = errors.New("policy: bundle not verified")
	// ErrBadFile: a bundle file is not read at all: its path leaves the bundle, it (or a
	// directory on its path) is a symbolic link, it is not a regular file (a FIFO, device,
	// socket or directory), or it is larger than MaxFileBytes.
	ErrBadFile = errors.New("policy: refused bundle file")
	// ErrVersionReused: the bundle has the running policy's version but different content
	// (a version names one content: raise it for every change).
	ErrVersionReused = errors.New("policy: version already names other content")
	// ErrThreshold: fewer distinct trusted keys signed the bundle's manifest than required.
	ErrThreshold = errors.New("policy: too few trusted signatures")
)

// BundleError locates a problem in a bundle. Feature is the 0-based index of the GeoJSON
// feature, or -1 when the problem is not in a feature.
type BundleError struct {
	File    string // path inside the bundle; "" for a Spec built in memory
	Feature int    // GeoJSON feature index, -1 if none
	ID      string // the feature's id property, when known
	Err     error  // what is wrong; wraps one of the sentinel errors
}

// Error returns e.g. `policy: zones.geojson: feature 3 (id "x"): self-intersecting ring: ...`.
func (e *BundleError) Error() string {
	var b strings.Builder
	b.WriteString("policy: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Feature >= 0 {
		fmt.Fprintf(&b, "feature %d", e.Feature)
		if e.ID != "" {
			fmt.Fprintf(&b, " (id %q)", e.ID)
		}
		b.WriteString(": ")
	}
	b.WriteString(strings.ReplaceAll(e.Err.Error(), "policy: ", ""))
	return b.String()
}

// Unwrap returns the underlying error.
func (e *BundleError) Unwrap() error { return e.Err }

// Rule is what a zone demands inside its boundary and margin.
type Rule uint8

// Rules in increasing precedence: where zones overlap, deny beats coarsen beats allow.
const (
	RuleAllow   Rule = iota // record at the tier's precision (overrides default_action = "drop")
	RuleCoarsen             // record no finer than the zone's PrecisionM
	RuleDeny                // record nothing
)

var ruleNames = [...]string{RuleAllow: "allow", RuleCoarsen: "coarsen", RuleDeny: "deny"}

// String returns "allow", "coarsen" or "deny", the spelling used in bundles.
func (r Rule) String() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return "rule(?)"
}

// ParseRule parses a zone action as spelled in a bundle.
func ParseRule(s string) (Rule, error) {
	for i, n := range ruleNames {
		if s == n {
			return Rule(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want deny, coarsen or allow)", ErrUnknownAction, s)
}

// Ring is a closed ring of [lon, lat] positions in degrees, GeoJSON order: the last position
// repeats the first.
type Ring [][2]float64

// Polygon is an outer ring followed by zero or more holes.
type Polygon []Ring

// Source says where a Spec element came from, for error messages.
type Source struct {
	File    string
	Feature int
}

// Spec is a policy before compilation: what Load reads from a bundle, or what a program
// builds in memory (tests, benchmarks, converters). All coordinates are WGS-84; Load
// converts GCJ-02 inputs before building the Spec.
type Spec struct {
	ID      string
	Version uint64
	// Digest is the SHA-256 over the bundle files ReadSpec read (zero for a Spec built in
	// memory). A Holder refuses a policy with the running policy's version and another
	// digest: a version names one content.
	Digest [32]byte
	// DefaultKeep says whether a fix outside every zone is kept (true) or dropped (false,
	// "whitelist" mode where only allow and coarsen zones record anything).
	DefaultKeep bool
	// MaxAge is the freshness limit: an older fix is dropped as stale. It must be > 0.
	MaxAge time.Duration
	// HysteresisM is the extra distance, in metres, beyond a zone's margin that a stream
	// must reach before leaving a zone it was in. 0 disables hysteresis.
	HysteresisM float64
	Tiers       []Tier
	Windows     []Window
	Zones       []Zone
	// GCJ02Regions are where tiers with GCJ02 set output GCJ-02 (the outline of China in the
	// sample bundle). Only their geometry and MarginM are used; the margin lets coastal roads
	// that a simplified coastline leaves "offshore" count as inside.
	GCJ02Regions []Zone
	// Issued is when the bundle was signed (policy.toml "issued"; zero: not stated). A
	// verified bundle's Issued is a lower bound on the current time: the update package
	// never lets its clock run behind it.
	Issued time.Time
	// Expires is when the bundle stops being in force (policy.toml "expires"; zero: never).
	// Past it Decide drops every fix with ReasonExpired until a fresh bundle arrives: a
	// freeze attack (withholding updates) cannot keep an old policy alive.
	Expires time.Time
	// NextKeys, if set, are the keys that sign the bundles after this one (key rotation,
	// policy.toml "next_keys"); NextThreshold of them must sign each. The update package
	// adopts them once this bundle, signed under the current keys, is installed.
	NextKeys      []ed25519.PublicKey
	NextThreshold int
}

// Tier is a precision level a stream records at, e.g. "licensed" (full precision, stays in
// the licensed chain) or "public" (leaves it: coarse, GCJ-02).
type Tier struct {
	Name string
	// PrecisionM is the grid, in metres, positions are quantized to; 0 = full precision.
	PrecisionM float64
	// MaxImagePixels caps camera frames (width*height); 0 = unlimited.
	MaxImagePixels int
	// MaxFPS caps how many camera frames a second the tier stores, sampled evenly from the
	// camera's; 0 = every frame.
	MaxFPS float64
	// GCJ02 makes positions inside a GCJ-02 region come out in GCJ-02; false = always WGS-84.
	GCJ02 bool
	// Anonymize requires faces and number plates in camera frames to be masked before a
	// frame is stored (see Decision.Anonymize); false = frames are stored as captured.
	Anonymize bool
}

// Window is a recurring time window; a zone that names windows is in force only while one
// of them is open. Zero fields mean "any".
type Window struct {
	Name     string
	Months   []time.Month   // empty = every month
	Weekdays []time.Weekday // empty = every day
	// FromMin, ToMin are minutes after local midnight; the window is open in [FromMin, ToMin).
	// FromMin == ToMin means all day; FromMin > ToMin wraps past midnight.
	FromMin, ToMin int
	// UTCOffset is the local time's offset east of UTC (e.g. +8h for China).
	UTCOffset time.Duration
}

// Zone is one geofence: a GeoJSON Feature of a bundle.
type Zone struct {
	ID     string
	Rule   Rule
	Source Source
	// MarginM is a buffer, in metres, outside the boundary that counts as inside. 0 = none.
	MarginM float64
	// PrecisionM is the grid, in metres, a coarsen zone records at (required for coarsen).
	PrecisionM float64
	// MaxImagePixels caps camera frames inside the zone; 0 = the tier's cap.
	MaxImagePixels int
	// Windows names the time windows the zone is in force in; empty = always.
	Windows  []string
	Polygons []Polygon
}
