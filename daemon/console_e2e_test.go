package daemon_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/creack/pty"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/console/consoletest"
	"github.com/geogate/geogate/internal/testtool"
	"github.com/geogate/geogate/policy"
)

// TestConsoleReloadExport is a technician's session on the serial console of a running
// daemon: "geogate console" on a real pty at 115200 baud talks to "geogate run" over its
// control socket. It unlocks with an operate token made by "geogate console token", reads the
// status, reloads the policy (unchanged, then a new version installed in the policy
// directory), starts an export of the log to a licensed recipient's age key, follows it with
// "export" until it is done, and exits, logging each command's answer time (the console's goal
// is 100 ms; the export runs in the daemon). The export opens with the recipient's identity ("geogate store verify
// -identity") and holds the records stored so far, its size and SHA-256 as the console said;
// the audit trail verifies and holds the session's unlock, failure and commands, the reload
// and the export (its SHA-256 that of the file), and no entry holds a coordinate or a zone.
func TestConsoleReloadExport(t *testing.T) {
	heavy(t)
	needPTY(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "run", "control.sock")
	pdir := filepath.Join(dir, "policy")
	if err := os.CopyFS(pdir, os.DirFS("../examples/policy")); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.WriteKeyPair(filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: newKey(t, dir), GNSS: simGNSS(20), PolicyDir: pdir,
		Control: fmt.Sprintf("socket = %q\n", sock)})
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = append([]byte("device_id = \"unit-e2e\"\n"), b...)
	b = fmt.Appendf(b, "\n[console]\ntoken_keys = [%q]\n", filepath.Join(dir, "token.pub"))
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}

	p := startDaemon(t, "geogate run (console)", cfg)
	p.waitReady()
	p.waitStatus("records stored", func(s status) bool { return s.stored() > 20 })

	master, slave, err := pty.Open()
	testtool.Need(t, "a pseudo-terminal", err, "a Linux /dev/ptmx")
	defer master.Close()
	con := exec.Command(geogateBin(t), "console", "-tty", slave.Name(), "-baud", "115200", "-config", cfg)
	var conErr bytes.Buffer
	con.Env, con.Stderr = cleanEnv(), &conErr
	if err := con.Start(); err != nil {
		t.Fatal(err)
	}
	// This handle on the line stays open until the end: with none open while the console
	// opens the line by its name, the master would read EIO.
	defer slave.Close()
	conDone := make(chan struct{}) // closed when the console has exited, conErr set
	var conWait error
	go func() { conWait = con.Wait(); close(conDone) }()
	t.Cleanup(func() {
		select {
		case <-conDone:
		default:
			con.Process.Kill()
			<-conDone
		}
	})
	e := consoletest.New(t, master, 20*time.Second)
	send := func(line string) {
		if _, err := master.Write([]byte(line + "\r")); err != nil {
			t.Fatal(err)
		}
	}
	token := func(nonce, scope string) string {
		out, err := exec.Command(geogateBin(t), "console", "token", "-key", filepath.Join(dir, "token.key"),
			"-device", "unit-e2e", "-nonce", nonce, "-scope", scope, "-ttl", "5m").Output()
		if err != nil {
			t.Fatalf("geogate console token: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	// timed sends a command and waits for the prompt after its answer, which holds want, and
	// logs how long the answer took.
	timed := func(line, want string) string {
		t.Helper()
		began := time.Now()
		send(line)
		out := e.Expect(want)
		out += e.Expect("geogate(operate)> ")
		took := time.Since(began)
		label := line
		if len(label) > 12 {
			label = strings.Fields(line)[0] + " ..."
		}
		// The console's goal (100 ms) is a figure to read here, not an assertion: a timed
		// test fails on a loaded machine, not on slow code.
		t.Logf("%-10s answered over the pty at 115200 baud in %v", label, took.Round(time.Microsecond))
		return out
	}

	banner := e.Expect("unlock with:")
	if !strings.Contains(banner, "geogate console on unit-e2e: LOCKED") {
		t.Fatalf("banner:\n%s", banner)
	}
	send("unlock gct1.junk.junk")
	e.Expect("new nonce ")
	tok := token(strings.TrimSpace(e.Expect("\r\n")), "operate")
	send("unlock " + tok)
	e.Expect("unlocked (operate)")
	e.Expect("geogate(operate)> ")
	timed("status", "since start:")
	timed("reload", "policy unchanged: v1 in force")

	// A new version of the bundle arrives in the policy directory; reload puts it in force.
	toml := filepath.Join(pdir, "policy.toml")
	pt, err := os.ReadFile(toml)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pt, []byte("\nversion = 1\n")) {
		t.Fatal("policy.toml has no \"version = 1\" line")
	}
	// Version 2 carries an expiry (decades after any clock the tests run with).
	v2 := bytes.Replace(pt, []byte("\nversion = 1\n"), []byte("\nversion = 2\nexpires = 2090-01-01T00:00:00Z\n"), 1)
	if err := os.WriteFile(toml, v2, 0o600); err != nil {
		t.Fatal(err)
	}
	timed("reload", "policy reloaded: v2 in force")
	timed("policy", "expiry: 2090-01-01T00:00:00Z")

	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	// The export runs in the daemon: the command answers at once, "export" shows how far it
	// got until it is done.
	out := timed("export "+id.Recipient().String(), "type export for its progress")
	m := regexp.MustCompile(`export (\d+) started: (\S+), the records stored so far`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("export answered:\n%s", out)
	}
	file := m[2]
	if !strings.HasPrefix(file, filepath.Join(data, "export")+string(filepath.Separator)) {
		t.Errorf("export written to %s, outside %s", file, filepath.Join(data, "export"))
	}
	done := regexp.MustCompile(`export ` + m[1] + ` done: (\d+) records, (\d+) bytes in (\S+)\r*\nsha256 ([0-9a-f]{64})\r*\n`)
	polls := 0
	began := time.Now()
	for m = nil; m == nil; {
		if time.Since(began) > 20*time.Second {
			t.Fatal("the export did not end within 20 s")
		}
		time.Sleep(20 * time.Millisecond) // a technician's pace is slower still
		out = timed("export", "export ")
		polls++
		if strings.Contains(out, "FAILED") {
			t.Fatalf("export failed:\n%s", out)
		}
		if !strings.Contains(out, " running: ") {
			m = done.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("export status:\n%s", out)
			}
		}
	}
	t.Logf("the export ended within %v (%d polls): %s records, %s bytes", time.Since(began).Round(time.Millisecond), polls, m[1], m[2])
	if m[3] != file {
		t.Errorf("export done in %s, started as %s", m[3], file)
	}
	send("exit")
	e.Expect("bye")
	select {
	case <-conDone:
		if conWait != nil {
			t.Errorf("geogate console: %v\n%s", conWait, conErr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the console did not end after exit")
	}
	if strings.Contains(conErr.String(), tok) || strings.Contains(e.All(), "public tier") {
		t.Error("the token was logged, or a position shown")
	}

	idFile := filepath.Join(dir, "recipient.key")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vout, err := exec.Command(geogateBin(t), "store", "verify", "-identity", idFile, file).CombinedOutput()
	if err != nil || !strings.Contains(string(vout), fmt.Sprintf(": %s records authenticated, 0 problems", m[1])) || m[1] == "0" {
		t.Fatalf("geogate store verify -identity: %v\n%s", err, vout)
	}
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(exported)
	if m[4] != hex.EncodeToString(sum[:]) || m[2] != fmt.Sprint(len(exported)) {
		t.Errorf("the console said %s bytes, SHA-256 %s; the file has %d bytes, SHA-256 %x", m[2], m[4], len(exported), sum)
	}
	if parts, _ := filepath.Glob(filepath.Join(data, "export", "*.part")); len(parts) != 0 {
		t.Errorf("temporary files left: %v", parts)
	}
	p.terminate()

	adir := filepath.Join(data, "audit")
	if out, err := exec.Command(geogateBin(t), "audit", "verify", "-dir", adir).CombinedOutput(); err != nil {
		t.Fatalf("geogate audit verify: %v\n%s", err, out)
	}
	entries, err := audit.ReadEntries(adir)
	if err != nil {
		t.Fatal(err)
	}
	zones, verdicts := zoneWords(t)
	var got []string
	exportAt := -1 // where the export entry came in got, which it is not put in
	for _, b := range entries {
		var en audit.Entry
		if err := audit.Decode(b, &en); err != nil {
			t.Fatal(err)
		}
		if asciiCoords.Match(b) {
			t.Errorf("audit entry with a coordinate: %s", b)
		}
		for _, w := range append(zones, verdicts...) {
			if strings.Contains(strings.ToLower(string(b)), w) {
				t.Errorf("audit entry names %q: %s", w, b)
			}
		}
		switch en.Kind {
		case audit.ConsoleSession, audit.ConsoleCommand:
			if !strings.HasPrefix(en.ID, "console pid ") || en.Peer != fmt.Sprintf("uid %d", os.Getuid()) {
				t.Errorf("console entry without the console's pid and uid: %s", b)
			}
			got = append(got, en.Detail)
		case audit.PolicyLoaded:
			got = append(got, fmt.Sprintf("policy.loaded v%d", en.Version))
		case audit.Export:
			if en.SHA256 != hex.EncodeToString(sum[:]) || en.Bytes != uint64(len(exported)) || en.Object != filepath.Base(file) ||
				en.Peer != id.Recipient().String() {
				t.Errorf("export entry %s, want %s, %d bytes, SHA-256 %x", b, filepath.Base(file), len(exported), sum)
			}
			exportAt = len(got)
		}
	}
	// The export's entry comes when it ends, among the "export" commands that asked how far
	// it got: after the one that started it, before the exit.
	firstExport := slices.Index(got, "export: ran (operate)")
	if exportAt <= firstExport || exportAt >= len(got) {
		t.Errorf("export entry at %d of %q, want after the export command", exportAt, got)
	}
	want := []string{
		"policy.loaded v1",
		"unlock failed (1 in a row): malformed (locked)",
		"unlocked (operate)",
		"status: ran (operate)",
		"reload: ran (operate)",
		"policy.loaded v1", // the same bundle again
		"reload: ran (operate)",
		"policy.loaded v2",
		"policy: ran (operate)",
		"export: ran (operate)",
	}
	for range polls {
		want = append(want, "export: ran (operate)")
	}
	want = append(want, "exit (operate)")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		j, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("audit trail of the session:\n%s\nwant:\n%s", j, strings.Join(want, "\n"))
	}
}
