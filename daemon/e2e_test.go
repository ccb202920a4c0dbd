package daemon_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/policy/policytest"
	"github.com/geogate/geogate/record"
)

// TestRunEndToEnd is issue 6's end-to-end proof. The daemon runs the built-in drive past
// Beidaihe (gnss.source "sim" at 100x, so the drive enters and leaves the deny zone within
// seconds) with the synthetic camera, a temp data dir and a key made by "geogate keygen".
// It is followed by its STATUS= lines until it has been in the zone and is storing again
// beyond it, then stopped with SIGTERM. Then: the stop took at most 2 s and printed the
// summary; "geogate store verify" passes; every record decodes and no stored fix or frame
// lies in the zone or its 500 m margin; and no plaintext position, NMEA or JPEG is found in
// the raw bytes of any file in the data dir. The public tier (GCJ-02 on a 50 m grid) and the
// licensed tier (exact WGS-84) run side by side.
func TestRunEndToEnd(t *testing.T) {
	heavy(t)
	needPTY(t)
	geogateBin(t) // build once, before the parallel subtests
	zone, err := policytest.LoadZone("../examples/policy/zones.geojson", "beidaihe")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tier       string
		precisionM float64
		datum      policy.Datum
	}{
		{"public", 50, policy.GCJ02},
		{"licensed", 0, policy.WGS84},
	} {
		t.Run(tc.tier, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			key := newKey(t, dir)
			data := filepath.Join(dir, "data")
			cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: key, GNSS: simGNSS(100), Camera: smallCamera, Tier: tc.tier})

			p := startDaemon(t, "geogate run ("+tc.tier+")", cfg)
			t.Logf("READY=1 %v after start", p.waitReady())
			// The status says nothing of zones: the drive is in the deny zone when, with the
			// policy in force and stored records before, 100 more fixes come and none is stored.
			var since status // the first status with the stored count s has
			in := p.waitStatus("the drive in the Beidaihe deny zone", func(s status) bool {
				if s.policy == 0 || s.kept+s.coarse == 0 || s.kept+s.coarse != since.kept+since.coarse {
					since = s
					return false
				}
				return s.fixes > since.fixes+100
			})
			out := p.waitStatus("the drive beyond the zone, storing again", func(s status) bool {
				return s.coarse+s.kept > in.coarse+in.kept+20 && s.durable > in.durable
			})
			t.Logf("in the zone: %q", in.line)
			t.Logf("past it:     %q", out.line)
			took, sum := p.terminate()
			t.Logf("stopped %v after SIGTERM: %s", took, sum.line)
			// Every dropped fix left a sealed placeholder (no gap in the stream): those the gate
			// dropped in their place, those dropped before it (backlog: the reader's queue was
			// full on a loaded machine) once the loop ran again; frames dropped for the zone
			// left theirs too (checkSeqs below counts every placeholder).
			if sum.fixesDropped == 0 || sum.records == 0 || sum.durable < sum.records+sum.fixesDropped {
				t.Errorf("summary: want dropped fixes, stored records, all of them and a placeholder per dropped fix durable: %s", sum.line)
			}
			if sum.dropReasons["zone-deny"][0] == 0 {
				t.Errorf("summary: no fix dropped as zone-deny on a drive through the zone: %s", sum.line)
			}
			checkNoZoneInClear(t, p)

			v := storeVerify(t, data, key)
			t.Logf("store verify: %s", v)
			if want := fmt.Sprintf("%d records authenticated, 0 problems", sum.records); !bytes.Contains([]byte(v), []byte(want)) {
				t.Errorf("store verify says %q, want %q", v, want)
			}
			recs := readLog(t, data, key)
			if int64(len(recs)) != sum.records {
				t.Errorf("read %d records back, the summary says %d were stored", len(recs), sum.records)
			}
			if n := checkSeqs(t, recs, verifiedPlaceholders(t, v)); n != sum.durable {
				t.Errorf("records and placeholders number %d, the summary says durable up to #%d", n, sum.durable)
			}
			fixes, frames, images := decodeAll(t, recs)
			// The drive starts when the daemon does, so its records carry the pinned date: the
			// proof that the whole run saw runStart rather than the machine's clock.
			for i, r := range recs {
				if r.at.Before(runStart) || r.at.After(runStart.Add(time.Hour)) {
					t.Fatalf("record %d dated %v: want within the hour after the daemon's start, %v", i, r.at, runStart)
				}
			}
			t.Logf("records dated %v to %v (the daemon's clock started at %v)", recs[0].at.UTC(), recs[len(recs)-1].at.UTC(), runStart)
			c := checkOutside(t, zone, tc.precisionM, tc.datum, fixes, frames)
			for i, img := range images {
				if h := frames[i]; h.Format != camera.MJPEG || h.Width != 320 || h.Height != 240 || !bytes.HasPrefix(img, []byte{0xff, 0xd8}) {
					t.Fatalf("frame %d: %v %dx%d starting % x: want the camera's 320x240 JPEG", i, h.Format, h.Width, h.Height, img[:min(4, len(img))])
				}
			}
			t.Logf("%d fixes and %d frames stored, none within %.0f m of the zone (closest %.0f m); %d fixes stored east of it, %d north of it",
				len(fixes), len(frames), zone.MarginM, c.closest, c.east, c.north)
			if len(fixes) == 0 || len(frames) == 0 || c.north == 0 {
				t.Errorf("want fixes and frames, some stored after the zone")
			}

			scan := newPlaintextScan(fixes, frames, images)
			n, size := scan.dir(t, data)
			t.Logf("no plaintext in %d files (%d bytes): %d float64 and JPEG windows, NMEA, JPEG markers, ASCII coordinates", n, size, len(scan.windows))
		})
	}
}

