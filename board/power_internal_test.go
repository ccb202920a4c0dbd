package board

import (
	"os"
	"path/filepath"
	"testing"
)

// writeLevel writes a level file in dir and returns its path.
func writeLevel(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "value")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
