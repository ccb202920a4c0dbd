package daemon_test

// The process-level proofs of issue 21: the daemon with storage.key_provider = "tpm" on a real
// software TPM (swtpm, started by the tests; scripts/deps.sh installs it).

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
	"github.com/geogate/geogate/daemon"
	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/internal/testtool"
)

// tpmRun is one unit's setup: its config (the "tpm" provider on a TPM, a data dir, a control
// socket) and paths.
type tpmRun struct {
	dir, data, cfg, sock string
}

// newTPMRun writes a daemon config for the "tpm" provider on device, its keyring in data
// (the default), with a control socket. storage holds extra [storage] lines.
func newTPMRun(t testing.TB, data, device, storage string) tpmRun {
	t.Helper()
	dir := t.TempDir()
	// sun_path holds 108 bytes; t.TempDir() paths can be longer.
	sockDir, err := os.MkdirTemp("", "gg-tpm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	r := tpmRun{dir: dir, data: data, sock: filepath.Join(sockDir, "control.sock")}
	// The policy state lives apart from data: a copied data dir carries only the log.
	update := fmt.Sprintf("state_dir = %q\n", filepath.Join(dir, "policy-state"))
	cfg := writeConfig(t, dir, runConfig{DataDir: data, GNSS: simGNSS(10), Update: update, Control: fmt.Sprintf("socket = %q\n", r.sock)})
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tpm := fmt.Sprintf("key_provider = \"tpm\"\ntpm_device = %q\n%s", device, storage)
	b = bytes.Replace(b, []byte("key_file = \"\"\n"), []byte(tpm), 1)
	if !bytes.Contains(b, []byte(tpm)) {
		t.Fatal("BUG: writeConfig no longer writes key_file; adapt newTPMRun")
	}
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r.cfg = cfg
	return r
}

// askStatus reads the daemon's status over its control socket (geogate status -json).
func askStatus(t *testing.T, sock string) daemon.Status {
	t.Helper()
	geogateBin(t) // built, for controlStatus
	st, err := controlStatus(sock)
	if err != nil {
		t.Fatalf("geogate status -json: %v", err)
	}
	return st
}

// waitControl waits until the daemon's status over its control socket satisfies ok.
func waitControl(t *testing.T, p *daemonProc, sock, what string, ok func(daemon.Status) bool) daemon.Status {
	t.Helper()
	var st daemon.Status
	p.waitStatus(what, func(status) bool {
		c, err := controlStatus(sock)
		st = c
		return err == nil && ok(c)
	})
	return st
}

func controlStatus(sock string) (daemon.Status, error) {
	var st daemon.Status
	out, err := exec.Command(binPath, "status", "-json", "-socket", sock).Output()
	if err == nil {
		err = json.Unmarshal(out, &st)
	}
	return st, err
}

// storeCmd runs "geogate store SUB -config CFG" and returns its output.
func storeCmd(t *testing.T, sub, cfg string) (string, error) {
	t.Helper()
	out, err := exec.Command(geogateBin(t), "store", sub, "-config", cfg).CombinedOutput()
	return string(out), err
}

// tookRE finds how long the unseal took in the daemon's "device key unsealed" log line.
var tookRE = regexp.MustCompile(`msg="device key unsealed" .* took=(\S+)`)

var verifiedRE = regexp.MustCompile(`(\d+) records authenticated, 0 problems`)

// verifiedRecords runs store verify -config cfg and returns how many records it authenticated.
func verifiedRecords(t *testing.T, cfg string) int64 {
	t.Helper()
	out, err := storeCmd(t, "verify", cfg)
	m := verifiedRE.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("geogate store verify -config: %v\n%s", err, out)
	}
	return atoi(m[1])
}

// segmentSums returns the SHA-256 of every segment file and of the keyring in data.
func segmentSums(t *testing.T, data string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	for _, f := range append(segmentFiles(t, data), filepath.Join(data, "keyring.tpm")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sums[filepath.Base(f)] = sha256.Sum256(b)
	}
	return sums
}

