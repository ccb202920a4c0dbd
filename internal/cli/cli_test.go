package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestMisuse checks exit codes and messages: help asked for exits 0 with the usage, a misused
// command exits 2 and says what is wrong, a failure exits 1 with its reason.
func TestMisuse(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if code := Main([]string{"keygen", "-o", key}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("keygen exit %d", code)
	}
	empty := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // in stdout
		stderr string // in stderr
	}{
		{"no command", nil, 2, "", "usage: geogate COMMAND"},
		{"help", []string{"-h"}, 0, "usage: geogate COMMAND", ""},
		{"help word", []string{"help"}, 0, "usage: geogate COMMAND", ""},
		{"unknown command", []string{"frob"}, 2, "", `unknown command "frob"`},
		{"store help", []string{"store", "-h"}, 0, "", "usage: geogate store"},
		{"store sub help", []string{"store", "cat", "-h"}, 0, "", "usage: geogate store cat"},
		{"store unknown sub", []string{"store", "frob"}, 2, "", "usage: geogate store"},
		{"store cat without key", []string{"store", "cat", "-dir", empty}, 2, "", "missing -key KEYFILE"},
		{"store cat without dir", []string{"store", "cat", "-key", key}, 2, "", "missing -dir DIR"},
		{"store verify on no log", []string{"store", "verify", "-dir", empty, "-key", key}, 1, "", "holds no log (no segment files)"},
		{"store ls on no log", []string{"store", "ls", "-dir", empty, "-key", key}, 1, "", "holds no log"},
		{"policy help", []string{"policy", "help"}, 0, "", "geogate policy check"},
		{"policy check help", []string{"policy", "check", "-h"}, 0, "", "usage: geogate policy check"},
		{"gnss help", []string{"gnss", "--help"}, 0, "", "usage: geogate gnss decode"},
		{"camera help", []string{"camera", "-h"}, 0, "", "usage: geogate camera list"},
		{"run without mode", []string{"run"}, 2, "", "want -config FILE (a unit) or -dev"},
		{"run both modes", []string{"run", "-dev", "-config", "x.toml"}, 2, "", "-config and -dev exclude each other"},
		{"run -data without -dev", []string{"run", "-config", "x.toml", "-data", "d"}, 2, "", "-data applies to -dev only"},
		{"run -speedup without -dev", []string{"run", "-config", "x.toml", "-speedup", "3"}, 2, "", "-speedup applies to -dev only"},
		{"run help", []string{"run", "-h"}, 0, "", "usage: geogate run"},
		{"policy install socket and config", []string{"policy", "install", "-socket", "s", "-config", "x.toml", "d"}, 2, "", "-socket and -config exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}
