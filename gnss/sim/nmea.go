package sim

import (
	"math"
	"strconv"
	"time"
)

// Unit conversions of NMEA 0183 speeds.
const (
	metresPerSecondToKnots = 3600.0 / 1852.0 // 1 knot = 1 international nautical mile (1852 m) per hour
	metresPerSecondToKmh   = 3.6
)

// earthRadius is the mean radius of the WGS-84 ellipsoid, (2a+b)/3, in metres. Route uses it
// for leg lengths; over a test drive's few kilometres the spherical error is below 0.5%.
const earthRadius = 6371008.8

// minuteDigits is the number of decimals of the minutes in generated latitudes and
// longitudes: 1e-6 minute is 1.9 mm, far below the 1e-6 degree (0.11 m) tests compare at.
const minuteDigits = 6

// Point is a WGS-84 position in degrees (north and east positive) with an altitude above
// mean sea level in metres.
type Point struct {
	Lat, Lon, Alt float64
}

// Sample is one receiver epoch to generate: where the simulated vehicle was, and when.
type Sample struct {
	Time time.Time // UTC time of the epoch
	Point
	Speed float64 // metres per second over ground
	Track float64 // course over ground, degrees true
	// NoFix makes the epoch a "no fix" one: RMC status V, GGA quality 0, GSA mode 1, and no
	// position, speed or course fields. The zero value is a valid 3D fix.
	NoFix bool
}

// Checksum returns the NMEA checksum of a sentence body: the XOR of the bytes between '$'
// and '*'. A leading '$' and anything from '*' on are ignored.
func Checksum(body []byte) byte {
	if len(body) > 0 && (body[0] == '$' || body[0] == '!') {
		body = body[1:]
	}
	var c byte
	for _, b := range body {
		if b == '*' {
			break
		}
		c ^= b
	}
	return c
}

// AppendSentence appends "$" + body + "*HH\r\n" to dst, with HH the checksum of body.
func AppendSentence(dst []byte, body []byte) []byte {
	const hex = "0123456789ABCDEF"
	c := Checksum(body)
	dst = append(dst, '$')
	dst = append(dst, body...)
	return append(dst, '*', hex[c>>4], hex[c&15], '\r', '\n')
}

// beginSentence appends "$" + talker to dst and returns where the sentence starts.
func (g *Generator) beginSentence(dst []byte) ([]byte, int) {
	start := len(dst)
	dst = append(dst, '$')
	return append(dst, g.talker()...), start
}

// endSentence appends "*HH\r\n" to the sentence that begins at dst[start].
func endSentence(dst []byte, start int) []byte {
	const hex = "0123456789ABCDEF"
	c := Checksum(dst[start:])
	return append(dst, '*', hex[c>>4], hex[c&15], '\r', '\n')
}

// Sentence returns body as a complete sentence: "$" + body + "*HH\r\n".
func Sentence(body string) string { return string(AppendSentence(nil, []byte(body))) }

// Generator turns samples into NMEA 0183 (version 2.3 layouts) sentences. The zero value
// emits GPS-talker RMC, GGA and GSA sentences with plausible quality figures.
type Generator struct {
	// Talker is the two-letter talker ID. Empty means "GP".
	Talker string
	// VTG adds a VTG sentence after RMC.
	VTG bool
	// Sats is the number of satellites used (at most 12 appear in GSA). Zero means 8.
	Sats int
	// HDOP, PDOP and VDOP are the dilutions of precision reported. Zero means 0.9, 1.6, 1.3.
	HDOP, PDOP, VDOP float64
	// Quality is the GGA fix quality of valid samples (1 GPS, 2 DGPS, 4 RTK fixed, ...).
	// Zero means 1.
	Quality int
}

