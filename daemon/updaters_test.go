package daemon_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/geogate/geogate/internal/testtool"
)

// menderUnit runs the real Mender client (Debian's mender-client) in standalone mode on a
// private state directory. Mender reads /etc/mender/artifact_info from a fixed path, so each
// run gets its own mount namespace with directories of the test bound over /etc/mender and
// over /usr/share/mender/modules/v3 (also fixed: the update modules): the machine's are not
// touched. The state (-d) and the Artifact's scripts are in the test's data directory.
type menderUnit struct {
	t               *testing.T
	dir, conf, etc  string
	data, key, pub  string
	env             []string
	script, modules string
}

func newMenderUnit(t *testing.T, u *otaUnit) *menderUnit {
	t.Helper()
	testtool.Root(t, "to bind a directory over /etc/mender in a private mount namespace")
	for _, c := range [][2]string{{"mender", "mender-client"}, {"mender-artifact", "mender-artifact"}, {"openssl", "openssl"}, {"unshare", "util-linux"}, {"setpriv", "util-linux"}} {
		testtool.LookPath(t, c[0], c[1])
	}
	m := &menderUnit{t: t, dir: t.TempDir()}
	m.etc, m.data, m.modules = filepath.Join(m.dir, "etc"), filepath.Join(m.dir, "data"), filepath.Join(m.dir, "modules")
	for _, d := range []string{m.etc, m.data, m.modules} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m.script = filepath.Join(m.dir, "ArtifactCommit_Enter_00_geogate")
	copyFile(t, "../init/mender/ArtifactCommit_Enter_00_geogate", m.script)
	copyFile(t, "../init/mender/geogate-policy", filepath.Join(m.modules, "geogate-policy"))
	m.key, m.pub = filepath.Join(m.dir, "artifact.key.pem"), filepath.Join(m.dir, "artifact.pub.pem")
	run(t, "openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", m.key) // SEC1, as mender-artifact wants
	run(t, "openssl", "ec", "-in", m.key, "-pubout", "-out", m.pub)
	writeFile(t, filepath.Join(m.etc, "artifact_info"), "artifact_name=factory\n")
	writeFile(t, filepath.Join(m.data, "device_type"), "device_type=geogate-tcu\n")
	m.conf = filepath.Join(m.dir, "mender.conf")
	writeFile(t, m.conf, `{"DeviceTypeFile": "`+filepath.Join(m.data, "device_type")+`",
 "ArtifactVerifyKey": "`+m.pub+`",
 "StateScriptTimeoutSeconds": 60,
 "ServerURL": "https://127.0.0.1:1"}
`)
	// What the shipped script and module read instead of their production paths; a short
	// hold so that the test takes seconds.
	m.env = []string{"GEOGATE=" + geogateBin(t), "GEOGATE_CONFIG=" + u.cfg, "GEOGATE_INCOMING=" + u.incoming,
		"GEOGATE_HOLD=400ms", "GEOGATE_TIMEOUT=3s", "GEOGATE_INTERVAL=50ms"}
	return m
}

// artifact writes a signed Mender Artifact of type geogate-policy holding bundle's files and
// the ArtifactCommit_Enter state script, and returns its path.
func (m *menderUnit) artifact(name, bundle string) string {
	m.t.Helper()
	out := filepath.Join(m.dir, name+".mender")
	args := []string{"write", "module-image", "-T", "geogate-policy", "-n", name, "-t", "geogate-tcu", "-k", m.key, "-s", m.script, "-o", out}
	ents, err := os.ReadDir(bundle)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, e := range ents {
		args = append(args, "-f", filepath.Join(bundle, e.Name()))
	}
	run(m.t, "mender-artifact", args...)
	return out
}

