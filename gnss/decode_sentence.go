package gnss

import "encoding/binary"

// SentenceType is an NMEA 0183 sentence formatter the decoder knows.
type SentenceType uint8

// Sentence types. TypeOther counts well-formed sentences geogate does not use (TXT, DTM, GBS,
// proprietary $P..., AIS !AIVDM, ...).
const (
	TypeOther SentenceType = iota
	TypeRMC                // recommended minimum: time, date, status, position, speed, track
	TypeGGA                // fix data: time, position, quality, satellites, HDOP, altitude
	TypeGNS                // multi-constellation fix data (like GGA with per-system modes)
	TypeGLL                // position, optional time and status
	TypeVTG                // track and speed
	TypeGSA                // fix type, satellites used, PDOP/HDOP/VDOP
	TypeGSV                // satellites in view (validated and counted only)
	TypeZDA                // time and date
	TypeGST                // error statistics
	NumTypes               // number of types, for arrays indexed by SentenceType
)

var typeNames = [NumTypes]string{"other", "RMC", "GGA", "GNS", "GLL", "VTG", "GSA", "GSV", "ZDA", "GST"}

// String returns the sentence formatter, e.g. "RMC".
func (t SentenceType) String() string {
	if t < NumTypes {
		return typeNames[t]
	}
	return "invalid"
}

// status is what a sentence says about the validity of the position: nothing, valid or not.
type status int8

const (
	statusNone    status = 0
	statusValid   status = 1
	statusInvalid status = -1
)

// sentence is one decoded sentence: the fields it carried, already converted and checked.
// Field presence uses the Fix Field bits; hasTOD and hasDate are the time of day and date,
// which the merger joins into Fix.Time.
type sentence struct {
	typ    SentenceType
	talker Talker
	has    Field
	status status

	hasTOD, hasDate  bool
	timeless         bool  // the layout has a time field and it was empty (receiver without time)
	tod              int64 // nanoseconds since midnight UTC
	year, month, day int

	lat, lon               float64
	posPrec                int // minute fraction digits of the coordinates
	alt, speed, track      float64
	hdop, pdop, vdop       float64
	latErr, lonErr, altErr float64
	hasAltErr              bool
	quality                uint8
	hasQuality             bool
	sats                   uint8
	mode                   Mode // GSA fix type, ModeUnknown when not given
	nav                    NavStatus

	gsvLast bool // a GSV sentence that is the last of its group
}

// maxFields bounds the fields of one sentence: a MaxSentence line of empty fields has at most
// MaxSentence commas, but no supported layout goes past 21 (GSV: 3 + 4*4 + signal ID + 1).
// Extra fields are ignored, as NMEA says listeners must.
const maxFields = 32

// fieldSplit is a sentence cut at its commas by the framer while it verifies the checksum:
// field i is line[start:ends[i]], where start is 1 (after the start character) for field 0
// and ends[i-1]+1 after. Offsets fit a byte because lines are at most MaxSentence long; they
// are offsets, not slices, so filling them stores no pointers.
type fieldSplit struct {
	line []byte
	ends [maxFields]uint8
	n    int
}

// get returns field i, or an empty field when the sentence is shorter.
func (s *fieldSplit) get(i int) []byte {
	if i >= s.n {
		return nil
	}
	start := 1
	if i > 0 {
		start = int(s.ends[i-1]) + 1
	}
	return s.line[start:s.ends[i]]
}

// Knots and km/h in metres per second: 1 knot is 1852 m per hour by definition.
const (
	msPerKnot = 1852.0 / 3600.0
	msPerKmh  = 1000.0 / 3600.0
)

// Sanity bounds for values a sentence may carry; a value outside rejects the sentence as
// ReasonRange. They are generous physical limits, not receiver specifications.
const (
	maxSpeedMS = 2000.0    // m/s: above any vehicle, below orbital speed artefacts
	minAlt     = -12000.0  // m: below the deepest ocean trench
	maxAlt     = 1000000.0 // m: 1000 km, above which NMEA altitudes are garbage
	maxDOP     = 1000.0    // receivers report 99.99 or 999.99 for "unknown"
	maxErr     = 1e7       // m: GST errors larger than the Earth are garbage
)

