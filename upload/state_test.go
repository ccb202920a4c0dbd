package upload_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/geogate/geogate/upload"
)

// TestHold: storage keeps what the manifest does not release, and everything while the
// manifest is unreadable.
func TestHold(t *testing.T) {
	dir := t.TempDir()
	hold := upload.Hold(dir)
	if !hold(1) || !hold(2) {
		t.Fatal("released without a manifest")
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "confirmed.json"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"0000000000000001":{"object":"a.age","sha256":"ab"}}`)
	if hold(1) || !hold(2) {
		t.Errorf("manifest releases 1: hold(1) %v hold(2) %v", hold(1), hold(2))
	}
	write(`{"0000000000000001":{"object":"a.age","sha256":"ab"},"0000000000000002":{"object":"b.age","sha256":"cd"}}`)
	if hold(2) {
		t.Error("a rewritten manifest was not reread")
	}
	write(`{broken`)
	if !hold(1) || !hold(2) {
		t.Error("an unreadable manifest released segments")
	}
}
