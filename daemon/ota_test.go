package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/daemon"
	"github.com/geogate/geogate/update"
)

// otaUnit is a daemon configured as a unit that takes signed policy updates: a signing key
// made with geogate policy signkey, trusted in policy.trusted_keys, the sample bundle signed
// with it as the factory bundle, a control socket and the default incoming directory.
type otaUnit struct {
	t                      *testing.T
	dir, key, cfg, sock    string
	data, incoming, states string
	factory                string // policy.dir: the sample bundle v1, signed
}

func newOTAUnit(t *testing.T) *otaUnit {
	t.Helper()
	u := &otaUnit{t: t, dir: t.TempDir()}
	u.key = filepath.Join(u.dir, "sign")
	u.geogate(0, "policy", "signkey", "-o", u.key)
	u.data = filepath.Join(u.dir, "data")
	u.incoming = filepath.Join(u.data, "incoming")   // update.incoming's default
	u.states = filepath.Join(u.data, "policy-state") // update.state_dir's default
	u.sock = filepath.Join(u.dir, "control.sock")
	u.factory = u.bundle(1)
	u.cfg = writeConfig(t, u.dir, runConfig{DataDir: u.data, KeyFile: newKey(t, u.dir),
		GNSS:      fmt.Sprintf("source = \"serial\"\ndevice = %q\n", filepath.Join(u.dir, "ttyNONE")),
		PolicyDir: u.factory, TrustedKeys: []string{u.key + ".pub"}, Control: fmt.Sprintf("socket = %q\n", u.sock)})
	return u
}

// start starts the daemon on the unit (name is its label in the test's output) and waits
// until it is ready, with the signed factory bundle v1 in force and health ok.
func (u *otaUnit) start(name string) *daemonProc {
	u.t.Helper()
	p := startDaemon(u.t, name, u.cfg)
	p.waitReady()
	p.waitStatus("the signed factory bundle v1 in force", func(s status) bool { return s.policy == 1 && s.health == "ok" })
	return p
}

