package sim_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"

	"github.com/geogate/geogate/gnss/sim"
)

func TestChecksum(t *testing.T) {
	// Sentences from gnss/testdata/gpsd/beidou-bd.log, as the receiver checksummed them.
	for _, s := range []string{
		"$GPGSA,A,1,,,,,,,,,,,,,,,,*32",
		"$BDGSA,A,1,,,,,,,,,,,,,,,,*23",
		"$GNRMC,074150.799,V,,,,,,,250215,,,N*52",
		"$GNGGA,074150.799,,,,,0,00,,,M,0.0,M,,0000,*64",
		"$PSRFEPE,074150.799,V,,,,,*23",
	} {
		t.Run(s, func(t *testing.T) {
			body, want, _ := strings.Cut(s, "*")
			if got := sim.Checksum([]byte(s)); got != mustHex(t, want) {
				t.Errorf("Checksum(%q) = %02X, want %s", s, got, want)
			}
			if got := sim.Sentence(body[1:]); got != s+"\r\n" {
				t.Errorf("Sentence(%q) = %q, want %q", body[1:], got, s+"\r\n")
			}
		})
	}
}

func mustHex(t *testing.T, s string) byte {
	t.Helper()
	var v byte
	for _, c := range []byte(s) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			t.Fatalf("bad hex %q", s)
		}
	}
	return v
}

// A drive across all four hemispheres' signs and the antimeridian-free extremes, each
// checked sentence by sentence against go-nmea, the reference decoder.
func TestGeneratorRoundTripGoNMEA(t *testing.T) {
	start := time.Date(2026, 11, 25, 23, 59, 58, 0, time.UTC) // crosses midnight and the date
	tests := []struct {
		name  string
		gen   sim.Generator
		rate  float64
		speed float64
		wps   []sim.Point
	}{
		{"beijing 10Hz GN VTG", sim.Generator{Talker: "GN", VTG: true, Sats: 14}, 10, 13.9,
			[]sim.Point{{Lat: 39.9042, Lon: 116.4074, Alt: 44}, {Lat: 39.9142, Lon: 116.4074, Alt: 50}, {Lat: 39.9142, Lon: 116.4274, Alt: 48}}},
		{"south west 1Hz GP", sim.Generator{}, 1, 30,
			[]sim.Point{{Lat: -33.8688, Lon: -70.6693, Alt: -12.5}, {Lat: -33.9, Lon: -70.7}}},
		{"near poles and 180", sim.Generator{Talker: "GL", VTG: true}, 5, 100,
			[]sim.Point{{Lat: 89.99999, Lon: 179.99999}, {Lat: 89.9, Lon: 179.9}}},
		{"equator and greenwich", sim.Generator{Talker: "BD"}, 2, 5,
			[]sim.Point{{Lat: -0.0001, Lon: -0.0001}, {Lat: 0.0001, Lon: 0.0001}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples := sim.Route(start, tt.rate, tt.speed, tt.wps...)
			if len(samples) < 3 {
				t.Fatalf("Route gave %d samples", len(samples))
			}
			perEpoch := 3
			if tt.gen.VTG {
				perEpoch = 4
			}
			lines := splitLines(t, tt.gen.Bytes(samples))
			if len(lines) != perEpoch*len(samples) {
				t.Fatalf("%d lines for %d samples, want %d per epoch", len(lines), len(samples), perEpoch)
			}
			for i, line := range lines {
				s := samples[i/perEpoch]
				m, err := nmea.Parse(line)
				if err != nil {
					t.Fatalf("go-nmea rejects %q: %v", line, err)
				}
				if len(line) > 82 {
					t.Errorf("%q is %d chars, over NMEA's 82", line, len(line))
				}
				if m.TalkerID() != talkerOr(tt.gen.Talker) {
					t.Errorf("%q: talker %q", line, m.TalkerID())
				}
				checkSentence(t, line, m, s, tt.gen)
			}
		})
	}
}