// talkerOf maps the two talker ID characters to the Talker bit.
func talkerOf(a, b byte) Talker {
	switch {
	case a == 'G' && b == 'P':
		return TalkerGP
	case a == 'G' && b == 'L':
		return TalkerGL
	case a == 'G' && b == 'A':
		return TalkerGA
	case a == 'G' && b == 'B', a == 'B' && b == 'D':
		return TalkerGB
	case a == 'G' && b == 'Q', a == 'Q' && b == 'Z':
		return TalkerGQ
	case a == 'G' && b == 'I':
		return TalkerGI
	case a == 'G' && b == 'N':
		return TalkerGN
	}
	return TalkerOther
}

// typeOf maps the three formatter characters to the SentenceType.
func typeOf(f []byte) SentenceType {
	switch string(f) { // the compiler does not allocate for a switch on string(bytes)
	case "RMC":
		return TypeRMC
	case "GGA":
		return TypeGGA
	case "GNS":
		return TypeGNS
	case "GLL":
		return TypeGLL
	case "VTG":
		return TypeVTG
	case "GSA":
		return TypeGSA
	case "GSV":
		return TypeGSV
	case "ZDA":
		return TypeZDA
	case "GST":
		return TypeGST
	}
	return TypeOther
}

// decodeSentence decodes a framed sentence, split into fields by the framer, into s. It returns ReasonNone on success; any other reason means the
// whole sentence is rejected and s must not be used. A well-formed sentence of a type geogate
// does not use returns ReasonNone with s.typ == TypeOther. It does not allocate.
func decodeSentence(fs *fieldSplit, s *sentence) Reason {
	*s = sentence{}
	addr := fs.get(0)
	if fs.line[0] != '$' || len(addr) != 5 || addr[0] == 'P' {
		// AIS (!), proprietary ($P...) and odd addresses: framed fine, not ours.
		return ReasonNone
	}
	s.talker = talkerOf(addr[0], addr[1])
	s.typ = typeOf(addr[2:5])
	switch s.typ {
	case TypeRMC:
		return decodeRMC(fs, s)
	case TypeGGA:
		return decodeGGA(fs, s)
	case TypeGNS:
		return decodeGNS(fs, s)
	case TypeGLL:
		return decodeGLL(fs, s)
	case TypeVTG:
		return decodeVTG(fs, s)
	case TypeGSA:
		return decodeGSA(fs, s)
	case TypeGSV:
		return decodeGSV(fs, s)
	case TypeZDA:
		return decodeZDA(fs, s)
	case TypeGST:
		return decodeGST(fs, s)
	}
	return ReasonNone
}

// time decodes an optional time-of-day field. Callers pass only a field the sentence's layout
// has: an empty one marks the sentence timeless.
func (s *sentence) time(b []byte) Reason {
	if len(b) == 0 {
		s.timeless = true
		return ReasonNone
	}
	tod, r := parseTOD(b)
	if r != ReasonNone {
		return r
	}
	s.tod, s.hasTOD = tod, true
	return ReasonNone
}

// position decodes the four fields lat, N/S, lon, E/W. All empty means no position; a partly
// empty position is a bad field.
func (s *sentence) position(lat, ns, lon, ew []byte) Reason {
	if len(lat) == 0 && len(lon) == 0 {
		// Some receivers keep the hemisphere letters without a fix; that is still "no position".
		return ReasonNone
	}
	if len(lat) == 0 || len(lon) == 0 || len(ns) != 1 || len(ew) != 1 {
		return ReasonBadField
	}
	la, p1, r := parseDegMin(lat, 90)
	if r != ReasonNone {
		return r
	}
	lo, p2, r := parseDegMin(lon, 180)
	if r != ReasonNone {
		return r
	}
	switch ns[0] {
	case 'N':
	case 'S':
		la = -la
	default:
		return ReasonBadField
	}
	switch ew[0] {
	case 'E':
	case 'W':
		lo = -lo
	default:
		return ReasonBadField
	}
	s.lat, s.lon, s.posPrec = la, lo, min(p1, p2)
	s.has |= HasPos
	return ReasonNone
}

