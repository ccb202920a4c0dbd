package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/geogate/geogate/daemon"
)

// TestRunControlAndAudit runs the daemon with a control socket, reads its state with
// geogate status and geogate health as an operator (and an OTA updater) would, stops it,
// and checks the audit trail it left: verified, with the start, the policy and the stop.
func TestRunControlAndAudit(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "run", "control.sock")
	cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: newKey(t, dir),
		GNSS:    fmt.Sprintf("source = \"serial\"\ndevice = %q\n", filepath.Join(dir, "ttyNONE")),
		Control: fmt.Sprintf("socket = %q\ngroup = \"nogroup\"\n", sock)})

	p := startDaemon(t, "geogate run (control socket)", cfg)
	p.waitReady()
	p.waitStatus("the policy in force, health checked", func(s status) bool {
		return s.policy > 0 && s.health == "ok"
	})
	st := askStatus(t, sock)
	if !st.Healthy || st.Health != "ok" || !st.Storing || st.PolicyVersion == 0 || !strings.Contains(st.Line, "gnss absent") {
		t.Errorf("status: %+v", st)
	}
	// The built-in sample is not verified (no policy.trusted_keys): fine for the watchdog,
	// not for an updater about to commit an image (daemon/ota_test.go has the healthy case).
	if out, err := exec.Command(geogateBin(t), "health", "-socket", sock).CombinedOutput(); err == nil || !strings.Contains(string(out), "policy: loaded without signature verification") {
		t.Errorf("geogate health with an unsigned policy: %v: %s", err, out)
	}
	statusAsGroupPeer(t, sock)
	p.terminate()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("control socket left behind after the stop: %v", err)
	}
	out, err := exec.Command(geogateBin(t), "health", "-socket", sock).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "daemon not running") {
		t.Errorf("geogate health with no daemon: %v: %s", err, out)
	}

	audit := filepath.Join(data, "audit")
	if out, err := exec.Command(geogateBin(t), "audit", "verify", "-dir", audit).CombinedOutput(); err != nil {
		t.Fatalf("geogate audit verify: %v\n%s", err, out)
	}
	out, err = exec.Command(geogateBin(t), "audit", "cat", "-dir", audit).CombinedOutput()
	if err != nil {
		t.Fatalf("geogate audit cat: %v\n%s", err, out)
	}
	for _, want := range []string{`"daemon.start"`, `"policy.loaded"`, `"decisions"`, `"daemon.stop"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("audit log has no %s entry:\n%s", want, out)
		}
	}
}

// statusAsGroupPeer runs geogate status as nobody in the control socket's group (nogroup), as a
// workshop account would: the answer is the zone-blind one, and says so.
func statusAsGroupPeer(t *testing.T, sock string) {
	if os.Getuid() != 0 {
		t.Log("not root: the control group's view is not tried")
		return
	}
	bin := geogateBin(t)
	for _, p := range []string{sock, bin} {
		for d := filepath.Dir(p); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(bin, "status", "-json", "-socket", sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("geogate status as nobody:nogroup: %v\n%s", err, out)
	}
	var st daemon.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("geogate status -json: %v\n%s", err, out)
	}
	if !st.ZoneBlind || st.Line != "" || st.DropReasons != "" || st.FixesDropped != 0 || st.Records != 0 || !st.Storing {
		t.Errorf("status for the control group: %+v", st)
	}
}
