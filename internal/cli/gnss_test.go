package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
)

func runGnss(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := gnssMain(args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestGnssDecodeFile(t *testing.T) {
	out, _, err := runGnss(t, "decode", "-date-floor", "1980-01-06", "../../gnss/testdata/gpsd/tcp-test.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := `{"class":"TPV","time":"2007-12-23T19:32:21.000Z","mode":3,"lat":20.628798667,"lon":-87.068079667,"alt":-30.4000,"speed":0.051,"track":201.8000,"valid":true,"quality":1,"sats":4,"hdop":1.70,"pdop":3.40,"vdop":3.00,"talkers":"GP"}`
	if len(lines) != 1 || lines[0] != want { // its ZDA-only epoch gives no fix
		t.Fatalf("got\n%s\nwant first line\n%s", out, want)
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil || v["class"] != "TPV" {
			t.Errorf("not a TPV object: %s (%v)", l, err)
		}
	}
}

func TestGnssDecodeStdinStats(t *testing.T) {
	data, err := os.ReadFile("../../gnss/testdata/gpsd/beidou-bd.log")
	if err != nil {
		t.Fatal(err)
	}
	old := gnssStdin
	t.Cleanup(func() { gnssStdin = old })
	gnssStdin = bytes.NewReader(data)
	out, _, err := runGnss(t, "decode", "-stats", "-")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var st struct {
		Class     string            `json:"class"`
		Bytes     int               `json:"bytes"`
		Fixes     int               `json:"fixes"`
		Sentences int               `json:"sentences"`
		Rejected  map[string]uint64 `json:"rejected"`
		Types     map[string]uint64 `json:"types"`
		Talkers   map[string]uint64 `json:"talkers"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &st); err != nil {
		t.Fatal(err)
	}
	if st.Class != "STATS" || st.Bytes != len(data) || st.Fixes != len(lines)-1 || st.Sentences == 0 {
		t.Errorf("stats %+v for %d fix lines", st, len(lines)-1)
	}
	for _, k := range []string{`"caution":0`, `"unsafe":0`, `"posConflicts":0`} {
		if !strings.Contains(lines[len(lines)-1], k) {
			t.Errorf("STATS has no %s", k)
		}
	}
	if _, ok := st.Rejected["checksum"]; !ok || st.Talkers["GB"] == 0 || st.Types["GSV"] == 0 {
		t.Errorf("counters missing: %+v", st)
	}
}

func TestGnssDecodeValidity(t *testing.T) {
	old := gnssStdin
	t.Cleanup(func() { gnssStdin = old })
	const (
		rmc = "$GNRMC,223745.00,%s,3806.62964,N,12237.61382,W,0.040,,110720,,,D,%s"
		gga = "$GNGGA,223745.00,3806.62964,N,12237.61382,W,%s,12,0.54,83.1,M,-29.5,M,,0000"
		pos = `"lat":38.110494000,"lon":-122.626897000,"alt":83.1000,"speed":0.021`
		all = `,"sats":12,"hdop":0.54,"talkers":"GN"}`
	)
	for _, tt := range []struct {
		name, status, nav, quality, want string
	}{
		{"4.10 nav status V is not given", "A", "V", "2",
			`{"class":"TPV","time":"2020-07-11T22:37:45.000Z","mode":3,` + pos + `,"valid":true,"quality":2` + all},
		{"caution is valid and flagged", "A", "C", "2",
			`{"class":"TPV","time":"2020-07-11T22:37:45.000Z","mode":3,` + pos + `,"valid":true,"nav":"caution","quality":2` + all},
		{"unsafe: mode 1, no position", "A", "U", "2",
			`{"class":"TPV","time":"2020-07-11T22:37:45.000Z","mode":1,"speed":0.021,"valid":false,"nav":"unsafe","quality":2` + all},
		{"RMC V: mode 1, no position", "V", "V", "2",
			`{"class":"TPV","time":"2020-07-11T22:37:45.000Z","mode":1,"speed":0.021,"valid":false,"quality":2` + all},
		{"GGA quality 0: mode 1, no position", "A", "V", "0",
			`{"class":"TPV","time":"2020-07-11T22:37:45.000Z","mode":1,"speed":0.021,"valid":false,"quality":0` + all},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gnssStdin = strings.NewReader(nmeaLine(fmt.Sprintf(rmc, tt.status, tt.nav)) + nmeaLine(fmt.Sprintf(gga, tt.quality)))
			out, _, err := runGnss(t, "decode", "-date-floor", "1980-01-06", "-")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(out, "\n"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// nmeaLine adds the checksum and CR LF to a sentence written without them.
func nmeaLine(s string) string {
	var sum byte
	for i := 1; i < len(s); i++ {
		sum ^= s[i]
	}
	return fmt.Sprintf("%s*%02X\r\n", s, sum)
}

func TestGnssDecodeNoChecksum(t *testing.T) {
	old := gnssStdin
	t.Cleanup(func() { gnssStdin = old })
	in := "$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,\r\n"
	for _, tt := range []struct {
		flag  []string
		fixes int
	}{{nil, 0}, {[]string{"-nochecksum-ok"}, 1}} {
		gnssStdin = strings.NewReader(in)
		out, _, err := runGnss(t, append(append([]string{"decode"}, tt.flag...), "-")...)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out, "\n"); n != tt.fixes {
			t.Errorf("%v: %d fixes, want %d", tt.flag, n, tt.fixes)
		}
	}
}

func TestGnssDecodeErrors(t *testing.T) {
	_, _, err := runGnss(t, "decode", "testdata/does-not-exist.log")
	if !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "does-not-exist.log") {
		t.Errorf("missing file: %v", err)
	}
	var errb bytes.Buffer
	if code := Main([]string{"gnss", "decode", "/nonexistent/gps.log"}, &bytes.Buffer{}, &errb); code != 1 ||
		strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q: want 1 and one line", code, errb.String())
	}
	for _, args := range [][]string{nil, {"encode"}, {"decode", "a", "b"}} {
		if _, _, err := runGnss(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want errUsage", args, err)
		}
	}
	if _, _, err := runGnss(t, "decode", "-bogus"); err == nil {
		t.Error("unknown flag accepted")
	}
	if _, _, err := runGnss(t, "decode", "-date-floor", "2024/01/01", "x"); err == nil {
		t.Error("bad date floor accepted")
	}
}
