package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/examples"
	"github.com/geogate/geogate/gate"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/storage"
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
	at.deviceKey("", nil)
	at.deviceKey("tpm", errors.New("board: tpm: unseal: policy check failed"))
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
	want := "audit.opened daemon.start policy.loaded policy.rejected decisions power.fail power.ok storage.fault policy.expired key key decisions daemon.stop"
	if strings.Join(kinds, " ") != want || rep.Entries != 13 {
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
	if c := got[11].Counts; c.Fixes != 5 || c.FixesCoarsened != 5 || c.FixesKept != 0 {
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

// TestConsoleExportAudited: a console command and the export it writes are in the audit
// trail, the export with its recipient, size and the SHA-256 of the file as written.
func TestConsoleExportAudited(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Storage.KeyFile = filepath.Join(dir, "device.key")
	if err := board.GenerateKeyFile(cfg.Storage.KeyFile); err != nil {
		t.Fatal(err)
	}
	key, err := board.NewKeyFile(cfg.Storage.KeyFile).DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	l, err := storage.Open(cfg.DataDir, storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := l.Append(1, time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), []byte("payload")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	r := &run{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	r.audit = openAudit(cfg, r.log)
	s := &control.Server{Path: filepath.Join(dir, "control.sock"), Group: -1}
	r.handleConsole(s)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.Serve(t.Context())
	c, err := control.Dial(s.Path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out console.Export
	if err := c.Call(console.CmdExport, console.ExportArgs{To: id.Recipient().String()}, &out); err != nil {
		t.Fatal(err)
	}
	if err := r.audit.log.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.File)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	entries, err := audit.ReadEntries(filepath.Join(cfg.DataDir, "audit"))
	if err != nil {
		t.Fatal(err)
	}
	var cmd, exp bool
	for _, p := range entries {
		var e audit.Entry
		if err := audit.Decode(p, &e); err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case audit.ConsoleCommand:
			cmd = cmd || e.Detail == console.CmdExport
		case audit.Export:
			exp = e.Object == filepath.Base(out.File) && e.Peer == id.Recipient().String() &&
				e.SHA256 == hex.EncodeToString(sum[:]) && e.Bytes == uint64(len(b))
			if !exp {
				t.Errorf("export entry %+v; file %s, %d bytes", e, out.File, len(b))
			}
		}
	}
	if !cmd || !exp {
		t.Errorf("console command recorded %v, export recorded %v", cmd, exp)
	}
}
