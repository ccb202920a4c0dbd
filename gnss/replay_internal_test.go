package gnss

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReplayTimeOfDay(t *testing.T) {
	tests := []struct {
		line string
		want time.Duration // -1: no time
	}{
		{"$GPRMC,074150.799,V,,,,,,,250215,,,N*52", 7*time.Hour + 41*time.Minute + 50799*time.Millisecond},
		{"$GNGGA,000000,,,,,0,00,,,M,0.0,M,,0000,*64", 0},
		{"$GNGNS,235959.999999999,,,,,NNNN,00,,,0.0,,0000*63", 24*time.Hour - time.Nanosecond},
		{"$GPZDA,120000.5,25,11,2026,00,00*4C", 12*time.Hour + 500*time.Millisecond},
		{"$GPGLL,3954.25,N,11624.44,E,010203.04,A,A*7E", time.Hour + 2*time.Minute + 3040*time.Millisecond},
		{"junk\x00\x1b[0m$GPGGA,235960.00,", 23*time.Hour + 59*time.Minute + 60*time.Second}, // leap second
		{"$GPGGA,240000.00,", -1},
		{"$GPGGA,126000.00,", -1},
		{"$GPGGA,12000,", -1},
		{"$GPGGA,,", -1},
		{"$GPGSV,3,1,12,01,40,083,46*7A", -1},
		{"$GPGLL,3954.25,N,11624.44,E", -1},
		{"$PSRFEPE,074150.799,V,,,,,*23", -1},
		{"!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5C", -1},
		{"$GPRMC", -1},
		{"", -1},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok := replayTimeOfDay([]byte(tt.line))
			if !ok {
				got = -1
			}
			if got != tt.want {
				t.Errorf("replayTimeOfDay(%q) = %v, %v; want %v", tt.line, got, ok, tt.want)
			}
		})
	}
}

func TestReplayTimeOfDayZeroAllocs(t *testing.T) {
	line := []byte("$GPGLL,3954.25,N,11624.44,E,010203.04,A,A*7E")
	if a := testing.AllocsPerRun(100, func() { replayTimeOfDay(line) }); a != 0 {
		t.Errorf("replayTimeOfDay allocates %v times, want 0", a)
	}
}

func FuzzReplayTimeOfDay(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "gpsd", "*.log"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		// One line per sentence address per capture: every layout, without thousands of
		// near-identical seeds.
		seen := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := sc.Bytes()
			key := string(line[:min(len(line), 6)])
			if !seen[key] {
				seen[key] = true
				f.Add(bytes.Clone(line))
			}
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		d, ok := replayTimeOfDay(line)
		if ok && (d < 0 || d >= 24*time.Hour+time.Second) {
			t.Errorf("replayTimeOfDay(%q) = %v, outside a day", line, d)
		}
	})
}
