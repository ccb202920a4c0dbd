package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/examples"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/policy"
)

// TestAuditTrail drives the daemon's audit hooks as Run would and reads back a log that
// verifies with the unit's key, holding the events in order, with interval counts.
func TestAuditTrail(t *testing.T) {
	cfg := &config.Config{DataDir: t.TempDir(), DeviceID: "VIN+123"}
	at := openAudit(cfg, slog.New(slog.DiscardHandler))
	if at.log == nil || at.ticks == nil {
		t.Fatal("audit log not opened")
	}
	p, err := policy.Load(examples.SamplePolicy(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var c gate.Counters
	at.started("v-test")
	at.policyLoaded(p, policyKeyIDs(cfg))
	at.policyRejected(errors.New("policy: signature does not verify"), policyKeyIDs(cfg))
	c.Fixes.Add(10)
	c.FixesKept.Add(7)
	c.FixesDropped.Add(3)
	at.decisions(&c)
	at.power(board.PowerFail)
	at.power(board.PowerOK)
	at.storageFault(errors.New("storage: open segment: no space left on device"))
	at.policyExpired(p)
	at.policyExpired(nil) // no policy: nothing to say
	at.deviceKey("", board.Keys{Current: make([]byte, 32)}, nil)
	at.deviceKey("tpm", board.Keys{}, errors.New("board: tpm: unseal: policy check failed"))
	at.deviceKey("tpm", board.Keys{Current: make([]byte, 32), Old: [][]byte{make([]byte, 32)}}, nil)
	at.keysRetired(0, nil) // nothing retired: nothing to say
	at.keysRetired(2, nil)
	// A full disk is recorded when it starts and when it ends, not at every health probe.
	for _, fault := range []string{"", "disk full: new records dropped until there is room", "disk full: new records dropped until there is room", "", ""} {
		at.storageState(fault)
	}
	c.Fixes.Add(5)
	c.FixesCoarsened.Add(5)
	at.stopped(&c, "terminated")

	dir := filepath.Join(cfg.DataDir, "audit")
	v, err := audit.ReadVerifier(filepath.Join(dir, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != "geogate/VIN-123/audit" {
		t.Errorf("origin %q", v.Name())
	}
	rep, err := audit.Verify(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, "audit.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file %v %v", fi, err)
	}
	entries, _ := audit.ReadEntries(dir)
	var kinds []string
	var got []audit.Entry
	for _, b := range entries {
		var e audit.Entry
		if err := audit.Decode(b, &e); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, string(e.Kind))
		got = append(got, e)
	}
	want := "audit.opened daemon.start policy.loaded policy.rejected decisions power.fail power.ok storage.fault policy.expired key key key key storage.fault storage.fault decisions daemon.stop"
	if strings.Join(kinds, " ") != want || rep.Entries != 17 {
		t.Fatalf("kinds %v, want %s", kinds, want)
	}
	s := p.Summary()
	if e := got[2]; e.ID != s.ID || e.Version != s.Version || e.Key != "unsigned" {
		t.Errorf("policy.loaded %+v", e)
	}
	if c := got[4].Counts; c.Fixes != 10 || c.FixesKept != 7 || c.FixDrops != 3 || c.Seconds < 1 {
		t.Errorf("first interval %+v", c)
	}
	if e := got[8]; e.ID != s.ID || e.Version != s.Version {
		t.Errorf("policy.expired %+v", e)
	}
	if e := got[9]; e.ID != "device:file" || e.Detail != "unsealed" {
		t.Errorf("key %+v", e)
	}
	if e := got[10]; e.ID != "device:tpm" || !strings.HasPrefix(e.Detail, "unseal failed: ") {
		t.Errorf("key %+v", e)
	}
	if e := got[11]; e.ID != "device:tpm" || e.Detail != "unsealed (2 keys: the current and 1 rotated out)" {
		t.Errorf("key %+v", e)
	}
	if e := got[12]; e.ID != "device:tpm" || e.Detail != "retired 2 old key(s)" {
		t.Errorf("key %+v", e)
	}
	if a, b := got[13].Detail, got[14].Detail; !strings.HasPrefix(a, "disk full") || !strings.HasPrefix(b, "recovered: disk full") {
		t.Errorf("storage faults %q, %q", a, b)
	}
	if c := got[15].Counts; c.Fixes != 5 || c.FixesCoarsened != 5 || c.FixesKept != 0 {
		t.Errorf("second interval %+v, want only the counts since the first", c)
	}

	// A log that cannot be opened (here: tampered) leaves a trail that records nothing.
	os.WriteFile(filepath.Join(dir, "log"), []byte("GGAUDIT\n junk"), 0o600)
	at = openAudit(cfg, slog.New(slog.DiscardHandler))
	if at.log != nil || at.ticks != nil {
		t.Fatal("a damaged log was opened")
	}
	at.started("v")
	at.decisions(&c)
	at.stopped(&c, "x")
}

// TestConsoleAudit runs a console session against the daemon's handlers over a real control
// socket: every unlock, failure and command lands in the audit trail, with the console's
// pid and uid as the kernel reported them, and no entry holds a coordinate or a zone name.
func TestConsoleAudit(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	r := &run{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	r.teeConsoleLog()
	r.audit = openAudit(cfg, r.log)
	if r.audit.log == nil {
		t.Fatal("audit log not opened")
	}
	srv := &control.Server{Path: filepath.Join(dir, "control.sock"), Group: -1}
	r.handleConsole(srv)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	c, err := control.Dial(srv.Path, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	now := time.Date(2030, 7, 1, 4, 0, 0, 0, time.UTC)
	pub, priv, _ := ed25519.GenerateKey(nil)
	sh := &console.Shell{Backend: c, Verifier: &console.Verifier{Keys: []ed25519.PublicKey{pub}, Device: "unit-1"},
		Now: func() time.Time { return now }}
	sh.Lock()
	var out bytes.Buffer
	tok := ""
	for _, line := range []string{"gnss", "unlock junk", "TOKEN", "help", "frob 39.861234 beidaihe", "reload", "lock", "exit"} {
		if line == "TOKEN" {
			tok, _ = console.SignToken(priv, console.Token{Device: "unit-1", Nonce: sh.Nonce(), Scope: console.ScopeRead, Expires: now.Add(time.Minute)})
			line = "unlock " + tok
		}
		sh.Exec(line, &out)
	}
	// A console of another version sending a coordinate or a zone's name is refused.
	for _, bad := range []console.Event{{Cmd: "gnss", Outcome: "ran at 39.8612345,119.4234", Scope: "read-only"},
		{Cmd: "beidaihe", Outcome: console.Ran, Scope: "read-only"}, {}} {
		if err := c.Call(console.CmdEvent, bad, nil); err == nil || !strings.Contains(err.Error(), "vocabulary") {
			t.Errorf("event %+v: %v", bad, err)
		}
	}
	cancel()
	<-served
	r.audit.stopped(nil, "test")

	entries, err := audit.ReadEntries(filepath.Join(cfg.DataDir, "audit"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	peer, id := fmt.Sprintf("uid %d", os.Getuid()), fmt.Sprintf("console pid %d", os.Getpid())
	for _, b := range entries {
		var e audit.Entry
		if err := audit.Decode(b, &e); err != nil {
			t.Fatal(err)
		}
		// The entry's own time (its seconds, "40.558827203", read like a latitude) is not
		// what the check is about: everything else is.
		untimed := e
		untimed.Time = time.Time{}
		text := fmt.Sprintf("%+v", untimed)
		if l := leak(text); l != "" || strings.Contains(text, "beidaihe") || (tok != "" && strings.Contains(text, tok)) {
			t.Errorf("audit entry holds a coordinate (%q), a zone or the token: %s", l, b)
		}
		if e.Kind != audit.ConsoleSession && e.Kind != audit.ConsoleCommand {
			continue
		}
		if e.Peer != peer || e.ID != id {
			t.Errorf("entry %s: peer %q id %q, want %q %q", b, e.Peer, e.ID, peer, id)
		}
		got = append(got, string(e.Kind)+" "+e.Detail)
	}
	want := []string{
		"console.command gnss: refused: locked (locked)",
		"console.session unlock failed (1 in a row): malformed (locked)",
		"console.session unlocked (read-only)",
		"console.command help: ran (read-only)",
		"console.command unknown command (read-only)",
		"console.command reload: refused: out of scope (read-only)",
		"console.session locked (read-only)",
		"console.session exit (locked)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("console entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
