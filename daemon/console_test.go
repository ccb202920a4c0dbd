package daemon

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/examples"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/policy"
)

var consoleSeqs = flag.Int("console.seqs", 1_000_000, "TestConsoleZoneBlind: random command sequences")

// epochSource hands the decoder one epoch of NMEA per Read, when the test feeds it, and
// says when the decoder asks for more (all callbacks of the previous epoch have run).
type epochSource struct {
	feed  chan []byte
	ready chan struct{}
}

func (s *epochSource) Read(p []byte) (int, error) {
	s.ready <- struct{}{}
	b, ok := <-s.feed
	if !ok {
		return 0, gnss.ErrClosed
	}
	return copy(p, b), nil
}

func (s *epochSource) Close() error { return nil }

// inProc is the console's backend calling the daemon's handlers in process, through JSON as
// over the socket.
type inProc struct {
	r *run
	h map[string]func(json.RawMessage) (any, error)
}

func (b *inProc) Call(cmd string, args, out any) error {
	var v any
	var err error
	switch cmd {
	case "status":
		v = b.r.status()
	default:
		f := b.h[cmd]
		if f == nil {
			return fmt.Errorf("unknown command %q", cmd)
		}
		v, err = f(nil)
	}
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// splitEpochs cuts NMEA into epochs, each starting with an RMC sentence.
func splitEpochs(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b[1:], []byte("$GPRMC"))
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

// leak returns the first coordinate of the Beidaihe area printed finer than a thousandth
// of a degree (the public tier's grid), or "".
func leak(out string) string {
	for i := 0; i < len(out); i++ {
		if out[i] < '0' || out[i] > '9' || (i > 0 && out[i-1] >= '0' && out[i-1] <= '9') {
			continue
		}
		j := i
		for j < len(out) && out[j] >= '0' && out[j] <= '9' {
			j++
		}
		whole := out[i:j]
		if j < len(out) && (out[j] == '.' || out[j] == ',') && (whole == "39" || whole == "40" || whole == "119") {
			k := j + 1
			for k < len(out) && out[k] >= '0' && out[k] <= '9' {
				k++
			}
			if k-j-1 > 3 {
				return out[i:k]
			}
		}
		// NMEA-style ddmm.mmmm of the drive (39 deg 51.6 min ... 119 deg 34.8 min)
		if (strings.HasPrefix(whole, "395") || strings.HasPrefix(whole, "1192") || strings.HasPrefix(whole, "1193")) &&
			(len(whole) == 4 || len(whole) == 5) && j+2 < len(out) && out[j] == '.' && isDigit(out[j+1]) && isDigit(out[j+2]) {
			return out[i : j+3]
		}
		i = j
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// consoleRun is a daemon's parts as the console sees them, with a real storage log, fed one
// epoch of NMEA at a time by the test on its own clock.
type consoleRun struct {
	r     *run
	src   *epochSource
	fixes chan gnss.Fix
	sh    *console.Shell
}

// newConsoleRun starts the GNSS reader of a run whose policy is bundle, with a console shell
// on its handlers that trusts pub.
func newConsoleRun(t *testing.T, bundle fs.FS, clk func() time.Time, pub ed25519.PublicKey, started time.Time) *consoleRun {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = fastDir(t)
	// Small segments under a small quota, so that segments are sealed and erased on the way.
	cfg.Storage.SegmentMB, cfg.Storage.QuotaMB = 1, 4
	r := &run{cfg: cfg, log: slog.New(slog.DiscardHandler), start: started}
	r.teeConsoleLog()
	if _, err := r.holder.Reload(bundle, nil); err != nil {
		t.Fatal(err)
	}
	r.unsigned.Store(true)
	l, err := r.openLog(board.Keys{Current: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r.store.set(l, nil)
	c := &consoleRun{r: r, src: &epochSource{feed: make(chan []byte), ready: make(chan struct{})}, fixes: make(chan gnss.Fix, 64)}
	r.reader = &gate.GNSSReader{Source: c.src, Decoder: gnss.NewDecoder(gnss.Config{}), Out: c.fixes, Now: clk}
	r.loop = gate.New(gate.Config{Fixes: c.fixes, Policy: &r.holder, Tier: "public", Store: &r.store, Now: clk, Log: r.log})
	r.health = board.NewHealth(board.HealthConfig{Logger: r.log})
	go r.reader.Run(t.Context())
	t.Cleanup(func() { close(c.src.feed) })
	<-c.src.ready
	c.sh = &console.Shell{Backend: &inProc{r: r, h: r.consoleHandlers()},
		Verifier: &console.Verifier{Keys: []ed25519.PublicKey{pub}, Device: "unit-1"}, Now: clk}
	return c
}

// feed hands the reader one epoch and runs the loop on the fixes it made.
func (c *consoleRun) feed(epoch []byte) {
	c.src.feed <- epoch
	<-c.src.ready
	for len(c.fixes) > 0 {
		f := <-c.fixes
		c.r.loop.HandleFix(&f)
	}
}

// fastDir is a directory for a storage log that fsyncs often: on tmpfs (/dev/shm) where
// there is one, so the test measures the console, not the disk; t.TempDir otherwise.
func fastDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "geogate-console-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// movedZones is the sample bundle with every zone moved 10 degrees west, far from the drive:
// the same policy, tiers and China outline, so only the zone decisions differ.
func movedZones(t *testing.T) fs.FS {
	t.Helper()
	src := examples.SamplePolicy()
	out := fstest.MapFS{}
	err := fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src, name)
		if name == "zones.geojson" {
			n := bytes.Count(b, []byte("[119."))
			b = bytes.ReplaceAll(b, []byte("[119."), []byte("[109."))
			if n == 0 || bytes.Contains(b, []byte("[119.")) {
				t.Fatalf("zones.geojson: %d longitudes moved, some left", n)
			}
		}
		out[name] = &fstest.MapFile{Data: b, Mode: 0o644}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unstable matches what differs between two shells by chance, not by the car's position:
// nonces (fresh random), rates (per second of the test machine's run time) and the log's
// times of day.
var unstable = regexp.MustCompile(`\b[0-9a-f]{32}\b|[0-9]+\.[0-9]/s|\b[0-9]{2}:[0-9]{2}:[0-9]{2}\b`)

// sameOutput reports whether two outputs differ only in what unstable matches, line by line
// (masking only the lines that differ: the regular expression is slow).
func sameOutput(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		return false
	}
	for i := range la {
		if la[i] != lb[i] && unstable.ReplaceAllString(la[i], "#") != unstable.ReplaceAllString(lb[i], "#") {
			return false
		}
	}
	return true
}

// TestConsoleZoneBlind drives the car past Beidaihe (the built-in drive, summer, so the
// coarsen belt applies too) twice in lockstep: once under the sample policy, once under the
// same policy with its zones moved far away. Between fixes it runs the same random console
// command sequences on both: every output must be the same on both (but for nonces, rates and
// times of day), so nothing the console shows depends on a zone decision, now or earlier;
// and none holds a coordinate of the drive or a zone's id or name. Reload and starting an
// export are left out (a reload compiles the bundle for a quarter second, an export writes a
// file; TestConsoleReloadExport runs both against a daemon); "export" (its status) is in.
func TestConsoleZoneBlind(t *testing.T) {
	n := *consoleSeqs
	if testing.Short() {
		n = 20_000
	}
	spec, err := policy.ReadSpec(examples.SamplePolicy(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The zones' ids, and the words of their names (examples/policy/zones.geojson).
	zoneWords := []string{"beidaihe", "qinhuangdao", "district", "coarse-only", "belt"}
	for _, z := range spec.Zones {
		zoneWords = append(zoneWords, strings.ToLower(z.ID))
	}

	start := time.Date(2030, 7, 1, 4, 0, 0, 0, time.UTC) // noon in Beidaihe, summer
	now := start
	clk := func() time.Time { return now }
	pub, priv, _ := ed25519.GenerateKey(nil)
	started := time.Now() // the same start for both, so that their rates mostly agree
	zoned := newConsoleRun(t, examples.SamplePolicy(), clk, pub, started)
	away := newConsoleRun(t, movedZones(t), clk, pub, started)
	epochs := splitEpochs(BeidaiheDrive(start))

	unlock := func(sh *console.Shell, w *bytes.Buffer) {
		sh.Lock()
		tok, err := console.SignToken(priv, console.Token{Device: "unit-1", Nonce: sh.Nonce(), Scope: console.ScopeOperate, Expires: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		sh.Exec("unlock "+tok, w)
	}
	cmds := []string{"status", "gnss", "gnss", "gnss", "camera", "policy", "storage", "log", "help", "lock", "frob 39.861234", "gnss extra args", "\x1b[A", "check", "export"}
	rng := rand.New(rand.NewPCG(1, 19))
	var outZ, outA bytes.Buffer
	e, same := 0, 0
	began := time.Now()
	for seq := range n {
		// One epoch of the drive per sequence, looping, 100 ms apart.
		zoned.feed(epochs[e%len(epochs)])
		away.feed(epochs[e%len(epochs)])
		e++
		now = now.Add(100 * time.Millisecond)
		outZ.Reset()
		outA.Reset()
		if zoned.sh.Scope() == console.ScopeNone || seq%997 == 0 {
			unlock(zoned.sh, &outZ)
			unlock(away.sh, &outA)
		}
		for range 1 + rng.IntN(4) {
			cmd := cmds[rng.IntN(len(cmds))]
			zoned.sh.Exec(cmd, &outZ)
			away.sh.Exec(cmd, &outA)
		}
		s := outZ.String()
		if s == outA.String() {
			same++
		} else if !sameOutput(s, outA.String()) {
			t.Fatalf("sequence %d: the console's output depends on the zones:\nthrough Beidaihe:\n%s\nzones elsewhere:\n%s", seq, s, outA.String())
		}
		if l := leak(s); l != "" {
			t.Fatalf("sequence %d: coordinate %q in the output:\n%s", seq, l, s)
		}
		low := strings.ToLower(s)
		for _, z := range zoneWords {
			if z != "" && strings.Contains(low, z) {
				t.Fatalf("sequence %d: zone %q named in the output:\n%s", seq, z, s)
			}
		}
	}
	cz, ca := &zoned.r.loop.Counters, &away.r.loop.Counters
	t.Logf("%d sequences (%d with the same output byte for byte) over %d drive epochs in %v; fixes through Beidaihe kept %d, coarsened %d, dropped %d; zones elsewhere kept %d, coarsened %d, dropped %d",
		n, same, e, time.Since(began).Round(time.Millisecond), cz.FixesKept.Load(), cz.FixesCoarsened.Load(), cz.FixesDropped.Load(),
		ca.FixesKept.Load(), ca.FixesCoarsened.Load(), ca.FixesDropped.Load())
	// The two drives must have been decided differently, or the comparison proves nothing.
	if cz.FixesDropped.Load() <= ca.FixesDropped.Load() || cz.FixesCoarsened.Load() == ca.FixesCoarsened.Load() {
		t.Fatal("the drive through Beidaihe was decided like the drive with the zones elsewhere")
	}
}

// TestLeakOracle: the oracle of TestConsoleZoneBlind finds what it must.
func TestLeakOracle(t *testing.T) {
	for _, tt := range []struct{ out, want string }{
		{"position: 39.8612,119.423", "39.8612"},
		{"at 119.42345 E", "119.42345"},
		{"$GPRMC,040000.00,A,3951.600000,N", "3951.60"},
		{"decimal comma 39,86123", "39,86123"},
		{"position: 39.861,119.423 (GCJ-02, public tier)", ""},
		{"119214 bytes, 3950.5/s", ""},
	} {
		if got := leak(tt.out); got != tt.want {
			t.Errorf("leak(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}

// TestSameOutputOracle: the comparison of TestConsoleZoneBlind masks only nonces, rates and
// times of day.
func TestSameOutputOracle(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"nonce 0123456789abcdef0123456789abcdef (valid 15m0s)", "nonce fedcba9876543210fedcba9876543210 (valid 15m0s)", true},
		{"since start: 6 fixes (10.1/s)\r\n", "since start: 6 fixes (9.9/s)\r\n", true},
		{"12:00:01 INFO x", "12:00:02 INFO x", true},
		{"position: withheld", "position: 39.861,119.586", false},
		{"since start: 6 fixes", "since start: 7 fixes", false},
		{"storing: yes\r\n", "storing: yes\r\nextra\r\n", false},
	} {
		if got := sameOutput(tt.a, tt.b); got != tt.same {
			t.Errorf("sameOutput(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

// TestStatusZoneBlind: the status a control-group peer gets keeps what arrived and the parts'
// state, and loses every count and text the zones move (the test fills every field, so a field
// added to Summary later must be placed on one side or the other).
func TestStatusZoneBlind(t *testing.T) {
	full := Status{Summary: Summary{Uptime: time.Hour, Fixes: 1, FixesKept: 2, FixesCoarsened: 3, FixesDropped: 4,
		Frames: 5, FramesKept: 6, FramesCoarsened: 7, FramesDropped: 8, FramesDownscaled: 9,
		Records: 10, Bytes: 11, Durable: 12, Syncs: 13, Reconnects: 14, PolicyVersion: 15,
		DropReasons: "zone-deny 566/170", GNSSRejected: "checksum 3", Camera: "read errors 1"},
		Storing: true, Health: "ok", Healthy: true, Line: "fixes 1 | kept 2 | zone-deny 566"}
	sv := reflect.ValueOf(full.Summary)
	for i := range sv.NumField() {
		if sv.Field(i).IsZero() {
			t.Fatalf("test does not fill Summary.%s", sv.Type().Field(i).Name)
		}
	}
	got := full.zoneBlind()
	want := Status{Summary: Summary{Uptime: time.Hour, Fixes: 1, Frames: 5, Reconnects: 14, PolicyVersion: 15,
		GNSSRejected: "checksum 3", Camera: "read errors 1"},
		Storing: true, Health: "ok", Healthy: true, ZoneBlind: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("zoneBlind:\n got %+v\nwant %+v", got, want)
	}
}
