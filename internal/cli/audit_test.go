package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/audit"
)

// TestAudit runs the audit commands on a log the audit package wrote: verify, prove and
// check pass on it, and fail (exit 1) once it is tampered with or rolled back.
func TestAudit(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "audit")
	l, err := audit.Open(dir, audit.Options{KeyFile: filepath.Join(state, "audit.key"), Origin: "geogate.test/cli/audit"})
	if err != nil {
		t.Fatal(err)
	}
	old, err := l.Append(audit.Entry{Kind: audit.PolicyLoaded, ID: "cn-sample", Version: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		l.Append(audit.Entry{Kind: audit.Export, Object: "e.age", Bytes: uint64(i + 1)})
	}
	l.Close()
	pub := filepath.Join(state, "unit.pub") // what the processor holds, apart from the log
	b, _ := os.ReadFile(filepath.Join(dir, "key.pub"))
	os.WriteFile(pub, b, 0o644)
	oldFile := filepath.Join(state, "old.checkpoint")
	os.WriteFile(oldFile, old.Signed, 0o644)
	newFile := filepath.Join(dir, "checkpoint")

	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"audit"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, out, errs := run("verify", "-dir", dir, "-pub", pub, "-since", oldFile); code != 0 || !strings.Contains(out, "ok: ") || !strings.Contains(out, "7 entries") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := run("verify", "-dir", dir); code != 0 || !strings.Contains(out, "proves the log is intact, not that the unit wrote it") {
		t.Errorf("verify without -pub: exit %d, %q", code, out)
	}
	if code, out, _ := run("cat", "-dir", dir); code != 0 || strings.Count(out, "\n") != 7 || !strings.Contains(out, `"kind":"policy.loaded"`) {
		t.Errorf("cat: exit %d\n%s", code, out)
	}
	code, proof, errs := run("prove", "-dir", dir, "-pub", pub, "-old", oldFile)
	if code != 0 {
		t.Fatalf("prove -old: exit %d: %s", code, errs)
	}
	cons := filepath.Join(state, "cons.proof")
	os.WriteFile(cons, []byte(proof), 0o644)
	if code, out, errs := run("check", "-pub", pub, "-checkpoint", newFile, "-old", oldFile, "-proof", cons); code != 0 || !strings.Contains(out, "extends the log of 2") {
		t.Errorf("check consistency: exit %d: %s%s", code, out, errs)
	}
	code, proof, errs = run("prove", "-dir", dir, "-entry", "1")
	if code != 0 {
		t.Fatalf("prove -entry: exit %d: %s", code, errs)
	}
	incl := filepath.Join(state, "incl.proof")
	os.WriteFile(incl, []byte(proof), 0o644)
	if code, out, errs := run("check", "-pub", pub, "-checkpoint", newFile, "-proof", incl); code != 0 || !strings.Contains(out, `"kind":"policy.loaded"`) {
		t.Errorf("check inclusion: exit %d: %s%s", code, out, errs)
	}
	os.WriteFile(incl, bytes.Replace([]byte(proof), []byte(`"version":3`), []byte(`"version":4`), 1), 0o644)
	if code, _, errs := run("check", "-pub", pub, "-checkpoint", newFile, "-proof", incl); code != 1 || !strings.Contains(errs, "proof does not verify") {
		t.Errorf("check of an edited entry: exit %d: %s", code, errs)
	}
	// The old checkpoint as the newer one: a rollback.
	if code, _, errs := run("check", "-pub", pub, "-checkpoint", oldFile, "-old", newFile, "-proof", cons); code != 1 || !strings.Contains(errs, "rolled back") {
		t.Errorf("check of a rollback: exit %d: %s", code, errs)
	}

	// One byte of the log changed: verify fails.
	logFile := filepath.Join(dir, "log")
	data, _ := os.ReadFile(logFile)
	os.WriteFile(logFile, bytes.Replace(data, []byte(`"version":3`), []byte(`"version":4`), 1), 0o600)
	if code, _, errs := run("verify", "-dir", dir, "-pub", pub); code != 1 || !strings.Contains(errs, "log corrupt") {
		t.Errorf("verify of a changed log: exit %d: %s", code, errs)
	}
	// The log and checkpoint rolled back to the old state: consistent in themselves, so only
	// a checkpoint seen before (-since) shows it.
	latest := filepath.Join(state, "latest.checkpoint")
	b, _ = os.ReadFile(newFile)
	os.WriteFile(latest, b, 0o644)
	os.WriteFile(logFile, data[:bytes.Index(data, []byte(`{"v":1,"seq":2,`))-8], 0o600)
	os.WriteFile(newFile, old.Signed, 0o644)
	if code, _, errs := run("verify", "-dir", dir, "-pub", pub); code != 0 {
		t.Errorf("verify of the rolled-back log alone: exit %d: %s", code, errs)
	}
	if code, _, errs := run("verify", "-dir", dir, "-pub", pub, "-since", latest); code != 1 || !strings.Contains(errs, "rolled back") {
		t.Errorf("verify -since of a rollback: exit %d: %s", code, errs)
	}

	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0}, {[]string{"frob"}, 2}, {[]string{"verify"}, 2}, {[]string{"prove", "-dir", dir}, 2},
		{[]string{"prove", "-dir", dir, "-entry", "1", "-old", oldFile}, 2}, {[]string{"check", "-pub", pub}, 2},
		{[]string{"verify", "-dir", dir, "extra"}, 2},
	} {
		if code, _, errs := run(tt.args...); code != tt.code {
			t.Errorf("audit %v: exit %d, want %d: %s", tt.args, code, tt.code, errs)
		}
	}
}

