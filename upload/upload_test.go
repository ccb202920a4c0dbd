package upload_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
	"golang.org/x/mod/sumdb/note"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/storage"
	"github.com/geogate/geogate/upload"
	"github.com/geogate/geogate/upload/uploadtest"
)

// marker is in every test record: found anywhere in the bucket's directory, as is or in
// base64 (an export's payload encoding), it means data went out in clear.
const marker = "GEOGATE-PLAINTEXT-MARKER"

var devKey = bytes.Repeat([]byte{0x42}, storage.KeySize)

// testLog writes a log of n records of about size bytes each into a new directory, in
// segments of segMB MiB, all sealed, and returns the directory and the records by seq.
func testLog(t testing.TB, n, size int, segMB int64) (string, map[uint64][]byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "log")
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	l, err := storage.Open(dir, storage.Options{Key: devKey, SegmentSize: segMB << 20, Clock: fixedClock(at)})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	recs := map[uint64][]byte{}
	for i := range n {
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(rng.UintN(256))
		}
		copy(p, fmt.Sprintf("%s %d ", marker, i))
		copy(p[size/2:], marker)
		seq, err := l.Append(1, at.Add(time.Duration(i)*100*time.Millisecond), p)
		if err != nil {
			t.Fatal(err)
		}
		recs[seq] = p
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, recs
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// env is one unit: its log, audit trail and uploader config, and the processor's identity.
type env struct {
	logDir  string
	records map[uint64][]byte
	id      *age.X25519Identity
	audit   *audit.Log
	auditV  string // the audit log's directory
	cfg     upload.Config
	srv     *uploadtest.Server
}

