package upload

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/geogate/geogate/audit"
)

// Metadata keys set on every export object (sent as x-amz-meta-geogate-*).
const (
	metaSHA256     = "Geogate-Sha256"     // hex SHA-256 of the sealed bytes (also the name)
	metaCheckpoint = "Geogate-Checkpoint" // base64 of the signed audit checkpoint
	metaSegments   = "Geogate-Segments"   // the storage segment ids, hex, comma-separated
)

// Sidecar objects sent with every export: <object>.checkpoint holds its signed audit
// checkpoint as is; <object>.consistency the audit consistency proof (audit.ConsistencyProof
// as text) from the checkpoint of the export confirmed before it (from 0 entries for the
// first), which "geogate audit chain" checks.
const (
	CheckpointSuffix  = ".checkpoint"
	ConsistencySuffix = ".consistency"
)

// Uploader spools sealed exports and sends them to an S3-compatible object store. One
// goroutine uses it at a time.
type Uploader struct {
	cfg   Config
	rcpts []age.Recipient
	core  *minio.Core
}

// New checks cfg and returns an Uploader. It creates cfg.Dir and its spool (mode 0700) but
// does not touch the network.
func New(cfg Config) (*Uploader, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	u := &Uploader{cfg: cfg}
	for _, r := range cfg.Recipients {
		rc, _ := age.ParseX25519Recipient(r) // checked by check
		u.rcpts = append(u.rcpts, rc)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, spoolDir), 0o700); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	core, err := minio.NewCore(cfg.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: !cfg.Insecure,
		Region: cfg.Region, Transport: tr, BucketLookup: minio.BucketLookupPath,
		MaxRetries: 1, // Uploader retries itself, with its state saved between attempts
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	u.core = core
	return u, nil
}

// Report counts what a Push did.
type Report struct {
	// Uploaded counts exports confirmed by the object store and released; Bytes their size;
	// Sent the bytes actually sent this time (less when resumed, more after retries).
	Uploaded    int
	Bytes, Sent int64
	// Pending counts exports left in the spool.
	Pending int
}

// Push sends every spooled export, oldest first, confirms it, records it in the manifest
// (releasing its segments to retention) and the audit log, and removes it from the spool.
// It stops at the first export that fails, leaving it and what it sent for the next Push.
func (u *Uploader) Push(ctx context.Context) (Report, error) {
	var rep Report
	metas, err := u.spooled()
	if err != nil {
		return rep, err
	}
	if len(metas) > 0 && u.networkOK() {
		if err := u.probe(ctx); err != nil {
			rep.Pending = len(metas)
			return rep, err
		}
	}
	for i, m := range metas {
		err := u.pushOne(ctx, m, &rep)
		if err != nil {
			rep.Pending = len(metas) - i
			return rep, err
		}
		rep.Uploaded++
		rep.Bytes += m.Bytes
	}
	return rep, nil
}

// probe lists at most one object under Prefix: a small request whose refusal carries
// the store's error code. An object store may refuse a PUT by resetting the connection
// while the body is still on its way (a transient error to the client), and answers a
// HEAD for an unknown access key with a bare 404; neither says "credentials".
func (u *Uploader) probe(ctx context.Context) error {
	return u.retry(ctx, "list "+u.cfg.Bucket+"/"+u.cfg.Prefix, func() error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for o := range u.core.Client.ListObjects(ctx, u.cfg.Bucket, minio.ListObjectsOptions{Prefix: u.cfg.Prefix, MaxKeys: 1}) {
			return o.Err
		}
		return nil
	})
}

func (u *Uploader) base(m *exportMeta) string {
	return filepath.Join(u.cfg.Dir, spoolDir, m.SHA256)
}

