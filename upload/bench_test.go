package upload_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/geogate/geogate/upload"
	"github.com/geogate/geogate/upload/uploadtest"
)

// benchExport spools one export of about 64 MB (a 48 MiB segment in base64 JSON lines,
// sealed) and keeps a copy of the spool to restore before each Push.
func benchExport(b *testing.B, partSize int64) (e *env, file string, size int64, restore func()) {
	b.Helper()
	srv := uploadtest.Start(b, filepath.Join(b.TempDir(), "s3"))
	logDir, recs := testLog(b, 1600, 30000, 48)
	e = newEnv(b, logDir, recs, srv, srv.Addr)
	e.cfg.PartSize = partSize
	if n := e.spool(b); n != 1 {
		b.Fatalf("spooled %d exports", n)
	}
	spool := filepath.Join(e.cfg.Dir, "spool")
	saved := b.TempDir()
	ents, _ := os.ReadDir(spool)
	for _, ent := range ents {
		data, err := os.ReadFile(filepath.Join(spool, ent.Name()))
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(saved, ent.Name()), data, 0o600)
		if filepath.Ext(ent.Name()) == ".age" {
			file, size = filepath.Join(spool, ent.Name()), int64(len(data))
		}
	}
	restore = func() {
		ents, _ := os.ReadDir(saved)
		for _, ent := range ents {
			data, _ := os.ReadFile(filepath.Join(saved, ent.Name()))
			os.WriteFile(filepath.Join(spool, ent.Name()), data, 0o600)
		}
		c := srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)
		for _, name := range listAll(b, c) {
			c.RemoveObject(context.Background(), uploadtest.Bucket, name, minio.RemoveObjectOptions{})
		}
	}
	return e, file, size, restore
}

// BenchmarkPush is the uploader sending a 64 MB export: multipart in 16 MiB parts (the
// default), the MD5 of each part taken as it is sent and compared with the store's ETag,
// the state saved after each part, the object confirmed, the checkpoint sidecar, the manifest
// and the audit entry; "one-part" is the same with a part size above the export's, so one
// PutObject. Compare with BenchmarkPutObject.
func BenchmarkPush(b *testing.B) {
	b.Run("parts=16MiB", func(b *testing.B) { benchPush(b, upload.DefaultPartSize) })
	b.Run("one-part", func(b *testing.B) { benchPush(b, 128<<20) })
}

func benchPush(b *testing.B, partSize int64) {
	e, _, size, restore := benchExport(b, partSize)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		restore()
		u := e.uploader(b)
		b.StartTimer()
		if rep, err := u.Push(context.Background()); err != nil || rep.Uploaded != 1 {
			b.Fatalf("push: %+v %v", rep, err)
		}
	}
}

// BenchmarkPutObject is the object store's own PutObject of the same bytes with the same
// client library: one request, the baseline of BenchmarkPush (goal: Push >= 0.8x of it).
func BenchmarkPutObject(b *testing.B) {
	e, file, size, restore := benchExport(b, upload.DefaultPartSize)
	c := e.srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		restore()
		f, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := c.PutObject(context.Background(), uploadtest.Bucket, "baseline.age", f, size, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkPushRatio times, in every iteration, the uploader's Push of the 64 MB export
// (multipart, 16 MiB parts) and the object store's own PutObject of the same sealed bytes
// with the same client library, server and transport, one after the other, so that a
// loaded machine slows both alike. x-putobject is PutObject's time over Push's: the
// throughput of Push as a fraction of PutObject's (goal >= 0.8).
func BenchmarkPushRatio(b *testing.B) {
	e, file, size, restore := benchExport(b, upload.DefaultPartSize)
	c := e.srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)
	b.SetBytes(size)
	var push, put time.Duration
	for b.Loop() {
		b.StopTimer()
		restore()
		u := e.uploader(b)
		f, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := c.PutObject(context.Background(), uploadtest.Bucket, "baseline.age", f, size, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			b.Fatal(err)
		}
		put += time.Since(t0)
		f.Close()
		b.StartTimer()
		t0 = time.Now()
		if rep, err := u.Push(context.Background()); err != nil || rep.Uploaded != 1 {
			b.Fatalf("push: %+v %v", rep, err)
		}
		push += time.Since(t0)
	}
	b.ReportMetric(put.Seconds()/push.Seconds(), "x-putobject")
}
