package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/clock"
)

// gnssStdin is where "geogate gnss decode -" reads; tests replace it.
var gnssStdin io.Reader = os.Stdin

// gnssMain implements "geogate gnss SUBCOMMAND": today only decode.
func gnssMain(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "decode" {
		fmt.Fprintln(stderr, "usage: geogate gnss decode [-stats] [-nochecksum-ok] [-date-floor YYYY-MM-DD] [FILE|-]")
		return groupUsage(args)
	}
	return gnssDecode(args[1:], stdout, stderr)
}

// gnssDecode implements "geogate gnss decode": NMEA 0183 from FILE (or stdin) to one gpsd-style
// TPV JSON object per fix on stdout, and with -stats one STATS object at the end.
func gnssDecode(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gnss decode", stderr,
		"usage: geogate gnss decode [-stats] [-nochecksum-ok] [-date-floor YYYY-MM-DD] [FILE|-]",
		"Decodes NMEA 0183 into one JSON object per fix, with gpsd's TPV field names.",
	)
	stats := fs.Bool("stats", false, "print the decoder's counters as a final {\"class\":\"STATS\"} object")
	noSum := fs.Bool("nochecksum-ok", false, "accept sentences without a checksum (counted)")
	floor := fs.String("date-floor", gnss.DefaultDateFloor.Format(time.DateOnly),
		"earliest legitimate date; earlier dates are moved forward by 1024-week GPS rollovers (use 1980-01-06 for old captures)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	df, err := time.Parse(time.DateOnly, *floor)
	if err != nil {
		return fmt.Errorf("decode: -date-floor %q: want YYYY-MM-DD", *floor)
	}
	in, name := gnssStdin, "-"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		name = fs.Arg(0)
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		defer f.Close()
		in = f
	}
	w := bufio.NewWriter(stdout)
	d := gnss.NewDecoder(gnss.Config{NoChecksumOK: *noSum, DateFloor: df})
	var line []byte
	err = d.Scan(in, clock.Now, func(f *gnss.Fix) error {
		line = appendTPV(line[:0], f)
		_, err := w.Write(line)
		return err
	})
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("decode: %w", err)
		}
		return fmt.Errorf("decode %s: %w", name, err)
	}
	if *stats {
		s := d.Stats()
		w.Write(appendStats(nil, &s))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("decode: write: %w", err)
	}
	return nil
}

// appendTPV appends one fix as a JSON line in gpsd's TPV vocabulary (class, time, mode, lat,
// lon, alt, speed, track) plus geogate's own fields (valid, nav, quality, sats, DOPs, 1-sigma
// errors, talkers) under names gpsd does not use. As in gpsd, a fix the decoder judges
// unusable (not Valid) has mode 1 and no lat, lon or alt, whatever the receiver printed.
func appendTPV(b []byte, f *gnss.Fix) []byte {
	num := func(b []byte, key string, v float64, prec int) []byte {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		return strconv.AppendFloat(b, v, 'f', prec, 64)
	}
	b = append(b, `{"class":"TPV"`...)
	if f.Has&gnss.HasTime != 0 {
		b = append(b, `,"time":"`...)
		b = f.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
		b = append(b, '"')
	}
	b = append(b, `,"mode":`...)
	b = strconv.AppendUint(b, uint64(f.Mode), 10)
	if f.Valid {
		b = num(b, "lat", f.Lat, 9)
		b = num(b, "lon", f.Lon, 9)
	}
	if f.Valid && f.Has&gnss.HasAlt != 0 {
		b = num(b, "alt", f.Alt, 4)
	}
	if f.Has&gnss.HasSpeed != 0 {
		b = num(b, "speed", f.Speed, 3)
	}
	if f.Has&gnss.HasTrack != 0 {
		b = num(b, "track", f.Track, 4)
	}
	b = append(b, `,"valid":`...)
	b = strconv.AppendBool(b, f.Valid)
	if f.NavStatus != gnss.NavNone {
		b = append(b, `,"nav":"`...)
		b = append(b, f.NavStatus.String()...)
		b = append(b, '"')
	}
	if f.Has&gnss.HasQuality != 0 {
		b = append(b, `,"quality":`...)
		b = strconv.AppendUint(b, uint64(f.Quality), 10)
	}
	if f.Has&gnss.HasSats != 0 {
		b = append(b, `,"sats":`...)
		b = strconv.AppendUint(b, uint64(f.SatsUsed), 10)
	}
	if f.Has&gnss.HasHDOP != 0 {
		b = num(b, "hdop", f.HDOP, 2)
	}
	if f.Has&gnss.HasPDOP != 0 {
		b = num(b, "pdop", f.PDOP, 2)
	}
	if f.Has&gnss.HasVDOP != 0 {
		b = num(b, "vdop", f.VDOP, 2)
	}
	if f.Has&gnss.HasErr != 0 {
		b = num(b, "latErr", f.LatErr, 3)
		b = num(b, "lonErr", f.LonErr, 3)
		b = num(b, "altErr", f.AltErr, 3)
	}
	b = append(b, `,"talkers":"`...)
	b = append(b, f.Talkers.String()...)
	return append(b, "\"}\n"...)
}

// appendStats appends the counters as one JSON line.
func appendStats(b []byte, s *gnss.Stats) []byte {
	kv := func(b []byte, first bool, key string, v uint64) []byte {
		if !first {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, key)
		b = append(b, ':')
		return strconv.AppendUint(b, v, 10)
	}
	b = append(b, `{"class":"STATS",`...)
	b = kv(b, true, "bytes", s.Bytes)
	b = kv(b, false, "garbage", s.Garbage)
	b = kv(b, false, "sentences", s.Sentences)
	b = kv(b, false, "decoded", s.Decoded)
	b = kv(b, false, "ignored", s.Ignored)
	b = kv(b, false, "fixes", s.Fixes)
	b = kv(b, false, "longLines", s.LongLines)
	b = kv(b, false, "noChecksum", s.NoChecksum)
	b = kv(b, false, "caution", s.Caution)
	b = kv(b, false, "unsafe", s.Unsafe)
	b = kv(b, false, "posConflicts", s.PosConflicts)
	b = append(b, `,"rejected":{`...)
	for r := gnss.Reason(1); r < gnss.NumReasons; r++ {
		b = kv(b, r == 1, r.String(), s.Rejected[r])
	}
	b = append(b, `},"types":{`...)
	for t := range s.Types {
		b = kv(b, t == 0, gnss.SentenceType(t).String(), s.Types[t])
	}
	b = append(b, `},"talkers":{`...)
	for i := range s.Talkers {
		b = kv(b, i == 0, gnss.Talker(1<<i).String(), s.Talkers[i])
	}
	return append(b, "}}\n"...)
}
