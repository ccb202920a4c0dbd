package upload

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// Line is one record in an export: a JSON line, the same as "geogate store export" writes,
// with the whole payload (frame images included) in base64.
type Line struct {
	Seq      uint64    `json:"seq"`
	Type     uint16    `json:"type"`
	TypeName string    `json:"type_name,omitempty"`
	Time     time.Time `json:"time"`
	Payload  []byte    `json:"payload"`
}

// typeNames names the gate's record types in exports (docs/FORMAT.md, "Gate records").
var typeNames = map[storage.Type]string{record.TypeFix: "fix", record.TypeFrame: "frame"}

// Spool seals every sealed segment of r that is neither confirmed nor spooled yet into its
// own export in the spool: the segment's records as Lines, encrypted with age to all
// Recipients, named by the SHA-256 of the sealed bytes, recorded in the audit log (an
// Export entry) whose checkpoint goes into the export's manifest. The segment being
// written and unreadable segments (wrong key, a broken chain) are left alone; they stay
// unreleased. It returns how many exports it made.
func (u *Uploader) Spool(r *storage.Reader) (int, error) {
	if u.cfg.Audit == nil {
		return 0, ErrNoAudit
	}
	done, err := ReadManifest(u.cfg.Dir)
	if err != nil {
		return 0, err
	}
	metas, err := u.spooled()
	if err != nil {
		return 0, err
	}
	for _, m := range metas {
		for _, id := range m.Segments {
			done[id] = Confirmed{}
		}
	}
	segs, err := r.Segments()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range segs {
		if _, ok := done[s.ID]; ok || !s.Sealed {
			continue
		}
		if s.Err != nil || s.Chain != nil {
			u.cfg.Logger.Error("upload: segment not exported", "segment", fmt.Sprintf("%016x", s.ID), "err", errors.Join(s.Err, s.Chain))
			continue
		}
		if err := u.spoolSegment(r, s.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// spoolSegment writes one export: temp file, fsync, rename to <sha256>.age, audit entry,
// then the manifest. A crash before the manifest leaves an orphan that spooled removes.
func (u *Uploader) spoolSegment(r *storage.Reader, id uint64) (err error) {
	dir := filepath.Join(u.cfg.Dir, spoolDir)
	f, err := os.CreateTemp(dir, ".export-*")
	if err != nil {
		return fmt.Errorf("upload: spool: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	aw, err := age.Encrypt(cw, u.rcpts...)
	if err != nil {
		return fmt.Errorf("upload: seal: %w", err)
	}
	enc := json.NewEncoder(aw)
	records := 0
	rep, err := r.Scan(id, func(rec *storage.Record) error {
		records++
		return enc.Encode(&Line{Seq: rec.Seq, Type: uint16(rec.Type), TypeName: typeNames[rec.Type], Time: rec.Time.UTC(), Payload: rec.Payload})
	})
	if err != nil {
		return fmt.Errorf("upload: export segment %016x: %w", id, err)
	}
	if e := rep.Err(); e != nil {
		u.cfg.Logger.Warn("upload: segment has damaged records; exporting the authentic ones", "segment", fmt.Sprintf("%016x", id), "records", records, "err", e)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("upload: seal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("upload: spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("upload: spool: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	base := filepath.Join(dir, sum)
	if err := os.Rename(f.Name(), base+".age"); err != nil {
		return fmt.Errorf("upload: spool: %w", err)
	}
	m := exportMeta{Object: u.cfg.Prefix + sum + ".age", SHA256: sum, Bytes: cw.n, Segments: []uint64{id},
		Records: records, Recipients: slices.Clone(u.cfg.Recipients)}
	cp, err := u.cfg.Audit.Append(audit.Entry{Kind: audit.Export, Object: m.Object,
		Peer: strings.Join(m.Recipients, ","), SHA256: sum, Bytes: uint64(m.Bytes)})
	if err != nil {
		os.Remove(base + ".age")
		return fmt.Errorf("%w: %w", ErrNoAudit, err)
	}
	m.Checkpoint, m.CheckpointSize = cp.Signed, cp.Size
	if err := saveJSON(base+".json", &m); err != nil {
		os.Remove(base + ".age")
		return err
	}
	u.cfg.Logger.Info("upload: export spooled", "object", m.Object, "bytes", m.Bytes, "records", records)
	return nil
}

// spooled lists the spooled exports, oldest segment first, and removes what a crash left
// half made: temp files, sealed files without a manifest.
func (u *Uploader) spooled() ([]*exportMeta, error) {
	dir := filepath.Join(u.cfg.Dir, spoolDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("upload: spool: %w", err)
	}
	var out []*exportMeta
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ".export-"):
			os.Remove(filepath.Join(dir, name))
		case strings.HasSuffix(name, ".age"):
			base := strings.TrimSuffix(name, ".age")
			var m exportMeta
			ok, err := loadJSON(filepath.Join(dir, base+".json"), &m)
			if err != nil {
				return nil, err
			}
			if !ok {
				u.cfg.Logger.Warn("upload: removing an export cut before its manifest", "file", name)
				os.Remove(filepath.Join(dir, name))
				os.Remove(filepath.Join(dir, base+".parts"))
				continue
			}
			out = append(out, &m)
		}
	}
	slices.SortFunc(out, func(a, b *exportMeta) int { return cmpSegs(a.Segments, b.Segments) })
	return out, nil
}

func cmpSegs(a, b []uint64) int {
	if len(a) == 0 || len(b) == 0 {
		return len(a) - len(b)
	}
	switch {
	case a[0] < b[0]:
		return -1
	case a[0] > b[0]:
		return 1
	}
	return 0
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