func (g *Generator) talker() string {
	if g.Talker == "" {
		return "GP"
	}
	return g.Talker
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// Bytes returns the sentences of all samples, one epoch after the other.
func (g Generator) Bytes(samples []Sample) []byte {
	var b []byte
	for i := range samples {
		b = g.AppendEpoch(b, &samples[i])
	}
	return b
}

// AppendEpoch appends one epoch in the order u-blox receivers use: RMC, (VTG,) GGA, GSA.
func (g *Generator) AppendEpoch(dst []byte, s *Sample) []byte {
	dst = g.AppendRMC(dst, s)
	if g.VTG {
		dst = g.AppendVTG(dst, s)
	}
	dst = g.AppendGGA(dst, s)
	return g.AppendGSA(dst, s)
}

// AppendRMC appends the sample's RMC sentence: time, status, position, speed, course, date.
func (g *Generator) AppendRMC(dst []byte, s *Sample) []byte {
	b, start := g.beginSentence(dst)
	b = append(b, "RMC,"...)
	b = appendTime(b, s.Time)
	if s.NoFix {
		b = append(b, ",V,,,,,,,"...)
	} else {
		b = append(b, ",A,"...)
		b = appendLatLon(b, s.Lat, s.Lon)
		b = append(b, ',')
		b = strconv.AppendFloat(b, s.Speed*metresPerSecondToKnots, 'f', 3, 64)
		b = append(b, ',')
		b = appendTrack(b, s.Track)
		b = append(b, ',')
	}
	d := s.Time.UTC()
	b = appendTwo(b, d.Day())
	b = appendTwo(b, int(d.Month()))
	b = appendTwo(b, d.Year()%100)
	if s.NoFix {
		b = append(b, ",,,N"...)
	} else {
		b = append(b, ",,,A"...)
	}
	return endSentence(b, start)
}

// AppendVTG appends the sample's VTG sentence: course and speed in knots and km/h.
func (g *Generator) AppendVTG(dst []byte, s *Sample) []byte {
	b, start := g.beginSentence(dst)
	if s.NoFix {
		b = append(b, "VTG,,T,,M,,N,,K,N"...)
		return endSentence(b, start)
	}
	b = append(b, "VTG,"...)
	b = appendTrack(b, s.Track)
	b = append(b, ",T,,M,"...)
	b = strconv.AppendFloat(b, s.Speed*metresPerSecondToKnots, 'f', 3, 64)
	b = append(b, ",N,"...)
	b = strconv.AppendFloat(b, s.Speed*metresPerSecondToKmh, 'f', 3, 64)
	b = append(b, ",K,A"...)
	return endSentence(b, start)
}

// AppendGGA appends the sample's GGA sentence: time, position, quality, satellites, HDOP,
// altitude above mean sea level (geoid separation 0).
func (g *Generator) AppendGGA(dst []byte, s *Sample) []byte {
	b, start := g.beginSentence(dst)
	b = append(b, "GGA,"...)
	b = appendTime(b, s.Time)
	if s.NoFix {
		b = append(b, ",,,,,0,00,99.99,,M,,M,,"...)
		return endSentence(b, start)
	}
	b = append(b, ',')
	b = appendLatLon(b, s.Lat, s.Lon)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(max(g.Quality, 1)), 10)
	b = append(b, ',')
	b = appendTwo(b, g.sats())
	b = append(b, ',')
	b = strconv.AppendFloat(b, orDefault(g.HDOP, 0.9), 'f', 2, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, s.Alt, 'f', 2, 64)
	b = append(b, ",M,0.0,M,,"...)
	return endSentence(b, start)
}

// AppendGSA appends the GSA sentence: automatic 3D fix (1 without fix), the PRNs used
// (1, 2, ... Sats), PDOP, HDOP, VDOP.
func (g *Generator) AppendGSA(dst []byte, s *Sample) []byte {
	b, start := g.beginSentence(dst)
	if s.NoFix {
		b = append(b, "GSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"...)
		return endSentence(b, start)
	}
	b = append(b, "GSA,A,3,"...)
	n := min(g.sats(), 12)
	for prn := 1; prn <= 12; prn++ {
		if prn <= n {
			b = appendTwo(b, prn)
		}
		b = append(b, ',')
	}
	b = strconv.AppendFloat(b, orDefault(g.PDOP, 1.6), 'f', 2, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, orDefault(g.HDOP, 0.9), 'f', 2, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, orDefault(g.VDOP, 1.3), 'f', 2, 64)
	return endSentence(b, start)
}

func (g *Generator) sats() int {
	if g.Sats <= 0 {
		return 8
	}
	return min(g.Sats, 99)
}

// appendTime appends hhmmss.ss of t in UTC.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	b = appendTwo(b, t.Hour())
	b = appendTwo(b, t.Minute())
	b = appendTwo(b, t.Second())
	b = append(b, '.')
	return appendTwo(b, t.Nanosecond()/1e7)
}

// appendLatLon appends "ddmm.mmmmmm,N,dddmm.mmmmmm,E".
func appendLatLon(b []byte, lat, lon float64) []byte {
	b = appendDegMin(b, lat, 2)
	if lat < 0 {
		b = append(b, ",S,"...)
	} else {
		b = append(b, ",N,"...)
	}
	b = appendDegMin(b, lon, 3)
	if lon < 0 {
		return append(b, ",W"...)
	}
	return append(b, ",E"...)
}

