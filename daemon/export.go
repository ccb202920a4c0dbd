package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"filippo.io/age"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/storage"
	"github.com/geogate/geogate/upload"
)

// The console's export (console.CmdExport) runs in the background: reading and encrypting the
// log takes as long as the log is large (two whole reads of the open 16 MiB segment alone
// took 170 ms), and the console answers every command within 100 ms. The command checks the
// recipient, creates the file under a temporary name and answers; the export then unseals the
// device key, writes every record stored when it began, fsyncs, and only then gives the file
// its name and writes the audit trail's export entry. console.CmdExportStatus shows how far it
// got. One export runs at a time; the daemon's stop cancels it.

// errExportRunning refuses an export while another one runs.
var errExportRunning = errors.New("daemon: export: an export is still running")

// exportPart ends the name of an export being written; a power cut or a stop leaves at most
// such a file, which the next export removes.
const exportPart = ".part"

// exportSynced is called with the temporary file once it is written and fsynced, before it
// gets its name; tests stop or fail an export there.
var exportSynced = func(context.Context, string) error { return nil }

// exports runs the console's exports, one at a time (run.exports). The zero value is ready.
type exports struct {
	mu      sync.Mutex
	job     *exportJob // the latest; nil: none since start
	n       int        // exports started since start
	cancel  context.CancelFunc
	stopped bool
	wg      sync.WaitGroup
}

// exportJob is one export. Its counters are written by the export as it goes; the rest is
// set under exports.mu.
type exportJob struct {
	id      int
	file    string
	rcpt    *age.X25519Recipient
	records atomic.Int64
	total   atomic.Int64 // -1 until the records are counted
	bytes   atomic.Int64
	done    bool
	sum     string
	err     error
}

// startExport starts an export to the recipient a.To and returns at once (console.Export,
// state running). It is refused while another export runs or the daemon stops.
func (r *run) startExport(a console.ExportArgs) (console.Export, error) {
	rcpt, err := age.ParseX25519Recipient(strings.TrimSpace(a.To))
	if err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: recipient: %w", err)
	}
	x := &r.exports
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.stopped:
		return console.Export{}, errors.New("daemon: export: the daemon is stopping")
	case x.job != nil && !x.job.done:
		return console.Export{}, fmt.Errorf("%w (export %d to %s, %d records written): wait for it to end (type export)",
			errExportRunning, x.job.id, x.job.file, x.job.records.Load())
	}
	dir := filepath.Join(r.cfg.DataDir, "export")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: %w", err)
	}
	// What a cut export left: nothing runs now that could still be writing it.
	if parts, err := filepath.Glob(filepath.Join(dir, "*"+exportPart)); err == nil {
		for _, p := range parts {
			if err := os.Remove(p); err == nil {
				r.log.Warn("console export: removed what an export cut short left", "path", p)
			}
		}
	}
	name := filepath.Join(dir, "export-"+clock.Now().UTC().Format("20060102T150405Z")+".age")
	if _, err := os.Lstat(name); err == nil {
		return console.Export{}, fmt.Errorf("daemon: export: %s exists: try again in a second: %w", name, os.ErrExist)
	}
	f, err := os.OpenFile(name+exportPart, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return console.Export{}, fmt.Errorf("daemon: export: %w", err)
	}
	x.n++
	j := &exportJob{id: x.n, file: name, rcpt: rcpt}
	j.total.Store(-1)
	x.job = j
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		defer cancel()
		sum, err := r.export(ctx, j, f)
		x.mu.Lock()
		j.done, j.sum, j.err = true, sum, err
		x.mu.Unlock()
		if err != nil {
			r.log.Error("console export failed", "id", j.id, "err", err)
			return
		}
		r.log.Info("console export written", "id", j.id, "path", name, "records", j.records.Load(), "bytes", j.bytes.Load())
	}()
	r.log.Info("console export started", "id", j.id, "path", name)
	return j.answer(), nil
}

// status answers console.CmdExportStatus: the latest export's state, ID 0 for none.
func (x *exports) status() console.Export {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.job == nil {
		return console.Export{}
	}
	return x.job.answer()
}

