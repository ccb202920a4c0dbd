package sim_test

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/geogate/geogate/gnss/sim"
)

// A 1 Hz drive north at 50 km/h, as NMEA a receiver would send it.
func ExampleRoute() {
	start := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	samples := sim.Route(start, 1, 50/3.6,
		sim.Point{Lat: 39.9042, Lon: 116.4074, Alt: 44},
		sim.Point{Lat: 39.9062, Lon: 116.4074, Alt: 44})
	fmt.Println(len(samples), "epochs")
	nmea := sim.Generator{VTG: true}.Bytes(samples[:1])
	os.Stdout.Write(bytes.ReplaceAll(nmea, []byte("\r\n"), []byte("\n"))) // CRLF as LF for the example's output check
	// Output:
	// 17 epochs
	// $GPRMC,080000.00,A,3954.252000,N,11624.444000,E,26.998,0.00,251126,,,A*53
	// $GPVTG,0.00,T,,M,26.998,N,50.000,K,A*34
	// $GPGGA,080000.00,3954.252000,N,11624.444000,E,1,08,0.90,44.00,M,0.0,M,,*6F
	// $GPGSA,A,3,01,02,03,04,05,06,07,08,,,,,1.60,0.90,1.30*06
}

// A drive through the pty simulator, so the code under test reads it from a serial device.
func ExampleReceiver() {
	samples := sim.Route(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), 10, 13.9,
		sim.Point{Lat: 31.2304, Lon: 121.4737}, sim.Point{Lat: 31.2404, Lon: 121.4737})
	rx, err := sim.New(sim.Config{
		Data:      sim.Generator{Talker: "GN"}.Bytes(samples),
		LineDelay: 25 * time.Millisecond, // 4 sentences per 100 ms epoch
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rx.Close()
	fmt.Println("open", rx.Path(), "as the receiver's serial port")
}
