package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/daemon"
)

// fakeDaemon serves "health" on a real control socket, healthy while healthy is set.
func fakeDaemon(t *testing.T, healthy *atomic.Bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	s := &control.Server{Path: path, Group: -1}
	s.Handle("health", func(context.Context, json.RawMessage) (any, error) {
		if healthy.Load() {
			return daemon.Health{Healthy: true, Policy: 3, Storing: true}, nil
		}
		return daemon.Health{Problems: []string{"gnss: no fix decoded"}}, nil
	})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return path
}

// TestMarkGood: the good command runs only after health held, the bad one when it did not
// within the timeout, and an unreachable daemon counts as unhealthy.
func TestMarkGood(t *testing.T) {
	var healthy atomic.Bool
	tests := []struct {
		name    string
		healthy bool
		socket  string // "" = the fake daemon
		code    int
		marked  string
	}{
		{"healthy", true, "", 0, "good"},
		{"unhealthy", false, "", 1, "bad"},
		{"no daemon", true, filepath.Join(t.TempDir(), "none.sock"), 1, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			healthy.Store(tt.healthy)
			sock := tt.socket
			if sock == "" {
				sock = fakeDaemon(t, &healthy)
			}
			dir := t.TempDir()
			good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
			var stdout, stderr bytes.Buffer
			code := Main([]string{"mark-good", "-socket", sock, "-hold", "300ms", "-timeout", "1s", "-interval", "20ms",
				"-good", "touch " + good, "-bad", "touch " + bad}, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; %s%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, f := range []string{"good", "bad"} {
				_, err := os.Stat(filepath.Join(dir, f))
				if (err == nil) != (f == tt.marked) {
					t.Errorf("%s marked: %v; want only %s; %s", f, err == nil, tt.marked, stdout.String())
				}
			}
			if !strings.Contains(stdout.String(), "marking "+tt.marked) {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}
