package gnss

import "time"

// Mode is the fix dimension, numbered as gpsd's TPV "mode" field.
type Mode uint8

// Fix modes. A Fix from a Decoder has Mode2D or Mode3D when it is Valid and ModeNoFix when it
// is not, as gpsd's TPV reports an unusable fix; ModeUnknown is the zero Fix's.
const (
	ModeUnknown Mode = 0 // nothing seen yet (zero Fix)
	ModeNoFix   Mode = 1 // receiver reports no fix
	Mode2D      Mode = 2 // latitude and longitude only
	Mode3D      Mode = 3 // latitude, longitude and altitude
)

// Field is a bit set telling which optional fields of a Fix carry a value.
type Field uint16

// Fields a Fix may carry. A field whose bit is clear holds its zero value and must not be used.
const (
	HasTime    Field = 1 << iota // Time (UTC, date and time of day)
	HasPos                       // Lat, Lon
	HasAlt                       // Alt (metres above mean sea level)
	HasSpeed                     // Speed
	HasTrack                     // Track
	HasSats                      // SatsUsed
	HasHDOP                      // HDOP
	HasPDOP                      // PDOP
	HasVDOP                      // VDOP
	HasErr                       // LatErr, LonErr (and AltErr when GST gave it)
	HasQuality                   // Quality (from GGA, or GNS mode letters)
)

// Talker is a bit set of the NMEA talker IDs that contributed to a Fix.
type Talker uint16

// Talkers geogate recognises. GB and BD are both BeiDou; GQ and QZ are both QZSS.
const (
	TalkerGP    Talker = 1 << iota // GPS
	TalkerGL                       // GLONASS
	TalkerGA                       // Galileo
	TalkerGB                       // BeiDou (GB or BD)
	TalkerGQ                       // QZSS (GQ or QZ)
	TalkerGI                       // NavIC / IRNSS
	TalkerGN                       // combined multi-constellation solution
	TalkerOther                    // any other talker (e.g. II, proprietary receivers)
)

// NavStatus is the navigational status of NMEA 4.10 and later, the last field of RMC and GNS:
// the receiver's own integrity verdict on the fix (NMEA 0183 4.10, table "Navigational status
// indicator").
type NavStatus uint8

// Navigational statuses, ordered from no statement to the worst: when the sentences of one
// epoch disagree, the Fix carries the worst.
const (
	// NavNone: no status given: no field (NMEA before 4.10), or V, "equipment does not provide
	// navigational status", which u-blox, Quectel, Unicore and most 4.10 receivers send in
	// every sentence. It has no effect on Valid.
	NavNone NavStatus = iota
	// NavSafe (S): the fix is within the receiver's integrity limits. No effect on Valid.
	NavSafe
	// NavCaution (C): the receiver's integrity limits are approached. The fix stays Valid (its
	// position is still the receiver's best and validity comes from the status, mode and
	// quality fields) but carries the flag, and Stats.Caution counts it.
	NavCaution
	// NavUnsafe (U): the receiver's integrity monitoring says the fix must not be used for
	// navigation. geogate fails closed: the Fix is not Valid, its Mode is ModeNoFix, and
	// Stats.Unsafe counts it.
	NavUnsafe
)

var navNames = [...]string{"none", "safe", "caution", "unsafe"}

// String returns a short lower-case name such as "caution".
func (n NavStatus) String() string {
	if int(n) < len(navNames) {
		return navNames[n]
	}
	return "invalid"
}

// Fix is one receiver epoch: everything the receiver said about one instant, merged from the
// sentences of that epoch. Fix is a plain value with no pointers besides time.Time's location,
// so copying it never allocates.
type Fix struct {
	// Time is the UTC time of the epoch (date from RMC or ZDA). Valid only if Has&HasTime.
	Time time.Time
	// Received is the local clock reading (with its monotonic part) when the epoch was completed.
	// Age and freshness are measured from it, never from the receiver's UTC time.
	Received time.Time

	Lat, Lon float64 // WGS-84 degrees, north and east positive
	Alt      float64 // metres above mean sea level
	Speed    float64 // metres per second over ground
	Track    float64 // course over ground, degrees true, [0, 360)

	HDOP, PDOP, VDOP float64
	// LatErr, LonErr, AltErr are 1-sigma error estimates in metres (from GST).
	LatErr, LonErr, AltErr float64

	Has      Field
	Mode     Mode
	Quality  uint8 // GGA fix quality indicator (0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 dead reckoning, ...)
	SatsUsed uint8
	// Valid reports that the receiver declared this position usable: a position is present,
	// some sentence of the epoch said "valid" (RMC/GLL status A, GGA quality above 0, a GNS
	// mode other than N, GSA fix type 2 or 3), none said "invalid" (RMC/GLL status V, an
	// RMC/GLL/VTG mode indicator N, GNS modes all N, GGA quality 0, GSA fix type 1), and
	// NavStatus is not NavUnsafe. A fix that is not Valid has Mode ModeNoFix; the position the
	// receiver printed anyway stays in Lat and Lon (with HasPos) for diagnostics only.
	Valid bool
	// NavStatus is the worst NMEA 4.10 navigational status of the epoch's RMC and GNS.
	NavStatus NavStatus
	Talkers   Talker
}

// Age returns how long ago, by the local clock, the fix was completed.
func (f *Fix) Age(now time.Time) time.Duration { return now.Sub(f.Received) }

// Usable reports whether the fix has a valid position no older than maxAge.
// Later stages call it to fail closed on stale or invalid positions.
func (f *Fix) Usable(now time.Time, maxAge time.Duration) bool {
	if !f.Valid || f.Has&HasPos == 0 || f.Received.IsZero() {
		return false
	}
	age := f.Age(now)
	return age >= 0 && age <= maxAge
}
