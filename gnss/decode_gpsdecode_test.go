package gnss

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/geogate/geogate/internal/testtool"
)

// TestGpsdecodeDifferential runs gpsd's decoder as a command (gpsdecode -j, Debian package
// gpsd-clients) on every capture and checks that geogate produces the positions of its TPV
// reports in fixes it calls Valid. It is a second oracle next to the .chk files: a different
// gpsd version, run here. Without gpsdecode it skips, or fails in CI.
func TestGpsdecodeDifferential(t *testing.T) {
	bin := testtool.LookPath(t, "gpsdecode", "gpsd-clients")
	var matched, total int
	for _, path := range corpus(t) {
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-j")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: gpsdecode: %v", name, err)
		}
		theirs := map[posKey]bool{}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var v gpsdTPV
			if json.Unmarshal(sc.Bytes(), &v) != nil || v.Class != "TPV" || v.Lat == nil || v.Lon == nil {
				continue
			}
			theirs[keyOfPos(*v.Lat, *v.Lon)] = true
		}
		// The HP 58534A sends no checksums at all. gpsdecode 3.22 accepts such sentences (gpsd
		// 3.27, which made the .chk files, ignores them); geogate does with NoChecksumOK.
		cfg := Config{DateFloor: oldFloor, NoChecksumOK: name == "hp58534a.log"}
		fixes, _ := decodeAll(t, data, cfg)
		ours := map[posKey]bool{}
		for _, f := range fixes {
			if f.Has&HasPos != 0 && f.Valid {
				ours[keyOfPos(f.Lat, f.Lon)] = true
			}
		}
		m := 0
		for k := range theirs {
			if ours[k] {
				m++
			}
		}
		if len(theirs) > 0 {
			t.Logf("%-40s %4d/%4d = %6.2f%%", name, m, len(theirs), 100*float64(m)/float64(len(theirs)))
		}
		matched += m
		total += len(theirs)
	}
	share := float64(matched) / float64(total)
	t.Logf("TOTAL: %d of gpsdecode's %d distinct positions = %.2f%%", matched, total, 100*share)
	if share < 0.95 {
		t.Errorf("overall share %.2f%% < 95%%", 100*share)
	}
}