// TestAuditChain checks the sidecars an uploader sends, as the processor downloads them:
// a true chain passes; a checkpoint of a rewritten log, or a missing proof, fails (exit 1).
func TestAuditChain(t *testing.T) {
	state := t.TempDir()
	key := filepath.Join(state, "audit.key")
	l, err := audit.Open(filepath.Join(state, "audit"), audit.Options{KeyFile: key, Origin: "geogate.test/cli/audit"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pub := filepath.Join(state, "unit.pub")
	b, _ := os.ReadFile(filepath.Join(state, "audit", "key.pub"))
	os.WriteFile(pub, b, 0o644)
	bucket := filepath.Join(state, "bucket")
	os.MkdirAll(bucket, 0o700)
	// send appends an export entry to lg and writes its sidecars as the uploader sends
	// them, with the proof from prev entries.
	send := func(lg *audit.Log, name string, prev int64) int64 {
		cp, err := lg.Append(audit.Entry{Kind: audit.Export, Object: name + ".age", Bytes: 1})
		if err != nil {
			t.Fatal(err)
		}
		p, err := lg.ProveConsistency(prev, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := p.MarshalText()
		os.WriteFile(filepath.Join(bucket, name+".age.checkpoint"), cp.Signed, 0o644)
		os.WriteFile(filepath.Join(bucket, name+".age.consistency"), text, 0o644)
		return cp.Size
	}
	var size int64
	for _, name := range []string{"a", "b", "c"} {
		size = send(l, name, size)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"audit", "chain"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, out, errs := run("-pub", pub, bucket); code != 0 || !strings.Contains(out, "ok: 3 checkpoints") {
		t.Fatalf("chain: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := run(bucket); code != 2 {
		t.Errorf("chain without -pub: exit %d, want 2 (usage)", code)
	}

	// The same key signs another history; its next export ties to nothing the processor has.
	forged, err := audit.Open(filepath.Join(state, "forged"), audit.Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer forged.Close()
	for range 5 {
		forged.Append(audit.Entry{Kind: audit.Decisions, Count: 1})
	}
	send(forged, "d", size)
	if code, _, errs := run("-pub", pub, bucket); code != 1 || !strings.Contains(errs, "not a prefix") {
		t.Errorf("chain over a rewritten log: exit %d: %s", code, errs)
	}
	os.Remove(filepath.Join(bucket, "d.age.checkpoint"))
	os.Remove(filepath.Join(bucket, "b.age.consistency"))
	if code, _, errs := run("-pub", pub, bucket); code != 1 || !strings.Contains(errs, "without a consistency proof") {
		t.Errorf("chain with a proof missing: exit %d: %s", code, errs)
	}
}
