package daemon_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sigkillSeed replays TestRunSIGKILL's kill moments; zero: GEOGATE_SIGKILL_SEED, or a new seed.
var sigkillSeed = flag.Uint64("sigkill.seed", 0, "seed of TestRunSIGKILL's random kill moments (0: $GEOGATE_SIGKILL_SEED or a new one, logged)")

// TestRunSIGKILL is issue 6's crash proof. The daemon is SIGKILLed at a random moment 0.3 to
// 2 s after READY=1, five times, each time restarted on the same data dir (which recovers
// the log); the highest durable seq its STATUS= lines announced before each kill is
// remembered. The kill moments come from a seed that is logged and can be given back
// (-sigkill.seed or GEOGATE_SIGKILL_SEED) to replay a failure. A last run then appends and
// stops cleanly. Afterwards "geogate store verify" passes, every record decodes, seqs run 1,
// 2, 3, ... without a gap, so every record acknowledged before any kill is there and
// authentic, and the last run's records continue the sequence.
func TestRunSIGKILL(t *testing.T) {
	heavy(t)
	needPTY(t)
	seed := uint64(time.Now().UnixNano())
	if *sigkillSeed != 0 {
		seed = *sigkillSeed
	} else if v := os.Getenv("GEOGATE_SIGKILL_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("GEOGATE_SIGKILL_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("random kill moments from seed %d (replay: go test -run TestRunSIGKILL ./daemon -sigkill.seed %[1]d, or GEOGATE_SIGKILL_SEED=%[1]d)", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>32))

	dir := t.TempDir()
	key := newKey(t, dir)
	data := filepath.Join(dir, "data")
	cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: key, GNSS: simGNSS(10), Camera: smallCamera, Tier: "licensed"})

	const rounds = 5
	acked := make([]int64, 0, rounds) // highest durable seq announced before each kill
	high := int64(0)
	for round := 1; round <= rounds; round++ {
		p := startDaemon(t, fmt.Sprintf("run %d", round), cfg)
		ready := p.waitReady()
		wait := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1700*time.Millisecond)))
		time.Sleep(wait) // the random moment of the kill is what this test is about
		n := p.maxDurable()
		p.kill()
		recovered := strings.Contains(p.stderr(), "storage recovered after an unclean stop")
		t.Logf("run %d: READY=1 after %v, SIGKILL %v later; durable #%d announced before the kill (recovery logged at start: %v)",
			round, ready.Round(time.Millisecond), wait.Round(time.Millisecond), n, recovered)
		acked = append(acked, n)
		high = max(high, n)
	}

	p := startDaemon(t, "last run", cfg)
	p.waitReady()
	last := p.waitStatus(fmt.Sprintf("new records durable beyond #%d", high), func(s status) bool { return s.durable > high+10 })
	took, sum := p.terminate()
	t.Logf("last run: %q; stopped %v after SIGTERM", last.line, took)
	if !strings.Contains(p.stderr(), "storage recovered after an unclean stop") {
		t.Errorf("the run after a SIGKILL did not report the recovery of the log")
	}
	if high <= 0 {
		t.Errorf("no run announced a durable record before its kill; the test proved nothing")
	}

	v := storeVerify(t, data, key)
	t.Logf("store verify: %s", v)
	recs := readLog(t, data, key)
	decodeAll(t, recs)
	total := checkSeqs(t, recs, verifiedPlaceholders(t, v))
	if total < high || total < int64(last.durable) || total != sum.durable {
		t.Errorf("log holds seq 1..%d; want every acknowledged seq (up to #%d before the kills, #%d in the last run) and the last run's summary's #%d",
			total, high, last.durable, sum.durable)
	}
	for i, n := range acked {
		t.Logf("kill %d: all %d records acknowledged before it are present and authentic", i+1, max(n, 0))
	}
	t.Logf("%d records and placeholders in the log after %d kills, seq 1..%d without a gap, all authentic; the last run appended up to #%d", total, rounds, total, sum.durable)
}