func (u *Uploader) pushOne(ctx context.Context, m *exportMeta, rep *Report) error {
	base := u.base(m)
	if err := u.checkFile(base+".age", m); err != nil {
		return err
	}
	if !u.networkOK() {
		return ErrMetered
	}
	f, err := os.Open(base + ".age")
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != m.Bytes {
		return fmt.Errorf("%w: %s changed size since it was spooled", ErrNotSealed, base+".age")
	}
	var ps partState
	resumed, err := loadJSON(base+".parts", &ps)
	if err != nil {
		return err
	}
	if !resumed || ps.PartSize == 0 {
		ps = partState{PartSize: u.cfg.PartSize}
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", UserMetadata: map[string]string{
		metaSHA256: m.SHA256, metaCheckpoint: base64.StdEncoding.EncodeToString(m.Checkpoint), metaSegments: segList(m.Segments),
	}}
	// Content addressing: an object of this name with the right size and digest is this
	// export (an earlier run confirmed it but was cut before it said so).
	switch err := u.confirm(ctx, m, ""); {
	case err == nil:
		return u.finish(ctx, m)
	case notFound(err), errors.Is(err, ErrConfirm):
		// Not there (or something else under its name, which this export replaces).
	default:
		return err
	}
	var etag string
	if m.Bytes <= ps.PartSize {
		etag, err = u.putWhole(ctx, f, m, opts, rep)
	} else {
		etag, err = u.putParts(ctx, f, m, &ps, opts, rep)
	}
	if err != nil {
		return err
	}
	if err := u.confirm(ctx, m, etag); err != nil {
		// The object is not what was sent: send it afresh next time.
		os.Remove(base + ".parts")
		return err
	}
	return u.finish(ctx, m)
}

// putWhole sends an export no larger than a part in one PutObject.
func (u *Uploader) putWhole(ctx context.Context, f *os.File, m *exportMeta, opts minio.PutObjectOptions, rep *Report) (string, error) {
	var sum string
	err := u.retry(ctx, "put "+m.Object, func() error {
		h := md5.New()
		pr := u.progress(io.TeeReader(io.NewSectionReader(f, 0, m.Bytes), h), m, 0, rep)
		info, err := u.core.PutObject(ctx, u.cfg.Bucket, m.Object, pr, m.Bytes, "", "", opts)
		sum = hex.EncodeToString(h.Sum(nil))
		if err == nil && strings.Trim(info.ETag, `"`) != sum {
			return fmt.Errorf("%w: %s: ETag %s, sent MD5 %s", ErrConfirm, m.Object, info.ETag, sum)
		}
		return err
	})
	return sum, err
}

// putParts sends an export as a multipart upload, resuming the one in ps.
func (u *Uploader) putParts(ctx context.Context, f *os.File, m *exportMeta, ps *partState, opts minio.PutObjectOptions, rep *Report) (string, error) {
	base := u.base(m)
	nparts := int((m.Bytes + ps.PartSize - 1) / ps.PartSize)
	have := map[int]donePart{}
	if ps.UploadID != "" {
		var err error
		if have, err = u.reconcile(ctx, f, m, ps, nparts); err != nil {
			return "", err
		}
	}
	if ps.UploadID == "" {
		err := u.retry(ctx, "start "+m.Object, func() error {
			id, err := u.core.NewMultipartUpload(ctx, u.cfg.Bucket, m.Object, opts)
			ps.UploadID = id
			return err
		})
		if err != nil {
			return "", err
		}
		if err := saveJSON(base+".parts", ps); err != nil {
			return "", err
		}
	}
	var sent int64
	for n := 1; n <= nparts; n++ {
		off := int64(n-1) * ps.PartSize
		size := min(ps.PartSize, m.Bytes-off)
		if _, ok := have[n]; ok {
			sent += size
			continue
		}
		if !u.networkOK() {
			return "", ErrMetered
		}
		// The part's MD5 is taken from the bytes as they are sent and compared with the
		// ETag the object store computed from what it received. It is not saved: a
		// resumed upload asks the store which parts it holds (reconcile).
		var part minio.ObjectPart
		var sum string
		err := u.retry(ctx, fmt.Sprintf("part %d/%d of %s", n, nparts, m.Object), func() error {
			h := md5.New()
			pr := u.progress(io.TeeReader(io.NewSectionReader(f, off, size), h), m, sent, rep)
			var err error
			part, err = u.core.PutObjectPart(ctx, u.cfg.Bucket, m.Object, ps.UploadID, n, pr, size, minio.PutObjectPartOptions{})
			sum = hex.EncodeToString(h.Sum(nil))
			if err == nil && strings.Trim(part.ETag, `"`) != sum {
				return permanent{fmt.Errorf("%w: part %d of %s: ETag %s, sent MD5 %s", ErrConfirm, n, m.Object, part.ETag, sum)}
			}
			return err
		})
		if err != nil {
			return "", err
		}
		have[n] = donePart{N: n, ETag: part.ETag, MD5: sum}
		sent += size
	}
	parts := make([]minio.CompletePart, 0, nparts)
	md5s := make([]byte, 0, nparts*md5.Size)
	for n := 1; n <= nparts; n++ {
		parts = append(parts, minio.CompletePart{PartNumber: n, ETag: have[n].ETag})
		b, _ := hex.DecodeString(have[n].MD5) // hex.EncodeToString made it
		md5s = append(md5s, b...)
	}
	all := md5.Sum(md5s)
	etag := hex.EncodeToString(all[:]) + "-" + strconv.Itoa(nparts)
	err := u.retry(ctx, "complete "+m.Object, func() error {
		_, err := u.core.CompleteMultipartUpload(ctx, u.cfg.Bucket, m.Object, ps.UploadID, parts, opts)
		if code(err) == "NoSuchUpload" && u.confirm(ctx, m, etag) == nil {
			return nil // an earlier attempt completed it; its answer was lost
		}
		return err
	})
	return etag, err
}

