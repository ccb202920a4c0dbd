package daemon

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
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
	want := "audit.opened daemon.start policy.loaded policy.rejected decisions power.fail power.ok storage.fault policy.expired decisions daemon.stop"
	if strings.Join(kinds, " ") != want || rep.Entries != 11 {
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
	if c := got[9].Counts; c.Fixes != 5 || c.FixesCoarsened != 5 || c.FixesKept != 0 {
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