func talkerOr(s string) string {
	if s == "" {
		return "GP"
	}
	return s
}

func checkSentence(t *testing.T, line string, m nmea.Sentence, s sim.Sample, g sim.Generator) {
	t.Helper()
	const degTol = 1e-6
	closeTo := func(what string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%q: %s = %.9f, want %.9f", line, what, got, want)
		}
	}
	wantSats := g.Sats
	if wantSats == 0 {
		wantSats = 8
	}
	ut := s.Time.UTC()
	checkTime := func(tm nmea.Time) {
		if !tm.Valid || tm.Hour != ut.Hour() || tm.Minute != ut.Minute() || tm.Second != ut.Second() ||
			tm.Millisecond != ut.Nanosecond()/1e6/10*10 {
			t.Errorf("%q: time %v, want %v", line, tm, ut)
		}
	}
	switch v := m.(type) {
	case nmea.RMC:
		checkTime(v.Time)
		if v.Validity != nmea.ValidRMC {
			t.Errorf("%q: validity %q", line, v.Validity)
		}
		if v.Date.DD != ut.Day() || v.Date.MM != int(ut.Month()) || v.Date.YY != ut.Year()%100 {
			t.Errorf("%q: date %v, want %v", line, v.Date, ut)
		}
		closeTo("lat", v.Latitude, s.Lat, degTol)
		closeTo("lon", v.Longitude, s.Lon, degTol)
		closeTo("speed", v.Speed*1852/3600, s.Speed, 1e-3)
		closeTo("course", v.Course, math.Mod(s.Track, 360), 0.006)
	case nmea.GGA:
		checkTime(v.Time)
		closeTo("lat", v.Latitude, s.Lat, degTol)
		closeTo("lon", v.Longitude, s.Lon, degTol)
		closeTo("alt", v.Altitude, s.Alt, 0.006)
		if v.FixQuality != nmea.GPS || v.NumSatellites != int64(wantSats) {
			t.Errorf("%q: quality %q sats %d", line, v.FixQuality, v.NumSatellites)
		}
	case nmea.GSA:
		if v.FixType != nmea.Fix3D || len(v.SV) != min(wantSats, 12) {
			t.Errorf("%q: fix type %q, %d satellites", line, v.FixType, len(v.SV))
		}
		closeTo("pdop", v.PDOP, 1.6, 1e-9)
	case nmea.VTG:
		closeTo("track", v.TrueTrack, math.Mod(s.Track, 360), 0.006)
		closeTo("knots", v.GroundSpeedKnots*1852/3600, s.Speed, 1e-3)
		closeTo("km/h", v.GroundSpeedKPH/3.6, s.Speed, 1e-3)
	default:
		t.Errorf("%q: unexpected sentence type %T", line, m)
	}
}

func splitLines(t *testing.T, b []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatalf("output does not end in CRLF: %q", b[max(0, len(b)-10):])
	}
	var lines []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\r\n") || strings.Count(l, "\r") != 1 {
			t.Fatalf("line %q not CRLF-terminated", l)
		}
		lines = append(lines, strings.TrimSuffix(l, "\r\n"))
	}
	return lines
}

func TestGeneratorNoFix(t *testing.T) {
	g := sim.Generator{VTG: true}
	s := sim.Sample{Time: time.Date(2026, 1, 2, 3, 4, 5, 670e6, time.UTC), NoFix: true}
	for _, line := range splitLines(t, g.AppendEpoch(nil, &s)) {
		m, err := nmea.Parse(line)
		if err != nil {
			t.Fatalf("go-nmea rejects %q: %v", line, err)
		}
		switch v := m.(type) {
		case nmea.RMC:
			if v.Validity != nmea.InvalidRMC || v.Latitude != 0 {
				t.Errorf("%q: validity %q lat %v", line, v.Validity, v.Latitude)
			}
		case nmea.GGA:
			if v.FixQuality != nmea.Invalid {
				t.Errorf("%q: quality %q", line, v.FixQuality)
			}
		case nmea.GSA:
			if v.FixType != nmea.FixNone {
				t.Errorf("%q: fix type %q", line, v.FixType)
			}
		}
	}
}