// float decodes an optional number within [lo, hi] into *dst and sets bit in s.has.
func (s *sentence) float(b []byte, lo, hi float64, dst *float64, bit Field) Reason {
	if len(b) == 0 {
		return ReasonNone
	}
	v, ok := parseFloat(b)
	if !ok {
		return ReasonBadField
	}
	if !(v >= lo && v <= hi) {
		return ReasonRange
	}
	*dst = v + 0 // "-0.0" becomes 0
	s.has |= bit
	return ReasonNone
}

// speedField decodes an optional speed in the given unit into metres per second.
func (s *sentence) speedField(b []byte, unit float64) Reason {
	var v float64
	if r := s.float(b, 0, maxSpeedMS/unit, &v, HasSpeed); r != ReasonNone {
		return r
	}
	if s.has&HasSpeed != 0 {
		s.speed = v * unit
	}
	return ReasonNone
}

// trackField decodes an optional course over ground; 360 is folded to 0.
func (s *sentence) trackField(b []byte) Reason {
	if r := s.float(b, 0, 360, &s.track, HasTrack); r != ReasonNone {
		return r
	}
	if s.track == 360 {
		s.track = 0
	}
	return ReasonNone
}

// sats decodes an optional satellites-used count.
func (s *sentence) satsField(b []byte) Reason {
	if len(b) == 0 {
		return ReasonNone
	}
	v, ok := parseUint(b)
	if !ok {
		return ReasonBadField
	}
	if v > 255 {
		return ReasonRange
	}
	s.sats = uint8(v)
	s.has |= HasSats
	return ReasonNone
}

// statusAV decodes an optional A (valid) / V (invalid) status letter.
func (s *sentence) statusAV(b []byte) Reason {
	switch {
	case len(b) == 0:
	case len(b) == 1 && b[0] == 'A':
		s.status = statusValid
	case len(b) == 1 && b[0] == 'V':
		s.status = statusInvalid
	default:
		return ReasonBadField
	}
	return ReasonNone
}

// faaMode decodes the NMEA 2.3+ mode indicator of RMC, GLL and VTG: A autonomous, D
// differential, E estimated (dead reckoning), F float RTK, M manual, N not valid, P precise,
// R RTK, S simulator. N makes the sentence invalid. Any other letter is a bad field.
func (s *sentence) faaMode(b []byte) Reason {
	if len(b) == 0 {
		return ReasonNone
	}
	if len(b) != 1 {
		return ReasonBadField
	}
	switch b[0] {
	case 'N':
		s.status = statusInvalid
	case 'A', 'D', 'E', 'F', 'M', 'P', 'R', 'S':
	default:
		return ReasonBadField
	}
	return ReasonNone
}

// modeQuality maps an FAA/GNS mode letter to the GGA quality indicator it corresponds to.
func modeQuality(c byte) (uint8, bool) {
	switch c {
	case 'N':
		return 0, true
	case 'A':
		return 1, true
	case 'D':
		return 2, true
	case 'P':
		return 3, true
	case 'R':
		return 4, true
	case 'F':
		return 5, true
	case 'E':
		return 6, true
	case 'M':
		return 7, true
	case 'S':
		return 8, true
	}
	return 0, false
}

// first returns the first non-nil reason.
func first(rs ...Reason) Reason {
	for _, r := range rs {
		if r != ReasonNone {
			return r
		}
	}
	return ReasonNone
}

