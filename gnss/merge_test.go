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
	tests := []struct {
		name  string
		in    []string
		valid bool
		mode  Mode
	}{
		{"RMC A", []string{"$GPRMC,120000,A,4807.038,N,01131.000,E,0.0,0.0,010326,,"}, true, Mode2D},
		{"RMC V keeps position, not valid", []string{"$GPRMC,120000,V,4807.038,N,01131.000,E,0.0,0.0,010326,,"}, false, ModeNoFix},
		{"GGA with altitude", []string{"$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"}, true, Mode3D},
		{"GGA quality 0", []string{"$GPGGA,120000,4807.038,N,01131.000,E,0,08,0.9,545.4,M,46.9,M,,"}, false, ModeNoFix},
		{"GSA 2D", []string{"$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "$GPGSA,A,2,01,02,03,,,,,,,,,,2.0,1.0,1.7"}, true, Mode2D},
		{"A but GSA no fix", []string{"$GPRMC,120000,A,4807.038,N,01131.000,E,0.0,0.0,010326,,", "$GPGSA,A,1,,,,,,,,,,,,,,,"}, false, ModeNoFix},
		{"GLL 1.x says nothing", []string{"$GPGLL,4916.45,N,12311.12,W"}, false, ModeUnknown},
		{"no position", []string{"$GPRMC,120000,A,,,,,0.0,0.0,010326,,"}, false, ModeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(Config{})
			got := append(feed(d, lines(tt.in...), t0), flush(d, t0)...)
			if len(got) != 1 {
				t.Fatalf("%d fixes", len(got))
			}
			if got[0].Valid != tt.valid || got[0].Mode != tt.mode {
				t.Errorf("valid %v mode %v, want %v %v", got[0].Valid, got[0].Mode, tt.valid, tt.mode)
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
