package daemon

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/examples"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/policy"
)

var consoleSeqs = flag.Int("console.seqs", 1_000_000, "TestConsoleNoPosition: random command sequences")

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
// of a degree (the public tier's Position prints no finer), or "".
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

// TestConsoleNoPosition drives the car past Beidaihe (the built-in drive, summer, so the
// coarsen belt applies too) and, between its fixes, runs random console command sequences
// against the daemon's handlers: no output holds a coordinate finer than the public tier's
// Position or a zone's id or name. Reload and export are left out (a reload compiles the
// bundle for a quarter second; both print only versions, counts and a file name).
func TestConsoleNoPosition(t *testing.T) {
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
	cfg := config.Default()
	r := &run{cfg: cfg, log: slog.New(slog.DiscardHandler), start: time.Now()}
	r.teeConsoleLog()
	if _, err := r.holder.Reload(examples.SamplePolicy(), nil); err != nil {
		t.Fatal(err)
	}
	r.unsigned.Store(true)
	src := &epochSource{feed: make(chan []byte), ready: make(chan struct{})}
	fixes := make(chan gnss.Fix, 64)
	r.reader = &gate.GNSSReader{Source: src, Decoder: gnss.NewDecoder(gnss.Config{}), Out: fixes, Now: clk}
	r.loop = gate.New(gate.Config{Fixes: fixes, Policy: &r.holder, Tier: "public", Store: &r.store, Now: clk, Log: r.log})
	r.health = board.NewHealth(board.HealthConfig{Logger: r.log})
	r.store.set(nil, board.ErrNoKey)
	go r.reader.Run(t.Context())
	defer close(src.feed)
	<-src.ready
	epochs := splitEpochs(BeidaiheDrive(start))

	pub, priv, _ := ed25519.GenerateKey(nil)
	sh := &console.Shell{Backend: &inProc{r: r, h: r.consoleHandlers()},
		Verifier: &console.Verifier{Keys: []ed25519.PublicKey{pub}, Device: "unit-1"}, Now: clk}
	unlock := func(w *bytes.Buffer) {
		sh.Lock()
		tok, err := console.SignToken(priv, console.Token{Device: "unit-1", Nonce: sh.Nonce(), Scope: console.ScopeOperate, Expires: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		sh.Exec("unlock "+tok, w)
	}
	cmds := []string{"status", "gnss", "gnss", "gnss", "camera", "policy", "storage", "log", "help", "lock", "frob 39.861234", "gnss extra args", "\x1b[A", "check"}
	rng := rand.New(rand.NewPCG(1, 19))
	var out bytes.Buffer
	shown, withheld, e := 0, 0, 0
	began := time.Now()
	for seq := range n {
		// One epoch of the drive per sequence, looping, 100 ms apart.
		src.feed <- epochs[e%len(epochs)]
		<-src.ready
		for len(fixes) > 0 {
			f := <-fixes
			r.loop.HandleFix(&f)
		}
		e++
		now = now.Add(100 * time.Millisecond)
		out.Reset()
		if sh.Scope() == console.ScopeNone || seq%997 == 0 {
			unlock(&out)
		}
		for range 1 + rng.IntN(4) {
			sh.Exec(cmds[rng.IntN(len(cmds))], &out)
		}
		s := out.String()
		if l := leak(s); l != "" {
			t.Fatalf("sequence %d: coordinate %q in the output:\n%s", seq, l, s)
		}
		low := strings.ToLower(s)
		for _, z := range zoneWords {
			if z != "" && strings.Contains(low, z) {
				t.Fatalf("sequence %d: zone %q named in the output:\n%s", seq, z, s)
			}
		}
		shown += strings.Count(s, "public tier)")
		withheld += strings.Count(s, "position: withheld")
	}
	t.Logf("%d sequences over %d drive epochs in %v: positions shown %d, withheld %d", n, e, time.Since(began).Round(time.Millisecond), shown, withheld)
	if shown == 0 || withheld == 0 {
		t.Fatalf("the drive should both show coarse positions and withhold them (in Beidaihe): shown %d, withheld %d", shown, withheld)
	}
}

// TestLeakOracle: the oracle of TestConsoleNoPosition finds what it must.
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