// decodeRMC: $--RMC,time,status,lat,N,lon,E,knots,track,ddmmyy,magvar,E,[mode],[navstatus]
func decodeRMC(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 10 {
		return ReasonFieldCount
	}
	if r := first(s.time(fs.get(1)), s.statusAV(fs.get(2)),
		s.position(fs.get(3), fs.get(4), fs.get(5), fs.get(6)),
		s.speedField(fs.get(7), msPerKnot), s.trackField(fs.get(8))); r != ReasonNone {
		return r
	}
	if d := fs.get(9); len(d) != 0 {
		dd, ok1 := twoDigits(d[0:min(2, len(d))])
		mm, ok2 := twoDigits(d[min(2, len(d)):min(4, len(d))])
		yy, ok3 := twoDigits(d[min(4, len(d)):])
		if !ok1 || !ok2 || !ok3 {
			return ReasonBadField
		}
		// Two-digit years: 80-99 are 1980-1999 (GPS started in 1980), the rest 2000-2079.
		year := 2000 + yy
		if yy >= 80 {
			year = 1900 + yy
		}
		if r := s.date(year, mm, dd); r != ReasonNone {
			return r
		}
	}
	var mv float64
	if r := s.float(fs.get(10), 0, 180, &mv, 0); r != ReasonNone {
		return r
	}
	mode := fs.get(12)
	if e := fs.get(11); len(e) == 1 && e[0] != 'E' && e[0] != 'W' && fs.n == 12 {
		// The Saab R4 (gpsd's saab-r4 capture) drops the variation direction field and
		// sends the 2.3 mode letter in its place.
		mode = e
	} else if len(e) > 1 || (len(e) == 1 && e[0] != 'E' && e[0] != 'W') {
		return ReasonBadField
	}
	if r := s.faaMode(mode); r != ReasonNone {
		return r
	}
	return s.navStatus(fs.get(13))
}

// navStatus decodes the optional NMEA 4.10 navigational status of RMC and GNS: S safe, C
// caution, U unsafe, V "not valid": the equipment gives no navigational status. V is what
// u-blox M8/M9/F9, Quectel, Unicore and most 4.10 receivers send in every sentence, valid fix
// or not, so it says nothing about the fix; validity comes from the other fields.
func (s *sentence) navStatus(b []byte) Reason {
	switch {
	case len(b) == 0:
	case len(b) != 1:
		return ReasonBadField
	case b[0] == 'V':
	case b[0] == 'S':
		s.nav = NavSafe
	case b[0] == 'C':
		s.nav = NavCaution
	case b[0] == 'U':
		s.nav = NavUnsafe
	default:
		return ReasonBadField
	}
	return ReasonNone
}

// date checks and stores a calendar date.
func (s *sentence) date(year, month, day int) Reason {
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return ReasonRange
	}
	s.year, s.month, s.day, s.hasDate = year, month, day, true
	return ReasonNone
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// decodeGGA: $--GGA,time,lat,N,lon,E,quality,sats,hdop,alt,M,geoidsep,M,dgpsage,station
func decodeGGA(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 10 {
		return ReasonFieldCount
	}
	if r := first(s.time(fs.get(1)), s.position(fs.get(2), fs.get(3), fs.get(4), fs.get(5))); r != ReasonNone {
		return r
	}
	if q := fs.get(6); len(q) != 0 {
		if len(q) != 1 || q[0] < '0' || q[0] > '9' {
			return ReasonBadField
		}
		s.quality, s.hasQuality = q[0]-'0', true
		s.status = statusValid
		if s.quality == 0 {
			s.status = statusInvalid
		}
	}
	return first(s.satsField(fs.get(7)), s.float(fs.get(8), 0, maxDOP, &s.hdop, HasHDOP),
		s.float(fs.get(9), minAlt, maxAlt, &s.alt, HasAlt), s.unit(fs.get(10), 'M'))
}

// unit checks an optional unit letter.
func (s *sentence) unit(b []byte, want byte) Reason {
	if len(b) == 0 || (len(b) == 1 && b[0] == want) {
		return ReasonNone
	}
	return ReasonBadField
}

// decodeGNS: $--GNS,time,lat,N,lon,E,modes,sats,hdop,alt,geoidsep,age,station,[navstatus]
func decodeGNS(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 10 {
		return ReasonFieldCount
	}
	if r := first(s.time(fs.get(1)), s.position(fs.get(2), fs.get(3), fs.get(4), fs.get(5))); r != ReasonNone {
		return r
	}
	// One mode letter per constellation (GPS, GLONASS, Galileo, BeiDou, QZSS, NavIC). The
	// solution is valid when any constellation has a mode other than N; its quality is the
	// first such mode's.
	if m := fs.get(6); len(m) != 0 {
		if len(m) > 8 {
			return ReasonBadField
		}
		s.status = statusInvalid
		for _, c := range m {
			q, ok := modeQuality(c)
			if !ok {
				return ReasonBadField
			}
			if q != 0 && s.status != statusValid {
				s.status, s.quality, s.hasQuality = statusValid, q, true
			}
		}
		if s.status == statusInvalid {
			s.quality, s.hasQuality = 0, true
		}
	}
	if r := first(s.satsField(fs.get(7)), s.float(fs.get(8), 0, maxDOP, &s.hdop, HasHDOP),
		s.float(fs.get(9), minAlt, maxAlt, &s.alt, HasAlt)); r != ReasonNone {
		return r
	}
	return s.navStatus(fs.get(13))
}

