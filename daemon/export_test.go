package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/storage"
)

// exportRecords is how many records newExportRun's log holds.
const exportRecords = 5

// newExportRun returns a run with an audit trail whose data directory holds a closed log
// of exportRecords records under its device key file.
func newExportRun(t *testing.T) *run {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Storage.KeyFile = filepath.Join(dir, "device.key")
	if err := board.GenerateKeyFile(cfg.Storage.KeyFile); err != nil {
		t.Fatal(err)
	}
	key, err := board.NewKeyFile(cfg.Storage.KeyFile).DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	l, err := storage.Open(cfg.DataDir, storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	for i := range exportRecords {
		if _, err := l.Append(1, time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), []byte("payload")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := &run{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	r.audit = openAudit(cfg, r.log)
	t.Cleanup(r.exports.stop)
	return r
}

// exportEntries closes r's audit trail and returns its export entries.
func exportEntries(t *testing.T, r *run) []audit.Entry {
	t.Helper()
	if err := r.audit.log.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := audit.ReadEntries(filepath.Join(r.cfg.DataDir, "audit"))
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, p := range entries {
		var e audit.Entry
		if err := audit.Decode(p, &e); err != nil {
			t.Fatal(err)
		}
		if e.Kind == audit.Export {
			out = append(out, e)
		}
	}
	return out
}

// blockExport makes every export stop once its file is written and fsynced: it sends the
// temporary file's name on the returned channel and waits for the error to go on with.
func blockExport(t *testing.T) (synced <-chan string, release chan<- error) {
	s, rel := make(chan string, 1), make(chan error, 1)
	old := exportSynced
	exportSynced = func(ctx context.Context, tmp string) error {
		s <- tmp
		select {
		case err := <-rel:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.Cleanup(func() { exportSynced = old })
	return s, rel
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestConsoleExportAudited: the console's export command, over the control socket, answers
// at once and writes the export in the background; the export status then gives its
// records, size and SHA-256, and the audit trail's export entry its recipient, size and the
// SHA-256 of the file as written. The file opens with the recipient's identity and holds
// every record. (TestConsoleAudit covers the command's own entry, which the console sends.)
func TestConsoleExportAudited(t *testing.T) {
	r := newExportRun(t)
	s := &control.Server{Path: filepath.Join(t.TempDir(), "control.sock"), Group: -1}
	r.handleConsole(s)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.Serve(t.Context())
	c, err := control.Dial(s.Path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var none console.Export
	if err := c.Call(console.CmdExportStatus, nil, &none); err != nil || none.ID != 0 {
		t.Fatalf("status before any export: %+v, %v", none, err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var started console.Export
	if err := c.Call(console.CmdExport, console.ExportArgs{To: id.Recipient().String()}, &started); err != nil {
		t.Fatal(err)
	}
	if started.ID != 1 || started.State != console.ExportRunning || filepath.Dir(started.File) != filepath.Join(r.cfg.DataDir, "export") {
		t.Fatalf("export answered %+v", started)
	}
	r.exports.wg.Wait()
	var out console.Export
	if err := c.Call(console.CmdExportStatus, nil, &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.File)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if out.State != console.ExportDone || out.File != started.File || out.Records != exportRecords || out.Total != exportRecords ||
		out.Bytes != int64(len(b)) || out.SHA256 != hex.EncodeToString(sum[:]) || out.Err != "" {
		t.Errorf("status %+v; file %d bytes, SHA-256 %x", out, len(b), sum)
	}
	dr, err := age.Decrypt(strings.NewReader(string(b)), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(dr)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(plain), "\n"); n != exportRecords {
		t.Errorf("%d records in the export, want %d", n, exportRecords)
	}
	entries := exportEntries(t, r)
	if len(entries) != 1 {
		t.Fatalf("%d export entries, want 1: %+v", len(entries), entries)
	}
	if e := entries[0]; e.Object != filepath.Base(out.File) || e.Peer != id.Recipient().String() ||
		e.SHA256 != hex.EncodeToString(sum[:]) || e.Bytes != uint64(len(b)) {
		t.Errorf("export entry %+v; file %s, %d bytes", e, out.File, len(b))
	}
}

// TestConsoleExportJob: an export runs one at a time; while it runs, its status says how far
// it got and another is refused; the file has its name only once complete: a failed export
// leaves nothing by its name and no temporary file, and no export entry in the audit trail;
// what an export cut by a power cut left is removed by the next one; a bad recipient is
// refused at once.
func TestConsoleExportJob(t *testing.T) {
	r := newExportRun(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	to := console.ExportArgs{To: id.Recipient().String()}
	if _, err := r.startExport(console.ExportArgs{To: "age1notakey"}); err == nil || r.exports.status().ID != 0 {
		t.Fatalf("bad recipient: %v, status %+v", err, r.exports.status())
	}
	dir := filepath.Join(r.cfg.DataDir, "export")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "export-20260101T000000Z.age"+exportPart)
	if err := os.WriteFile(cut, []byte("half an export"), 0o600); err != nil {
		t.Fatal(err)
	}

	synced, release := blockExport(t)
	e, err := r.startExport(to)
	if err != nil {
		t.Fatal(err)
	}
	if exists(cut) {
		t.Error("what a cut export left is still there")
	}
	tmp := <-synced
	st := r.exports.status()
	if st.ID != e.ID || st.State != console.ExportRunning || st.Records != exportRecords || st.Total != exportRecords || st.Bytes == 0 {
		t.Errorf("status while running: %+v", st)
	}
	if exists(e.File) || !exists(tmp) {
		t.Errorf("while running: %s exists %v, %s exists %v", e.File, exists(e.File), tmp, exists(tmp))
	}
	if _, err := r.startExport(to); !errors.Is(err, errExportRunning) || !strings.Contains(err.Error(), "type export") {
		t.Errorf("second export while one runs: %v", err)
	}
	release <- errors.New("disk on fire")
	r.exports.wg.Wait()
	st = r.exports.status()
	if st.State != console.ExportFailed || !strings.Contains(st.Err, "disk on fire") || st.SHA256 != "" {
		t.Errorf("status after a failure: %+v", st)
	}
	if exists(e.File) || exists(tmp) {
		t.Errorf("a failed export left %s: %v, %s: %v", e.File, exists(e.File), tmp, exists(tmp))
	}

	// The next export goes through (and may have the same name: the failed one left none).
	release <- nil
	e2, err := r.startExport(to)
	if err != nil {
		t.Fatal(err)
	}
	<-synced
	r.exports.wg.Wait()
	if st := r.exports.status(); st.ID != e2.ID || e2.ID != e.ID+1 || st.State != console.ExportDone || !exists(e2.File) {
		t.Errorf("export after a failure: %+v", st)
	}
	if entries := exportEntries(t, r); len(entries) != 1 || entries[0].Object != filepath.Base(e2.File) {
		t.Errorf("export entries %+v, want one for %s", entries, e2.File)
	}
}

// TestConsoleExportStop: the daemon's stop cancels a running export, which leaves no file
// by its name and no temporary file; no export starts after the stop.
func TestConsoleExportStop(t *testing.T) {
	r := newExportRun(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	to := console.ExportArgs{To: id.Recipient().String()}
	synced, _ := blockExport(t)
	e, err := r.startExport(to)
	if err != nil {
		t.Fatal(err)
	}
	tmp := <-synced
	r.exports.stop()
	if st := r.exports.status(); st.State != console.ExportFailed || !strings.Contains(st.Err, "daemon stopped") {
		t.Errorf("status after the stop: %+v", st)
	}
	if exists(e.File) || exists(tmp) {
		t.Errorf("a cancelled export left %s: %v, %s: %v", e.File, exists(e.File), tmp, exists(tmp))
	}
	if _, err := r.startExport(to); err == nil || !strings.Contains(err.Error(), "stopping") {
		t.Errorf("export after the stop: %v", err)
	}
	if entries := exportEntries(t, r); len(entries) != 0 {
		t.Errorf("export entries %+v, want none", entries)
	}
}
