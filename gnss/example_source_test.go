package gnss_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/geogate/geogate/gnss"
)

// A capture replayed as fast as it is read, as `geogate gnss decode FILE` does.
func ExampleReplay() {
	capture := "$GPGGA,074150.799,,,,,0,00,,,M,0.0,M,,0000,*7A\r\n" +
		"$GPRMC,074150.799,V,,,,,,,250215,,,N*4C\r\n"
	src, err := gnss.NewReplay(strings.NewReader(capture), gnss.ReplayConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	b, err := io.ReadAll(src)
	fmt.Printf("%d bytes, err=%v\n", len(b), err)
	// Output: 89 bytes, err=<nil>
}

// A receiver on a USB port, reopened whenever it is unplugged and plugged back.
func ExampleSerial() {
	src, err := gnss.NewSerial(gnss.SerialConfig{
		Device: "/dev/serial/by-id/usb-u-blox_AG_-_www.u-blox.com_u-blox_GNSS_receiver-if00",
		Baud:   38400,
		Logger: slog.Default(),
	})
	if err != nil {
		fmt.Println(err) // a bad configuration: fail at startup
		return
	}
	defer src.Close()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf) // waits out unplugging; counts it in src.Stats()
		if errors.Is(err, gnss.ErrClosed) {
			return
		}
		exampleProcess(buf[:n])
	}
}

// exampleProcess stands for the framer and decoder.
func exampleProcess([]byte) {}