// decodeGLL: $--GLL,lat,N,lon,E,[time],[status],[mode]  (NMEA 1.x has no time or status)
func decodeGLL(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 5 {
		return ReasonFieldCount
	}
	if r := s.position(fs.get(1), fs.get(2), fs.get(3), fs.get(4)); r != ReasonNone || fs.n < 6 {
		return r // NMEA 1.x: no time field, so not timeless either
	}
	return first(s.time(fs.get(5)), s.statusAV(fs.get(6)), s.faaMode(fs.get(7)))
}

// decodeVTG: $--VTG,track,T,magtrack,M,knots,N,kmh,K,[mode]; NMEA 1.x: $--VTG,track,magtrack,knots,kmh
func decodeVTG(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 5 {
		return ReasonFieldCount
	}
	if t := fs.get(2); len(t) == 1 && t[0] == 'T' || fs.n >= 9 {
		var mag float64
		if r := first(s.trackField(fs.get(1)), s.unit(fs.get(2), 'T'),
			s.float(fs.get(3), 0, 360, &mag, 0), s.unit(fs.get(4), 'M'),
			s.unit(fs.get(6), 'N'), s.unit(fs.get(8), 'K'), s.faaMode(fs.get(9))); r != ReasonNone {
			return r
		}
		// Knots first, as gpsd does; km/h when the knots field is empty.
		if len(fs.get(5)) != 0 {
			return s.speedField(fs.get(5), msPerKnot)
		}
		return s.speedField(fs.get(7), msPerKmh)
	}
	var mag float64
	return first(s.trackField(fs.get(1)), s.float(fs.get(2), 0, 360, &mag, 0),
		s.speedField(fs.get(3), msPerKnot))
}

// decodeGSA: $--GSA,selmode,fixtype,prn x12,pdop,hdop,vdop,[systemid]
// Some receivers send fewer or more than 12 PRN fields; then the DOPs are the last three.
func decodeGSA(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 6 {
		return ReasonFieldCount
	}
	if m := fs.get(1); len(m) > 1 || (len(m) == 1 && m[0] != 'A' && m[0] != 'M') {
		return ReasonBadField
	}
	if t := fs.get(2); len(t) != 0 {
		if len(t) != 1 || t[0] < '1' || t[0] > '3' {
			return ReasonBadField
		}
		s.mode = Mode(t[0] - '0')
		if s.mode == ModeNoFix {
			s.status = statusInvalid
		}
	}
	// NMEA 4.1 adds a system ID after VDOP: 18 fields plus the address is 19.
	dops := fs.n - 3
	switch {
	case fs.n == 18:
		dops = 15
	case fs.n == 19:
		dops = 15 // system ID in field 18 (gpsd's beidou-bd capture has a float there; ignored)
	}
	var used uint64
	for i := 3; i < dops; i++ {
		if p := fs.get(i); len(p) != 0 {
			if _, ok := parseUint(p); !ok {
				return ReasonBadField
			}
			used++
		}
	}
	if dops < 3 {
		return ReasonFieldCount
	}
	s.sats = uint8(used)
	s.has |= HasSats
	return first(s.float(fs.get(dops), 0, maxDOP, &s.pdop, HasPDOP),
		s.float(fs.get(dops+1), 0, maxDOP, &s.hdop, HasHDOP),
		s.float(fs.get(dops+2), 0, maxDOP, &s.vdop, HasVDOP))
}