// answer is j's state for the console; call it with exports.mu held (or before j starts).
func (j *exportJob) answer() console.Export {
	e := console.Export{ID: j.id, File: j.file, State: console.ExportRunning, Records: int(j.records.Load()),
		Total: int(j.total.Load()), Bytes: j.bytes.Load()}
	switch {
	case j.done && j.err != nil:
		e.State, e.Err = console.ExportFailed, j.err.Error()
	case j.done:
		e.State, e.SHA256 = console.ExportDone, j.sum
	}
	return e
}

// stop cancels a running export, waits for it to end and refuses new ones.
func (x *exports) stop() {
	x.mu.Lock()
	x.stopped = true
	if x.cancel != nil {
		x.cancel()
	}
	x.mu.Unlock()
	x.wg.Wait()
}

// export writes j: every record the log held when it began, encrypted to j.rcpt, into f (a
// temporary file) which gets j.file as its name once fsynced; on an error f is removed. The
// device key is unsealed for it (the running log holds it no longer) and cleared after. A
// log whose segment chain is broken is refused, as by "geogate store export". It returns
// the file's SHA-256, which the audit trail's export entry holds.
func (r *run) export(ctx context.Context, j *exportJob, f *os.File) (sum string, err error) {
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			if errors.Is(err, context.Canceled) {
				err = errors.New("cancelled: the daemon stopped")
			}
			err = fmt.Errorf("daemon: export: %w", err)
		}
	}()
	keys, _, err := r.deviceKeys()
	if err != nil {
		return "", fmt.Errorf("device key: %w", err)
	}
	defer keys.Clear()
	if l := r.store.Log(); l != nil {
		l.Sync() // what was acknowledged is on disk before it is read
	}
	rd, err := storage.NewReader(r.cfg.DataDir, keys.Current, keys.Old...)
	if err != nil {
		return "", err
	}
	segs, err := rd.Segments()
	if err != nil {
		return "", err
	}
	total := 0
	for _, s := range segs {
		if errors.Is(s.Err, storage.ErrChain) || s.Chain != nil {
			return "", fmt.Errorf("the log's segment chain is broken; run geogate store verify: %w", storage.ErrChain)
		}
		if s.Err == nil && s.Erased == nil {
			total += s.Records
		}
	}
	j.total.Store(int64(total))
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h), n: &j.bytes}
	if err := writeExport(ctx, cw, j.rcpt, rd, segs, &j.records); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := exportSynced(ctx, tmp); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// A link, not a rename: it never replaces a file of that name.
	if err := os.Link(tmp, j.file); err != nil {
		return "", err
	}
	os.Remove(tmp)
	if d, err := os.Open(filepath.Dir(j.file)); err == nil {
		if err := d.Sync(); err != nil {
			r.log.Warn("console export: directory not fsynced", "err", err)
		}
		d.Close()
	}
	sum = hex.EncodeToString(h.Sum(nil))
	r.audit.record(audit.Entry{Kind: audit.Export, Object: filepath.Base(j.file), Peer: j.rcpt.String(),
		SHA256: sum, Bytes: uint64(cw.n.Load())})
	return sum, nil
}

// writeExport writes the records of segs, up to the last seq each had when listed (the open
// segment grows meanwhile), age-encrypted to rcpt, counting them in n. It stops when ctx ends.
func writeExport(ctx context.Context, w io.Writer, rcpt age.Recipient, rd *storage.Reader, segs []storage.SegmentInfo, n *atomic.Int64) error {
	aw, err := age.Encrypt(w, rcpt)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(aw)
	for _, s := range segs {
		if s.Err != nil {
			continue
		}
		if _, err := rd.Scan(s.ID, func(rec *storage.Record) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if rec.Seq > s.LastSeq {
				return nil
			}
			n.Add(1)
			return enc.Encode(upload.Line{Seq: rec.Seq, Type: uint16(rec.Type), Time: rec.Time.UTC(), Payload: rec.Payload})
		}); err != nil {
			return err
		}
	}
	return aw.Close()
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