// copyDir copies the regular files of src into dst, as imaging a unit's eMMC would.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// unsealTook reads how long the daemon's unseal took from its "device key unsealed" log line.
func unsealTook(t *testing.T, log string) time.Duration {
	t.Helper()
	m := tookRE.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no \"device key unsealed\" line with took= in the log")
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRunTPM runs the daemon with its device key sealed to a software TPM, as a unit whose
// eMMC is imaged would see it:
//   - seal on TPM A at first start, rotate, restart on A: the log opens, new segments go under
//     the new key and the first run's records still read;
//   - the data dir and keyring copied to a unit with TPM B: nothing decrypts, the daemon runs
//     on, stores nothing, and says why in its status, health and log;
//   - TPM A absent at start: fail closed, unhealthy, and storing again when it returns, without
//     a restart; gone mid-run: the daemon runs on (the key was unsealed) and stops cleanly;
//   - the store commands read the log with -config, through the TPM.
//
// No key byte is in any file of the data dirs or in the daemons' logs.
func TestRunTPM(t *testing.T) {
	needPTY(t)
	heavy(t)
	dir := t.TempDir()
	tpmA := boardtest.StartSWTPM(t, filepath.Join(dir, "tpmA"))
	a := newTPMRun(t, filepath.Join(dir, "unitA"), tpmA.Device(), "")
	var logs []string
	var records int64

	t.Run("seal and restart on A", func(t *testing.T) {
		var catFirst string
		var durable int64
		for i, want := range []string{"device key sealed", "device key unsealed"} {
			p := startDaemon(t, fmt.Sprintf("geogate run (TPM A, start %d)", i+1), a.cfg)
			ready := p.waitReady()
			s := p.waitStatus("fixes stored", func(s status) bool { return s.durable > durable+20 && s.fixes > 20 })
			st := askStatus(t, a.sock)
			if !st.Storing || !st.Healthy || st.Keys.Unsealed != 1 || st.Keys.Failed != 0 || st.Keys.Sealed != uint64(1-i) {
				t.Errorf("start %d: status %+v", i+1, st)
			}
			_, sum := p.terminate()
			log := p.stderr()
			logs = append(logs, log, p.stdout())
			if !strings.Contains(log, want) {
				t.Errorf("start %d: the log does not say %q", i+1, want)
			}
			if i == 1 && (strings.Contains(log, "device key sealed") || !strings.Contains(log, "keys=2")) {
				t.Error("the restart after the rotation did not unseal both keys, or sealed a new one")
			}
			// The unseal runs before READY=1: its time is what the TPM adds to the start.
			t.Logf("start %d: READY=1 after %v, the unseal (swtpm on 127.0.0.1) took %v; %q", i+1, ready, unsealTook(t, log), s.line)
			records, durable = records+sum.records, sum.durable
			if got := verifiedRecords(t, a.cfg); got != records {
				t.Errorf("store verify -config after start %d: %d records, the daemons stored %d", i+1, got, records)
			}
			cat, err := storeCmd(t, "cat", a.cfg)
			if err != nil {
				t.Fatalf("geogate store cat -config: %v\n%s", err, tail(cat, 5))
			}
			if i == 0 {
				catFirst = cat
				// A new key for the next start's segments; the first run's stay under the old.
				if out, err := exec.Command(geogateBin(t), "key", "rotate", "-config", a.cfg).CombinedOutput(); err != nil {
					t.Fatalf("geogate key rotate: %v\n%s", err, out)
				}
			} else if !strings.HasPrefix(cat, catFirst) {
				t.Error("after the rotation and restart, store cat does not begin with the first run's records")
			}
		}
	})

	t.Run("other unit", func(t *testing.T) {
		tpmB := boardtest.StartSWTPM(t, filepath.Join(dir, "tpmB"))
		dataB := filepath.Join(dir, "unitB")
		copyDir(t, a.data, dataB)
		b := newTPMRun(t, dataB, tpmB.Device(), "")
		before := segmentSums(t, dataB)
		if len(before) < 2 {
			t.Fatalf("BUG: no segment copied: %v", before)
		}
		p := startDaemon(t, "geogate run (A's eMMC on TPM B)", b.cfg)
		p.waitReady()
		st := waitControl(t, p, b.sock, "fixes flowing with the policy in force", func(s daemon.Status) bool {
			return s.Fixes >= 50 && s.PolicyVersion > 0 && s.Health != "" && !strings.Contains(s.Health, "not checked")
		})
		t.Logf("on TPM B: %q", st.Line)
		if st.Storing || st.NotStoring != "device key sealed by another TPM" || !strings.Contains(st.Line, "STORING NOTHING (device key sealed by another TPM)") {
			t.Errorf("status does not say why nothing is stored: storing %v, %q, %q", st.Storing, st.NotStoring, st.Line)
		}
		if !st.Healthy || st.Keys.Failed == 0 || st.Keys.Unsealed != 0 || st.Keys.Sealed != 0 {
			t.Errorf("status: healthy %v (%s), keys %+v; want healthy (fail closed by design), failures counted, nothing unsealed or sealed", st.Healthy, st.Health, st.Keys)
		}
		_, sum := p.terminate()
		log := p.stderr()
		logs = append(logs, log, p.stdout())
		for _, want := range []string{"NO DEVICE KEY", "DEVICE KEY unseal FAILED", "sealed by another TPM"} {
			if !strings.Contains(log, want) {
				t.Errorf("the log does not say %q", want)
			}
		}
		if sum.records != 0 || sum.dropReasons["no-store"][0] == 0 {
			t.Errorf("summary: want every fix dropped as no-store: %s", sum.line)
		}
		after := segmentSums(t, dataB)
		if len(after) != len(before) {
			t.Errorf("segments and keyring: %d files before, %d after", len(before), len(after))
		}
		for f, s := range before {
			if after[f] != s {
				t.Errorf("%s changed on TPM B", f)
			}
		}
		out, err := storeCmd(t, "verify", b.cfg)
		if err == nil || !strings.Contains(out, "sealed by another TPM") {
			t.Errorf("geogate store verify -config on TPM B: %v, want the refusal saying why\n%s", err, out)
		}
	})

	t.Run("absent, back, gone", func(t *testing.T) {
		tpmA.Stop()
		p := startDaemon(t, "geogate run (TPM A absent)", a.cfg)
		p.waitReady()
		st := waitControl(t, p, a.sock, "fail closed, unhealthy", func(s daemon.Status) bool {
			return s.Fixes >= 20 && !s.Healthy && s.Keys.Failed >= 2
		})
		t.Logf("TPM absent: %q", st.Line)
		if st.Storing || st.NotStoring != "device key: TPM absent, retrying" || !strings.Contains(st.Health, "device key unavailable, retrying") {
			t.Errorf("status with the TPM absent: storing %v, %q, health %q", st.Storing, st.NotStoring, st.Health)
		}
		if out, err := exec.Command(geogateBin(t), "health", "-socket", a.sock).CombinedOutput(); err == nil {
			t.Errorf("geogate health with the TPM absent: exit 0, want failure\n%s", out)
		} else {
			t.Logf("geogate health: %s", strings.TrimSpace(string(out)))
		}

		tpmA.Start()
		up := waitControl(t, p, a.sock, "storing again and healthy", func(s daemon.Status) bool {
			return s.Storing && s.Healthy && s.Records > 0
		})
		if up.Keys.Unsealed != 1 {
			t.Errorf("keys %+v after the TPM returned, want one unseal", up.Keys)
		}
		waitLog(t, p, "device key unsealed after a failure")
		t.Logf("TPM back, same process: %q", up.Line)

		tpmA.Stop()
		d := p.waitStatus("more stored with the TPM gone", func(s status) bool { return s.durable > 0 }).durable
		p.waitStatus("more stored with the TPM gone", func(s status) bool { return s.durable > d+20 })
		gone := askStatus(t, a.sock)
		if !gone.Storing || !gone.Healthy {
			t.Errorf("the TPM gone mid-run: %+v; want storing on with the unsealed key, healthy", gone)
		}
		_, sum := p.terminate()
		logs = append(logs, p.stderr(), p.stdout())
		if sum.records == 0 || sum.dropReasons["no-store"][0] == 0 {
			t.Errorf("summary: want fixes dropped as no-store while the TPM was absent, stored after: %s", sum.line)
		}
		records += sum.records
		tpmA.Start()
		if got := verifiedRecords(t, a.cfg); got != records {
			t.Errorf("store verify -config: %d records, the daemons stored %d", got, records)
		}
	})

	keys, err := board.NewTPMKeyring(board.TPMConfig{Device: tpmA.Device(), Keyring: filepath.Join(a.data, "keyring.tpm")}).DeviceKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Clear()
	if len(keys.Old) != 1 {
		t.Errorf("keyring: %d old keys, want the one rotated out (its segments remain)", len(keys.Old))
	}
	for _, k := range append(keys.Old, keys.Current) {
		scanForKey(t, k, dir, strings.Join(logs, "\n"))
	}
}