// command returns "mender args..." run in its own mount namespace with the test's
// /etc/mender, in its own process group (so that a test can cut it short like a power cut).
func (m *menderUnit) command(args ...string) *exec.Cmd {
	sh := []string{"--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$0" /etc/mender && mount --bind "$1" /usr/share/mender/modules/v3 && c=$2 d=$3 && shift 3 && exec mender --no-syslog -c "$c" -d "$d" "$@"`,
		m.etc, m.modules, m.conf, m.data}
	cmd := exec.Command("unshare", append(sh, args...)...)
	cmd.Env = append(os.Environ(), m.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// mender runs the client with args and returns its exit code and output.
func (m *menderUnit) mender(args ...string) (int, string) {
	m.t.Helper()
	out, err := m.command(args...).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		m.t.Fatalf("mender %s: %v", strings.Join(args, " "), err)
	}
	if ee != nil {
		return ee.ExitCode(), string(out)
	}
	return 0, string(out)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestMender delivers policy bundles with the real Mender client and lets the shipped state
// script gate the commit on geogate health, as docs/OTA.md describes: a signed Artifact of
// the shipped geogate-policy update module installs v2 into the running daemon; a "power
// cut" (the client's process group killed) during ArtifactCommit_Enter, and the next
// "mender commit" runs the script again and commits; a lower version fails the deployment
// with geogate's reason; a tampered Artifact is refused by its signature; and with the
// daemon down ArtifactCommit_Enter exits non-zero, so Mender does not commit.
func TestMender(t *testing.T) {
	heavy(t)
	u := newOTAUnit(t)
	m := newMenderUnit(t, u)
	p := u.start("geogate run (mender)")

	const commitGate = "Executing script: ArtifactCommit_Enter_00_geogate"
	shows := func(want string) {
		t.Helper()
		if code, out := m.mender("show-artifact"); code != 0 || lastLine(out) != want {
			t.Errorf("mender show-artifact: exit %d: %q, want %s", code, out, want)
		}
	}
	// "mender install" runs the module's ArtifactInstall (geogate policy install); "mender
	// commit" runs ArtifactCommit_Enter, which commits once geogate is healthy.
	if code, out := m.mender("install", m.artifact("policy-v2", u.bundle(2))); code != 0 {
		t.Fatalf("mender install policy-v2: exit %d\n%s", code, out)
	}
	p.waitStatus("v2 in force after mender install", func(s status) bool { return s.policy == 2 })
	code, out := m.mender("commit")
	if code != 0 || !strings.Contains(out, commitGate) || !strings.Contains(out, "marking good") {
		t.Fatalf("mender commit policy-v2: exit %d\n%s", code, out)
	}
	shows("policy-v2")

	// A power cut inside ArtifactCommit_Enter (the client, the script and geogate mark-good
	// killed within its hold): the next "mender commit" runs the script again from the start.
	if code, out := m.mender("install", m.artifact("policy-v3", u.bundle(3))); code != 0 {
		t.Fatalf("mender install policy-v3: exit %d\n%s", code, out)
	}
	cmd := m.command("commit")
	var cut syncBuffer
	cmd.Stdout, cmd.Stderr = &cut, &cut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(statusTimeout); !strings.Contains(cut.String(), commitGate); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("mender commit policy-v3 never reached ArtifactCommit_Enter:\n%s", cut.String())
		}
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if strings.Contains(cut.String(), "marking good") {
		t.Fatalf("the cut came after the script's verdict:\n%s", cut.String())
	}
	code, out = m.mender("commit")
	if code != 0 || !strings.Contains(out, commitGate) || !strings.Contains(out, "marking good") {
		t.Errorf("mender commit after the cut: exit %d\n%s", code, out)
	}
	shows("policy-v3")
	if st := u.status(); st.PolicyVersion != 3 {
		t.Errorf("after policy-v3: policy v%d", st.PolicyVersion)
	}

	// A lower version fails the deployment with geogate's reason; nothing changed, so
	// Mender's rollback succeeds and the unit still runs policy-v3.
	if code, out := m.mender("install", m.artifact("policy-v1", u.bundle(1))); code == 0 || !strings.Contains(out, "version 1 < floor 3") {
		t.Errorf("mender install policy-v1 after v3: exit %d\n%s", code, out)
	}
	// A tampered Artifact fails its signature.
	data, err := os.ReadFile(m.artifact("policy-v5", u.bundle(5)))
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x20
	tampered := filepath.Join(m.dir, "tampered.mender")
	writeFile(t, tampered, string(data))
	if out, err := exec.Command("mender-artifact", "validate", "-k", m.pub, tampered).CombinedOutput(); err == nil {
		t.Errorf("mender-artifact validate accepted a tampered Artifact:\n%s", out)
	}
	if code, out := m.mender("install", tampered); code == 0 {
		t.Errorf("mender install of a tampered Artifact: exit 0\n%s", out)
	}
	if st := u.status(); st.PolicyVersion != 3 {
		t.Errorf("after the refused Artifacts: policy v%d, want v3", st.PolicyVersion)
	}
	shows("policy-v3")

	// geogate down: ArtifactCommit_Enter exits non-zero and Mender does not commit. The
	// module had installed v4 into the stopped daemon's state and a policy has no rollback, so
	// Mender records the unit as inconsistent rather than back on policy-v3.
	p.terminate()
	if code, out := m.mender("install", m.artifact("policy-v4", u.bundle(4))); code != 0 {
		t.Fatalf("mender install policy-v4 with geogate down: exit %d\n%s", code, out)
	}
	code, out = m.mender("commit")
	if code == 0 || !strings.Contains(out, "ArtifactCommit_Enter script failed") {
		t.Errorf("mender commit with geogate down: exit %d\n%s", code, out)
	}
	shows("policy-v4_INCONSISTENT")
}

// syncBuffer is a strings.Builder that a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lastLine is the last line of s, without spaces around it.
func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(l[len(l)-1])
}

// swu builds signed SWUpdate images (.swu) carrying a policy bundle and the shipped
// init/swupdate/geogate-policy.sh, as docs/OTA.md describes: sw-description signed with CMS
// by a test PKI, then a cpio archive (crc format, sw-description first).
type swu struct {
	t                     *testing.T
	dir, cert, key, stage string
	env                   []string
}

func newSWU(t *testing.T, u *otaUnit) *swu {
	t.Helper()
	testtool.Root(t, "for SWUpdate's script to chown the bundle and drop to its owner")
	for _, c := range [][2]string{{"swupdate", "swupdate"}, {"openssl", "openssl"}, {"cpio", "cpio"}, {"setpriv", "util-linux"},
		{"fw_setenv", "libubootenv-tool"}, {"fw_printenv", "libubootenv-tool"}} {
		testtool.LookPath(t, c[0], c[1])
	}
	s := &swu{t: t, dir: t.TempDir(), stage: filepath.Join(u.incoming, ".swupdate-policy.tmp")}
	s.cert, s.key = filepath.Join(s.dir, "cert.pem"), filepath.Join(s.dir, "key.pem")
	run(t, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", s.key, "-out", s.cert, "-days", "3650",
		"-subj", "/CN=geogate test swu signer", "-addext", "keyUsage=digitalSignature", "-addext", "extendedKeyUsage=emailProtection")
	copyFile(t, "../init/swupdate/geogate-policy.sh", filepath.Join(s.dir, "geogate-policy.sh"))
	// SWUpdate extracts into TMPDIR under fixed names: one directory per test.
	s.env = []string{"TMPDIR=" + t.TempDir(), "GEOGATE=" + geogateBin(t), "GEOGATE_CONFIG=" + u.cfg, "GEOGATE_INCOMING=" + u.incoming}
	return s
}

// build writes name.swu of version fwVersion carrying bundle; forge, if not nil, changes the
// files in the given directory after sw-description was signed.
func (s *swu) build(name, fwVersion, bundle string, forge func(dir string)) string {
	s.t.Helper()
	d := filepath.Join(s.dir, name)
	if err := os.Mkdir(d, 0o755); err != nil {
		s.t.Fatal(err)
	}
	run(s.t, "tar", "-czf", filepath.Join(d, "policy.tar.gz"), "-C", bundle, ".")
	copyFile(s.t, filepath.Join(s.dir, "geogate-policy.sh"), filepath.Join(d, "geogate-policy.sh"))
	desc := `software = {
	version = "` + fwVersion + `";
	description = "geogate policy bundle";
	hardware-compatibility = ["1.0"];
	files: (
		{
			filename = "policy.tar.gz";
			type = "archive";
			path = "` + s.stage + `";
			properties: { create-destination = "true"; };
			sha256 = "` + sha256File(s.t, filepath.Join(d, "policy.tar.gz")) + `";
		}
	);
	scripts: (
		{
			filename = "geogate-policy.sh";
			type = "shellscript";
			sha256 = "` + sha256File(s.t, filepath.Join(d, "geogate-policy.sh")) + `";
		}
	);
}
`
	writeFile(s.t, filepath.Join(d, "sw-description"), desc)
	run(s.t, "openssl", "cms", "-sign", "-in", filepath.Join(d, "sw-description"), "-out", filepath.Join(d, "sw-description.sig"),
		"-signer", s.cert, "-inkey", s.key, "-outform", "DER", "-nosmimecap", "-binary")
	if forge != nil {
		forge(d)
	}
	out := filepath.Join(s.dir, name+".swu")
	f, err := os.Create(out)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	cpio := exec.Command("cpio", "-o", "-H", "crc", "--quiet")
	var errOut strings.Builder
	cpio.Dir, cpio.Stdout, cpio.Stderr = d, f, &errOut
	cpio.Stdin = strings.NewReader("sw-description\nsw-description.sig\npolicy.tar.gz\ngeogate-policy.sh\n")
	if err := cpio.Run(); err != nil {
		s.t.Fatalf("cpio: %v\n%s", err, errOut.String())
	}
	return out
}

// swupdate runs SWUpdate on image with the test's certificate and hardware revision, and
// without boot loader markers (policy updates need no boot), and returns its exit code and
// output.
func (s *swu) swupdate(image string, args ...string) (int, string) {
	s.t.Helper()
	return s.run(func() *exec.Cmd {
		return exec.Command("swupdate", append([]string{"-i", image, "-k", s.cert, "-H", "geogate-tcu:1.0", "-M", "-m"}, args...)...)
	})
}

// run runs the SWUpdate command that newCmd makes and returns its exit code and output.
// Debian's SWUpdate 2022.12 has an exit race in local installs (-i), seen here by running
// the same image again and again: about half of the successful runs exit 1 after logging
// "SWUpdate was successful !" (without their post-update step), and some exit 1 in the
// middle of "Installation in progress" with nothing else logged. A real refusal or failure
// logs an [ERROR] line. So a non-zero exit without [ERROR] counts as a success when the
// success was logged, and is run again (at most twice more) when the log was cut short;
// both are logged.
func (s *swu) run(newCmd func() *exec.Cmd) (int, string) {
	s.t.Helper()
	for try := 1; ; try++ {
		cmd := newCmd()
		cmd.Env = append(os.Environ(), s.env...)
		b, err := cmd.CombinedOutput()
		out := string(b)
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, out
		case !errors.As(err, &ee):
			s.t.Fatalf("swupdate: %v", err)
		case strings.Contains(out, "[ERROR]"):
			return ee.ExitCode(), out
		case strings.Contains(out, "SWUpdate was successful"):
			s.t.Log("swupdate exited 1 after logging its success and no error (its exit race): counted as a success")
			return 0, out
		case try == 3:
			return ee.ExitCode(), out
		}
		s.t.Logf("swupdate exited %d in the middle of its log, no error logged (its exit race): run again", ee.ExitCode())
	}
}

func sha256File(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// TestSWUpdate installs policy bundles with the real SWUpdate into a running daemon through
// the shipped shellscript: -c (check only) verifies the CMS signature and refuses a forged
// sw-description and a firmware version below -N; an install puts v2 in force and removes
// the staging copy; a lower policy version fails the update with geogate's reason. Then a
// firmware image goes into a file-backed slot with SWUpdate's U-Boot markers set on a
// file-backed environment, and geogate mark-good runs the shipped fw_setenv scripts:
// committed while the daemon is healthy, the boot count past its limit once it is down.
func TestSWUpdate(t *testing.T) {
	heavy(t)
	u := newOTAUnit(t)
	s := newSWU(t, u)
	p := u.start("geogate run (swupdate)")

	v2 := s.build("v2", "2027.3.1", u.bundle(2), nil)
	if code, out := s.swupdate(v2, "-c", "-l", "5"); code != 0 || !strings.Contains(out, "Verified OK") {
		t.Fatalf("swupdate -c of a signed image: exit %d\n%s", code, out)
	}
	forged := s.build("forged", "2027.3.1", u.bundle(2), func(d string) {
		b, err := os.ReadFile(filepath.Join(d, "sw-description"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(d, "sw-description"), strings.Replace(string(b), `"2027.3.1"`, `"2099.1.1"`, 1))
	})
	if code, out := s.swupdate(forged, "-c"); code == 0 || !strings.Contains(out, "Signature verification failed") {
		t.Errorf("swupdate -c of a forged sw-description: exit %d\n%s", code, out)
	}
	swapped := s.build("swapped", "2027.3.1", u.bundle(2), func(d string) {
		run(t, "tar", "-czf", filepath.Join(d, "policy.tar.gz"), "-C", u.bundle(7), ".")
	})
	if code, out := s.swupdate(swapped, "-c"); code == 0 || !strings.Contains(out, "HASH mismatch") {
		t.Errorf("swupdate -c of an image whose bundle was swapped after signing: exit %d\n%s", code, out)
	}
	if code, out := s.swupdate(v2, "-c", "-N", "2027.4.0"); code == 0 || !strings.Contains(out, "No downgrading allowed") {
		t.Errorf("swupdate -c -N above the image's version: exit %d\n%s", code, out)
	}
	if st := u.status(); st.PolicyVersion != 1 {
		t.Fatalf("after the checks: policy v%d, want v1 (a check installs nothing)", st.PolicyVersion)
	}

	if code, out := s.swupdate(v2); code != 0 {
		t.Fatalf("swupdate v2: exit %d\n%s", code, out)
	}
	p.waitStatus("v2 in force after swupdate", func(s status) bool { return s.policy == 2 })
	if _, err := os.Stat(s.stage); !os.IsNotExist(err) {
		t.Errorf("the staging copy is left after the install: %v", err)
	}
	if code, out := s.swupdate(s.build("v1", "2027.3.2", u.bundle(1), nil)); code == 0 || !strings.Contains(out, "version 1 < floor 2") {
		t.Errorf("swupdate of policy v1 after v2: exit %d\n%s", code, out)
	}
	if st := u.status(); st.PolicyVersion != 2 {
		t.Errorf("after the refused v1: policy v%d, want v2", st.PolicyVersion)
	}

	// The firmware: the geogate binary as a raw image into a file-backed slot, and the boot
	// loader told to try it (bootenv upgrade_available=1), on a file-backed U-Boot environment.
	// SWUpdate and fw_setenv read /etc/fw_env.config, a fixed path: SWUpdate runs in its own
	// mount namespace with an overlay on /etc holding the test's (the machine's is not touched).
	env, slot := filepath.Join(s.dir, "uboot.env"), filepath.Join(s.dir, "slotB.img")
	if err := os.WriteFile(env, make([]byte, 0x4000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(slot, make([]byte, 16<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	fwConf := filepath.Join(s.dir, "fw_env.config")
	writeFile(t, fwConf, env+" 0x0 0x4000\n")
	writeFile(t, filepath.Join(s.dir, "uboot.defaults"), "bootcount=0\nbootlimit=3\nupgrade_available=0\n")
	run(t, "fw_setenv", "-c", fwConf, "-f", filepath.Join(s.dir, "uboot.defaults"), "bootlimit", "3")
	fw := filepath.Join(s.dir, "fw")
	if err := os.Mkdir(fw, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, geogateBin(t), filepath.Join(fw, "rootfs.img"))
	writeFile(t, filepath.Join(fw, "sw-description"), `software = {
	version = "2027.3.1";
	hardware-compatibility = ["1.0"];
	images: ({
		filename = "rootfs.img";
		type = "raw";
		device = "`+slot+`";
		sha256 = "`+sha256File(t, filepath.Join(fw, "rootfs.img"))+`";
	});
	bootenv: ({
		name = "upgrade_available";
		value = "1";
	});
}
`)
	run(t, "openssl", "cms", "-sign", "-in", filepath.Join(fw, "sw-description"), "-out", filepath.Join(fw, "sw-description.sig"),
		"-signer", s.cert, "-inkey", s.key, "-outform", "DER", "-nosmimecap", "-binary")
	image := filepath.Join(s.dir, "fw.swu")
	run(t, "sh", "-c", `cd "$0" && printf 'sw-description\nsw-description.sig\nrootfs.img\n' | cpio -o -H crc --quiet > "$1"`, fw, image)
	upper, work := filepath.Join(s.dir, "etc-upper"), filepath.Join(s.dir, "etc-work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(upper, "fw_env.config"), env+" 0x0 0x4000\n")
	code, out := s.run(func() *exec.Cmd {
		return exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount -t overlay overlay -o lowerdir=/etc,upperdir="$0",workdir="$1" /etc && exec swupdate -i "$2" -k "$3" -H geogate-tcu:1.0 -B uboot`,
			upper, work, image, s.cert)
	})
	if code != 0 {
		t.Fatalf("swupdate of the firmware: exit %d\n%s", code, out)
	}
	got, err := os.ReadFile(slot)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(fw, "rootfs.img"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:len(want)]) != string(want) {
		t.Error("the slot does not hold the image after swupdate")
	}
	if vars := run(t, "fw_printenv", "-c", fwConf); !strings.Contains(vars, "upgrade_available=1") || !strings.Contains(vars, "ustate=1") {
		t.Errorf("the U-Boot environment after swupdate:\n%s", vars)
	}

	// After the reboot into the new slot: geogate mark-good with the shipped fw_setenv scripts.
	for _, healthy := range []bool{true, false} {
		if !healthy {
			p.terminate()
		}
		cmd := exec.Command(geogateBin(t), "mark-good", "-config", u.cfg, "-hold", "300ms", "-timeout", "2s", "-interval", "50ms",
			"-good", "fw_setenv -c "+fwConf+" -s ../init/swupdate/uboot-good.env", "-bad", "fw_setenv -c "+fwConf+" -s ../init/swupdate/uboot-bad.env")
		out, err := cmd.CombinedOutput()
		vars := run(t, "fw_printenv", "-c", fwConf)
		want := map[bool][]string{true: {"upgrade_available=0", "bootcount=0", "ustate=0"}, false: {"bootcount=99", "ustate=3"}}[healthy]
		for _, w := range want {
			if (err == nil) != healthy || !strings.Contains(vars, w) {
				t.Errorf("mark-good, daemon healthy %v: %v, want %s\n%s\nenvironment:\n%s", healthy, err, w, out, vars)
				break
			}
		}
	}
}
