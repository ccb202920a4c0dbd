package cli

import (
	"bytes"
	"encoding/json"
	"errors"
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
	if _, ok := st.Rejected["checksum"]; !ok || st.Talkers["GB"] == 0 || st.Types["GSV"] == 0 {
		t.Errorf("counters missing: %+v", st)
	}
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