// decodeGSV: $--GSV,total,num,inview,{prn,elev,az,snr}x0..4,[signalid]
// Only checked: satellites in view are not part of a Fix.
func decodeGSV(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 4 {
		return ReasonFieldCount
	}
	total, ok1 := parseUint(fs.get(1))
	num, ok2 := parseUint(fs.get(2))
	if !ok1 || !ok2 {
		return ReasonBadField
	}
	if total == 0 || num == 0 || num > total || total > 99 {
		return ReasonRange
	}
	s.gsvLast = num == total
	// The rest are small integers (elevation may be negative), checked in one pass over the
	// bytes; the NMEA 4.11 signal ID in the last field is one hex digit.
	if fs.n <= 4 {
		return ReasonNone
	}
	rest := fs.line[fs.ends[2]+1:]
	last := fs.get(fs.n - 1)
	if len(last) == 1 && (fs.n-4)%4 == 1 {
		if _, ok := unhex(last[0]); !ok {
			return ReasonBadField
		}
		rest = rest[:len(rest)-1]
	}
	if !gsvBytes(rest) {
		return ReasonBadField
	}
	return ReasonNone
}

// gsvBytes reports whether b has only digits, commas and '-', the bytes of GSV's satellite
// fields. Where wordLoop is set it tests eight bytes at a time (the last word may overlap the
// one before).
func gsvBytes(b []byte) bool {
	if !wordLoop || len(b) < 8 {
		for _, c := range b {
			if (c < '0' || c > '9') && c != ',' && c != '-' {
				return false
			}
		}
		return true
	}
	for i := 0; ; i += 8 {
		if i > len(b)-8 {
			i = len(b) - 8
		}
		if !gsvWord(binary.LittleEndian.Uint64(b[i:])) {
			return false
		}
		if i == len(b)-8 {
			return true
		}
	}
}

// gsvWord reports whether every byte of w is a digit, ',' or '-'.
func gsvWord(w uint64) bool {
	x := w & lows                    // each byte's low 7 bits: no carry between bytes below
	below := ^(x + (0x80-',')*ones)  // high bit set: byte < ','
	above := x + (0x80-('9'+1))*ones // high bit set: byte > '9'
	y := (x ^ '.'*ones) &^ ones      // zero byte: '.' or '/', the two between '-' and '0'
	between := ^(y + lows)           // high bit set: y's byte is zero
	return (w|below|above|between)&highs == 0
}

// decodeZDA: $--ZDA,time,dd,mm,yyyy,zonehours,zoneminutes
func decodeZDA(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 5 {
		return ReasonFieldCount
	}
	if r := s.time(fs.get(1)); r != ReasonNone {
		return r
	}
	d, m, y := fs.get(2), fs.get(3), fs.get(4)
	if len(d) == 0 && len(m) == 0 && len(y) == 0 {
		return ReasonNone
	}
	dd, ok1 := parseUint(d)
	mm, ok2 := parseUint(m)
	yy, ok3 := parseUint(y)
	if !ok1 || !ok2 || !ok3 || len(y) != 4 {
		return ReasonBadField
	}
	if yy < 1980 {
		return ReasonRange
	}
	return s.date(int(yy), int(mm), int(dd))
}

// decodeGST: $--GST,time,rms,smajor,sminor,orient,laterr,lonerr,alterr (1-sigma metres).
// SkyTraq reports the ellipse orientation signed (-40.9), so any angle within a turn is taken.
func decodeGST(fs *fieldSplit, s *sentence) Reason {
	if fs.n < 9 {
		return ReasonFieldCount
	}
	var rms, smaj, smin, orient float64
	if r := first(s.time(fs.get(1)), s.float(fs.get(2), 0, maxErr, &rms, 0),
		s.float(fs.get(3), 0, maxErr, &smaj, 0), s.float(fs.get(4), 0, maxErr, &smin, 0),
		s.float(fs.get(5), -360, 360, &orient, 0)); r != ReasonNone {
		return r
	}
	if r := first(s.float(fs.get(6), 0, maxErr, &s.latErr, 0),
		s.float(fs.get(7), 0, maxErr, &s.lonErr, 0),
		s.float(fs.get(8), 0, maxErr, &s.altErr, 0)); r != ReasonNone {
		return r
	}
	if len(fs.get(6)) != 0 && len(fs.get(7)) != 0 {
		s.has |= HasErr
	}
	s.hasAltErr = len(fs.get(8)) != 0
	return ReasonNone
}
