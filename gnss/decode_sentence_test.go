package gnss

import (
	"math"
	"strconv"
	"testing"
)

func TestDecodeSentence(t *testing.T) {
	const h = nsPerHour
	tests := []struct {
		name   string
		line   string // without checksum; withSum adds it
		reason Reason
		check  func(t *testing.T, s *sentence)
	}{
		{name: "RMC 2.x", line: "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W", check: func(t *testing.T, s *sentence) {
			want(t, s.typ == TypeRMC && s.talker == TalkerGP && s.status == statusValid, "type/talker/status")
			want(t, s.hasTOD && s.tod == 12*h+35*nsPerMinute+19*nsPerSecond, "time")
			want(t, s.hasDate && s.year == 1994 && s.month == 3 && s.day == 23, "date")
			want(t, s.has&HasPos != 0 && s.lat == 48+7.038/60 && s.lon == 11+31.0/60, "position %v %v", s.lat, s.lon)
			want(t, s.has&HasSpeed != 0 && math.Abs(s.speed-22.4*1852/3600) < 1e-12, "speed %v", s.speed)
			want(t, s.has&HasTrack != 0 && s.track == 84.4, "track")
		}},
		{name: "RMC 2.3 mode N is invalid", line: "$GNRMC,001031.00,A,4404.13993,N,12118.86023,W,0.146,,100117,,,N", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusInvalid && s.talker == TalkerGN, "status")
		}},
		{name: "RMC 4.1 nav status V is not given, not invalid", line: "$GNRMC,102014.00,A,5550.6082,N,03732.2488,E,000.00000,092.9,300518,,,A,V", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusValid && s.nav == NavNone, "status %v nav %v", s.status, s.nav)
		}},
		{name: "RMC 4.1 void with nav status V", line: "$GNRMC,102014.00,V,,,,,,,300518,,,N,V", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusInvalid && s.nav == NavNone, "status %v nav %v", s.status, s.nav)
		}},
		{name: "RMC 4.1 nav status S", line: "$GNRMC,102014.00,A,5550.6082,N,03732.2488,E,000.00000,092.9,300518,,,A,S", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusValid && s.nav == NavSafe, "status %v nav %v", s.status, s.nav)
		}},
		{name: "RMC 4.1 nav status C", line: "$GNRMC,102014.00,A,5550.6082,N,03732.2488,E,000.00000,092.9,300518,,,A,C", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusValid && s.nav == NavCaution, "status %v nav %v", s.status, s.nav)
		}},
		{name: "RMC 4.1 nav status U", line: "$GNRMC,102014.00,A,5550.6082,N,03732.2488,E,000.00000,092.9,300518,,,A,U", check: func(t *testing.T, s *sentence) {
			// The sentence still says what its fields say; the merger makes the fix invalid.
			want(t, s.status == statusValid && s.nav == NavUnsafe, "status %v nav %v", s.status, s.nav)
		}},
		{name: "RMC void without position", line: "$GPRMC,,V,,,,,,,,,,N", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusInvalid && s.has == 0 && !s.hasTOD && !s.hasDate, "empty")
		}},
		{name: "RMC south west", line: "$GPRMC,225446,A,4916.45,S,12311.12,W,000.5,054.7,191194,020.3,E", check: func(t *testing.T, s *sentence) {
			want(t, s.lat < 0 && s.lon < 0, "signs")
		}},
		{name: "RMC track 360 folds to 0", line: "$GPRMC,225446,A,4916.45,N,12311.12,W,000.5,360.0,191194,,", check: func(t *testing.T, s *sentence) {
			want(t, s.track == 0, "track %v", s.track)
		}},
		{name: "RMC Saab R4 mode in the variation direction field", line: "$GPRMC,130711.00,A,5012.790800,N,00806.879600,W,0.5,3.0,010611,,A", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusValid && s.has&HasPos != 0, "saab")
		}},
		{name: "RMC mode N in the variation direction field", line: "$GPRMC,130711.00,A,5012.790800,N,00806.879600,W,0.5,3.0,010611,,N", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusInvalid, "mode N")
		}},
		{name: "GST signed orientation", line: "$GPGST,232713.000,1.3,105.1,9.1,-40.9,0.3,0.3,0.6", check: func(t *testing.T, s *sentence) {
			want(t, s.has&HasErr != 0, "gst")
		}},
		{name: "GGA", line: "$GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,", check: func(t *testing.T, s *sentence) {
			want(t, s.typ == TypeGGA && s.status == statusValid && s.quality == 1 && s.sats == 8, "quality/sats")
			want(t, s.hdop == 1.03 && s.alt == 61.7 && s.has&(HasAlt|HasHDOP|HasSats) == HasAlt|HasHDOP|HasSats, "hdop/alt")
			want(t, s.tod == 9*h+27*nsPerMinute+50*nsPerSecond, "time")
		}},
		{name: "GGA quality 0", line: "$GPGGA,235947.000,0000.0000,N,00000.0000,E,0,00,0.0,0.0,M,,,,0000", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusInvalid && s.hasQuality && s.quality == 0, "invalid")
		}},
		{name: "negative zero speed is zero", line: "$GPRMC,123519,A,4807.038,N,01131.000,E,-0.0,084.4,230394,003.1,W", check: func(t *testing.T, s *sentence) {
			want(t, s.speed == 0 && !math.Signbit(s.speed), "speed %v", s.speed)
		}},
		{name: "GGA negative altitude", line: "$GPGGA,193221.00,2037.72792,N,08704.08478,W,1,04,1.7,-30.40,M,-13.9,M,,", check: func(t *testing.T, s *sentence) {
			want(t, s.alt == -30.4 && s.posPrec == 5, "alt %v prec %d", s.alt, s.posPrec)
		}},
		{name: "GNS", line: "$GNGNS,213712.000,4111.59903,N,11156.54809,W,AANN,13,0.93,01482.5,-016.5,,", check: func(t *testing.T, s *sentence) {
			want(t, s.typ == TypeGNS && s.status == statusValid && s.quality == 1 && s.sats == 13 && s.alt == 1482.5, "gns")
		}},
		{name: "GNS no fix", line: "$GNGNS,074150.799,,,,,NNNN,00,,,0.0,,0000", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusInvalid && s.has&HasPos == 0, "no fix")
		}},
		{name: "GNS 4.1 nav status V is not given", line: "$GNGNS,213712.000,4111.59903,N,11156.54809,W,RR,13,0.93,01482.5,-016.5,,,V", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusValid && s.nav == NavNone, "status %v nav %v", s.status, s.nav)
		}},
		{name: "GNS 4.1 first system N, others D (Furuno)", line: "$GNGNS,120213.000,5957.0062,N,01100.6429,E,NDD,11,1.3,168.9,39.5,,,V", check: func(t *testing.T, s *sentence) {
			want(t, s.status == statusValid && s.quality == 2 && s.nav == NavNone, "status %v quality %d nav %v", s.status, s.quality, s.nav)
		}},
		{name: "GNS 4.1 nav status U", line: "$GNGNS,213712.000,4111.59903,N,11156.54809,W,RR,13,0.93,01482.5,-016.5,,,U", check: func(t *testing.T, s *sentence) {
			want(t, s.nav == NavUnsafe, "nav %v", s.nav)
		}},
		{name: "GNS 4.1 nav status C", line: "$GNGNS,213712.000,4111.59903,N,11156.54809,W,RR,13,0.93,01482.5,-016.5,,,C", check: func(t *testing.T, s *sentence) {
			want(t, s.nav == NavCaution, "nav %v", s.nav)
		}},
		{name: "GLL 1.x", line: "$GPGLL,4916.45,N,12311.12,W", check: func(t *testing.T, s *sentence) {
			want(t, s.typ == TypeGLL && s.has&HasPos != 0 && !s.hasTOD && s.status == statusNone, "gll 1.x")
		}},
		{name: "GLL 2.3", line: "$GAGLL,4916.45,N,12311.12,W,225444,A,A", check: func(t *testing.T, s *sentence) {
			want(t, s.talker == TalkerGA && s.hasTOD && s.status == statusValid, "gll 2.3")
		}},
		{name: "GLL void", line: "$GLGLL,,,,,225444,V,N", check: func(t *testing.T, s *sentence) {
			want(t, s.talker == TalkerGL && s.status == statusInvalid, "void")
		}},
		{name: "VTG 2.3", line: "$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K,A", check: func(t *testing.T, s *sentence) {
			want(t, s.track == 54.7 && math.Abs(s.speed-5.5*msPerKnot) < 1e-12, "vtg")
		}},
		{name: "VTG km/h only", line: "$GPVTG,054.7,T,,M,,N,036.0,K", check: func(t *testing.T, s *sentence) {
			want(t, math.Abs(s.speed-10) < 1e-12, "speed %v", s.speed)
		}},
		{name: "VTG NMEA 1.x", line: "$GPVTG,054.7,034.4,005.5,010.2", check: func(t *testing.T, s *sentence) {
			want(t, s.track == 54.7 && math.Abs(s.speed-5.5*msPerKnot) < 1e-12, "vtg 1.x")
		}},
		{name: "GSA 3.0", line: "$GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1", check: func(t *testing.T, s *sentence) {
			want(t, s.mode == Mode3D && s.sats == 5 && s.pdop == 2.5 && s.hdop == 1.3 && s.vdop == 2.1, "gsa")
		}},
		{name: "GSA 4.1 system id", line: "$GNGSA,A,3,80,71,73,79,69,,,,,,,,1.83,1.09,1.47,4", check: func(t *testing.T, s *sentence) {
			want(t, s.mode == Mode3D && s.sats == 5 && s.vdop == 1.47, "gsa 4.1")
		}},
		{name: "GSA no fix", line: "$BDGSA,A,1,,,,,,,,,,,,,,,", check: func(t *testing.T, s *sentence) {
			want(t, s.talker == TalkerGB && s.mode == ModeNoFix && s.status == statusInvalid && s.sats == 0, "no fix")
		}},
		{name: "GSV 4.11 signal id", line: "$GPGSV,3,3,11,22,42,067,42,24,14,311,43,27,05,244,00,,,,,1", check: func(t *testing.T, s *sentence) {
			want(t, s.typ == TypeGSV && s.gsvLast, "last GSV")
		}},
		{name: "GSV QZSS QZ", line: "$QZGSV,1,1,01,193,30,120,40", check: func(t *testing.T, s *sentence) {
			want(t, s.talker == TalkerGQ, "QZ is QZSS")
		}},
		{name: "GSV NavIC", line: "$GIGSV,1,1,01,01,30,120,40", check: func(t *testing.T, s *sentence) {
			want(t, s.talker == TalkerGI, "GI")
		}},
		{name: "ZDA", line: "$GPZDA,201530.00,04,07,2002,00,00", check: func(t *testing.T, s *sentence) {
			want(t, s.hasDate && s.year == 2002 && s.month == 7 && s.day == 4 && s.tod == 20*h+15*nsPerMinute+30*nsPerSecond, "zda")
		}},
		{name: "GST", line: "$GPGST,172814.0,0.006,0.023,0.020,273.6,0.023,0.020,0.031", check: func(t *testing.T, s *sentence) {
			want(t, s.has&HasErr != 0 && s.latErr == 0.023 && s.lonErr == 0.020 && s.hasAltErr && s.altErr == 0.031, "gst")
		}},
		{name: "other talker", line: "$IIRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W", check: func(t *testing.T, s *sentence) {
			want(t, s.talker == TalkerOther && s.typ == TypeRMC, "other")
		}},
		{name: "unused type", line: "$GPTXT,01,01,02,ANTSTATUS=OK", check: func(t *testing.T, s *sentence) {
			want(t, s.typ == TypeOther, "other type")
		}},
		{name: "proprietary", line: "$PSRFEPE,074150.799,V,,,,,", check: func(t *testing.T, s *sentence) {
			want(t, s.typ == TypeOther && s.talker == 0, "proprietary")
		}},
		{name: "fractional leap second", line: "$GPZDA,235960.50,31,12,2016,,", check: func(t *testing.T, s *sentence) {
			want(t, s.tod == 23*h+59*nsPerMinute+60*nsPerSecond+nsPerSecond/2, "leap second")
		}},
		// Rejections.
		{name: "latitude 91", line: "$GPGGA,092750,9100.0000,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,", reason: ReasonRange},
		{name: "latitude 90 and a minute", line: "$GPGGA,092750,9000.0001,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,", reason: ReasonRange},
		{name: "longitude 181", line: "$GPGGA,092750,5321.6802,N,18100.0000,W,1,8,1.03,61.7,M,55.2,M,,", reason: ReasonRange},
		{name: "minute 60", line: "$GPRMC,235946.005,V,8960.000000,N,00000.000000,E,0.000,0.00,050180,,,N", reason: ReasonRange},
		{name: "hour 24", line: "$GPGGA,240000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,", reason: ReasonRange},
		{name: "minute 61 in time", line: "$GPGGA,126100,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,", reason: ReasonRange},
		{name: "time too short", line: "$GPGGA,1200,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,", reason: ReasonBadField},
		{name: "February 30", line: "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,300294,003.1,W", reason: ReasonRange},
		{name: "date not digits", line: "$GPRMC,000231.099,A,4829.0005,N,00022.0015,E,0.15,212.28,2208-1,,,A", reason: ReasonBadField},
		{name: "negative speed", line: "$GPRMC,123519,A,4807.038,N,01131.000,E,-022.4,084.4,230394,003.1,W", reason: ReasonRange},
		{name: "track 361", line: "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,361.0,230394,003.1,W", reason: ReasonRange},
		{name: "hemisphere X", line: "$GPRMC,123519,A,4807.038,X,01131.000,E,022.4,084.4,230394,003.1,W", reason: ReasonBadField},
		{name: "hemisphere missing", line: "$GPRMC,123519,A,4807.038,,01131.000,E,022.4,084.4,230394,003.1,W", reason: ReasonBadField},
		{name: "half a position", line: "$GPRMC,123519,A,4807.038,N,,,022.4,084.4,230394,003.1,W", reason: ReasonBadField},
		{name: "status Q", line: "$GPRMC,123519,Q,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W", reason: ReasonBadField},
		{name: "letter in number", line: "$GPGGA,092750,5321.6802,N,00630.3372,W,1,8,1.O3,61.7,M,55.2,M,,", reason: ReasonBadField},
		{name: "two points", line: "$GPGGA,092750,5321.68.02,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,", reason: ReasonBadField},
		{name: "GGA quality letter", line: "$GPGGA,092750,5321.6802,N,00630.3372,W,X,8,1.03,61.7,M,55.2,M,,", reason: ReasonBadField},
		{name: "altitude in feet", line: "$GPGGA,092750,5321.6802,N,00630.3372,W,1,8,1.03,61.7,F,55.2,M,,", reason: ReasonBadField},
		{name: "altitude in space", line: "$GPGGA,092750,5321.6802,N,00630.3372,W,1,8,1.03,6100000.7,M,55.2,M,,", reason: ReasonRange},
		{name: "HDOP negative", line: "$GPGGA,092750,5321.6802,N,00630.3372,W,1,8,-1.03,61.7,M,55.2,M,,", reason: ReasonRange},
		{name: "sats 300", line: "$GPGGA,092750,5321.6802,N,00630.3372,W,1,300,1.03,61.7,M,55.2,M,,", reason: ReasonRange},
		{name: "RMC short", line: "$GPRMC,123519,A,4807.038,N", reason: ReasonFieldCount},
		{name: "GGA short", line: "$GPGGA,092750,5321.6802,N", reason: ReasonFieldCount},
		{name: "GSA fix type 4", line: "$GPGSA,A,4,04,05,,09,12,,,24,,,,,2.5,1.3,2.1", reason: ReasonBadField},
		{name: "GSA PRN letter", line: "$GPGSA,A,3,0x,05,,09,12,,,24,,,,,2.5,1.3,2.1", reason: ReasonBadField},
		{name: "GSV part 4 of 3", line: "$GPGSV,3,4,11,22,42,067,42", reason: ReasonRange},
		{name: "GSV junk", line: "$GPGSV,3,1,11,22,4x,067,42", reason: ReasonBadField},
		{name: "ZDA two-digit year", line: "$GPZDA,201530.00,04,07,02,00,00", reason: ReasonBadField},
		{name: "ZDA month 13", line: "$GPZDA,201530.00,04,13,2002,00,00", reason: ReasonRange},
		{name: "GST negative", line: "$GPGST,172814.0,0.006,0.023,0.020,273.6,-0.023,0.020,0.031", reason: ReasonRange},
		{name: "RMC variation direction X", line: "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,X,A", reason: ReasonBadField},
		{name: "RMC nav status X", line: "$GNRMC,102014.00,A,5550.6082,N,03732.2488,E,000.00000,092.9,300518,,,A,X", reason: ReasonBadField},
		{name: "RMC nav status two letters", line: "$GNRMC,102014.00,A,5550.6082,N,03732.2488,E,000.00000,092.9,300518,,,A,VV", reason: ReasonBadField},
		{name: "GNS nav status A", line: "$GNGNS,213712.000,4111.59903,N,11156.54809,W,RR,13,0.93,01482.5,-016.5,,,A", reason: ReasonBadField},
		{name: "VTG mode Z", line: "$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K,Z", reason: ReasonBadField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, r, framed := decodeLine([]byte(withSum(tt.line)), false)
			if !framed {
				t.Fatalf("not framed: %v", r)
			}
			if r != tt.reason {
				t.Fatalf("reason %v, want %v", r, tt.reason)
			}
			if tt.check != nil {
				tt.check(t, &s)
			}
		})
	}
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

func TestParseFloatMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "1", "0.1", "1.03", "-30.40", "+5", ".5", "5.", "123456.789012",
		"0.000001", "99.99", "1852", "4807.038", "0000.0000", "3.14159265358979", "-0.0"} {
		got, ok := parseFloat([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil || got != want {
			t.Errorf("parseFloat(%q) = %v, %v; strconv %v, %v", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"", ".", "-", "1.2.3", "1e5", "0x10", " 1", "1,2", "--1", "12345678901234567890"} {
		if v, ok := parseFloat([]byte(s)); ok {
			t.Errorf("parseFloat(%q) = %v, want failure", s, v)
		}
	}
}

func TestParseDegMin(t *testing.T) {
	tests := []struct {
		in   string
		max  uint64
		want float64
		prec int
		r    Reason
	}{
		{"4807.038", 90, 48 + 7.038/60, 3, ReasonNone},
		{"01131.000", 180, 11 + 31.0/60, 3, ReasonNone},
		{"4134.49821229", 90, 41 + 34.49821229/60, 8, ReasonNone},
		{"9000.0000", 90, 90, 4, ReasonNone},
		{"18000.0", 180, 180, 1, ReasonNone},
		{"0.5", 90, 0.5 / 60, 1, ReasonNone},
		{"9000.0001", 90, 0, 0, ReasonRange},
		{"4860.0", 90, 0, 0, ReasonRange},
		{"36000.0000", 90, 0, 0, ReasonRange},
		{"48x7.0", 90, 0, 0, ReasonBadField},
	}
	for _, tt := range tests {
		got, prec, r := parseDegMin([]byte(tt.in), tt.max)
		if r != tt.r || (r == ReasonNone && (math.Abs(got-tt.want) > 1e-13 || prec != tt.prec)) {
			t.Errorf("parseDegMin(%q) = %v, %d, %v; want %v, %d, %v", tt.in, got, prec, r, tt.want, tt.prec, tt.r)
		}
	}
	// The 1e-6 degree rounding must match the decimal value: minutes with 5 decimals can land
	// exactly on a half micro-degree (0.00003' = 0.0000005 deg); exact integer division keeps
	// the value as close to it as float64 allows, so %.9f prints it exactly.
	got, _, _ := parseDegMin([]byte("0000.00003"), 90)
	if s := strconv.FormatFloat(got, 'f', 9, 64); s != "0.000000500" {
		t.Errorf("0000.00003 -> %s", s)
	}
}

func TestReasonAndTypeStrings(t *testing.T) {
	for r := Reason(0); r < NumReasons; r++ {
		if r.String() == "invalid" || r.String() == "" {
			t.Errorf("Reason(%d) has no name", r)
		}
	}
	if NumReasons.String() != "invalid" || NumTypes.String() != "invalid" {
		t.Error("out of range values must say invalid")
	}
	if NavCaution.String() != "caution" || NavStatus(9).String() != "invalid" {
		t.Error("NavStatus names")
	}
	if TypeGST.String() != "GST" {
		t.Error(TypeGST.String())
	}
	if s := (TalkerGP | TalkerGB | TalkerOther).String(); s != "GP+GB+other" {
		t.Errorf("talkers %q", s)
	}
}

// parseDegMinDivide is parseDegMin as a single fixed-point parse and divisions by powers of
// ten: the reference FuzzParseDegMin checks the split integer/fraction parser against.
func parseDegMinDivide(b []byte, maxDeg uint64) (float64, int, Reason) {
	mant, frac, ok := parseFixed(b)
	if !ok {
		return 0, 0, ReasonBadField
	}
	for frac > maxLatLonFrac {
		mant /= 10
		frac--
	}
	scale := pow10u[frac]
	whole := mant / (100 * scale)
	minutes := mant - whole*100*scale
	if minutes >= 60*scale || whole > maxDeg || (whole == maxDeg && minutes != 0) {
		return 0, 0, ReasonRange
	}
	return float64(whole) + float64(minutes)/(60*pow10f[frac]), frac, ReasonNone
}

// FuzzParseDegMin checks parseDegMin against parseDegMinDivide on any field up to
// maxDigits long, bit for bit.
func FuzzParseDegMin(f *testing.F) {
	for _, s := range []string{"4807.038", "01131.000", "4134.49821229", "9000.0000", "18000.0",
		"0.5", ".5", "5.", ".", "", "48x7.0", "4860.0", "0000.00003", "12345678901234567.8",
		"4134.4982122:", "4134.498/12290", "00000.999999999999"} {
		f.Add([]byte(s), len(s)%2 == 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, lon bool) {
		if len(b) > maxDigits {
			return // the reference's slow path keeps 18 significant digits; parseDegMin keeps 10 fraction digits
		}
		maxDeg := uint64(90)
		if lon {
			maxDeg = 180
		}
		got, gp, gr := parseDegMin(b, maxDeg)
		want, wp, wr := parseDegMinDivide(b, maxDeg)
		if gr != wr || gp != wp || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseDegMin(%q, %d) = %v, %d, %v; divisions give %v, %d, %v", b, maxDeg, got, gp, gr, want, wp, wr)
		}
	})
}

// TestGSVBytes checks the word-at-a-time gsvBytes against a byte loop: every byte value at
// every position of GSV satellite fields of each length from 0 to 24 (words overlap at the
// end of all but multiples of eight).
func TestGSVBytes(t *testing.T) {
	isGSV := func(b []byte) bool {
		for _, c := range b {
			if (c < '0' || c > '9') && c != ',' && c != '-' {
				return false
			}
		}
		return true
	}
	const sats = "01,05,040,,02,-7,259,43,0"
	bad := 0
	for n := 0; n <= 24; n++ {
		b := []byte(sats[:n])
		if !gsvBytes(b) {
			t.Fatalf("gsvBytes(%q) = false", b)
		}
		for i := range b {
			for c := range 256 {
				orig := b[i]
				b[i] = byte(c)
				if got, want := gsvBytes(b), isGSV(b); got != want {
					t.Fatalf("gsvBytes(%q) = %v, want %v", b, got, want)
				} else if !want {
					bad++
				}
				b[i] = orig
			}
		}
	}
	if bad != 300*(256-12) {
		t.Errorf("%d bad fields, want %d", bad, 300*(256-12))
	}
}
