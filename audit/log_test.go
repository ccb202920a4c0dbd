package audit

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// The test log's key, and a forger's key of the same name (test keys, never used elsewhere).
const (
	testSKey   = "PRIVATE+KEY+geogate.test/unit-1/audit+2a56d9b9+Ab2vT38T16nrIXW62Ad8uN4cCkr9I75uBD/WIDActupE"
	testVKey   = "geogate.test/unit-1/audit+2a56d9b9+AT7qHMCVu0uGNfwJXHLe1EYzOBabvPhoZWOwHjkQSupn"
	forgerSKey = "PRIVATE+KEY+geogate.test/unit-1/audit+7ee3b877+Aac3pYDo2KVo6LrYr4gvn3OrmyEnpFWbyTl+iBRp6kNd"
	forgerVKey = "geogate.test/unit-1/audit+7ee3b877+AQ89hENHlEX57IkPy9hbnjZ4+iKpS9uOp4dEAEOUDfHS"
)

func signer(t testing.TB, skey string) note.Signer {
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t testing.TB, vkey string) note.Verifier {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// stepClock returns t0, t0+1s, t0+2s, ...
func stepClock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(n.Add(1)-1) * time.Second) }
}

func testOptions(t testing.TB) Options {
	return Options{Signer: signer(t, testSKey), VerifierKey: testVKey, Now: stepClock(), SyncInterval: time.Hour}
}

