package upload_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/geogate/geogate/internal/testtool"
	"github.com/geogate/geogate/upload"
	"github.com/geogate/geogate/upload/uploadtest"
)

// spooled returns the one spooled export's sealed file.
func spooledFile(t *testing.T, e *env) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(e.cfg.Dir, "spool", "*.age"))
	if err != nil || len(m) != 1 {
		t.Fatalf("spool holds %v (%v), want one export", m, err)
	}
	return m[0]
}

// TestCutUploads cuts the connection at a random byte of the upload 20 times, each a new
// export of the same log (age makes every sealing unique) sent by a fresh Uploader that
// gives up on the first failure, as a unit losing power would. The next run must resume,
// sending again at most the part in flight, and the processor must get every record.
func TestCutUploads(t *testing.T) {
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	proxy := uploadtest.NewProxy(t, srv.Addr)
	logDir, recs := testLog(t, 250, 28000, 16) // one segment, an export of ~9.4 MB: 2 parts
	rng := rand.New(rand.NewPCG(20, 26))
	lostTotal := 0
	for i := range 20 {
		e := newEnv(t, logDir, recs, srv, proxy.Addr)
		e.cfg.Attempts = 1
		e.spool(t)
		st, err := os.Stat(spooledFile(t, e))
		if err != nil {
			t.Fatal(err)
		}
		size := st.Size()
		cut := 1 + rng.Int64N(size+size/8) // also into the completion, stat and checkpoint
		proxy.CutAfter(cut)
		rep1, err1 := e.uploader(t).Push(context.Background())
		proxy.CutAfter(0)
		rep2, err := e.uploader(t).Push(context.Background())
		if err != nil {
			t.Fatalf("cut %d at byte %d: resume: %v (first run: %v)", i, cut, err, err1)
		}
		resent := rep1.Sent + rep2.Sent - size
		if resent > upload.MinPartSize {
			t.Errorf("cut %d at byte %d of %d: %d bytes sent again, more than one part (%d)", i, cut, size, resent, upload.MinPartSize)
		}
		if rep1.Uploaded+rep2.Uploaded != 1 {
			t.Errorf("cut %d: uploaded %d+%d", i, rep1.Uploaded, rep2.Uploaded)
		}
		before := t.Failed()
		e.checkBucket(t)
		if t.Failed() && !before {
			lostTotal++
		}
		t.Logf("cut %2d at byte %8d of %8d: first run %v; sent %d + %d", i, cut, size, err1 != nil, rep1.Sent, rep2.Sent)
		// The next round's prefix is empty of this one's objects: clear the bucket.
		c := srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)
		for _, name := range listAll(t, c) {
			if err := c.RemoveObject(context.Background(), uploadtest.Bucket, name, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if proxy.Cuts() < 15 {
		t.Errorf("only %d of 20 uploads were cut: the test did not test", proxy.Cuts())
	}
	t.Logf("20 cut uploads (%d connections cut), %d with records lost", proxy.Cuts(), lostTotal)
}

// TestServerKilled kills the object store after the first part and starts it again: the
// next Push resumes the same multipart upload.
func TestServerKilled(t *testing.T) {
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	logDir, recs := testLog(t, 400, 28000, 16) // ~15 MB export: 3 parts
	e := newEnv(t, logDir, recs, srv, srv.Addr)
	e.spool(t)
	killed := false
	e.cfg.Progress = func(p upload.Progress) {
		if !killed && p.Sent > upload.MinPartSize+upload.MinPartSize/2 {
			killed = true
			srv.Stop()
		}
	}
	rep1, err := e.uploader(t).Push(context.Background())
	if err == nil || !killed {
		t.Fatalf("push with the server killed: %v (killed %v)", err, killed)
	}
	if len(e.released(t)) != 0 {
		t.Fatal("released with the server dead")
	}
	srv.Restart()
	e.cfg.Progress = nil
	rep2, err := e.uploader(t).Push(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if resent := rep1.Sent + rep2.Sent - rep2.Bytes; resent > upload.MinPartSize {
		t.Errorf("%d bytes sent again after the restart (one part is %d)", resent, upload.MinPartSize)
	}
	e.checkBucket(t)
}

func TestWrongCredentials(t *testing.T) {
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	logDir, recs := testLog(t, 50, 20000, 4)
	for _, tt := range []struct{ name, access, secret string }{
		{"unknown access key", "nobody", uploadtest.SecretKey},
		{"wrong secret", uploadtest.AccessKey, "wrong-secret-0123456789"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, logDir, recs, srv, srv.Addr)
			e.cfg.AccessKey, e.cfg.SecretKey = tt.access, tt.secret
			e.cfg.Attempts = 5
			tries := 0
			e.cfg.Sleep = func(context.Context, time.Duration) error { tries++; return nil }
			e.spool(t)
			rep, err := e.uploader(t).Push(context.Background())
			if !errors.Is(err, upload.ErrCredentials) {
				t.Fatalf("push: %v, want ErrCredentials", err)
			}
			// Refused credentials stop the push at once, before any of the export is sent.
			if tries > 0 || rep.Sent != 0 {
				t.Errorf("retried %d times and sent %d bytes: credentials do not get better", tries, rep.Sent)
			}
			if len(e.released(t)) != 0 {
				t.Error("released")
			}
			spooledFile(t, e) // still there
		})
	}
}

// TestFullBucket puts the object store's directory on a 4 MiB tmpfs: the upload fails,
// nothing is released, and once there is room the same spool uploads.
func TestFullBucket(t *testing.T) {
	testtool.Root(t, "to mount a tmpfs")
	dir := filepath.Join(t.TempDir(), "s3")
	os.MkdirAll(dir, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		msg := "mount tmpfs: " + strings.TrimSpace(string(out))
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	srv := uploadtest.Start(t, dir)
	logDir, recs := testLog(t, 300, 28000, 16) // ~11 MB export
	e := newEnv(t, logDir, recs, srv, srv.Addr)
	e.spool(t)
	_, err := e.uploader(t).Push(context.Background())
	if err == nil {
		t.Fatal("an 11 MB export fit into a 4 MiB bucket file system")
	}
	t.Logf("full bucket: %v", err)
	if len(e.released(t)) != 0 {
		t.Fatal("released although the store is full")
	}
	spooledFile(t, e)
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	if _, err := e.uploader(t).Push(context.Background()); err != nil {
		t.Fatalf("push once there is room: %v", err)
	}
	e.checkBucket(t)
}

// listAll names every object in the test bucket.
func listAll(t testing.TB, c *minio.Client) []string {
	t.Helper()
	var names []string
	for o := range c.ListObjects(context.Background(), uploadtest.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		names = append(names, o.Key)
	}
	return names
}

// TestAlreadyThere: a unit cut after the object store completed the object but before it
// recorded so finds the object by its content address and sends nothing again; an object
// of that name with other content is replaced.
func TestAlreadyThere(t *testing.T) {
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	logDir, recs := testLog(t, 300, 28000, 16) // a 3-part export
	e := newEnv(t, logDir, recs, srv, srv.Addr)
	e.spool(t)
	spool := filepath.Join(e.cfg.Dir, "spool")
	saved := map[string][]byte{}
	ents, _ := os.ReadDir(spool)
	for _, ent := range ents {
		saved[ent.Name()], _ = os.ReadFile(filepath.Join(spool, ent.Name()))
	}
	if _, err := e.uploader(t).Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		for name, b := range saved {
			os.WriteFile(filepath.Join(spool, name), b, 0o600)
		}
		os.Remove(filepath.Join(e.cfg.Dir, "confirmed.json"))
	}
	restore()
	rep, err := e.uploader(t).Push(context.Background())
	if err != nil || rep.Uploaded != 1 || rep.Sent != 0 {
		t.Fatalf("push of an export already there: %+v %v (want confirmed, nothing sent)", rep, err)
	}
	if len(e.released(t)) != 1 {
		t.Error("not released")
	}
	e.checkBucket(t)

	// Other bytes under the export's name are not the export: it is sent again.
	restore()
	c := srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)
	name := ""
	for n := range saved {
		if filepath.Ext(n) == ".age" {
			name = e.cfg.Prefix + n
		}
	}
	junk := strings.NewReader(strings.Repeat("x", 1000))
	if _, err := c.PutObject(context.Background(), uploadtest.Bucket, name, junk, 1000, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err = e.uploader(t).Push(context.Background())
	if err != nil || rep.Sent == 0 {
		t.Fatalf("push over a wrong object: %+v %v", rep, err)
	}
	e.checkBucket(t)
}
