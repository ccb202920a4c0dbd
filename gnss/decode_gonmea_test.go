package gnss

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	nmea "github.com/adrianmo/go-nmea"
)

// decodeLine frames and decodes one line as the Decoder would. framed is false when the
// framer rejected the line (the reason is then the framer's).
func decodeLine(line []byte, noChecksumOK bool) (s sentence, r Reason, framed bool) {
	var st Stats
	f := framer{stats: &st, noChecksumOK: noChecksumOK}
	buf := append(append([]byte(nil), line...), '\r', '\n')
	_, body := f.scan(buf)
	if body == nil {
		for i, v := range st.Rejected {
			if v != 0 {
				return s, Reason(i), false
			}
		}
		return s, ReasonNone, false
	}
	return s, decodeSentence(&f.fields, &s), true
}

// knownGoNMEADifferences lists every way geogate and go-nmea v1.10.0 disagree on the corpus,
// with the reason geogate's answer stands. A difference of a kind not listed fails the test;
// a listed kind that no longer occurs fails it too, so the table stays true.
var knownGoNMEADifferences = map[string]string{
	// MTK-3301 sends "8960.000000,N" (89 degrees 60 minutes) as a no-fix placeholder. Minute
	// 60 does not exist; go-nmea computes 90.0 degrees from it. geogate rejects the sentence.
	"GGA: geogate rejects (range), go-nmea accepts": "minute 60 is out of range",
	"RMC: geogate rejects (range), go-nmea accepts": "minute 60 is out of range",
	// Telit HE910 after the 2019 rollover: date field "2208-1". go-nmea's Atoi takes "-1" as
	// the year; geogate rejects a date that is not six digits.
	"RMC: geogate rejects (bad-field), go-nmea accepts": "date \"2208-1\" is not ddmmyy",
	// Garmin units in simulator mode send GGA quality 8 ("simulation", NMEA 2.3+; 7 is
	// "manual input"). go-nmea v1.10.0 knows only 0-6. geogate keeps the quality digit and
	// reports it in Fix.Quality so policy can treat simulated positions as it must.
	"GGA: go-nmea rejects, geogate accepts": "GGA quality 7/8 (manual/simulator) are NMEA 2.3+",
	// The SiRF-TriG puts a float (PDOP/HDOP-like) into the NMEA 4.1 system-ID field of GSA
	// (the capture's header says so). go-nmea rejects the sentence; geogate reads the three
	// DOPs and ignores the non-standard field, as gpsd does.
	"GSA: go-nmea rejects, geogate accepts": "non-standard float in the GSA system-ID field",
	// The CH-4701 sends 24 PRN slots in GSA. The DOPs are the last three fields; go-nmea reads
	// them at the fixed NMEA positions 15-17, which here are empty PRN slots.
	"GSA: pdop differs": "GSA with 24 PRN slots: DOPs are the last three fields",
	"GSA: hdop differs": "GSA with 24 PRN slots: DOPs are the last three fields",
	"GSA: vdop differs": "GSA with 24 PRN slots: DOPs are the last three fields",
	// Two cases. The GP-320FW cold-boot capture has lines where a sentence is cut off and a
	// complete RMC follows on the same line: geogate's framer resyncs at the inner '$' and
	// decodes the RMC; go-nmea, handed the whole line, fails the checksum. The Saab R4 omits
	// RMC's variation direction field and sends the mode letter in its place: geogate takes
	// it as the mode (only in that 11-field layout); go-nmea rejects "A" as a direction.
	"RMC: go-nmea rejects, geogate accepts": "cut-off line before a full RMC (resync); Saab R4 RMC without variation direction",
}