// geogate runs the geogate binary with args and fails the test unless it exits with code.
func (u *otaUnit) geogate(code int, args ...string) (stdout, stderr string) {
	u.t.Helper()
	cmd := exec.Command(geogateBin(u.t), args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if got := cmd.ProcessState.ExitCode(); got != code {
		u.t.Fatalf("geogate %s: exit %d (%v), want %d\n%s%s", strings.Join(args, " "), got, err, code, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// bundle writes the sample bundle at version v, signed with the unit's key, into a new
// directory outside the incoming one and returns it.
func (u *otaUnit) bundle(v int) string {
	u.t.Helper()
	b := filepath.Join(u.t.TempDir(), fmt.Sprintf("policy-v%d", v))
	if err := os.CopyFS(b, os.DirFS("../examples/policy")); err != nil {
		u.t.Fatal(err)
	}
	toml := filepath.Join(b, "policy.toml")
	orig, err := os.ReadFile(toml)
	if err != nil {
		u.t.Fatal(err)
	}
	set := regexp.MustCompile(`(?m)^version = \d+$`).ReplaceAll(orig, fmt.Appendf(nil, "version = %d", v))
	if string(set) == string(orig) && v != 1 {
		u.t.Fatal("the sample bundle's policy.toml has no version line to set")
	}
	if err := os.WriteFile(toml, set, 0o644); err != nil {
		u.t.Fatal(err)
	}
	u.geogate(0, "policy", "sign", "-key", u.key+".key", b)
	return b
}

// drop puts bundle into the incoming directory as docs/OTA.md says an OTA client must: a copy
// under a hidden name on the same file system, then a rename to NAME.bundle.
func (u *otaUnit) drop(bundle, name string) {
	u.t.Helper()
	tmp := filepath.Join(u.incoming, "."+name+".tmp")
	if err := os.CopyFS(tmp, os.DirFS(bundle)); err != nil {
		u.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(u.incoming, name)); err != nil {
		u.t.Fatal(err)
	}
}

// status reads the running daemon's state as JSON over the control socket.
func (u *otaUnit) status() daemon.Status {
	u.t.Helper()
	return askStatus(u.t, u.sock)
}

// sameTree fails the test unless the directories a and b hold the same files.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	ents, err := os.ReadDir(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		x, errA := os.ReadFile(filepath.Join(a, e.Name()))
		y, errB := os.ReadFile(filepath.Join(b, e.Name()))
		if errA != nil || errB != nil || string(x) != string(y) {
			t.Errorf("%s differs from %s (%v, %v)", filepath.Join(a, e.Name()), filepath.Join(b, e.Name()), errA, errB)
		}
	}
	if got, _ := os.ReadDir(a); len(got) != len(ents) {
		t.Errorf("%s holds %d entries, %s %d", a, len(got), b, len(ents))
	}
}

// TestRunPolicyUpdate updates the policy of a running daemon both ways docs/OTA.md gives:
// geogate policy install over the control socket, and a bundle renamed into the incoming
// directory (inotify). A higher version goes into force (the status says so), a lower one is
// refused with both versions and the running policy stays; a bundle installed by hand is
// left where it was, an incoming one is removed once installed or moved to rejected/ beside
// its reason. After a restart the installed version is in force, the factory one refused.
func TestRunPolicyUpdate(t *testing.T) {
	heavy(t)
	u := newOTAUnit(t)
	v3, v2 := u.bundle(3), u.bundle(2)
	v3copy := filepath.Join(t.TempDir(), "v3")
	if err := os.CopyFS(v3copy, os.DirFS(v3)); err != nil {
		t.Fatal(err)
	}

	p := u.start("geogate run (policy update)")
	waitLog(t, p, "watching for policy bundles")

	// By hand, through the running daemon.
	out, _ := u.geogate(0, "policy", "install", "-config", u.cfg, v3)
	if !strings.Contains(out, "installed in the running daemon: geogate-sample v3") || !strings.Contains(out, "floor 3") {
		t.Errorf("geogate policy install v3: %q", out)
	}
	p.waitStatus("v3 in force after geogate policy install", func(s status) bool { return s.policy == 3 })
	if st := u.status(); st.PolicyVersion != 3 || st.PolicyUnsigned || !st.Healthy {
		t.Errorf("status after installing v3: policy v%d, unsigned %v, healthy %v: %s", st.PolicyVersion, st.PolicyUnsigned, st.Healthy, st.Line)
	}
	if out, _ := u.geogate(0, "health", "-socket", u.sock); !strings.HasPrefix(out, "healthy: policy v3") {
		t.Errorf("geogate health with v3 installed: %q", out)
	}
	sameTree(t, v3, v3copy) // the directory given by hand is only read
	_, errOut := u.geogate(1, "policy", "install", "-config", u.cfg, v2)
	if !strings.Contains(errOut, "version 2 < floor 3") {
		t.Errorf("geogate policy install v2 after v3: %q", errOut)
	}
	waitLog(t, p, "policy install rejected")
	if st := u.status(); st.PolicyVersion != 3 {
		t.Errorf("status after the refused v2: policy v%d, want v3 still", st.PolicyVersion)
	}
	// The same bundle again (an OTA client delivering twice) changes nothing and succeeds.
	if out, _ := u.geogate(0, "policy", "install", "-config", u.cfg, v3); !strings.Contains(out, "v3") {
		t.Errorf("geogate policy install v3 again: %q", out)
	}

	// Through the incoming directory.
	u.drop(u.bundle(5), "policy-v5.bundle")
	p.waitStatus("v5 in force after the drop into incoming", func(s status) bool { return s.policy == 5 })
	waitLog(t, p, "policy bundle installed")
	if _, err := os.Stat(filepath.Join(u.incoming, "policy-v5.bundle")); !os.IsNotExist(err) {
		t.Errorf("the installed bundle is still in the incoming directory: %v", err)
	}
	u.drop(u.bundle(4), "policy-v4.bundle")
	reason := filepath.Join(u.incoming, "rejected", "policy-v4.bundle.reason")
	waitLog(t, p, "policy bundle rejected")
	why, err := os.ReadFile(reason)
	if err != nil || !strings.Contains(string(why), "version 4 < floor 5") {
		t.Errorf("%s: %v: %q", reason, err, why)
	}
	sameTree(t, filepath.Join(u.incoming, "rejected", "policy-v4.bundle"), u.bundle(4))
	if _, err := os.Stat(filepath.Join(u.incoming, "policy-v4.bundle")); !os.IsNotExist(err) {
		t.Errorf("the refused bundle is still in the incoming directory: %v", err)
	}
	// A bundle changed after signing is refused for its content, not its version.
	v6 := u.bundle(6)
	if err := os.WriteFile(filepath.Join(v6, "zones.geojson"), []byte(`{"type":"FeatureCollection","features":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	u.drop(v6, "tampered.bundle")
	reason = filepath.Join(u.incoming, "rejected", "tampered.bundle.reason")
	p.waitStatus("the tampered bundle's reason", func(status) bool { _, err := os.Stat(reason); return err == nil })
	why, _ = os.ReadFile(reason)
	if !strings.Contains(string(why), "zones.geojson") {
		t.Errorf("tampered bundle: reason %q does not name the changed file", why)
	}
	if st := u.status(); st.PolicyVersion != 5 || !st.Healthy {
		t.Errorf("status after the refused bundles: policy v%d, healthy %v: %s", st.PolicyVersion, st.Healthy, st.Line)
	}
	p.terminate()

	// A restart: the installed v5 is in force; the factory v1 is below the floor.
	p = startDaemon(t, "geogate run (policy update, restarted)", u.cfg)
	p.waitReady()
	p.waitStatus("v5 in force after the restart", func(s status) bool { return s.policy == 5 })
	var state update.State
	b, err := os.ReadFile(filepath.Join(u.states, "state.json"))
	if err != nil || json.Unmarshal(b, &state) != nil || state.Floor != 5 {
		t.Errorf("state.json after the restart: %v: %s", err, b)
	}
	p.terminate()
}

// TestRunHealthNoPolicy: a daemon without a policy (its factory bundle signed by a
// key it does not trust) is not healthy for an updater: geogate health exits 1 naming the
// policy, so geogate mark-good never marks such an image good.
func TestRunHealthNoPolicy(t *testing.T) {
	u := newOTAUnit(t)
	other := filepath.Join(u.dir, "other")
	u.geogate(0, "policy", "signkey", "-o", other)
	u.geogate(0, "policy", "sign", "-key", other+".key", u.factory)
	p := startDaemon(t, "geogate run (no policy)", u.cfg)
	p.waitReady()
	waitLog(t, p, "policy")
	p.waitStatus("NO POLICY", func(s status) bool { return s.noPolicy })
	if _, errOut := u.geogate(1, "health", "-socket", u.sock); !strings.Contains(errOut, "unhealthy: policy: none in force") {
		t.Errorf("geogate health without a policy: %q", errOut)
	}
}

// TestRunHealthGNSSDown: a receiver device that is there but fails (here a regular file, no
// terminal) makes geogate health fail, though the watchdog's checks pass: an image that
// broke the receiver is not marked good. An absent device is a documented reason instead
// (TestRunPolicyUpdate runs with none and is healthy).
func TestRunHealthGNSSDown(t *testing.T) {
	u := newOTAUnit(t)
	notATTY := filepath.Join(u.dir, "ttyFILE")
	writeFile(t, notATTY, "")
	cfg, err := os.ReadFile(u.cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, u.cfg, strings.Replace(string(cfg), filepath.Join(u.dir, "ttyNONE"), notATTY, 1))
	p := startDaemon(t, "geogate run (gnss down)", u.cfg)
	p.waitReady()
	p.waitStatus("gnss down, policy v1, watchdog health ok", func(s status) bool {
		return s.gnss == "down" && s.policy == 1 && s.health == "ok"
	})
	if _, errOut := u.geogate(1, "health", "-socket", u.sock); !strings.Contains(errOut, "gnss: the receiver is there but failing") {
		t.Errorf("geogate health with the receiver down: %q", errOut)
	}
}

// TestRunDevPolicyUpdate follows README.md's live policy update under "make run" (geogate run
// -dev): a copy of the development bundle at version 2, signed with the development key and
// renamed into the incoming directory, goes into force; version 1 dropped the same way is
// refused into rejected/ with both versions in its reason; v3 installed by hand with geogate
// policy install -socket goes into force. -dev's status line comes every
// few seconds, so the test asks the control socket instead, as "geogate status" does.
func TestRunDevPolicyUpdate(t *testing.T) {
	needPTY(t)
	heavy(t)
	dir := filepath.Join(t.TempDir(), "var")
	p := startDaemonArgs(t, "geogate run -dev", filepath.Join(dir, "control.sock"), "run", "-dev", "-data", dir)
	p.waitReady()
	u := &otaUnit{t: t, sock: filepath.Join(dir, "control.sock")}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(statusTimeout); !ok(); time.Sleep(50 * time.Millisecond) {
			select {
			case <-p.done:
				p.exitedEarly(what)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %v\n%s", what, statusTimeout, tail(p.stderr(), 20))
			}
		}
	}
	eventually("incoming directory watched", func() bool { return strings.Contains(p.stderr(), "watching for policy bundles") })
	if st := u.status(); st.PolicyVersion != 1 || st.PolicyUnsigned {
		t.Fatalf("-dev runs policy v%d (unsigned %v), want the signed v1", st.PolicyVersion, st.PolicyUnsigned)
	}
	prepare := func(v string) string {
		t.Helper()
		b := filepath.Join(dir, "p"+v)
		if err := os.CopyFS(b, os.DirFS(filepath.Join(dir, "policy"))); err != nil { // cp -r var/policy var/p2
			t.Fatal(err)
		}
		toml, err := os.ReadFile(filepath.Join(b, "policy.toml")) // sed -i 's/^version = .*/version = 2/'
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(b, "policy.toml"), regexp.MustCompile(`(?m)^version = .*$`).ReplaceAllString(string(toml), "version = "+v))
		u.geogate(0, "policy", "sign", "-key", filepath.Join(dir, "policy-dev.key"), b)
		return b
	}
	drop := func(v string) {
		t.Helper()
		if err := os.Rename(prepare(v), filepath.Join(dir, "incoming", "p"+v+".bundle")); err != nil { // mv var/p2 var/incoming/p2.bundle
			t.Fatal(err)
		}
	}
	drop("2")
	eventually("policy v2 after the drop", func() bool { return u.status().PolicyVersion == 2 })
	drop("1")
	reason := filepath.Join(dir, "incoming", "rejected", "p1.bundle.reason")
	eventually("v1 rejected", func() bool { _, err := os.Stat(reason); return err == nil })
	if why, _ := os.ReadFile(reason); !strings.Contains(string(why), "version 1 < floor 2") {
		t.Errorf("%s: %q", reason, why)
	}
	if st := u.status(); st.PolicyVersion != 2 || !strings.Contains(st.Line, "| policy v2 |") {
		t.Errorf("after the refused v1: policy v%d: %s", st.PolicyVersion, st.Line)
	} else {
		t.Logf("status line: %s", st.Line)
	}
	// By hand, as README.md shows it: geogate policy install -socket var/control.sock DIR.
	v3 := prepare("3")
	if out, _ := u.geogate(0, "policy", "install", "-socket", u.sock, v3); !strings.Contains(out, "installed in the running daemon: geogate-sample v3") {
		t.Errorf("geogate policy install -socket: %q", out)
	}
	if st := u.status(); st.PolicyVersion != 3 {
		t.Errorf("after geogate policy install -socket: policy v%d, want v3", st.PolicyVersion)
	}
	p.terminate()
	if _, errOut := u.geogate(1, "policy", "install", "-socket", u.sock, v3); !strings.Contains(errOut, "daemon not running") {
		t.Errorf("geogate policy install -socket with the daemon stopped: %q", errOut)
	}
}