func mustOpen(t testing.TB, dir string) *Log {
	t.Helper()
	l, err := Open(dir, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// writeSample writes a log of the sample entries in dir (each Appended, so each is
// checkpointed) and returns the checkpoints after the 5th entry and at the end.
func writeSample(t testing.TB, dir string) (mid, last Checkpoint) {
	l := mustOpen(t, dir)
	for i, e := range sampleEntries() {
		cp, err := l.Append(e)
		if err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			mid = cp
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	last, err := ReadCheckpoint(filepath.Join(dir, cpName), verifier(t, testVKey))
	if err != nil {
		t.Fatal(err)
	}
	return mid, last
}

func TestLogRoundTrip(t *testing.T) {
	dir := t.TempDir()
	v := verifier(t, testVKey)
	mid, last := writeSample(t, dir)
	n := int64(len(sampleEntries())) + 1 // + audit.opened
	if last.Size != n || mid.Size != 6 {
		t.Fatalf("checkpoints of %d and %d entries, want 6 and %d", mid.Size, last.Size, n)
	}
	rep, err := Verify(dir, v, mid, last)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != n || rep.KeyFromDir {
		t.Errorf("report %+v", rep)
	}
	if _, err := Verify(dir, nil); err != nil {
		t.Errorf("with the directory's key.pub: %v", err)
	}

	// Reopened, the log goes on where it stopped; Record'ed entries reach the next checkpoint.
	l := mustOpen(t, dir)
	for range 10 {
		if !l.Record(Entry{Kind: Decisions, Counts: Counts{Seconds: 60, Fixes: 600, FixesKept: 600}}) {
			t.Fatal("Record dropped with an empty queue")
		}
	}
	cp, err := l.Append(Entry{Kind: Export, Object: "e1.age", SHA256: "00", Bytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != n+12 { // opened, 10 decisions, the export
		t.Errorf("checkpoint after Append covers %d entries, want %d", cp.Size, n+12)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Written != 12 || st.Dropped != 0 || st.Size != n+12 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, err := l.Checkpoint(); !errors.Is(err, ErrClosed) {
		t.Errorf("Checkpoint after Close: %v, want ErrClosed", err)
	}
	if l.Record(Entry{Kind: PowerOK}) || l.Stats().Dropped != 1 {
		t.Error("Record after Close was not dropped and counted")
	}
	rep, err = Verify(dir, v, mid, last, cp)
	if err != nil {
		t.Fatal(err)
	}
	// The export entry is provably in the checkpoint that Append returned, and that
	// checkpoint extends the earlier ones.
	entries, _ := ReadEntries(dir)
	ip, err := rep.Tree.ProveInclusion(cp.Size-1, cp.Size, entries[cp.Size-1])
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Includes(ip); err != nil {
		t.Error(err)
	}
	cons, err := rep.Tree.ProveConsistency(mid.Size, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := mid.Consistent(cp, cons); err != nil {
		t.Error(err)
	}
}

// TestLogGolden pins the files of a log written with a fixed key and clock (Ed25519
// signatures are deterministic): go test ./audit -run LogGolden -update rewrites them.
func TestLogGolden(t *testing.T) {
	dir := t.TempDir()
	writeSample(t, dir)
	golden := filepath.Join("testdata", "v1")
	for _, name := range []string{logName, cpName, pubName} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			os.MkdirAll(golden, 0o755)
			if err := os.WriteFile(filepath.Join(golden, name), got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(filepath.Join(golden, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: a format change needs a new version", name, golden)
		}
	}
	if _, err := Verify(golden, verifier(t, testVKey)); err != nil {
		t.Errorf("golden log: %v", err)
	}
}

// frames splits a log file into its header and whole frames.
func frames(t testing.TB, data []byte) (hdr []byte, fs [][]byte) {
	for off := headerSize; off < len(data); {
		_, size, _, err := nextFrame(data[off:])
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, data[off:off+size])
		off += size
	}
	return data[:headerSize], fs
}

// reframe builds a log file from a header and frames.
func reframe(hdr []byte, fs [][]byte) []byte {
	out := append([]byte(nil), hdr...)
	for _, f := range fs {
		out = append(out, f...)
	}
	return out
}

// frameOf encodes e as a frame, as the writer does.
func frameOf(e Entry) []byte {
	b := AppendJSON(make([]byte, frameHead), &e)
	putFrameHead(b)
	return b
}

// TestTamper: every way of changing a signed log fails Verify, with the right error; the
// unit's own Open refuses the same logs where it can tell.
func TestTamper(t *testing.T) {
	dir := t.TempDir()
	mid, last := writeSample(t, dir)
	logData, _ := os.ReadFile(filepath.Join(dir, logName))
	cpData, _ := os.ReadFile(filepath.Join(dir, cpName))
	hdr, fs := frames(t, logData)
	forger := signer(t, forgerSKey)
	sign := func(s note.Signer, log []byte) []byte {
		_, fs := frames(t, log)
		tr := NewTree(0)
		for _, f := range fs {
			tr.AppendEntry(f[frameHead:])
		}
		r, _ := tr.Root(tr.Size())
		cp, err := signCheckpoint(s, tr.Size(), r)
		if err != nil {
			t.Fatal(err)
		}
		return cp.Signed
	}
	edit := func(f func(fs [][]byte) [][]byte) []byte {
		cp := make([][]byte, len(fs))
		for i := range fs {
			cp[i] = append([]byte(nil), fs[i]...)
		}
		return reframe(hdr, f(cp))
	}
	changed := edit(func(fs [][]byte) [][]byte {
		var e Entry
		Decode(fs[3][frameHead:], &e)
		e.Version = 99
		fs[3] = frameOf(e) // a well-formed frame: only the tree can tell
		return fs
	})
	forked := edit(func(fs [][]byte) [][]byte { // history rewritten after the mid checkpoint
		var e Entry
		Decode(fs[8][frameHead:], &e)
		e.Detail = "rewritten"
		fs[8] = frameOf(e)
		return fs
	})
	tests := []struct {
		name       string
		log, cp    []byte
		trusted    []Checkpoint
		want       error
		openPasses bool // the unit cannot tell, only an auditor with an older checkpoint
	}{
		{name: "changed entry, frame redone", log: changed, want: ErrRoot},
		{name: "changed byte, checksum kept", log: edit(func(fs [][]byte) [][]byte { fs[3][20] ^= 1; return fs }), want: ErrCorrupt},
		{name: "removed entry", log: edit(func(fs [][]byte) [][]byte { return append(fs[:3], fs[4:]...) }), want: ErrTruncated},
		{name: "removed and last doubled", log: edit(func(fs [][]byte) [][]byte { return append(append(fs[:3], fs[4:]...), fs[len(fs)-1]) }), want: ErrRoot},
		{name: "reordered", log: edit(func(fs [][]byte) [][]byte { fs[3], fs[4] = fs[4], fs[3]; return fs }), want: ErrRoot},
		{name: "duplicated", log: edit(func(fs [][]byte) [][]byte { return append(fs[:4], fs[3:]...) }), want: ErrRoot},
		{name: "truncated mid-entry", log: logData[:len(logData)-10], want: ErrTorn},
		{name: "truncated at an entry", log: reframe(hdr, fs[:len(fs)-1]), want: ErrTruncated},
		{name: "entry appended", log: reframe(hdr, append(fs[:len(fs):len(fs)], frameOf(Entry{Seq: uint64(len(fs)), Time: t0, Kind: PowerOK}))), want: ErrUnsigned, openPasses: true},
		{name: "bad header", log: append([]byte("GGAUDIT\r"), logData[8:]...), want: ErrCorrupt},
		{name: "checkpoint forged", log: changed, cp: sign(forger, changed), want: ErrSignature},
		{name: "checkpoint edited", cp: bytes.Replace(cpData, []byte("\n17\n"), []byte("\n16\n"), 1), want: ErrSignature},
		{name: "checkpoint with a second signature", cp: append(append([]byte(nil), cpData...), []byte("— geogate.test/unit-1/audit fuPq2Q==\n")...), want: ErrSignature},
		{name: "checkpoint rolled back", log: reframe(hdr, fs[:mid.Size]), cp: mid.Signed, trusted: []Checkpoint{last}, want: ErrRollback, openPasses: true},
		{name: "checkpoint rolled back, log kept", cp: mid.Signed, want: ErrUnsigned, openPasses: true},
		{name: "history rewritten with the unit's key", log: forked, cp: sign(signer(t, testSKey), forked), trusted: []Checkpoint{mid, last}, want: ErrProof, openPasses: true},
	}
	v := verifier(t, testVKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, cp := tt.log, tt.cp
			if log == nil {
				log = logData
			}
			if cp == nil {
				cp = cpData
			}
			if _, err := verify(log, cp, v, tt.trusted); !errors.Is(err, tt.want) {
				t.Errorf("verify: %v, want %v", err, tt.want)
			}
			// The unit's Open checks the same files (without trusted checkpoints).
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, logName), log, 0o600)
			os.WriteFile(filepath.Join(d, cpName), cp, 0o644)
			l, err := Open(d, testOptions(t))
			if err == nil {
				l.Close()
			}
			if (err == nil) != tt.openPasses {
				t.Errorf("Open: %v, want it to pass: %v", err, tt.openPasses)
			}
		})
	}
}

// TestEveryByteEdit changes each byte of the log and of the checkpoint in turn (three ways)
// and checks that verification fails every time.
func TestEveryByteEdit(t *testing.T) {
	dir := t.TempDir()
	writeSample(t, dir)
	logData, _ := os.ReadFile(filepath.Join(dir, logName))
	cpData, _ := os.ReadFile(filepath.Join(dir, cpName))
	v := verifier(t, testVKey)
	rng := rand.New(rand.NewPCG(1, 2))
	tried := 0
	for _, target := range [][]byte{logData, cpData} {
		for i := range target {
			for _, x := range []byte{0x01, 0x80, byte(rng.IntN(255)) + 1} {
				target[i] ^= x
				if _, err := verify(logData, cpData, v, nil); err == nil {
					t.Errorf("byte %d of %d ^ %#x verified", i, len(target), x)
				}
				target[i] ^= x
				tried++
			}
		}
	}
	if _, err := verify(logData, cpData, v, nil); err != nil {
		t.Fatalf("the unedited log: %v", err)
	}
	t.Logf("%d single-byte edits, all caught", tried)
}

// FuzzTamper: any single-byte edit of the log or its checkpoint fails verification.
func FuzzTamper(f *testing.F) {
	dir := f.TempDir()
	writeSample(f, dir)
	logData, _ := os.ReadFile(filepath.Join(dir, logName))
	cpData, _ := os.ReadFile(filepath.Join(dir, cpName))
	v := verifier(f, testVKey)
	f.Add(false, uint32(100), byte(1))
	f.Add(true, uint32(30), byte(0x20))
	f.Fuzz(func(t *testing.T, inCheckpoint bool, pos uint32, b byte) {
		log, cp := bytes.Clone(logData), bytes.Clone(cpData)
		target := log
		if inCheckpoint {
			target = cp
		}
		i := int(pos % uint32(len(target)))
		if target[i] == b {
			return // not an edit
		}
		target[i] = b
		if _, err := verify(log, cp, v, nil); err == nil {
			t.Fatalf("byte %d of the %s set to %#x verified", i, map[bool]string{false: "log", true: "checkpoint"}[inCheckpoint], b)
		}
	})
}

// TestCrashTail: entries that reached the file but no checkpoint (a crash) are kept and
// checkpointed when the log is next opened; a torn last frame is cut.
func TestCrashTail(t *testing.T) {
	dir := t.TempDir()
	_, last := writeSample(t, dir)
	name := filepath.Join(dir, logName)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	survivor := frameOf(Entry{Seq: uint64(last.Size), Time: t0, Kind: Decisions, Counts: Counts{Seconds: 60, Fixes: 1}})
	torn := frameOf(Entry{Seq: uint64(last.Size + 1), Time: t0, Kind: Decisions, Counts: Counts{Seconds: 60, Fixes: 2}})
	f.Write(survivor)
	f.Write(torn[:len(torn)-5])
	f.Close()
	if _, err := Verify(dir, verifier(t, testVKey)); !errors.Is(err, ErrTorn) {
		t.Fatalf("Verify of the crash image: %v, want ErrTorn", err)
	}
	l := mustOpen(t, dir)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, verifier(t, testVKey), last)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != last.Size+2 { // the survivor and audit.opened
		t.Errorf("%d entries after recovery, want %d", rep.Entries, last.Size+2)
	}
	entries, _ := ReadEntries(dir)
	var e Entry
	if err := Decode(entries[last.Size], &e); err != nil || e.Counts.Fixes != 1 {
		t.Errorf("the survivor: %+v %v", e, err)
	}
	if err := Decode(entries[last.Size+1], &e); err != nil || e.Kind != AuditOpened || e.Bytes != uint64(len(torn)-5) {
		t.Errorf("audit.opened: %+v %v, want %d bytes cut", e, err, len(torn)-5)
	}

	// A tear inside what the checkpoint covers is damage, not a crash: Open refuses.
	data, _ := os.ReadFile(name)
	os.WriteFile(name, data[:len(data)-3], 0o600)
	if _, err := Open(dir, testOptions(t)); !errors.Is(err, ErrTorn) {
		t.Errorf("Open with a covered entry torn: %v, want ErrTorn", err)
	}
}

func TestRecordDropsAndCounts(t *testing.T) {
	l := &Log{q: make(chan Entry, 2)}
	e := Entry{Kind: PowerFail, Detail: "falling"}
	for i, want := range []bool{true, true, false} {
		if got := l.Record(e); got != want {
			t.Fatalf("Record %d: %v, want %v (a queue of two)", i, got, want)
		}
	}
	if a := testing.AllocsPerRun(100, func() { l.Record(e) }); a != 0 {
		t.Errorf("Record on a full queue: %v allocations", a)
	}
	<-l.q
	if a := testing.AllocsPerRun(100, func() { l.Record(e); <-l.q }); a != 0 {
		t.Errorf("Record: %v allocations", a)
	}
	if d := l.Stats().Dropped; d != 102 {
		t.Errorf("dropped %d, want 102", d)
	}

	// Drops are logged with the next commit.
	dir := t.TempDir()
	lg := mustOpen(t, dir)
	lg.dropped.Add(7)
	cp, err := lg.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	lg.Close()
	entries, _ := ReadEntries(dir)
	var got Entry
	if err := Decode(entries[cp.Size-1], &got); err != nil || got.Kind != AuditDropped || got.Count != 7 {
		t.Errorf("last entry %+v %v, want audit.dropped 7", got, err)
	}
}

// TestWriteDoesNotAllocate: the writer's per-entry work (encode, frame, write, leaf hash,
// edge) allocates nothing.
func TestWriteDoesNotAllocate(t *testing.T) {
	l := &Log{dir: t.TempDir(), now: stepClock(), leaf: newLeafHasher(), buf: make([]byte, frameHead, frameHead+MaxEntry)}
	if err := l.openFile(Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	defer l.f.Close()
	e := sampleEntries()[13]
	if a := testing.AllocsPerRun(1000, func() {
		e.Time = time.Time{}
		if err := l.writeErr(&e); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("writing an entry: %v allocations, want 0", a)
	}
}

func TestKeys(t *testing.T) {
	for skey, vkey := range map[string]string{testSKey: testVKey, forgerSKey: forgerVKey} { // the forger's holds a '+'
		if got, err := verifierKey(skey); err != nil || got != vkey {
			t.Errorf("verifierKey: %q %v, want %q", got, err, vkey)
		}
	}
	state := t.TempDir()
	keyFile := filepath.Join(state, "audit.key")
	dir := filepath.Join(state, "audit")
	l, err := Open(dir, Options{KeyFile: keyFile, Origin: "geogate.test/unit-2/audit"})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	v, err := ReadVerifier(filepath.Join(dir, pubName))
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != "geogate.test/unit-2/audit" || cp.Origin != v.Name() {
		t.Errorf("key %q, checkpoint origin %q", v.Name(), cp.Origin)
	}
	// Reopened with the same key file: the same key (the old checkpoint still verifies).
	if l, err = Open(dir, Options{KeyFile: keyFile, Origin: "ignored"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := Verify(dir, v, cp); err != nil {
		t.Error(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, pubName)); bytes.Contains(b, []byte("PRIVATE")) {
		t.Error("the private key is in the log's directory")
	}

	os.Chmod(keyFile, 0o640)
	if _, err := Open(dir, Options{KeyFile: keyFile}); !errors.Is(err, ErrKey) {
		t.Errorf("key readable by group: %v, want ErrKey", err)
	}
	if _, err := Open(dir, Options{KeyFile: filepath.Join(dir, "audit.key")}); !errors.Is(err, ErrKey) {
		t.Errorf("key in the log's directory: %v, want ErrKey", err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrKey) {
		t.Errorf("no key: %v, want ErrKey", err)
	}
	if _, err := Open(dir, Options{Signer: signer(t, testSKey), VerifierKey: forgerVKey}); !errors.Is(err, ErrKey) {
		t.Errorf("verifier of another key: %v, want ErrKey", err)
	}
	// Another unit's key cannot continue this log: its checkpoint does not verify.
	if _, err := Open(dir, testOptions(t)); !errors.Is(err, ErrSignature) {
		t.Errorf("another key: %v, want ErrSignature", err)
	}
}
