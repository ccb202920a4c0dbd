package gnss

import (
	"math"
	"os"
	"testing"
	"time"
)

// FuzzDecoder feeds arbitrary bytes through framer, decoder and merger. No input may panic,
// allocate, or produce a fix with a value outside its range. Seeds: every capture of the corpus (cut to
// the fuzzer's size limits) plus hand-made edge cases.
func FuzzDecoder(f *testing.F) {
	for _, path := range corpus(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 4096)], false)
	}
	f.Add(lines("$GPRMC,235959.999,A,8959.9999,S,17959.9999,W,9999.9,359.9,290224,,,A,S"), true)
	f.Add([]byte("$GPGGA,1\x00\r\n$$$$\n\r!!*\r\n$GPGSA,A,3,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,1,2,3*00\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, noChecksum bool) {
		d := NewDecoder(Config{NoChecksumOK: noChecksum})
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		check := func(fx Fix) {
			bad := func(what string, v float64) {
				t.Fatalf("%s out of range: %v in %+v", what, v, fx)
			}
			finite := func(what string, v float64) {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					bad(what, v)
				}
			}
			for _, v := range []float64{fx.Lat, fx.Lon, fx.Alt, fx.Speed, fx.Track, fx.HDOP, fx.PDOP, fx.VDOP, fx.LatErr, fx.LonErr, fx.AltErr} {
				finite("value", v)
			}
			if fx.Lat < -90 || fx.Lat > 90 {
				bad("lat", fx.Lat)
			}
			if fx.Lon < -180 || fx.Lon > 180 {
				bad("lon", fx.Lon)
			}
			if fx.Speed < 0 || fx.Speed > maxSpeedMS {
				bad("speed", fx.Speed)
			}
			if fx.Track < 0 || fx.Track >= 360 {
				bad("track", fx.Track)
			}
			if fx.Alt < minAlt || fx.Alt > maxAlt {
				bad("alt", fx.Alt)
			}
			for _, v := range []float64{fx.HDOP, fx.PDOP, fx.VDOP} {
				if v < 0 || v > maxDOP {
					bad("DOP", v)
				}
			}
			for _, v := range []float64{fx.LatErr, fx.LonErr, fx.AltErr} {
				if v < 0 || v > maxErr {
					bad("error", v)
				}
			}
			if fx.Mode > Mode3D || fx.Quality > 9 {
				t.Fatalf("mode/quality out of range: %+v", fx)
			}
			if fx.Valid && (fx.Has&HasPos == 0 || fx.Mode < Mode2D || fx.NavStatus == NavUnsafe) {
				t.Fatalf("valid fix without position, without 2D/3D mode or unsafe: %+v", fx)
			}
			if !fx.Valid && fx.Mode != ModeNoFix {
				t.Fatalf("a fix that is not valid must have mode 1: %+v", fx)
			}
			if fx.Has&HasTime != 0 && (fx.Time.Year() < 1980 || fx.Time.Year() > 2200) {
				t.Fatalf("time out of range: %v", fx.Time)
			}
			if !fx.Received.Equal(now) {
				t.Fatalf("Received %v", fx.Received)
			}
		}
		fixes := 0
		for p := data; len(p) > 0; {
			n, _ := d.Feed(p, now)
			if n == 0 {
				// Feed consumed nothing: a fix must be waiting.
				fx, ok := d.Next()
				if !ok {
					t.Fatal("Feed made no progress and no fix is ready")
				}
				check(fx)
				fixes++
				continue
			}
			p = p[n:]
			for fx, ok := d.Next(); ok; fx, ok = d.Next() {
				check(fx)
				fixes++
			}
		}
		d.Flush(now)
		for fx, ok := d.Next(); ok; fx, ok = d.Next() {
			check(fx)
			fixes++
		}
		s := d.Stats()
		if s.Bytes != uint64(len(data)) || s.Fixes != uint64(fixes) {
			t.Fatalf("stats %+v, fed %d bytes, got %d fixes", s, len(data), fixes)
		}
		if s.Decoded+s.Ignored+s.RejectedTotal() < s.Sentences {
			t.Fatalf("sentences unaccounted: %+v", s)
		}
		// No input makes the decoder allocate: everything lives in its fixed buffers.
		if allocs := testing.AllocsPerRun(1, func() { feedAllNoAlloc(d, data, now) }); allocs != 0 {
			t.Fatalf("%.0f allocations", allocs)
		}
	})
}
