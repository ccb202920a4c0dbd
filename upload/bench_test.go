package upload_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/geogate/geogate/internal/cputime"
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

// BenchmarkPushRatio times, in every iteration, three uploads of the same 64 MB sealed
// export with the same client library, server and transport, one after the other, so that a
// loaded machine slows all alike: the object store's own PutObject (one request), the
// store's own multipart upload in 16 MiB parts (create, the parts in order, complete:
// what any resumable S3 client sends, without the uploader's state, checks and audit), and
// the uploader's Push. x-putobject is PutObject's time over Push's: Push's throughput as a
// fraction of PutObject's (goal >= 0.8); x-multipart the same against the bare multipart
// upload; multipart-x-putobject the bare multipart upload against PutObject, which bounds
// what any multipart client can reach on this store; complete-share the part of the bare
// multipart upload's time spent in CompleteMultipartUpload (the store joining the parts).
// Where Linux tells processor times, it also reports the CPU each upload took in this
// process and in the store, and cpu-x-putobject: PutObject's CPU (both sides) over Push's.
func BenchmarkPushRatio(b *testing.B) {
	e, file, size, restore := benchExport(b, upload.DefaultPartSize)
	c := e.srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)
	core := &minio.Core{Client: c}
	ctx := context.Background()
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	sealed := make([]byte, size)
	_, err = io.ReadFull(f, sealed)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	// The references read a copy of the sealed file, as Push reads the spooled one.
	copyName := filepath.Join(b.TempDir(), "sealed.age")
	if err := os.WriteFile(copyName, sealed, 0o600); err != nil {
		b.Fatal(err)
	}
	if f, err = os.Open(copyName); err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	putObject := func() {
		r := io.NewSectionReader(f, 0, size)
		if _, err := c.PutObject(ctx, uploadtest.Bucket, "baseline.age", r, size, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			b.Fatal(err)
		}
	}
	var complete time.Duration // the store assembling the parts, within the bare multipart upload
	multipart := func() {
		id, err := core.NewMultipartUpload(ctx, uploadtest.Bucket, "multipart.age", minio.PutObjectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var parts []minio.CompletePart
		for n, off := 1, int64(0); off < size; n, off = n+1, off+upload.DefaultPartSize {
			ps := min(upload.DefaultPartSize, size-off)
			p, err := core.PutObjectPart(ctx, uploadtest.Bucket, "multipart.age", id, n, io.NewSectionReader(f, off, ps), ps, minio.PutObjectPartOptions{})
			if err != nil {
				b.Fatal(err)
			}
			parts = append(parts, minio.CompletePart{PartNumber: n, ETag: p.ETag})
		}
		t0 := time.Now()
		if _, err := core.CompleteMultipartUpload(ctx, uploadtest.Bucket, "multipart.age", id, parts, minio.PutObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		complete += time.Since(t0)
	}
	b.SetBytes(size)
	var took, cli, srv [3]time.Duration // PutObject, bare multipart, Push: wall, this process's CPU, the store's CPU
	i := 0
	for b.Loop() {
		b.StopTimer()
		restore()
		u := e.uploader(b)
		push := func() {
			if rep, err := u.Push(ctx); err != nil || rep.Uploaded != 1 {
				b.Fatalf("push: %+v %v", rep, err)
			}
		}
		// The order turns every iteration: the page cache's writeback of one upload's
		// bytes must not fall on the same contender each time.
		runs := []func(){putObject, multipart, push}
		for k := range 3 {
			j := (i + k) % 3
			if j == 2 {
				b.StartTimer()
			}
			t0, c0, s0 := time.Now(), cputime.Process(), e.srv.CPU()
			runs[j]()
			took[j] += time.Since(t0)
			cli[j] += cputime.Process() - c0
			srv[j] += e.srv.CPU() - s0
			if j == 2 {
				b.StopTimer()
			}
		}
		i++
		b.StartTimer()
	}
	b.ReportMetric(took[0].Seconds()/took[2].Seconds(), "x-putobject")
	b.ReportMetric(took[1].Seconds()/took[2].Seconds(), "x-multipart")
	b.ReportMetric(took[0].Seconds()/took[1].Seconds(), "multipart-x-putobject")
	b.ReportMetric(complete.Seconds()/took[1].Seconds(), "complete-share")
	// CPU per upload, client (this process) and store, in ms: on a loaded machine time
	// follows the CPU each asks for, and these do not depend on the load.
	if srv[2] > 0 && cli[2] > 0 {
		n := float64(i)
		for j, name := range []string{"putobject", "multipart", "push"} {
			b.ReportMetric(float64(cli[j].Milliseconds())/n, name+"-client-cpu-ms")
			b.ReportMetric(float64(srv[j].Milliseconds())/n, name+"-store-cpu-ms")
		}
		b.ReportMetric((cli[0]+srv[0]).Seconds()/(cli[2]+srv[2]).Seconds(), "cpu-x-putobject")
	}
}