func TestDegreesMinutesRounding(t *testing.T) {
	// 10.99999999999 degrees is 10 deg 59.9999999994 min: it must print as 11 deg 0 min.
	s := sim.Sample{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Point: sim.Point{Lat: 10.99999999999, Lon: -100.99999999999}}
	got := string(new(sim.Generator).AppendGGA(nil, &s))
	if !strings.Contains(got, ",1100.000000,N,10100.000000,W,") {
		t.Errorf("GGA = %q, want 1100.000000,N,10100.000000,W", got)
	}
}

func TestRoute(t *testing.T) {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	a := sim.Point{Lat: 31.2304, Lon: 121.4737}
	b := sim.Point{Lat: 31.2404, Lon: 121.4737}
	c := sim.Point{Lat: 31.2404, Lon: 121.4837}
	const speed, rate = 10.0, 10.0
	samples := sim.Route(start, rate, speed, a, b, c)
	total := sim.Distance(a, b) + sim.Distance(b, c)
	if want := int(total/speed*rate) + 1; len(samples) != want {
		t.Fatalf("%d samples over %.1f m at %v m/s and %v Hz, want %d", len(samples), total, speed, rate, want)
	}
	if samples[0].Point != a || !samples[0].Time.Equal(start) {
		t.Errorf("first sample %+v, want at %v at %v", samples[0], a, start)
	}
	for i := 1; i < len(samples); i++ {
		p, q := samples[i-1], samples[i]
		if dt := q.Time.Sub(p.Time); dt != 100*time.Millisecond {
			t.Fatalf("sample %d: step %v", i, dt)
		}
		// Straight legs: a step is speed/rate long, shorter only where it cuts the corner at b.
		if d := sim.Distance(p.Point, q.Point); d > speed/rate*1.005 || d < speed/rate*0.7 {
			t.Errorf("sample %d: moved %.3f m, want about %.3f", i, d, speed/rate)
		}
	}
	if tr := samples[0].Track; math.Abs(tr) > 1e-9 {
		t.Errorf("track of the northbound leg = %v, want 0", tr)
	}
	if tr := samples[len(samples)-1].Track; math.Abs(tr-90) > 0.01 {
		t.Errorf("track of the eastbound leg = %v, want 90", tr)
	}
	if got := sim.Route(start, 1, 0, a, b); len(got) != 1 {
		t.Errorf("Route with zero speed gave %d samples, want 1", len(got))
	}
	if got := sim.Route(start, 1, 10); got != nil {
		t.Errorf("Route without waypoints = %v, want nil", got)
	}
}

func TestBearingDistance(t *testing.T) {
	tests := []struct {
		name    string
		a, b    sim.Point
		bearing float64
		metres  float64
	}{
		{"east on equator", sim.Point{}, sim.Point{Lon: 1}, 90, 111195.08},
		{"south", sim.Point{Lat: 1}, sim.Point{}, 180, 111195.08},
		{"west", sim.Point{Lon: 1}, sim.Point{}, 270, 111195.08},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sim.Bearing(tt.a, tt.b); math.Abs(got-tt.bearing) > 1e-9 {
				t.Errorf("Bearing = %v, want %v", got, tt.bearing)
			}
			if got := sim.Distance(tt.a, tt.b); math.Abs(got-tt.metres) > 0.01 {
				t.Errorf("Distance = %.2f, want %.2f", got, tt.metres)
			}
		})
	}
}

func BenchmarkGeneratorEpoch(b *testing.B) {
	g := sim.Generator{VTG: true}
	s := sim.Sample{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Point: sim.Point{Lat: 39.9, Lon: 116.4}, Speed: 10}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = g.AppendEpoch(buf[:0], &s)
	}
	b.SetBytes(int64(len(buf)))
}