// appendDegMin appends |v| degrees as NMEA's degrees-and-minutes with degDigits digits of
// degrees. It rounds in integer units of the last minute digit, so 59.9999999' becomes a
// whole degree instead of "60.000000".
func appendDegMin(b []byte, v float64, degDigits int) []byte {
	const perMinute = 1e6 // 10^minuteDigits
	units := int64(math.Round(math.Abs(v) * 60 * perMinute))
	deg := units / (60 * perMinute)
	frac := units % (60 * perMinute)
	mins, sub := frac/perMinute, frac%perMinute
	b = appendPadded(b, deg, degDigits)
	b = appendPadded(b, mins, 2)
	b = append(b, '.')
	return appendPadded(b, sub, minuteDigits)
}

// appendTrack appends a course in degrees with two decimals, in [0, 360) after rounding.
func appendTrack(b []byte, deg float64) []byte {
	c := math.Round(math.Mod(deg, 360)*100) / 100
	if c < 0 {
		c += 360
	}
	if c >= 360 {
		c = 0
	}
	return strconv.AppendFloat(b, c, 'f', 2, 64)
}

func appendTwo(b []byte, v int) []byte { return appendPadded(b, int64(v), 2) }

func appendPadded(b []byte, v int64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// Route samples a drive along waypoints at a constant speed (metres per second), rate
// samples per second (1 and 10 are typical; zero means 1), starting at start at the first
// waypoint. Legs are straight lines in latitude and longitude, which for the short legs of a
// test drive is indistinguishable from the geodesic; altitude is interpolated too. Each
// sample's Track is the leg's initial great-circle bearing. The drive ends with the last
// sample at or before the final waypoint. Fewer than two waypoints, or a speed of zero or
// less, give a single sample at the first waypoint (none without waypoints).
func Route(start time.Time, rate, speed float64, waypoints ...Point) []Sample {
	if len(waypoints) == 0 {
		return nil
	}
	if rate <= 0 {
		rate = 1
	}
	if len(waypoints) < 2 || speed <= 0 {
		return []Sample{{Time: start, Point: waypoints[0]}}
	}
	step := time.Duration(float64(time.Second) / rate)
	legs := make([]float64, len(waypoints)-1)
	total := 0.0
	for i := range legs {
		legs[i] = Distance(waypoints[i], waypoints[i+1])
		total += legs[i]
	}
	var out []Sample
	leg, legStart := 0, 0.0
	for k := 0; ; k++ {
		dt := time.Duration(k) * step
		dist := speed * dt.Seconds()
		if dist > total+1e-9 {
			break
		}
		for leg < len(legs)-1 && dist > legStart+legs[leg] {
			legStart += legs[leg]
			leg++
		}
		a, b := waypoints[leg], waypoints[leg+1]
		f := 0.0
		if legs[leg] > 0 {
			f = min(1, (dist-legStart)/legs[leg])
		}
		out = append(out, Sample{
			Time: start.Add(dt),
			Point: Point{
				Lat: a.Lat + f*(b.Lat-a.Lat),
				Lon: a.Lon + f*(b.Lon-a.Lon),
				Alt: a.Alt + f*(b.Alt-a.Alt),
			},
			Speed: speed,
			Track: Bearing(a, b),
		})
	}
	return out
}

// Distance returns the great-circle distance between a and b in metres (haversine on the
// WGS-84 mean sphere).
func Distance(a, b Point) float64 {
	φ1, φ2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dφ, dλ := φ2-φ1, (b.Lon-a.Lon)*math.Pi/180
	h := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * earthRadius * math.Asin(math.Sqrt(min(1, h)))
}

// Bearing returns the initial great-circle bearing from a to b in degrees true, [0, 360).
func Bearing(a, b Point) float64 {
	φ1, φ2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dλ := (b.Lon - a.Lon) * math.Pi / 180
	y := math.Sin(dλ) * math.Cos(φ2)
	x := math.Cos(φ1)*math.Sin(φ2) - math.Sin(φ1)*math.Cos(φ2)*math.Cos(dλ)
	deg := math.Mod(math.Atan2(y, x)*180/math.Pi+360, 360)
	if deg >= 360 {
		deg = 0
	}
	return deg
}
