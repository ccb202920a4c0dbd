package update

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWatchAndTake: a bundle already in the incoming directory and one renamed into it are
// reported (a directory being filled under another name is not); Take installs a good one
// and removes it, and moves a downgrade to rejected/ with its reason.
func TestWatchAndTake(t *testing.T) {
	a := testKey('a')
	incoming, src := t.TempDir(), t.TempDir()
	in, h := newInstaller(t, t.TempDir(), &fixedClock{t0}, 1, a)
	writeBundle(t, incoming, "early.bundle", bundleOpts{version: 2}, a)
	found := make(chan string, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Watch(ctx, incoming, func(name string) { found <- name }) }()
	next := func() string {
		select {
		case n := <-found:
			return n
		case <-time.After(10 * time.Second):
			t.Fatal("no bundle reported within 10 s")
			return ""
		}
	}
	if n := next(); n != "early.bundle" {
		t.Fatalf("first report %q", n)
	}
	if _, err := in.Take(incoming, "early.bundle"); err != nil || version(h) != 2 {
		t.Fatalf("take: %v", err)
	}
	if _, err := os.Stat(filepath.Join(incoming, "early.bundle")); !os.IsNotExist(err) {
		t.Errorf("installed bundle left in incoming: %v", err)
	}
	writeBundle(t, incoming, ".filling", bundleOpts{version: 1}, a) // created in place: not reported
	old := writeBundle(t, src, "old", bundleOpts{version: 1}, a)
	must(t, os.Rename(old, filepath.Join(incoming, "old.bundle")))
	if n := next(); n != "old.bundle" {
		t.Fatalf("report %q, want old.bundle", n)
	}
	if _, err := in.Take(incoming, "old.bundle"); err == nil {
		t.Fatal("downgrade taken")
	}
	reason, err := os.ReadFile(filepath.Join(incoming, "rejected", "old.bundle.reason"))
	if err != nil || !strings.Contains(string(reason), "version 1 < floor 2") {
		t.Errorf("reason %q, %v", reason, err)
	}
	if _, err := os.Stat(filepath.Join(incoming, "rejected", "old.bundle", "policy.toml")); err != nil {
		t.Errorf("rejected bundle not kept: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
	select {
	case n := <-found:
		t.Errorf("unexpected report %q", n)
	default:
	}
}