// zoneWords returns what must never leave the daemon in clear while it runs: the sample
// bundle's zone ids and names (read from its GeoJSON, not from the daemon), and the names
// of the zone verdicts and the word "zone ", which would tell when the car met a zone.
func zoneWords(t *testing.T) (zones, verdicts []string) {
	t.Helper()
	b, err := os.ReadFile("../examples/policy/zones.geojson")
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct{ ID, Name string } `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	if len(fc.Features) == 0 {
		t.Fatal("no zones in the sample bundle: the check would prove nothing")
	}
	zones = []string{"beidaihe"}
	for _, f := range fc.Features {
		zones = append(zones, strings.ToLower(f.Properties.ID), strings.ToLower(f.Properties.Name))
	}
	return zones, []string{"zone-deny", "zone-coarsen", "zone-allow", "default-deny", "zone "}
}

// checkNoZoneInClear asserts that neither the log (stderr, which journald records with a
// timestamp per line) nor any STATUS= line names a zone or a zone verdict. The summary,
// printed once at exit, may count drops by reason since start ("zone-deny 566/170") but
// names no zone either.
func checkNoZoneInClear(t *testing.T, p *daemonProc) {
	t.Helper()
	zones, verdicts := zoneWords(t)
	p.notify.mu.Lock()
	statuses := append([]string(nil), p.notify.statuses...)
	p.notify.mu.Unlock()
	if len(statuses) < 5 {
		t.Fatalf("only %d STATUS= lines: the check would prove little", len(statuses))
	}
	check := func(where, text string, words []string) {
		lower := strings.ToLower(text)
		for _, w := range words {
			if i := strings.Index(lower, w); i >= 0 {
				t.Errorf("%s names %q: ...%s...", where, w, text[max(0, i-60):min(len(text), i+len(w)+60)])
			}
		}
	}
	all := append(append([]string(nil), zones...), verdicts...)
	for _, s := range statuses {
		check("STATUS=", s, all)
	}
	check("the log", p.stderr(), all)
	check("the summary", p.stdout(), zones)
	t.Logf("no zone id, name or verdict in %d STATUS= lines and %d log lines", len(statuses), strings.Count(p.stderr(), "\n"))
}

// mPerDeg is the policy's metres per degree of latitude (policy/geom.go), for grid checks.
const mPerDeg = 6371008.8 * math.Pi / 180

// zoneCheck sums up checkOutside.
type zoneCheck struct {
	closest     float64 // metres from the zone's boundary, over all stored positions
	east, north int     // fixes stored before the zone (east of it) and after it (north)
}

// checkOutside asserts every stored position is outside the zone and its margin. Positions
// are converted back to WGS-84 (exactly: GCJ02ToWGS84 inverts the formula to 1e-12 degree).
// The policy checks the quantized grid point itself against the margin, so no allowance for
// the grid is made: only 1 m for arithmetic. It also checks each record's datum and
// precision against the tier, that a 50 m grid is one, and that exact positions lie on the
// drive's roads.
func checkOutside(t *testing.T, z policytest.Zone, precisionM float64, datum policy.Datum, fixes []record.Fix, frames []record.FrameHeader) zoneCheck {
	t.Helper()
	c := zoneCheck{closest: math.Inf(1)}
	check := func(what string, d policy.Datum, prec float32, lat, lon float64) (float64, float64) {
		if d != datum {
			t.Fatalf("%s: datum %v, want %v (the drive is in China)", what, d, datum)
		}
		if float64(prec) != precisionM { // not the summer belt's 1000 m: runStart is in November
			t.Fatalf("%s: precision %v m, want %v m", what, prec, precisionM)
		}
		if d == policy.GCJ02 {
			lat, lon = policy.GCJ02ToWGS84(lat, lon)
		}
		if prec > 0 {
			dLat := float64(prec) / mPerDeg
			dLon := dLat / math.Cos(lat*math.Pi/180)
			if k := lat / dLat; math.Abs(k-math.Round(k)) > 1e-6 {
				t.Fatalf("%s: latitude %.7f is not on the %v m grid", what, lat, prec)
			}
			if k := lon / dLon; math.Abs(k-math.Round(k)) > 1e-6 {
				t.Fatalf("%s: longitude %.7f is not on the %v m grid", what, lon, prec)
			}
		} else if math.Abs(lat-39.86) > 1e-4 && math.Abs(lon-119.42) > 1e-4 {
			t.Fatalf("%s: %.6f,%.6f is off the drive's roads (lat 39.86, lon 119.42)", what, lat, lon)
		}
		if lat < 39.85 || lat > 39.96 || lon < 119.41 || lon > 119.59 {
			t.Fatalf("%s: %.5f,%.5f is outside the drive's box", what, lat, lon)
		}
		dist := z.DistM(lat, lon)
		if z.Inside(lat, lon) {
			t.Fatalf("%s: %.6f,%.6f (WGS-84) lies inside the deny zone", what, lat, lon)
		}
		if dist < z.MarginM-1 {
			t.Fatalf("%s: %.6f,%.6f (WGS-84) lies %.1f m from the deny zone, inside its %v m margin", what, lat, lon, dist, z.MarginM)
		}
		c.closest = min(c.closest, dist)
		return lat, lon
	}
	for i, f := range fixes {
		lat, lon := check(fmt.Sprintf("fix %d", i), f.Datum, f.PrecisionM, f.Lat, f.Lon)
		switch {
		case lat > 39.91:
			c.north++
		case lon > 119.53:
			c.east++
		}
	}
	for i, h := range frames {
		check(fmt.Sprintf("frame %d", i), h.Datum, h.PrecisionM, h.Lat, h.Lon)
	}
	return c
}

// plaintextScan searches raw bytes for anything readable about the drive.
type plaintextScan struct {
	literals [][]byte
	ascii    *regexp.Regexp
	windows  map[uint64]string // 8 little-endian bytes -> what they are
}

// asciiCoords matches a latitude or longitude of the drive written out: decimal degrees
// ("39.8600", "119.420") or NMEA's ddmm.mmmm ("3951.600", "11925.200"). Three decimals keep
// a random match in ciphertext below 1e-11 per byte; plaintext positions always have more.
var asciiCoords = regexp.MustCompile(`(39|119)\.[0-9]{3}|(39|119)[0-5][0-9]\.[0-9]{3}|\$G[A-Z]{4},`)

// newPlaintextScan prepares the search: NMEA sentences ("$GPRMC," and the like), JPEG
// (SOI followed by a real marker segment, "JFIF\0", "Exif\0\0"), ASCII coordinates, the
// float64 encodings of every stored latitude and longitude (as stored and in WGS-84), and
// 8-byte windows of every stored image (its first bytes and one per 4 KiB).
func newPlaintextScan(fixes []record.Fix, frames []record.FrameHeader, images [][]byte) *plaintextScan {
	s := &plaintextScan{
		literals: [][]byte{[]byte("JFIF\x00"), []byte("Exif\x00\x00")},
		ascii:    asciiCoords,
		windows:  map[uint64]string{},
	}
	addPos := func(what string, d policy.Datum, lat, lon float64) {
		s.windows[math.Float64bits(lat)] = what + " latitude " + strconv.FormatFloat(lat, 'f', -1, 64)
		s.windows[math.Float64bits(lon)] = what + " longitude " + strconv.FormatFloat(lon, 'f', -1, 64)
		if d == policy.GCJ02 {
			wlat, wlon := policy.GCJ02ToWGS84(lat, lon)
			s.windows[math.Float64bits(wlat)] = what + " WGS-84 latitude"
			s.windows[math.Float64bits(wlon)] = what + " WGS-84 longitude"
		}
	}
	for _, f := range fixes {
		addPos("fix", f.Datum, f.Lat, f.Lon)
	}
	for _, h := range frames {
		addPos("frame", h.Datum, h.Lat, h.Lon)
	}
	for i, img := range images {
		for off := 0; off+8 <= len(img); off += 4096 {
			w := img[off : off+8]
			if distinctBytes(w) >= 5 || off == 0 {
				s.windows[binary.LittleEndian.Uint64(w)] = fmt.Sprintf("frame %d image bytes at %d", i, off)
			}
		}
	}
	return s
}

func distinctBytes(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c], n = true, n+1
		}
	}
	return n
}

// find returns what plaintext b holds and where, or "" if none.
func (s *plaintextScan) find(b []byte) (string, int) {
	for _, l := range s.literals {
		if i := bytes.Index(b, l); i >= 0 {
			return fmt.Sprintf("%q", l), i
		}
	}
	if i := jpegStart(b); i >= 0 {
		return "a JPEG start (SOI and a marker segment)", i
	}
	if loc := s.ascii.FindIndex(b); loc != nil {
		return fmt.Sprintf("%q", b[loc[0]:loc[1]]), loc[0]
	}
	for i := 0; i+8 <= len(b); i++ {
		if what, ok := s.windows[binary.LittleEndian.Uint64(b[i:])]; ok {
			return what, i
		}
	}
	return "", -1
}

// jpegStart returns the offset of a JPEG start of image followed by the marker segment a
// real JPEG begins with (APP0, APP1, DQT, DHT or COM, with a length under 1 KiB), or -1.
// SOI alone ("\xff\xd8\xff") is three bytes, which ciphertext holds by chance once per
// 16 MiB; with the segment a chance match is rarer than once per 50 TB.
func jpegStart(b []byte) int {
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte{0xff, 0xd8, 0xff})
		if i < 0 {
			return -1
		}
		i += off
		if i+6 <= len(b) {
			m, n := b[i+3], int(b[i+4])<<8|int(b[i+5])
			if (m == 0xe0 || m == 0xe1 || m == 0xdb || m == 0xc4 || m == 0xfe) && n >= 2 && n < 1024 {
				return i
			}
		}
		off = i + 1
	}
}

// dir scans every regular file under root and fails the test on any find. It returns the
// number of files and bytes scanned.
func (s *plaintextScan) dir(t *testing.T, root string) (files int, size int64) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		size += int64(len(b))
		if what, at := s.find(b); at >= 0 {
			t.Errorf("%s: plaintext at offset %d: %s", path, at, what)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("%s: no files to scan", root)
	}
	return files, size
}

// TestPlaintextScanFinds shows the scan is not blind: it finds each kind of plaintext it
// looks for, and nothing in random bytes the size of a run's log.
func TestPlaintextScanFinds(t *testing.T) {
	img := append([]byte{0xff, 0xd8, 0xff, 0xdb, 0x00, 0x84}, bytes.Repeat([]byte("0123456789abcdef"), 600)...)
	fixes := []record.Fix{{Datum: policy.GCJ02, Lat: 39.861234567, Lon: 119.571234567}}
	frames := []record.FrameHeader{{Datum: policy.WGS84, Lat: 39.9312, Lon: 119.4201}}
	s := newPlaintextScan(fixes, frames, [][]byte{img})
	pad := bytes.Repeat([]byte{0}, 100)
	le := func(v float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)) }
	wlat, _ := policy.GCJ02ToWGS84(fixes[0].Lat, fixes[0].Lon)
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"nmea", []byte("$GPRMC,120000.00,A,3951.6000,N,11925.2000,E,58.3,270.0,010124,,,A*6C\r\n")},
		{"nmea talker GN", []byte("$GNGGA,120000.00,")},
		{"decimal degrees", []byte("lat=39.8612")},
		{"ddmm", []byte("11934.274")},
		{"jpeg soi", img[:6]},
		{"jfif", []byte("\xff\xe0\x00\x10JFIF\x00\x01")},
		{"stored latitude", le(fixes[0].Lat)},
		{"stored longitude as WGS-84", le(wlat)},
		{"frame position", le(frames[0].Lon)},
		{"image bytes", img[4096 : 4096+8]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := append(append(append([]byte(nil), pad...), tt.b...), pad...)
			if what, at := s.find(b); at < 0 {
				t.Errorf("not found in % x", tt.b)
			} else {
				t.Logf("found %s at %d", what, at)
			}
		})
	}
	// A deterministic pseudo-random stand-in for ciphertext finds nothing.
	noise := make([]byte, 4<<20)
	x := uint64(0x9e3779b97f4a7c15)
	for i := 0; i+8 <= len(noise); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(noise[i:], x)
	}
	if what, at := s.find(noise); at >= 0 {
		t.Errorf("4 MiB of noise: found %s at %d", what, at)
	}
}
