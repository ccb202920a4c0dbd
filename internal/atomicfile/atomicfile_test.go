package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "key")
	if err := Write(name, []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := Write(name, []byte("two"), 0o600, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write without replace: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(name); string(b) != "one" {
		t.Fatalf("refused write changed the file: %q", b)
	}
	if err := Write(name, []byte("three"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "three" || st.Mode().Perm() != 0o644 {
		t.Fatalf("replace: %q mode %v", b, st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if err := Write(filepath.Join(dir, "no", "such"), nil, 0o600, true); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}
