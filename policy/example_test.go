package policy_test

import (
	"fmt"
	"os"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/policy"
)

func Example() {
	var h policy.Holder
	if _, err := h.Reload(os.DirFS("../examples/policy"), nil); err != nil {
		fmt.Println(err)
		return
	}
	e := h.NewEngine("public")
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	denied := 0
	for _, p := range [][2]float64{{39.911954, 116.377817}, {39.85, 119.45}} {
		fix := gnss.Fix{Received: now, Lat: p[0], Lon: p[1], Has: gnss.HasPos, Valid: true}
		d := e.Decide(&fix, now)
		if d.Reason == policy.ReasonZoneDeny {
			denied++
		}
		if d.Action == policy.Drop {
			fmt.Printf("%v (%v %s)\n", d.Action, d.Reason, d.Zone)
			continue
		}
		fmt.Printf("%v %.4f,%.4f %v, grid %g m\n", d.Action, d.Lat, d.Lon, d.Datum, d.PrecisionM)
	}
	fmt.Println("zone-deny decisions:", denied)
	// Output:
	// coarsen 39.9132,116.3841 GCJ-02, grid 50 m
	// drop (zone-deny beidaihe)
	// zone-deny decisions: 1
}

func ExampleWGS84ToGCJ02() {
	lat, lon := policy.WGS84ToGCJ02(39.911954, 116.377817)
	fmt.Printf("%.6f %.6f\n", lat, lon)
	wLat, wLon := policy.GCJ02ToWGS84(lat, lon)
	fmt.Printf("%.6f %.6f\n", wLat, wLon)
	// Output:
	// 39.913345 116.384047
	// 39.911954 116.377817
}

func ExampleLoad_error() {
	_, err := policy.Load(os.DirFS("testdata/no-such-bundle"), nil)
	fmt.Println(err)
	// Output:
	// policy: policy.toml: malformed bundle file: lstat policy.toml: no such file or directory
}
