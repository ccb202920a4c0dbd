package gnss

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// lines joins sentences written without checksums into a CRLF stream with checksums.
func lines(ss ...string) []byte {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(withSum(s))
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// feed feeds p at the given local time and returns the fixes that became ready.
func feed(d *Decoder, p []byte, now time.Time) []Fix {
	var out []Fix
	for len(p) > 0 {
		n, _ := d.Feed(p, now)
		p = p[n:]
		for f, ok := d.Next(); ok; f, ok = d.Next() {
			out = append(out, f)
		}
	}
	return out
}

func flush(d *Decoder, now time.Time) []Fix {
	var out []Fix
	d.Flush(now)
	for f, ok := d.Next(); ok; f, ok = d.Next() {
		out = append(out, f)
	}
	return out
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func epoch(tod, date string) []byte {
	return lines(
		"$GNGGA,"+tod+",3957.1234,N,11623.5678,E,1,12,0.8,52.5,M,-8.0,M,,",
		"$GNRMC,"+tod+",A,3957.1234,N,11623.5678,E,10.0,123.4,"+date+",,,A",
		"$GNGSA,A,3,01,02,03,04,05,,,,,,,,1.50,0.80,1.27,1",
		"$GNGSA,A,3,65,66,67,,,,,,,,,,1.50,0.80,1.27,2",
		"$GNVTG,123.4,T,,M,10.0,N,18.5,K,A",
		"$GPGST,"+tod+",1.0,2.0,1.5,10.0,1.2,1.1,2.5",
	)
}

func TestMergeEpoch(t *testing.T) {
	d := NewDecoder(Config{})
	if got := feed(d, epoch("080000.00", "010326"), t0); len(got) != 0 {
		t.Fatalf("fix before the epoch ended: %+v", got)
	}
	got := feed(d, epoch("080001.00", "010326"), t0.Add(time.Second))
	if len(got) != 1 {
		t.Fatalf("%d fixes, want 1", len(got))
	}
	f := got[0]
	wantTime := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	if !f.Time.Equal(wantTime) || f.Has&HasTime == 0 {
		t.Errorf("time %v, want %v", f.Time, wantTime)
	}
	if !f.Received.Equal(t0.Add(time.Second)) {
		t.Errorf("Received %v: want the clock of the bytes that completed it", f.Received)
	}
	if math.Abs(f.Lat-(39+57.1234/60)) > 1e-12 || math.Abs(f.Lon-(116+23.5678/60)) > 1e-12 {
		t.Errorf("position %v %v", f.Lat, f.Lon)
	}
	if f.Alt != 52.5 || math.Abs(f.Speed-10*msPerKnot) > 1e-12 || f.Track != 123.4 {
		t.Errorf("alt/speed/track %v %v %v", f.Alt, f.Speed, f.Track)
	}
	if f.Mode != Mode3D || f.Quality != 1 || f.SatsUsed != 12 || !f.Valid {
		t.Errorf("mode %v quality %v sats %v valid %v", f.Mode, f.Quality, f.SatsUsed, f.Valid)
	}
	if f.HDOP != 0.8 || f.PDOP != 1.5 || f.VDOP != 1.27 {
		t.Errorf("DOPs %v %v %v", f.HDOP, f.PDOP, f.VDOP)
	}
	if f.LatErr != 1.2 || f.LonErr != 1.1 || f.AltErr != 2.5 {
		t.Errorf("errors %v %v %v", f.LatErr, f.LonErr, f.AltErr)
	}
	if f.Talkers != TalkerGN|TalkerGP {
		t.Errorf("talkers %v", f.Talkers)
	}
	all := HasTime | HasPos | HasAlt | HasSpeed | HasTrack | HasSats | HasHDOP | HasPDOP | HasVDOP | HasErr | HasQuality
	if f.Has != all {
		t.Errorf("Has %b, want %b", f.Has, all)
	}
	if !f.Usable(t0.Add(2*time.Second), 2*time.Second) || f.Usable(t0.Add(4*time.Second), 2*time.Second) {
		t.Error("Usable does not follow the age")
	}
	if rest := flush(d, t0.Add(2*time.Second)); len(rest) != 1 {
		t.Errorf("Flush gave %d fixes, want the last epoch", len(rest))
	}
}

func TestMergeCycleEnder(t *testing.T) {
	d := NewDecoder(Config{})
	var got []Fix
	for i, tod := range []string{"080000.00", "080001.00", "080002.00", "080003.00", "080004.00"} {
		got = append(got, feed(d, epoch(tod, "010326"), t0.Add(time.Duration(i)*time.Second))...)
		if i >= 3 && len(got) != i+1 {
			// GST ended three epochs in a row: from then on an epoch's fix leaves with its GST.
			t.Fatalf("after epoch %d: %d fixes, want %d (closed by the learned cycle ender)", i, len(got), i+1)
		}
	}
	// GGA-only epochs: the learned ender (GST) no longer comes, so a new time closes epochs
	// and the ender is relearned.
	for i, tod := range []string{"080005.00", "080006.00", "080007.00", "080008.00"} {
		got = append(got, feed(d, lines("$GPGGA,"+tod+",3957.1234,N,11623.5678,E,1,12,0.8,52.5,M,-8.0,M,,"), t0)...)
		_ = i
	}
	got = append(got, flush(d, t0)...)
	if len(got) != 9 {
		t.Fatalf("%d fixes, want 9", len(got))
	}
	for i, f := range got {
		if want := time.Date(2026, 3, 1, 8, 0, i, 0, time.UTC); !f.Time.Equal(want) {
			t.Errorf("fix %d time %v, want %v", i, f.Time, want)
		}
	}
	if s := d.Stats(); s.Fixes != 9 {
		t.Errorf("stats %+v", s)
	}
}

func TestMergeDateCarriedAndMidnight(t *testing.T) {
	d := NewDecoder(Config{})
	in := lines(
		"$GPRMC,235958,A,4807.038,N,01131.000,E,0.0,0.0,311226,,",
		"$GPGGA,235959,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
		"$GPGGA,000000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
		"$GPGGA,000001,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
	)
	got := append(feed(d, in, t0), flush(d, t0)...)
	want := []time.Time{
		time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC),
	}
	if len(got) != len(want) {
		t.Fatalf("%d fixes", len(got))
	}
	for i := range want {
		if !got[i].Time.Equal(want[i]) {
			t.Errorf("fix %d: %v, want %v", i, got[i].Time, want[i])
		}
	}
}

func TestMergeNoDateNoTime(t *testing.T) {
	d := NewDecoder(Config{})
	got := append(feed(d, lines("$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), t0), flush(d, t0)...)
	if len(got) != 1 || got[0].Has&HasTime != 0 || !got[0].Time.IsZero() {
		t.Fatalf("a time of day without any date must not make a Time: %+v", got)
	}
}

func TestMergeWeekRollover(t *testing.T) {
	// A receiver with pre-2019 firmware reports 2026-03-01 as 2006-07-16 (1024 weeks early).
	rmc := "$GPRMC,120000,A,4807.038,N,01131.000,E,0.0,0.0,160706,,"
	for _, tt := range []struct {
		name  string
		floor time.Time
		want  time.Time
	}{
		{"default floor", time.Time{}, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{"old floor keeps the date", time.Date(1980, 1, 6, 0, 0, 0, 0, time.UTC), time.Date(2006, 7, 16, 12, 0, 0, 0, time.UTC)},
		{"two rollovers", time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2045, 10, 15, 12, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(Config{DateFloor: tt.floor})
			got := append(feed(d, lines(rmc), t0), flush(d, t0)...)
			if len(got) != 1 || !got[0].Time.Equal(tt.want) {
				t.Fatalf("got %+v, want %v", got, tt.want)
			}
		})
	}
}

func TestMergeValidity(t *testing.T) {
	const (
		rmc41   = "$GNRMC,120000.00,A,4807.03812,N,01131.00034,E,0.040,,010326,,,D,"
		gga41   = "$GNGGA,120000.00,4807.03812,N,01131.00034,E,2,12,0.54,83.1,M,-29.5,M,,0000"
		gns41   = "$GNGNS,120000.00,4807.03812,N,01131.00034,E,NDD,11,1.3,83.1,-29.5,,,"
		rmcVoid = "$GNRMC,120000.00,V,,,,,,,010326,,,N,V"
	)
	tests := []struct {
		name    string
		in      []string
		valid   bool
		mode    Mode
		nav     NavStatus
		caution uint64 // Stats.Caution
		unsafe  uint64 // Stats.Unsafe
	}{
		{name: "RMC 4.1 nav status V: valid (u-blox, Quectel, Unicore)", in: []string{rmc41 + "V", gga41}, valid: true, mode: Mode3D},
		{name: "RMC 4.1 void, nav status V", in: []string{rmcVoid}, mode: ModeNoFix},
		{name: "RMC 4.1 S", in: []string{rmc41 + "S", gga41}, valid: true, mode: Mode3D, nav: NavSafe},
		{name: "RMC 4.1 C: valid, flagged", in: []string{rmc41 + "C", gga41}, valid: true, mode: Mode3D, nav: NavCaution, caution: 1},
		{name: "RMC 4.1 U: not valid", in: []string{rmc41 + "U", gga41}, mode: ModeNoFix, nav: NavUnsafe, unsafe: 1},
		{name: "GNS 4.1 V, first system N: valid", in: []string{gns41 + "V"}, valid: true, mode: Mode3D},
		{name: "GNS 4.1 U: not valid", in: []string{gga41, gns41 + "U"}, mode: ModeNoFix, nav: NavUnsafe, unsafe: 1},
		{name: "worst status of the epoch wins", in: []string{rmc41 + "C", gns41 + "S", gga41}, valid: true, mode: Mode3D, nav: NavCaution, caution: 1},
		{name: "U in GNS beats S in RMC", in: []string{rmc41 + "S", gns41 + "U"}, mode: ModeNoFix, nav: NavUnsafe, unsafe: 1},
		{name: "GNS all N", in: []string{"$GNGNS,120000.00,4807.03812,N,01131.00034,E,NNN,11,1.3,83.1,-29.5,,,V"}, mode: ModeNoFix},
		{name: "VTG mode N", in: []string{rmc41 + "V", "$GNVTG,,T,,M,0.040,N,0.074,K,N"}, mode: ModeNoFix},
		{name: "GLL mode N", in: []string{rmc41 + "V", "$GNGLL,4807.03812,N,01131.00034,E,120000.00,A,N"}, mode: ModeNoFix},
		{name: "RMC A", in: []string{"$GPRMC,120000,A,4807.038,N,01131.000,E,0.0,0.0,010326,,"}, valid: true, mode: Mode2D},
		{name: "RMC V keeps position, not valid", in: []string{"$GPRMC,120000,V,4807.038,N,01131.000,E,0.0,0.0,010326,,"}, mode: ModeNoFix},
		{name: "GGA with altitude", in: []string{"$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"}, valid: true, mode: Mode3D},
		{name: "GGA quality 0", in: []string{"$GPGGA,120000,4807.038,N,01131.000,E,0,08,0.9,545.4,M,46.9,M,,"}, mode: ModeNoFix},
		{name: "GSA 2D", in: []string{"$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "$GPGSA,A,2,01,02,03,,,,,,,,,,2.0,1.0,1.7"}, valid: true, mode: Mode2D},
		{name: "A but GSA no fix", in: []string{"$GPRMC,120000,A,4807.038,N,01131.000,E,0.0,0.0,010326,,", "$GPGSA,A,1,,,,,,,,,,,,,,,"}, mode: ModeNoFix},
		{name: "GLL 1.x says nothing", in: []string{"$GPGLL,4916.45,N,12311.12,W"}, mode: ModeNoFix},
		{name: "no position", in: []string{"$GPRMC,120000,A,,,,,0.0,0.0,010326,,"}, mode: ModeNoFix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(Config{})
			got := append(feed(d, lines(tt.in...), t0), flush(d, t0)...)
			if len(got) != 1 {
				t.Fatalf("%d fixes", len(got))
			}
			if got[0].Valid != tt.valid || got[0].Mode != tt.mode || got[0].NavStatus != tt.nav {
				t.Errorf("valid %v mode %v nav %v, want %v %v %v", got[0].Valid, got[0].Mode, got[0].NavStatus, tt.valid, tt.mode, tt.nav)
			}
			if s := d.Stats(); s.Caution != tt.caution || s.Unsafe != tt.unsafe {
				t.Errorf("Stats.Caution %d Unsafe %d, want %d %d", s.Caution, s.Unsafe, tt.caution, tt.unsafe)
			}
			if got[0].Usable(t0, time.Second) != tt.valid {
				t.Error("Usable disagrees with Valid")
			}
		})
	}
}

func TestMergeUntimedRepeat(t *testing.T) {
	// NMEA 1.x receivers send GLL without time: each repeat is a new epoch.
	d := NewDecoder(Config{})
	in := lines("$GPGLL,4916.45,N,12311.12,W", "$GPVTG,054.7,034.4,005.5,010.2",
		"$GPGLL,4916.46,N,12311.12,W", "$GPVTG,054.7,034.4,005.5,010.2",
		"$GPGLL,4916.47,N,12311.12,W")
	got := append(feed(d, in, t0), flush(d, t0)...)
	if len(got) != 3 {
		t.Fatalf("%d fixes, want 3", len(got))
	}
	if got[0].Has&HasSpeed == 0 || got[2].Has&HasSpeed != 0 {
		t.Error("VTG joined the wrong epoch")
	}
}

func TestMergeGSASatsAndPrecision(t *testing.T) {
	d := NewDecoder(Config{})
	in := lines(
		"$GPRMC,193221.00,A,2037.7279,N,08704.0848,W,00.1,201.8,231226,01,W,A",
		"$GPGGA,193221.00,2037.72792,N,08704.08478,W,1,,1.7,-30.40,M,-13.9,M,,",
		"$GNGSA,A,3,01,02,03,,,,,,,,,,2.0,1.0,1.7,1",
		"$GNGSA,A,3,65,66,,,,,,,,,,,2.0,1.0,1.7,2",
	)
	got := append(feed(d, in, t0), flush(d, t0)...)
	if len(got) != 1 {
		t.Fatalf("%d fixes", len(got))
	}
	f := got[0]
	if f.SatsUsed != 5 {
		t.Errorf("sats %d: want the GSA sum when GGA gives none", f.SatsUsed)
	}
	if f.Lat != 20+37.72792/60 {
		t.Errorf("lat %v: want GGA's more precise position", f.Lat)
	}
	if f.HDOP != 1.0 {
		t.Errorf("HDOP %v: want GSA's", f.HDOP)
	}
}

func TestFlushCountsCutLine(t *testing.T) {
	d := NewDecoder(Config{})
	feed(d, []byte("$GPGGA,1200"), t0)
	flush(d, t0)
	if s := d.Stats(); s.Rejected[ReasonTruncated] != 1 {
		t.Errorf("truncated %d", s.Rejected[ReasonTruncated])
	}
}

func TestStats(t *testing.T) {
	d := NewDecoder(Config{})
	in := append(lines(
		"$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
		"$BDGSV,1,1,01,01,30,120,40",
		"$GPTXT,01,01,02,ANTSTATUS=OK",
		"$PUBX,00",
		"$GPGGA,120001,9100.000,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
	), "$GPGGA,120002*00\r\njunk\r\n"...)
	feed(d, in, t0)
	flush(d, t0)
	s := d.Stats()
	check := func(name string, got, want uint64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	check("Bytes", s.Bytes, uint64(len(in)))
	check("Sentences", s.Sentences, 5)
	check("Decoded", s.Decoded, 2)
	check("Ignored", s.Ignored, 2)
	check("Fixes", s.Fixes, 1)
	check("Garbage", s.Garbage, 4)
	check("Rejected[range]", s.Rejected[ReasonRange], 1)
	check("Rejected[checksum]", s.Rejected[ReasonChecksum], 1)
	check("RejectedTotal", s.RejectedTotal(), 2)
	check("Types[GGA]", s.Types[TypeGGA], 1)
	check("Types[GSV]", s.Types[TypeGSV], 1)
	check("Types[other]", s.Types[TypeOther], 1)
	check("Talkers[GB]", s.Talkers[TalkerIndex(TalkerGB)], 1)
	check("Talkers[GP]", s.Talkers[TalkerIndex(TalkerGP)], 2)
}

func TestScan(t *testing.T) {
	in := append(epoch("080000.00", "010326"), epoch("080001.00", "010326")...)
	clock := func() time.Time { return t0 }
	t.Run("one byte per read", func(t *testing.T) {
		var n int
		err := NewDecoder(Config{}).Scan(iotest.OneByteReader(strings.NewReader(string(in))), clock,
			func(f *Fix) error { n++; return nil })
		if err != nil || n != 2 {
			t.Fatalf("err %v, %d fixes", err, n)
		}
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("unplugged")
		r := io.MultiReader(strings.NewReader(string(in)), iotest.ErrReader(boom))
		var n int
		err := NewDecoder(Config{}).Scan(r, clock, func(f *Fix) error { n++; return nil })
		if !errors.Is(err, boom) || n != 1 {
			t.Fatalf("err %v, %d fixes", err, n)
		}
	})
	t.Run("emit error stops", func(t *testing.T) {
		stop := errors.New("stop")
		err := NewDecoder(Config{}).Scan(strings.NewReader(string(in)), clock, func(f *Fix) error { return stop })
		if !errors.Is(err, stop) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestMergeZDAOffTimeGivesDateNotFix(t *testing.T) {
	// A ZDA stamped off the fix times forms its own epoch: it must give the date, not a
	// position-less fix between two real ones.
	d := NewDecoder(Config{})
	in := lines(
		"$GPZDA,115959.50,01,03,2026,00,00",
		"$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
		"$GPZDA,120000.50,01,03,2026,00,00",
		"$GPGGA,120001,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
	)
	got := append(feed(d, in, t0), flush(d, t0)...)
	if len(got) != 2 {
		t.Fatalf("%d fixes, want 2: %+v", len(got), got)
	}
	for i, f := range got {
		if want := time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC); !f.Time.Equal(want) || !f.Valid {
			t.Errorf("fix %d: %v valid %v, want %v", i, f.Time, f.Valid, want)
		}
	}
}

func TestMergePosConflict(t *testing.T) {
	const (
		gga5 = "$GPGGA,120000,4807.03812,N,01131.00034,E,1,08,0.9,545.4,M,46.9,M,,"
		lat5 = 48 + 7.03812/60
		lon5 = 11 + 31.00034/60
	)
	rmc := func(lat, lon string) string {
		return "$GPRMC,120000,A," + lat + ",N," + lon + ",E,0.0,0.0,010326,,"
	}
	tests := []struct {
		name     string
		in       []string
		lat, lon float64
		conflict uint64
	}{
		{"same solution, RMC rounded to 4 digits", []string{gga5, rmc("4807.0381", "01131.0003")}, lat5, lon5, 0},
		{"RMC first: GGA still wins on digits", []string{rmc("4807.0381", "01131.0003"), gga5}, lat5, lon5, 0},
		{"exactly one unit of the coarser digit apart is agreement", []string{
			"$GPGGA,120000,4807.03820,N,01131.00040,E,1,08,0.9,545.4,M,46.9,M,,", rmc("4807.0381", "01131.0005")},
			48 + 7.0382/60, 11 + 31.0004/60, 0},
		{"latitude two units apart", []string{gga5, rmc("4807.0383", "01131.0003")}, lat5, lon5, 1},
		{"longitude two units apart, RMC first", []string{rmc("4807.0381", "01131.0005"), gga5}, lat5, lon5, 1},
		{"equal digits: GGA wins over RMC in either order", []string{rmc("4807.03900", "01131.00034"), gga5}, lat5, lon5, 1},
		{"equal digits, GGA first", []string{gga5, rmc("4807.03900", "01131.00034")}, lat5, lon5, 1},
		{"three sentences, one conflict counted once", []string{gga5, rmc("4807.0390", "01131.0003"),
			"$GPGLL,4807.040,N,01131.000,E,120000,A,A"}, lat5, lon5, 1},
		{"more digits win over sentence type", []string{"$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
			rmc("4807.03812", "01131.00034")}, lat5, lon5, 0},
		{"more digits win over sentence type, in conflict", []string{"$GPGGA,120000,4807.040,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
			rmc("4807.03812", "01131.00034")}, lat5, lon5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(Config{})
			got := append(feed(d, lines(tt.in...), t0), flush(d, t0)...)
			if len(got) != 1 {
				t.Fatalf("%d fixes, want one epoch", len(got))
			}
			if got[0].Lat != tt.lat || got[0].Lon != tt.lon || !got[0].Valid {
				t.Errorf("position %v %v valid %v, want %v %v", got[0].Lat, got[0].Lon, got[0].Valid, tt.lat, tt.lon)
			}
			if s := d.Stats(); s.PosConflicts != tt.conflict {
				t.Errorf("Stats.PosConflicts %d, want %d", s.PosConflicts, tt.conflict)
			}
		})
	}
}

func TestMergeCycleWithoutTime(t *testing.T) {
	tests := []struct {
		name  string
		in    []string
		fixes int // all fixes; the last must be the valid one at 12:00:04
	}{
		{"empty time fields (Foretrex 201 before its fix)", []string{
			"$GPGLL,,,,,,V,N", "$GPRMC,,V,,,,,,,010326,1.0,E,N", "$GPGGA,,,,,,0,00,,,M,,M,,", "$GPGSA,A,1,,,,,,,,,,,,,,,",
			"$GPRMC,120004,A,5504.4343,N,01025.5386,E,0.0,0.0,010326,1.0,E,D",
			"$GPGGA,120004,5504.4343,N,01025.5386,E,2,03,2.5,-9.1,M,43.9,M,,",
		}, 2},
		{"empty time fields, cycles closed by the repeating GLL", []string{
			"$GPGLL,,,,,,V,N", "$GPRMC,,V,,,,,,,010326,1.0,E,N", "$GPGGA,,,,,,0,00,,,M,,M,,",
			"$GPGLL,,,,,,V,N", "$GPRMC,,V,,,,,,,010326,1.0,E,N", "$GPGGA,,,,,,0,00,,,M,,M,,",
			"$GPRMC,120004,A,5504.4343,N,01025.5386,E,0.0,0.0,010326,1.0,E,D",
			"$GPGGA,120004,5504.4343,N,01025.5386,E,2,03,2.5,-9.1,M,43.9,M,,",
		}, 3},
		{"untimed VTG repeating while GGA and RMC are rejected (MTK-3301 start)", []string{
			"$GPGGA,120001,8960.0000,N,00000.0000,E,0,0,,137.0,M,13.0,M,,", "$GPVTG,0.00,T,,M,0.000,N,0.000,K,N",
			"$GPGGA,120002,8960.0000,N,00000.0000,E,0,0,,137.0,M,13.0,M,,", "$GPVTG,0.00,T,,M,0.000,N,0.000,K,N",
			"$GPGGA,120004,5212.982135,N,00653.101394,E,1,3,2.88,102.907,M,47.093,M,,",
			"$GPRMC,120004,A,5212.982135,N,00653.101394,E,0.039,0.00,010326,,,A",
			"$GPVTG,0.00,T,,M,0.039,N,0.072,K,A",
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(Config{})
			got := append(feed(d, lines(tt.in...), t0), flush(d, t0)...)
			if len(got) != tt.fixes {
				t.Fatalf("%d fixes, want %d: %+v", len(got), tt.fixes, got)
			}
			for _, f := range got[:len(got)-1] {
				if f.Valid || f.Has&HasTime != 0 {
					t.Errorf("a no-fix epoch without time is valid or timed: %+v", f)
				}
			}
			last := got[len(got)-1]
			if want := time.Date(2026, 3, 1, 12, 0, 4, 0, time.UTC); !last.Valid || !last.Time.Equal(want) {
				t.Errorf("first fix: valid %v mode %v time %v, want valid at %v", last.Valid, last.Mode, last.Time, want)
			}
		})
	}
}
