package gnss_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/geogate/geogate/gnss"
)

// A receiver's byte stream, as a serial port delivers it: a partial line, noise and two
// epochs of GGA+RMC.
const stream = "51.00,4807.038,N*\x00\xff\r\n" +
	"$GPGGA,123519.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*69\r\n" +
	"$GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,010326,003.1,W*4D\r\n" +
	"$GPGGA,123520.00,4807.040,N,01131.002,E,1,08,0.9,545.6,M,46.9,M,,*6C\r\n" +
	"$GPRMC,123520.00,A,4807.040,N,01131.002,E,022.4,084.4,010326,003.1,W*4A\r\n"

func ExampleDecoder_Scan() {
	d := gnss.NewDecoder(gnss.Config{})
	clock := func() time.Time { return time.Date(2026, 3, 1, 12, 35, 21, 0, time.UTC) } // time.Now in production
	err := d.Scan(strings.NewReader(stream), clock, func(f *gnss.Fix) error {
		fmt.Printf("%s %.6f %.6f alt %.1f m, %.2f m/s, mode %d, valid %v, %d sats\n",
			f.Time.Format(time.RFC3339Nano), f.Lat, f.Lon, f.Alt, f.Speed, f.Mode, f.Valid, f.SatsUsed)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	s := d.Stats()
	fmt.Printf("sentences %d, fixes %d, garbage bytes %d\n", s.Sentences, s.Fixes, s.Garbage)
	// Output:
	// 2026-03-01T12:35:19Z 48.117300 11.516667 alt 545.4 m, 11.52 m/s, mode 3, valid true, 8 sats
	// 2026-03-01T12:35:20Z 48.117333 11.516700 alt 545.6 m, 11.52 m/s, mode 3, valid true, 8 sats
	// sentences 4, fixes 2, garbage bytes 19
}

func ExampleDecoder_Feed() {
	d := gnss.NewDecoder(gnss.Config{})
	now := time.Date(2026, 3, 1, 12, 35, 21, 0, time.UTC)
	buf := []byte(stream) // one Read from a gnss.Source
	for p := buf; len(p) > 0; {
		n, _ := d.Feed(p, now)
		p = p[n:]
		for f, ok := d.Next(); ok; f, ok = d.Next() {
			fmt.Println(f.Time.Format(time.TimeOnly), f.Usable(now, 5*time.Second))
		}
	}
	// At the end of the stream, the last epoch:
	d.Flush(now)
	for f, ok := d.Next(); ok; f, ok = d.Next() {
		fmt.Println(f.Time.Format(time.TimeOnly), f.Usable(now, 5*time.Second))
	}
	// Output:
	// 12:35:19 true
	// 12:35:20 true
}
