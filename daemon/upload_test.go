package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/upload"
	"github.com/geogate/geogate/upload/uploadtest"
)

// TestRunUploader runs the daemon with its uploader on ([upload] enabled) against a real
// object store (versitygw on loopback): sealed segments arrive as exports the processor's
// identity reads, record for record as the unit stored them; a segment is released (in
// confirmed.json) only once its export is in the bucket; the audit log records an export
// and an upload entry per object, and the checkpoints sent form one append-only log. With
// the store killed the daemon keeps storing and spooling, releases nothing, and once the
// store is back it catches up: nothing is lost.
func TestRunUploader(t *testing.T) {
	heavy(t)
	needPTY(t)
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	key := newKey(t, dir)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	cred := filepath.Join(dir, "upload-credentials")
	if err := os.WriteFile(cred, []byte(uploadtest.AccessKey+"\n"+uploadtest.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const prefix = "geogate/e2e-unit/"
	up := fmt.Sprintf("enabled = true\nendpoint = %q\ninsecure = true\nbucket = %q\nprefix = %q\n"+
		"credentials_file = %q\nrecipients = [%q]\nnetwork = \"any\"\npart_mb = 5\ninterval = \"1s\"\n",
		srv.Addr, uploadtest.Bucket, prefix, cred, id.Recipient().String())
	// 1 MiB segments fill in seconds with the small camera in the licensed tier (frames kept).
	cfg := writeConfig(t, dir, runConfig{DataDir: data, KeyFile: key, GNSS: simGNSS(10), Camera: smallCamera,
		Tier: "licensed", Storage: "segment_mb = 1\n", Upload: up})
	p := startDaemon(t, "geogate run (uploader)", cfg)
	p.waitReady()
	c := srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)
	state := filepath.Join(data, "upload")

	// Uploads arrive and are confirmed.
	p.waitStatus("two exports confirmed", func(status) bool { return len(confirmed(t, state)) >= 2 })
	checkReleased(t, c, prefix, state)

	// The store goes away: the daemon spools, releases nothing, keeps running.
	srv.Stop()
	before := confirmed(t, state)
	logged := len(p.stderr())
	p.waitStatus("two exports spooled and a request refused while the store is down", func(status) bool {
		return spooled(t, state) >= 2 && strings.Contains(p.stderr()[logged:], "upload: retrying")
	})
	if after := confirmed(t, state); len(after) != len(before) {
		t.Fatalf("%d segments released while the store was down (had %d)", len(after), len(before))
	}

	// It comes back: the spool drains.
	srv.Restart()
	p.waitStatus("the spool drained after the store came back", func(status) bool {
		return spooled(t, state) == 0 && len(confirmed(t, state)) >= len(before)+2
	})
	took, sum := p.terminate()
	t.Logf("stopped %v after SIGTERM: %s", took, sum.line)

	// The processor's view: every confirmed segment's records, byte for byte.
	got := bucketRecords(t, c, prefix, id)
	local := readLog(t, data, key)
	man := confirmed(t, state)
	stillSpooled := spooled(t, state)
	// Not uploaded: only the tail (the segment open at the stop, and what the last
	// interval had not pushed yet), never a record before one that was.
	uploaded, lastUp, firstMissing := 0, uint64(0), uint64(1<<63)
	for _, rec := range local {
		b, ok := got[rec.seq]
		switch {
		case ok && !bytes.Equal(b, rec.payload):
			t.Fatalf("record %d differs in the bucket", rec.seq)
		case ok:
			uploaded++
			lastUp = max(lastUp, rec.seq)
		default:
			firstMissing = min(firstMissing, rec.seq)
		}
	}
	if firstMissing < lastUp {
		t.Errorf("record %d is not in the bucket, but record %d after it is: lost", firstMissing, lastUp)
	}
	if len(got) != uploaded {
		t.Errorf("the bucket holds %d records the log does not", len(got)-uploaded)
	}
	t.Logf("%d of %d records in the bucket (the rest is the log's tail), %d segments confirmed, %d exports left in the spool at the stop",
		uploaded, len(local), len(man), stillSpooled)
	if uploaded == 0 {
		t.Fatal("no record uploaded")
	}
	checkReleased(t, c, prefix, state)

	// The audit trail: a true log, an export and an upload entry per object.
	adir := filepath.Join(data, "audit")
	v, err := audit.ReadVerifier(filepath.Join(adir, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(adir, v); err != nil {
		t.Fatal(err)
	}
	entries, err := audit.ReadEntries(adir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[audit.Kind]bool{}
	for _, b := range entries {
		var e audit.Entry
		if err := audit.Decode(b, &e); err != nil {
			t.Fatal(err)
		}
		if e.Kind == audit.Export || e.Kind == audit.Upload {
			if kinds[e.Object] == nil {
				kinds[e.Object] = map[audit.Kind]bool{}
			}
			kinds[e.Object][e.Kind] = true
		}
	}
	var links []audit.Link
	for _, o := range listObjects(t, c, prefix) {
		if !strings.HasSuffix(o, ".age") {
			continue
		}
		if !kinds[o][audit.Export] || !kinds[o][audit.Upload] {
			t.Errorf("%s: audit entries %v, want export and upload", o, kinds[o])
		}
		cp, err := audit.ParseCheckpoint(getObject(t, c, o+upload.CheckpointSuffix), v)
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		l := audit.Link{Name: o, Checkpoint: cp, Proof: new(audit.ConsistencyProof)}
		if err := l.Proof.UnmarshalText(getObject(t, c, o+upload.ConsistencySuffix)); err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		links = append(links, l)
	}
	if err := audit.CheckChain(nil, links); err != nil {
		t.Errorf("the checkpoints sent: %v", err)
	}
}

// confirmed reads the uploader's manifest in state: segment id -> object.
func confirmed(t *testing.T, state string) upload.Manifest {
	t.Helper()
	m, err := upload.ReadManifest(state)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// spooled counts the exports waiting in the spool.
func spooled(t *testing.T, state string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(state, "spool", "*.age"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// checkReleased checks that every segment the manifest releases has its export in the
// bucket, with the digest the manifest names.
func checkReleased(t *testing.T, c *minio.Client, prefix, state string) {
	t.Helper()
	for seg, conf := range confirmed(t, state) {
		st, err := c.StatObject(context.Background(), uploadtest.Bucket, conf.Object, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("segment %016x released, but its export %s: %v", seg, conf.Object, err)
		}
		if !strings.HasPrefix(conf.Object, prefix) || st.UserMetadata["Geogate-Sha256"] != conf.SHA256 {
			t.Errorf("segment %016x: object %s has digest %q, the manifest %s", seg, conf.Object, st.UserMetadata["Geogate-Sha256"], conf.SHA256)
		}
	}
}

func listObjects(t *testing.T, c *minio.Client, prefix string) []string {
	t.Helper()
	var names []string
	for o := range c.ListObjects(context.Background(), uploadtest.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		names = append(names, o.Key)
	}
	return names
}

func getObject(t *testing.T, c *minio.Client, name string) []byte {
	t.Helper()
	o, err := c.GetObject(context.Background(), uploadtest.Bucket, name, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// bucketRecords decrypts every export under prefix with the processor's identity and
// returns the records by seq; a record in two exports fails the test.
func bucketRecords(t *testing.T, c *minio.Client, prefix string, id age.Identity) map[uint64][]byte {
	t.Helper()
	got := map[uint64][]byte{}
	for _, o := range listObjects(t, c, prefix) {
		if !strings.HasSuffix(o, ".age") {
			continue
		}
		r, err := age.Decrypt(bytes.NewReader(getObject(t, c, o)), id)
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var l upload.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %v", o, err)
			}
			if _, dup := got[l.Seq]; dup {
				t.Fatalf("record %d in two exports", l.Seq)
			}
			got[l.Seq] = l.Payload
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", o, err)
		}
	}
	return got
}
