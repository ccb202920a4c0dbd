package policy

// Action is what may be stored for a fix or frame.
type Action uint8

// Actions, from most to least permissive. The zero value is Drop so that a Decision nobody
// filled in fails closed.
const (
	Drop    Action = iota // store nothing
	Coarsen               // store only the output position, quantized to PrecisionM
	Keep                  // store the output position at full precision
)

var actionNames = [...]string{Drop: "drop", Coarsen: "coarsen", Keep: "keep"}

// String returns "drop", "coarsen" or "keep".
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(?)"
}

// Reason says why a Decision came out as it did. The caller counts decisions by Reason if it
// wants to (the gate does, see gate.Counters): Decide itself writes no shared memory.
type Reason uint8

// Reasons. The failure reasons (NoFix .. NoTier, Expired) always come with Drop.
const (
	ReasonOK          Reason = iota // no zone applies: the tier and the policy default decide
	ReasonNoFix                     // nil fix, or the fix carries no position
	ReasonInvalid                   // the receiver flagged the fix invalid, or its coordinates are out of range
	ReasonStale                     // the fix is older than the policy's max_age (or from the future)
	ReasonNoPolicy                  // no policy is loaded
	ReasonNoTier                    // the engine's tier does not exist in the loaded policy
	ReasonZoneDeny                  // inside a deny zone, its margin, or its hysteresis band
	ReasonZoneCoarsen               // inside a coarsen zone (or its margin)
	ReasonZoneAllow                 // inside an allow zone (or its margin)
	ReasonDefaultDeny               // outside every zone, and the policy's default_action is drop
	ReasonExpired                   // the policy's signed expiry time has passed (freeze attack or no update): nothing is stored
	numReasons
)

var reasonNames = [...]string{
	ReasonOK:          "ok",
	ReasonNoFix:       "no-fix",
	ReasonInvalid:     "invalid",
	ReasonStale:       "stale",
	ReasonNoPolicy:    "no-policy",
	ReasonNoTier:      "no-tier",
	ReasonZoneDeny:    "zone-deny",
	ReasonZoneCoarsen: "zone-coarsen",
	ReasonZoneAllow:   "zone-allow",
	ReasonDefaultDeny: "default-deny",
	ReasonExpired:     "policy-expired",
}

// String returns the reason's stable name, e.g. "zone-deny"; these names appear in logs,
// in `geogate policy eval` output and in counters.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(?)"
}

// Datum is the geodetic datum of an output position.
type Datum uint8

// Datums. The zero value is WGS-84, the receiver's datum.
const (
	WGS84 Datum = iota // what GNSS receivers report
	GCJ02              // China's obfuscated datum (see WGS84ToGCJ02)
)

// String returns "WGS-84" or "GCJ-02", the spelling used in bundles.
func (d Datum) String() string {
	if d == GCJ02 {
		return "GCJ-02"
	}
	return "WGS-84"
}

// Decision is the verdict for one fix. When Action is Drop, Lat and Lon are zero and must
// not be stored; callers never see the raw position of a dropped fix through a Decision.
type Decision struct {
	Action Action
	Reason Reason
	// Datum is the datum of Lat, Lon.
	Datum Datum
	// Zone is the id of the zone that decided, or "" when none did. The string is shared
	// with the compiled policy: reading it does not allocate.
	Zone string
	// Lat, Lon are the position that may be stored, in Datum, already quantized to
	// PrecisionM. Zero when Action is Drop.
	Lat, Lon float64
	// PrecisionM is the grid, in metres, Lat/Lon were quantized to; 0 means full precision.
	PrecisionM float64
	// MaxImagePixels caps camera frames taken at this position (width*height);
	// 0 means unlimited. The camera gate downscales frames above it.
	MaxImagePixels int
	// MaxFPS caps the frames a second the camera gate stores, the tier's max_fps; 0 means
	// every frame. Zones do not change it.
	MaxFPS float64
	// Anonymize says frames taken at this position may be stored only after their faces and
	// number plates are masked (the tier's anonymize). A caller that cannot mask them must
	// drop the frame. False when Action is Drop.
	Anonymize bool
	// Version is the version of the policy that decided, 0 when none was loaded.
	Version uint64
}
