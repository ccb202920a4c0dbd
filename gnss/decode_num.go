package gnss

// Number parsing straight from sentence bytes. strconv works on strings, and converting a
// []byte field to a string allocates, so the decoder has its own exact fixed-point parsers.

// maxDigits is the most significant decimal digits kept in a uint64 mantissa: 10^18 < 2^63,
// so 18 digits never overflow.
const maxDigits = 18

// pow10f holds the powers of ten that float64 represents exactly (10^22 is the largest).
var pow10f = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// pow10u holds the powers of ten that fit a uint64 mantissa of maxDigits digits.
var pow10u = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// parseFixed parses an unsigned decimal number "ddd", "ddd.ddd", ".ddd" or "ddd." into its
// digits as an integer and the count of digits after the point: "12.50" is (1250, 2).
// Fraction digits beyond maxDigits significant digits are dropped (truncation well below any
// receiver's resolution); an integer part that long fails. ok is false for an empty field, a
// field without digits, and any byte other than digits and one '.'.
func parseFixed(b []byte) (mant uint64, frac int, ok bool) {
	if len(b) <= maxDigits {
		// Fast path: too short to overflow, so no digit counting.
		point := -1
		for i, c := range b {
			if d := c - '0'; d <= 9 {
				mant = mant*10 + uint64(d)
				continue
			}
			if c != '.' || point >= 0 {
				return 0, 0, false
			}
			point = i
		}
		switch {
		case len(b) == 0 || (len(b) == 1 && point == 0):
			return 0, 0, false
		case point >= 0:
			frac = len(b) - 1 - point
		}
		return mant, frac, true
	}
	digits, point := 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits >= maxDigits {
				if !point {
					return 0, 0, false
				}
				continue // drop excess fraction digits
			}
			if mant != 0 || c != '0' {
				digits++
			}
			mant = mant*10 + uint64(c-'0')
			if point {
				frac++
			}
			ok = true
		case c == '.' && !point:
			point = true
		default:
			return 0, 0, false
		}
	}
	if frac >= len(pow10u) { // only zeros were kept beyond 18 places: scale them away
		for frac >= len(pow10u) {
			mant /= 10
			frac--
		}
	}
	return mant, frac, ok
}

// parseFloat parses a decimal number with an optional leading '-' or '+'. The result is the
// correctly rounded float64 of the decimal (one exact integer divided by an exact power of
// ten) whenever the number has at most 15 significant digits, as NMEA numbers do.
func parseFloat(b []byte) (float64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	mant, frac, ok := parseFixed(b)
	if !ok {
		return 0, false
	}
	v := float64(mant) / pow10f[frac]
	if neg {
		v = -v
	}
	return v, true
}

// parseUint parses an unsigned decimal integer of at most maxDigits digits.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// twoDigits parses exactly two decimal digits.
func twoDigits(b []byte) (int, bool) {
	if len(b) != 2 || b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// maxLatLonFrac bounds the minute fraction digits used for a coordinate: 10 places of a
// minute are 1.85e-7 m, far below any receiver's resolution, and keep 60*10^n exact.
const maxLatLonFrac = 10

// parseDegMin parses an NMEA coordinate "dddmm.mmmm" into degrees. The minutes are kept as
// the exact integer mm_mmmm and converted with a single division by 60*10^n, so the result is
// the correctly rounded degree value of the decimal the receiver sent (then plus the whole
// degrees). maxDeg is 90 or 180; minutes must be below 60 and the total at most maxDeg.
// It returns the number of minute fraction digits as the coordinate's precision.
func parseDegMin(b []byte, maxDeg uint64) (deg float64, prec int, r Reason) {
	// The integer part and the fraction are parsed apart, so the whole degrees are the
	// integer part over a constant 100 and no division by a variable power of ten is needed.
	ip, i := uint64(0), 0
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		ip = ip*10 + uint64(d)
	}
	var fm uint64 // the fraction's digits, the first maxLatLonFrac of them
	frac := 0
	if i < len(b) {
		if b[i] != '.' {
			return 0, 0, ReasonBadField
		}
		for _, c := range b[i+1:] {
			d := c - '0'
			if d > 9 {
				return 0, 0, ReasonBadField
			}
			if frac < maxLatLonFrac {
				fm = fm*10 + uint64(d)
				frac++
			}
		}
	}
	if i > maxDigits || len(b) == 0 || (i == 0 && len(b) == 1) {
		// An integer part too long to be exact, or no digits at all.
		return 0, 0, ReasonBadField
	}
	scale := pow10u[frac]
	whole, minutes := ip/100, ip%100*scale+fm // degrees; minutes * 10^frac
	if minutes >= 60*scale || whole > maxDeg || (whole == maxDeg && minutes != 0) {
		return 0, 0, ReasonRange
	}
	return float64(whole) + float64(minutes)/(60*pow10f[frac]), frac, ReasonNone
}

// nsPerSecond and friends convert the receiver's time of day to nanoseconds.
const (
	nsPerSecond = 1_000_000_000
	nsPerMinute = 60 * nsPerSecond
	nsPerHour   = 60 * nsPerMinute
	nsPerDay    = 24 * nsPerHour
)

// parseTOD parses an NMEA time of day "hhmmss" or "hhmmss.sss..." into nanoseconds since
// midnight UTC. Second 60 is accepted for a leap second.
func parseTOD(b []byte) (int64, Reason) {
	if len(b) < 6 {
		return 0, ReasonBadField
	}
	h, ok1 := twoDigits(b[0:2])
	m, ok2 := twoDigits(b[2:4])
	if !ok1 || !ok2 {
		return 0, ReasonBadField
	}
	mant, frac, ok := parseFixed(b[4:])
	if !ok || b[4] == '.' || (len(b) > 6 && b[6] != '.') {
		return 0, ReasonBadField
	}
	for frac > 9 {
		mant /= 10
		frac--
	}
	ns := int64(mant) * int64(pow10u[9-frac])
	if h > 23 || m > 59 || ns >= 61*nsPerSecond {
		return 0, ReasonRange
	}
	return int64(h)*nsPerHour + int64(m)*nsPerMinute + ns, ReasonNone
}