// reconcile asks the object store which parts of the resumed upload in ps it holds, and
// keeps those whose ETag is the MD5 of this export's bytes at that part (read again from
// the spool, not sent); the others are sent again. An upload the store no longer knows
// starts afresh (ps.UploadID cleared).
func (u *Uploader) reconcile(ctx context.Context, f *os.File, m *exportMeta, ps *partState, nparts int) (map[int]donePart, error) {
	have := map[int]donePart{}
	marker := 0
	for {
		var res minio.ListObjectPartsResult
		err := u.retry(ctx, "list parts of "+m.Object, func() error {
			var err error
			res, err = u.core.ListObjectParts(ctx, u.cfg.Bucket, m.Object, ps.UploadID, marker, 1000)
			return err
		})
		if code(err) == "NoSuchUpload" {
			u.cfg.Logger.Warn("upload: object store forgot the upload; starting it again", "object", m.Object)
			ps.UploadID = ""
			return map[int]donePart{}, nil
		}
		if err != nil {
			return nil, err
		}
		for _, p := range res.ObjectParts {
			n := p.PartNumber
			if n < 1 || n > nparts {
				continue
			}
			off := int64(n-1) * ps.PartSize
			size := min(ps.PartSize, m.Bytes-off)
			if p.Size != size {
				continue
			}
			sum, err := partMD5(f, off, size)
			if err != nil {
				return nil, err
			}
			if strings.Trim(p.ETag, `"`) == sum {
				have[n] = donePart{N: n, ETag: p.ETag, MD5: sum}
			}
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextPartNumberMarker
	}
	return have, nil
}

// confirm checks that the object store holds m: the size, the digest in its metadata, and,
// when etag is not empty, the ETag the store computed from what it received (the MD5 of the
// bytes, or for a multipart object the MD5 of the parts' MD5s and the part count). Without
// etag (a content-addressed object found before sending) the ETag must be one of those that
// this export's bytes give, whole or in parts of PartSize.
func (u *Uploader) confirm(ctx context.Context, m *exportMeta, etag string) error {
	var info minio.ObjectInfo
	err := u.retry(ctx, "stat "+m.Object, func() error {
		var err error
		info, err = u.core.StatObject(ctx, u.cfg.Bucket, m.Object, minio.StatObjectOptions{})
		if notFound(err) {
			return permanent{err}
		}
		return err
	})
	if err != nil {
		return err
	}
	got := strings.Trim(info.ETag, `"`)
	if etag == "" {
		if etag, err = u.localETag(m); err != nil {
			return err
		}
	}
	switch {
	case info.Size != m.Bytes:
		return fmt.Errorf("%w: %s holds %d bytes, sent %d", ErrConfirm, m.Object, info.Size, m.Bytes)
	case got != etag:
		return fmt.Errorf("%w: %s has ETag %s, want %s", ErrConfirm, m.Object, got, etag)
	case userMeta(info, metaSHA256) != m.SHA256:
		return fmt.Errorf("%w: %s has digest %q, want %s", ErrConfirm, m.Object, userMeta(info, metaSHA256), m.SHA256)
	}
	return nil
}

// localETag is the ETag the object store computes for m sent as this Uploader sends it.
func (u *Uploader) localETag(m *exportMeta) (string, error) {
	f, err := os.Open(u.base(m) + ".age")
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	if m.Bytes <= u.cfg.PartSize {
		return partMD5(f, 0, m.Bytes)
	}
	var md5s []byte
	n := 0
	for off := int64(0); off < m.Bytes; off += u.cfg.PartSize {
		s, err := partMD5(f, off, min(u.cfg.PartSize, m.Bytes-off))
		if err != nil {
			return "", err
		}
		b, _ := hex.DecodeString(s)
		md5s = append(md5s, b...)
		n++
	}
	all := md5.Sum(md5s)
	return hex.EncodeToString(all[:]) + "-" + strconv.Itoa(n), nil
}

// finish sends the checkpoint and consistency sidecars, records the segments as released,
// logs the upload in the audit trail and removes the export from the spool.
func (u *Uploader) finish(ctx context.Context, m *exportMeta) error {
	if err := u.putSidecar(ctx, m.Object+CheckpointSuffix, m.Checkpoint); err != nil {
		return err
	}
	var last lastUploaded
	if _, err := loadJSON(filepath.Join(u.cfg.Dir, lastName), &last); err != nil {
		return err
	}
	if last.Object == m.Object {
		last.Size = last.Prev // this export again (its confirmation was not recorded)
	}
	proof, err := u.cfg.Audit.ProveConsistency(last.Size, m.CheckpointSize)
	if err != nil {
		// The audit log no longer extends the last checkpoint sent (rewritten, rolled
		// back, or a spool from an older log): the export goes without a proof, and the
		// processor's chain check reports the break. Say so loudly.
		u.cfg.Logger.Error("upload: AUDIT LOG DOES NOT EXTEND THE LAST CHECKPOINT SENT; no consistency proof sent",
			"object", m.Object, "last", last.Object, "err", err)
	} else {
		text, _ := proof.MarshalText()
		if err := u.putSidecar(ctx, m.Object+ConsistencySuffix, text); err != nil {
			return err
		}
	}
	man, err := ReadManifest(u.cfg.Dir)
	if err != nil {
		return err
	}
	for _, id := range m.Segments {
		man[id] = Confirmed{Object: m.Object, SHA256: m.SHA256}
	}
	if err := writeManifest(u.cfg.Dir, man); err != nil {
		return err
	}
	if err := saveJSON(filepath.Join(u.cfg.Dir, lastName), lastUploaded{Object: m.Object, Size: m.CheckpointSize, Prev: last.Size}); err != nil {
		return err
	}
	if _, err := u.cfg.Audit.Append(audit.Entry{Kind: audit.Upload, Object: m.Object, SHA256: m.SHA256,
		Peer: u.cfg.Endpoint + "/" + u.cfg.Bucket, Bytes: uint64(m.Bytes)}); err != nil {
		// The object is confirmed and released; the trail misses its upload entry (its
		// export entry is there). Say so loudly, but do not upload it again.
		u.cfg.Logger.Error("upload: the audit trail did not record the upload", "object", m.Object, "err", err)
	}
	base := u.base(m)
	for _, ext := range []string{".age", ".parts", ".json"} {
		if err := os.Remove(base + ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("upload: %w", err)
		}
	}
	u.cfg.Logger.Info("upload: export confirmed", "object", m.Object, "bytes", m.Bytes, "segments", segList(m.Segments))
	return nil
}

// putSidecar sends a small object whose ETag must be the MD5 of b.
func (u *Uploader) putSidecar(ctx context.Context, name string, b []byte) error {
	s := md5.Sum(b)
	sh := sha256.Sum256(b)
	return u.retry(ctx, "put "+name, func() error {
		info, err := u.core.PutObject(ctx, u.cfg.Bucket, name, bytes.NewReader(b), int64(len(b)),
			base64.StdEncoding.EncodeToString(s[:]), hex.EncodeToString(sh[:]), minio.PutObjectOptions{ContentType: "text/plain; charset=utf-8"})
		if err == nil && strings.Trim(info.ETag, `"`) != hex.EncodeToString(s[:]) {
			return fmt.Errorf("%w: %s: ETag %s", ErrConfirm, name, info.ETag)
		}
		return err
	})
}

// PruneManifest drops confirmed segments that are no longer in the log (erased by
// retention), keeping the manifest small. live lists the log's segment ids.
func PruneManifest(dir string, live []uint64) error {
	m, err := ReadManifest(dir)
	if err != nil {
		return err
	}
	keep := make(map[uint64]bool, len(live))
	for _, id := range live {
		keep[id] = true
	}
	changed := false
	for id := range m {
		if !keep[id] {
			delete(m, id)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return writeManifest(dir, m)
}

// partMD5 is the hex MD5 of size bytes of f at off.
func partMD5(f *os.File, off, size int64) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, off, size)); err != nil {
		return "", fmt.Errorf("upload: read %s: %w", f.Name(), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func segList(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprintf("%016x", id)
	}
	return strings.Join(s, ",")
}

func userMeta(info minio.ObjectInfo, key string) string {
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return info.Metadata.Get("X-Amz-Meta-" + key)
}

// code is the S3 error code of err ("NoSuchUpload", "AccessDenied"...), or "".
func code(err error) string {
	if err == nil {
		return ""
	}
	var p permanent
	if errors.As(err, &p) {
		err = p.error
	}
	return minio.ToErrorResponse(err).Code
}

func notFound(err error) bool { c := code(err); return c == "NoSuchKey" || c == "NotFound" }

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// retry runs op until it succeeds, fails permanently, or Attempts tries failed, waiting
// Backoff, then twice as long each time, up to MaxBackoff.
func (u *Uploader) retry(ctx context.Context, what string, op func() error) error {
	wait := u.cfg.Backoff
	for try := 1; ; try++ {
		err := op()
		if err == nil {
			return nil
		}
		switch code(err) {
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
			"XAdminUserNotFound": // versitygw's answer to an unknown access key
			return fmt.Errorf("%w: %s: %w", ErrCredentials, what, err)
		case "NoSuchBucket":
			return fmt.Errorf("upload: %s: bucket %q does not exist: %w", what, u.cfg.Bucket, err)
		}
		var p permanent
		if errors.As(err, &p) || try >= u.cfg.Attempts || ctx.Err() != nil {
			return fmt.Errorf("upload: %s (try %d of %d): %w", what, try, u.cfg.Attempts, err)
		}
		u.cfg.Logger.Warn("upload: retrying", "op", what, "try", try, "wait", wait, "err", err)
		if err := u.sleep(ctx, wait); err != nil {
			return fmt.Errorf("upload: %s: %w", what, err)
		}
		wait = min(2*wait, u.cfg.MaxBackoff)
	}
}

func (u *Uploader) sleep(ctx context.Context, d time.Duration) error {
	if u.cfg.Sleep != nil {
		return u.cfg.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// progress wraps r to report sent bytes: base were sent before it.
func (u *Uploader) progress(r io.Reader, m *exportMeta, base int64, rep *Report) io.Reader {
	return &progressReader{r: r, u: u, m: m, sent: base, rep: rep}
}

type progressReader struct {
	r    io.Reader
	u    *Uploader
	m    *exportMeta
	sent int64
	rep  *Report
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	p.rep.Sent += int64(n)
	if p.u.cfg.Progress != nil && n > 0 {
		p.u.cfg.Progress(Progress{Object: p.m.Object, Sent: p.sent, Total: p.m.Bytes})
	}
	return n, err
}