// TestRunTPMPolicy runs the daemon with its key bound to PCR 16 through a signed policy: after
// the PCR changes (a new boot image) it stores nothing and says why, and stores again, without
// a restart, once the newly signed policy is installed in the configured place.
func TestRunTPMPolicy(t *testing.T) {
	needPTY(t)
	heavy(t)
	dir := t.TempDir()
	tpm := boardtest.StartSWTPM(t, filepath.Join(dir, "tpm"))
	priv, pub, err := board.NewPolicyAuthority()
	if err != nil {
		t.Fatal(err)
	}
	authority, policy := filepath.Join(dir, "authority.pub.pem"), filepath.Join(dir, "pcr.policy")
	if err := os.WriteFile(authority, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	const pcr = 16 // the debug PCR: nothing measures into it
	sign := func() {
		t.Helper()
		// As an update installs it: a new file renamed over the old.
		tmp := policy + ".new"
		if err := os.WriteFile(tmp, tpm.SignPolicy(priv, pcr), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, policy); err != nil {
			t.Fatal(err)
		}
	}
	sign()
	u := newTPMRun(t, filepath.Join(dir, "data"), tpm.Device(),
		fmt.Sprintf("tpm_policy_authority = %q\ntpm_policies = [%q]\n", authority, policy))

	p := startDaemon(t, "geogate run (PCR-bound key)", u.cfg)
	p.waitReady()
	p.waitStatus("fixes stored", func(s status) bool { return s.durable > 20 })
	_, sum1 := p.terminate()
	if !strings.Contains(p.stderr(), "pcr_bound=true") {
		t.Error("the key was not sealed PCR-bound")
	}

	tpm.ExtendPCR(pcr, sha256.Sum256([]byte("boot image v2")))
	before := segmentSums(t, u.data)
	p = startDaemon(t, "geogate run (PCR changed)", u.cfg)
	p.waitReady()
	st := waitControl(t, p, u.sock, "fixes flowing, the key refused", func(s daemon.Status) bool {
		return s.Fixes >= 20 && s.Keys.Failed >= 1 && s.Health != "" && !strings.Contains(s.Health, "not checked")
	})
	t.Logf("PCR changed: %q", st.Line)
	if st.Storing || st.NotStoring != "no signed PCR policy unseals the device key" || !st.Healthy {
		t.Errorf("status after the PCR changed: storing %v, %q, healthy %v (%s)", st.Storing, st.NotStoring, st.Healthy, st.Health)
	}
	if out, err := storeCmd(t, "verify", u.cfg); err == nil || !strings.Contains(out, "no signed PCR policy authorizes the key") {
		t.Errorf("geogate store verify -config after the PCR changed: %v, want the refusal\n%s", err, out)
	}
	for f, s := range segmentSums(t, u.data) {
		if before[f] != s {
			t.Errorf("%s written or changed with the key refused", f)
		}
	}

	sign()
	up := waitControl(t, p, u.sock, "storing under the new policy", func(s daemon.Status) bool {
		return s.Storing && s.Healthy && s.Records > 0
	})
	t.Logf("new policy installed, same process: %q", up.Line)
	waitLog(t, p, "device key unsealed after a failure")
	_, sum2 := p.terminate()
	if sum2.records == 0 {
		t.Errorf("nothing stored after the new policy: %s", sum2.line)
	}
	if got, want := verifiedRecords(t, u.cfg), sum1.records+sum2.records; got != want {
		t.Errorf("store verify -config: %d records, the daemons stored %d", got, want)
	}
}

// TestRunTPMFailing puts a TPM that answers garbage in front of the daemon (a TCP endpoint
// that takes the command and hangs up, as a TPM in failure mode or a broken bus would): the
// daemon fails closed and reports unhealthy, then stores once the real TPM answers, without a
// restart.
func TestRunTPMFailing(t *testing.T) {
	needPTY(t)
	heavy(t)
	dir := t.TempDir()
	tpm := boardtest.StartSWTPM(t, filepath.Join(dir, "tpm"))
	px := newTPMProxy(t, strings.TrimPrefix(tpm.Device(), "tcp:"))
	u := newTPMRun(t, filepath.Join(dir, "data"), "tcp:"+px.addr(), "")

	p := startDaemon(t, "geogate run (TPM failing)", u.cfg)
	p.waitReady()
	st := waitControl(t, p, u.sock, "fail closed, unhealthy", func(s daemon.Status) bool {
		return s.Fixes >= 20 && !s.Healthy && s.Keys.Failed >= 2
	})
	t.Logf("TPM failing: %q", st.Line)
	if st.Storing || st.NotStoring != "device key: TPM failing, retrying" {
		t.Errorf("status: storing %v, %q", st.Storing, st.NotStoring)
	}
	px.forward.Store(true)
	up := waitControl(t, p, u.sock, "storing and healthy", func(s daemon.Status) bool {
		return s.Storing && s.Healthy && s.Records > 0
	})
	t.Logf("TPM answering: %q (keys %+v)", up.Line, up.Keys)
	_, sum := p.terminate()
	if got := verifiedRecords(t, u.cfg); got != sum.records || got == 0 {
		t.Errorf("store verify -config: %d records, the daemon stored %d", got, sum.records)
	}
}

// tpmProxy stands between the daemon and swtpm: until forward is set it reads each
// connection's first command and hangs up; then it relays to the TPM.
type tpmProxy struct {
	l       net.Listener
	to      string
	forward atomic.Bool
	wg      sync.WaitGroup
}

func newTPMProxy(t *testing.T, to string) *tpmProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &tpmProxy{l: l, to: to}
	px.wg.Go(px.serve)
	t.Cleanup(func() { l.Close(); px.wg.Wait() })
	return px
}

