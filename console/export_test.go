package console

import (
	"errors"
	"strings"
	"testing"
)

// exportBackend answers the export commands with a fixed Export or error and records the
// calls; events are dropped.
type exportBackend struct {
	answer Export
	err    error
	calls  []string
	args   []any
}

func (b *exportBackend) Call(cmd string, args, out any) error {
	if cmd == CmdEvent {
		return nil
	}
	b.calls, b.args = append(b.calls, cmd), append(b.args, args)
	if b.err != nil {
		return b.err
	}
	*out.(*Export) = b.answer
	return nil
}

// TestShellExport: "export AGE1..." starts an export in the daemon and answers with its id and
// file; "export" and "export status" show the latest export's progress, result or error;
// anything else is a usage error that does not reach the daemon.
func TestShellExport(t *testing.T) {
	const file = "/var/lib/geogate/export/export-20260101T000000Z.age"
	sum := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		name, line string
		answer     Export
		err        error
		call       string // the daemon command called; "": none
		want       []string
	}{
		{"start", "export age1xyz", Export{ID: 3, File: file, State: ExportRunning, Total: -1}, nil, CmdExport,
			[]string{"export 3 started: " + file + ", the records stored so far", "type export for its progress"}},
		{"start refused", "export age1xyz", Export{}, errors.New("daemon: export: an export is still running (export 2 ...)"), CmdExport,
			[]string{"export: daemon: export: an export is still running"}},
		{"none yet", "export", Export{}, nil, CmdExportStatus, []string{"no export since the daemon started"}},
		{"counting", "export status", Export{ID: 1, File: file, State: ExportRunning, Total: -1}, nil, CmdExportStatus,
			[]string{"export 1 running: counting the records; " + file + " when complete"}},
		{"running", "export", Export{ID: 1, File: file, State: ExportRunning, Records: 20, Total: 53, Bytes: 3012}, nil, CmdExportStatus,
			[]string{"export 1 running: 20 of 53 records, 3012 bytes written; " + file + " when complete"}},
		{"done", "export", Export{ID: 1, File: file, State: ExportDone, Records: 53, Total: 53, Bytes: 7016, SHA256: sum}, nil, CmdExportStatus,
			[]string{"export 1 done: 53 records, 7016 bytes in " + file + "\r\nsha256 " + sum + "\r\n"}},
		{"failed", "export", Export{ID: 2, File: file, State: ExportFailed, Records: 7, Total: 53, Err: "daemon: export: disk\x1b[2J full"}, nil, CmdExportStatus,
			[]string{"export 2 FAILED after 7 records: daemon: export: disk?[2J full\r\nnothing is left under " + file}},
		{"no daemon", "export", Export{}, errors.New("not running"), CmdExportStatus, []string{"export: not running"}},
		{"not a key", "export bob", Export{}, nil, "", []string{"usage: export AGE1..."}},
		{"two keys", "export age1a age1b", Export{}, nil, "", []string{"usage: export AGE1..."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			be := &exportBackend{answer: tt.answer, err: tt.err}
			sh := &Shell{Backend: be, Verifier: &Verifier{Device: "unit-1"}, Now: (&testClock{t0}).Now, scope: ScopeOperate}
			out := exec(sh, tt.line)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q: got %q, want %q", tt.line, out, w)
				}
			}
			switch {
			case tt.call == "" && len(be.calls) != 0:
				t.Errorf("%q called the daemon: %v", tt.line, be.calls)
			case tt.call != "" && (len(be.calls) != 1 || be.calls[0] != tt.call):
				t.Errorf("%q called %v, want %s", tt.line, be.calls, tt.call)
			case tt.call == CmdExport && be.args[0] != (ExportArgs{To: "age1xyz"}):
				t.Errorf("%q sent %+v", tt.line, be.args[0])
			}
		})
	}
	sh := &Shell{Backend: &exportBackend{}, Verifier: &Verifier{Device: "unit-1"}, Now: (&testClock{t0}).Now}
	if out := exec(sh, "help"); !strings.Contains(out, "export: the export's progress") {
		t.Errorf("help does not say how to follow an export:\n%s", out)
	}
}