func newEnv(t testing.TB, logDir string, recs map[uint64][]byte, srv *uploadtest.Server, endpoint string) *env {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	al, err := audit.Open(filepath.Join(tmp, "audit"), audit.Options{KeyFile: filepath.Join(tmp, "audit.key"), Origin: "geogate/test-unit/audit"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	return &env{logDir: logDir, records: recs, id: id, audit: al, auditV: filepath.Join(tmp, "audit"), srv: srv,
		cfg: upload.Config{Endpoint: endpoint, Insecure: true, Bucket: uploadtest.Bucket, Prefix: "geogate/test-unit/",
			AccessKey: uploadtest.AccessKey, SecretKey: uploadtest.SecretKey, Recipients: []string{id.Recipient().String()},
			PartSize: upload.MinPartSize, Network: upload.AnyNetwork, Dir: filepath.Join(tmp, "upload"),
			Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Audit: al}}
}

func (e *env) uploader(t testing.TB) *upload.Uploader {
	t.Helper()
	u, err := upload.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) spool(t testing.TB) int {
	t.Helper()
	r, err := storage.NewReader(e.logDir, devKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := e.uploader(t).Spool(r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// processor returns what the processor reads the bucket with: a client with the processor's
// identity and the verifier of the unit's audit key.
func (e *env) processor(t *testing.T) (*minio.Client, note.Verifier) {
	t.Helper()
	v, err := audit.ReadVerifier(filepath.Join(e.auditV, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return e.srv.Client(uploadtest.AccessKey, uploadtest.SecretKey), v
}

// checkBucket checks what the processor holds: every export object named by the SHA-256 of
// its bytes, readable with the identity, carrying a checkpoint that verifies with the unit's
// key; and together every record of the log, byte for byte. Nothing is in clear.
func (e *env) checkBucket(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c, v := e.processor(t)
	got := map[uint64][]byte{}
	exports := 0
	for obj := range c.ListObjects(ctx, uploadtest.Bucket, minio.ListObjectsOptions{Prefix: e.cfg.Prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if !strings.HasSuffix(obj.Key, ".age") {
			continue
		}
		exports++
		o, err := c.GetObject(ctx, uploadtest.Bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := io.ReadAll(o)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(sealed)
		if want := e.cfg.Prefix + hex.EncodeToString(sum[:]) + ".age"; obj.Key != want {
			t.Errorf("object %s is not named by its SHA-256 (%s)", obj.Key, want)
		}
		cpObj, err := c.GetObject(ctx, uploadtest.Bucket, obj.Key+upload.CheckpointSuffix, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cpb, err := io.ReadAll(cpObj)
		if err != nil {
			t.Fatalf("%s: no checkpoint sidecar: %v", obj.Key, err)
		}
		if _, err := audit.ParseCheckpoint(cpb, v); err != nil {
			t.Errorf("%s: checkpoint: %v", obj.Key, err)
		}
		st, err := c.StatObject(ctx, uploadtest.Bucket, obj.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := base64.StdEncoding.DecodeString(st.UserMetadata["Geogate-Checkpoint"]); !bytes.Equal(m, cpb) {
			t.Errorf("%s: checkpoint metadata %q differs from the sidecar", obj.Key, st.UserMetadata["Geogate-Checkpoint"])
		}
		for seq, p := range readExport(t, sealed, e.id) {
			if _, dup := got[seq]; dup {
				t.Errorf("record %d in two exports", seq)
			}
			got[seq] = p
		}
	}
	if exports == 0 {
		t.Fatal("no export in the bucket")
	}
	if err := audit.CheckChain(nil, e.links(t)); err != nil {
		t.Errorf("the checkpoints sent do not describe one append-only log: %v", err)
	}
	lost := 0
	for seq, p := range e.records {
		if !bytes.Equal(got[seq], p) {
			lost++
		}
	}
	if lost > 0 || len(got) != len(e.records) {
		t.Errorf("%d of %d records lost or changed; the bucket holds %d", lost, len(e.records), len(got))
	}
	scanClear(t, e.srv.Dir)
}

// links are the checkpoints and consistency proofs the processor holds under the env's
// prefix, signatures checked.
func (e *env) links(t *testing.T) []audit.Link {
	t.Helper()
	ctx := context.Background()
	c, v := e.processor(t)
	get := func(name string) []byte { // nil: no such object
		o, err := c.GetObject(ctx, uploadtest.Bucket, name, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(o)
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	var links []audit.Link
	for obj := range c.ListObjects(ctx, uploadtest.Bucket, minio.ListObjectsOptions{Prefix: e.cfg.Prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if !strings.HasSuffix(obj.Key, ".age") {
			continue
		}
		cp, err := audit.ParseCheckpoint(get(obj.Key+upload.CheckpointSuffix), v)
		if err != nil {
			t.Fatalf("%s: %v", obj.Key, err)
		}
		l := audit.Link{Name: obj.Key, Checkpoint: cp}
		if text := get(obj.Key + upload.ConsistencySuffix); text != nil {
			l.Proof = new(audit.ConsistencyProof)
			if err := l.Proof.UnmarshalText(text); err != nil {
				t.Fatalf("%s: %v", obj.Key+upload.ConsistencySuffix, err)
			}
		}
		links = append(links, l)
	}
	return links
}

// readExport decrypts an export and returns its records by seq.
func readExport(t *testing.T, sealed []byte, id age.Identity) map[uint64][]byte {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	out := map[uint64][]byte{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l upload.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out[l.Seq] = l.Payload
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read export: %v", err)
	}
	return out
}

// scanClear fails if any file under dir holds the marker as is or in base64 (at each of
// the three alignments), or JSON of a record.
func scanClear(t *testing.T, dir string) {
	t.Helper()
	needles := [][]byte{[]byte(marker), []byte(`"payload"`), []byte(`"seq"`)}
	for i := range 3 {
		b := []byte(strings.Repeat("x", i) + marker)
		b64 := base64.StdEncoding.EncodeToString(b)
		needles = append(needles, []byte(b64[(i+2)/3*4:len(b)/3*4]))
	}
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s holds %q in clear", p, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Errorf("no file under %s: the scan looked at nothing", dir)
	}
}

// released reports the segments the manifest released.
func (e *env) released(t testing.TB) upload.Manifest {
	t.Helper()
	m, err := upload.ReadManifest(e.cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) segments(t testing.TB) []uint64 {
	t.Helper()
	r, err := storage.NewReader(e.logDir, devKey)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, s := range segs {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestUploadRoundTrip(t *testing.T) {
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	logDir, recs := testLog(t, 300, 30000, 4) // ~9 MB in 3 segments: single-part exports
	e := newEnv(t, logDir, recs, srv, srv.Addr)
	// One big segment (~11 MB export): a multipart upload of 3 parts.
	bigDir, bigRecs := testLog(t, 300, 28000, 16)
	if n := e.spool(t); n < 3 {
		t.Fatalf("spooled %d exports, want one per segment (>= 3)", n)
	}
	if n := e.spool(t); n != 0 {
		t.Errorf("a second Spool made %d more exports", n)
	}
	if len(e.released(t)) != 0 {
		t.Fatal("segments released before any upload")
	}
	var progress []upload.Progress
	e.cfg.Progress = func(p upload.Progress) { progress = append(progress, p) }
	rep, err := e.uploader(t).Push(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pending != 0 || rep.Uploaded < 3 {
		t.Errorf("report %+v", rep)
	}
	if len(progress) == 0 || progress[len(progress)-1].Sent != progress[len(progress)-1].Total {
		t.Errorf("progress did not reach the total: %v", progress[max(0, len(progress)-1):])
	}
	for _, id := range e.segments(t) {
		if !e.released(t).Released(id) {
			t.Errorf("segment %016x not released after its upload", id)
		}
	}
	e.checkBucket(t)

	// The big log, as a second unit into the same bucket: a multipart upload.
	e2 := newEnv(t, bigDir, bigRecs, srv, srv.Addr)
	e2.cfg.Prefix = "geogate/test-unit-2/"
	if n := e2.spool(t); n != 1 {
		t.Fatalf("spooled %d exports of the big log, want 1", n)
	}
	if rep, err := e2.uploader(t).Push(context.Background()); err != nil || rep.Bytes <= 2*upload.MinPartSize {
		t.Fatalf("push %+v: %v (want a multipart export)", rep, err)
	}
	e2.checkBucket(t)

	// The audit trail holds an export and an upload entry per object.
	entries, err := audit.ReadEntries(e.auditV)
	if err != nil {
		t.Fatal(err)
	}
	var exports, uploads int
	for _, b := range entries {
		var a audit.Entry
		if err := audit.Decode(b, &a); err != nil {
			t.Fatal(err)
		}
		switch a.Kind {
		case audit.Export:
			exports++
		case audit.Upload:
			uploads++
		}
	}
	if exports != rep.Uploaded || uploads != rep.Uploaded {
		t.Errorf("audit: %d exports, %d uploads; want %d each", exports, uploads, rep.Uploaded)
	}
}

// TestRewrittenAuditLog: between two uploads the unit's audit log is replaced by another
// one signed with the same key (a history rewritten by whoever holds the key). The second
// export's consistency proof cannot tie its checkpoint to the first's: the processor's
// chain check fails; with the true log it passes.
func TestRewrittenAuditLog(t *testing.T) {
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	logDir, recs := testLog(t, 60, 30000, 1) // ~1.8 MB in 2 segments
	e := newEnv(t, logDir, recs, srv, srv.Addr)
	if n := e.spool(t); n < 2 {
		t.Fatalf("spooled %d exports", n)
	}
	if _, err := e.uploader(t).Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckChain(nil, e.links(t)); err != nil {
		t.Fatalf("true log: %v", err)
	}

	// The same key signs a new log in a new directory, longer than the first.
	tmp := filepath.Dir(e.auditV)
	if err := e.audit.Close(); err != nil {
		t.Fatal(err)
	}
	forged, err := audit.Open(filepath.Join(tmp, "forged"), audit.Options{KeyFile: filepath.Join(tmp, "audit.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { forged.Close() })
	for i := range 50 {
		if _, err := forged.Append(audit.Entry{Kind: audit.Decisions, Count: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	e.cfg.Audit = forged
	more, moreRecs := testLog(t, 30, 30000, 1)
	e.logDir, e.records = more, moreRecs
	os.Remove(filepath.Join(e.cfg.Dir, "confirmed.json")) // its segment ids are the first log's
	if n := e.spool(t); n < 1 {
		t.Fatalf("spooled %d exports from the forged log", n)
	}
	if _, err := e.uploader(t).Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = audit.CheckChain(nil, e.links(t))
	if !errors.Is(err, audit.ErrProof) {
		t.Fatalf("chain over a rewritten log: %v, want ErrProof", err)
	}
	t.Log(err)

	// Rolled back: a log shorter than the last checkpoint sent. The unit cannot prove
	// anything: the export goes without a proof (the data still flows), and the chain
	// check names it.
	if err := forged.Close(); err != nil {
		t.Fatal(err)
	}
	rolled, err := audit.Open(filepath.Join(tmp, "rolled"), audit.Options{KeyFile: filepath.Join(tmp, "audit.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rolled.Close() })
	e.cfg.Audit = rolled
	last, lastRecs := testLog(t, 20, 30000, 1)
	e.logDir, e.records = last, lastRecs
	os.Remove(filepath.Join(e.cfg.Dir, "confirmed.json"))
	if n := e.spool(t); n < 1 {
		t.Fatalf("spooled %d exports from the rolled-back log", n)
	}
	if rep, err := e.uploader(t).Push(context.Background()); err != nil || rep.Uploaded < 1 {
		t.Fatalf("push with a rolled-back audit log: %+v %v", rep, err)
	}
	links := e.links(t)
	noProof := 0
	for _, l := range links {
		if l.Proof == nil {
			noProof++
		}
	}
	if noProof != 1 {
		t.Errorf("%d exports without a consistency proof, want the one sent with the rolled-back log", noProof)
	}
	err = audit.CheckChain(nil, links)
	// Its checkpoint may also be as long as one of the first log's: then both are named
	// as a fork, whichever the listing gives first.
	if !errors.Is(err, audit.ErrProof) || !strings.Contains(err.Error(), "without a consistency proof") && !strings.Contains(err.Error(), "forked") {
		t.Fatalf("chain over a rolled-back log: %v, want a missing proof or a fork", err)
	}
}