func (px *tpmProxy) addr() string { return px.l.Addr().String() }

func (px *tpmProxy) serve() {
	for {
		c, err := px.l.Accept()
		if err != nil {
			return
		}
		px.wg.Go(func() {
			defer c.Close()
			if !px.forward.Load() {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				bufio.NewReader(c).Peek(1)
				return
			}
			up, err := net.Dial("tcp", px.to)
			if err != nil {
				return
			}
			defer up.Close()
			go func() { io.Copy(up, c); up.Close() }()
			io.Copy(c, up)
		})
	}
}

// scanForKey fails if key, raw or in hex, is in any file under dir or in the daemons' logs.
func scanForKey(t *testing.T, key []byte, dir, logs string) {
	t.Helper()
	files := boardtest.AssertNoKey(t, key, dir, []byte(logs))
	if files < 10 || len(logs) == 0 {
		t.Fatalf("BUG: scanned only %d files and %d bytes of logs", files, len(logs))
	}
	t.Logf("the device key is in none of %d files and %d bytes of logs", files, len(logs))
}

// BenchmarkStart measures what the "tpm" key provider adds to the daemon's start: the time
// from exec to READY=1 with a key file and with the key sealed to swtpm on 127.0.0.1 (the
// keyring already sealed, as at every start but the first), and the unseal's own time as the
// daemon logs it ("device key unsealed ... took="), which runs before READY=1. Issue 21's goal:
// the unseal adds under 100 ms (against swtpm; a discrete TPM is slower: measure on the unit).
// Each iteration starts the daemon, waits for READY=1, and stops it with SIGTERM.
func BenchmarkStart(b *testing.B) {
	testtool.Need(b, "a pseudo-terminal for the daemon's GNSS simulator", sim.PTYAvailable(), "a Linux /dev/ptmx")
	bin := geogateBin(b)
	for _, provider := range []string{"file", "tpm"} {
		b.Run("key="+provider, func(b *testing.B) {
			dir := b.TempDir()
			data := filepath.Join(dir, "data")
			var cfg string
			if provider == "tpm" {
				tpm := boardtest.StartSWTPM(b, filepath.Join(dir, "tpm"))
				cfg = newTPMRun(b, data, tpm.Device(), "").cfg
				ring := board.NewTPMKeyring(board.TPMConfig{Device: tpm.Device(), Keyring: filepath.Join(data, "keyring.tpm")})
				if err := os.MkdirAll(data, 0o700); err != nil {
					b.Fatal(err)
				}
				if _, err := ring.Provision(); err != nil {
					b.Fatal(err)
				}
			} else {
				cfg = writeConfig(b, dir, runConfig{DataDir: data, KeyFile: newKey(b, dir), GNSS: simGNSS(10)})
			}
			sockDir, err := os.MkdirTemp("", "gg-bench-")
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(sockDir)
			notify := filepath.Join(sockDir, "notify")
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			var ready, unseal time.Duration
			buf := make([]byte, 4096)
			for b.Loop() {
				var stderr bytes.Buffer
				cmd := exec.Command(bin, "run", "-config", cfg)
				cmd.Env = append(cleanEnv(), "NOTIFY_SOCKET="+notify, "TMPDIR="+dir)
				cmd.Stderr = &stderr
				start := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				conn.SetReadDeadline(start.Add(readyTimeout))
				for {
					n, _, err := conn.ReadFromUnix(buf)
					if err != nil {
						cmd.Process.Kill()
						cmd.Wait()
						b.Fatalf("no READY=1: %v\n%s", err, stderr.Bytes())
					}
					if bytes.Contains(buf[:n], []byte("READY=1")) {
						break
					}
				}
				ready += time.Since(start)
				cmd.Process.Signal(syscall.SIGTERM)
				if err := cmd.Wait(); err != nil {
					b.Fatalf("exit: %v\n%s", err, stderr.Bytes())
				}
				if m := tookRE.FindSubmatch(stderr.Bytes()); m != nil {
					d, _ := time.ParseDuration(string(m[1]))
					unseal += d
				}
			}
			b.ReportMetric(float64(ready.Microseconds())/1e3/float64(b.N), "ready-ms")
			b.ReportMetric(float64(unseal.Microseconds())/1e3/float64(b.N), "unseal-ms")
		})
	}
}

// TestRunProductionRefusesKeyFile: with storage.production a plain key file is refused at
// start, loudly, naming the setting; nothing is written to the data dir.
func TestRunProductionRefusesKeyFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: newKey(t, dir), GNSS: simGNSS(10)})
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("[storage]\n"), []byte("[storage]\nproduction = true\n"), 1)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(geogateBin(t), "run", "-config", cfg)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "storage.production: a plain key file is refused in production") {
		t.Fatalf("geogate run in production with a key file: %v, want a refusal naming storage.production\n%s", err, out)
	}
	t.Logf("refused: %s", strings.TrimSpace(tail(string(out), 1)))
	if _, err := os.Stat(data); err == nil {
		t.Error("the refused start created the data dir")
	}
}