// TestGoNMEADifferential decodes every '$' line of the corpus with geogate and go-nmea and
// compares the fields both decode.
func TestGoNMEADifferential(t *testing.T) {
	counts := map[string]int{}
	examples := map[string]string{}
	compared := 0
	diff := func(kind, line string) {
		counts[kind]++
		if len(examples[kind]) < 1000 {
			examples[kind] += "\n         " + line
		}
	}
	for _, path := range corpus(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range sentenceLines(data) {
			ls := fmt.Sprintf("%s: %s", filepath.Base(path), line)
			s, r, framed := decodeLine(line, false)
			theirs, err := nmea.Parse(string(line))
			if !framed {
				if err == nil {
					diff("framing: geogate rejects ("+r.String()+"), go-nmea accepts", ls)
				}
				continue
			}
			if s.typ == TypeOther || s.typ == TypeGST {
				continue // not decoded by geogate, or (GST) not by go-nmea v1.10.0
			}
			switch {
			case r != ReasonNone && err != nil:
				compared++
				continue
			case r != ReasonNone:
				diff(fmt.Sprintf("%s: geogate rejects (%s), go-nmea accepts", s.typ, r), ls)
				continue
			case err != nil:
				diff(fmt.Sprintf("%s: go-nmea rejects, geogate accepts", s.typ), ls+" // "+err.Error())
				continue
			}
			compared++
			for _, k := range compareGoNMEA(&s, theirs) {
				diff(fmt.Sprintf("%s: %s differs", s.typ, k), ls)
			}
		}
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		why, ok := knownGoNMEADifferences[k]
		if !ok {
			t.Errorf("unexplained difference %q (%d), e.g. %s", k, counts[k], examples[k])
			continue
		}
		t.Logf("%5d  %s: %s", counts[k], k, why)
	}
	for k := range knownGoNMEADifferences {
		if counts[k] == 0 {
			t.Errorf("known difference %q no longer occurs: remove it", k)
		}
	}
	t.Logf("%d sentences decoded identically or rejected by both", compared)
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// todMillis is the time of day as go-nmea reports it (milliseconds, rounded).
func todMatches(s *sentence, tm nmea.Time) bool {
	if !s.hasTOD {
		return !tm.Valid
	}
	ms := int((s.tod + 500_000) / 1_000_000)
	return tm.Valid && ms == ((tm.Hour*60+tm.Minute)*60+tm.Second)*1000+tm.Millisecond
}

// goNMEANav maps go-nmea's navigational status letters to geogate's: empty and V ("equipment
// does not provide navigational status") are both NavNone.
var goNMEANav = map[string]NavStatus{"": NavNone, "V": NavNone, "S": NavSafe, "C": NavCaution, "U": NavUnsafe}

// compareGoNMEA returns the names of the fields on which s and go-nmea's result disagree.
func compareGoNMEA(s *sentence, v nmea.Sentence) []string {
	var bad []string
	check := func(name string, ok bool) {
		if !ok {
			bad = append(bad, name)
		}
	}
	pos := func(lat, lon float64) {
		if s.has&HasPos != 0 {
			check("position", near(s.lat, lat, 1e-9) && near(s.lon, lon, 1e-9))
		} else {
			check("position", lat == 0 && lon == 0)
		}
	}
	opt := func(name string, bit Field, ours, theirs, tol float64) {
		if s.has&bit != 0 {
			check(name, near(ours, theirs, tol))
		} else {
			check(name, theirs == 0)
		}
	}
	switch m := v.(type) {
	case nmea.RMC:
		check("time", todMatches(s, m.Time))
		// The NMEA 4.10 navigational status V means "not given", so it is no part of validity.
		check("status", (s.status == statusValid) == (m.Validity == "A" && m.FFAMode != "N"))
		check("nav status", s.nav == goNMEANav[m.NavStatus])
		pos(m.Latitude, m.Longitude)
		opt("speed", HasSpeed, s.speed, m.Speed*msPerKnot, 1e-9)
		opt("track", HasTrack, s.track, math.Mod(m.Course, 360), 1e-9)
		if s.hasDate {
			check("date", m.Date.Valid && m.Date.DD == s.day && m.Date.MM == s.month && m.Date.YY == s.year%100)
		} else {
			check("date", !m.Date.Valid)
		}
	case nmea.GGA:
		check("time", todMatches(s, m.Time))
		pos(m.Latitude, m.Longitude)
		check("quality", !s.hasQuality && m.FixQuality == "" || s.hasQuality && m.FixQuality == string('0'+rune(s.quality)))
		opt("sats", HasSats, float64(s.sats), float64(m.NumSatellites), 0)
		opt("hdop", HasHDOP, s.hdop, m.HDOP, 1e-12)
		opt("alt", HasAlt, s.alt, m.Altitude, 1e-9)
	case nmea.GNS:
		check("time", todMatches(s, m.Time))
		check("nav status", s.nav == goNMEANav[m.NavStatus])
		pos(m.Latitude, m.Longitude)
		opt("sats", HasSats, float64(s.sats), float64(m.SVs), 0)
		opt("hdop", HasHDOP, s.hdop, m.HDOP, 1e-12)
		opt("alt", HasAlt, s.alt, m.Altitude, 1e-9)
	case nmea.GLL:
		check("time", todMatches(s, m.Time))
		pos(m.Latitude, m.Longitude)
	case nmea.VTG:
		opt("track", HasTrack, s.track, math.Mod(m.TrueTrack, 360), 1e-9)
		// geogate takes knots when given (as gpsd does), else km/h; go-nmea gives both.
		check("speed", s.has&HasSpeed == 0 && m.GroundSpeedKnots == 0 && m.GroundSpeedKPH == 0 ||
			near(s.speed, m.GroundSpeedKnots*msPerKnot, 1e-9) || near(s.speed, m.GroundSpeedKPH*msPerKmh, 1e-9))
	case nmea.GSA:
		mode := Mode(0)
		if len(m.FixType) == 1 {
			mode = Mode(m.FixType[0] - '0')
		}
		check("fix type", mode == s.mode)
		check("sats", int(s.sats) == len(m.SV))
		opt("pdop", HasPDOP, s.pdop, m.PDOP, 1e-12)
		opt("hdop", HasHDOP, s.hdop, m.HDOP, 1e-12)
		opt("vdop", HasVDOP, s.vdop, m.VDOP, 1e-12)
	case nmea.GSV:
	case nmea.ZDA:
		check("time", todMatches(s, m.Time))
		check("date", !s.hasDate && m.Year == 0 || s.hasDate && int64(s.day) == m.Day && int64(s.month) == m.Month && int64(s.year) == m.Year)
	default:
		bad = append(bad, fmt.Sprintf("type (go-nmea %T)", v))
	}
	return bad
}
