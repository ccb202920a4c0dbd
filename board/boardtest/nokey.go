package boardtest

import (
	"bytes"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/geogate/geogate/board"
)

// AssertNoKey fails t if key, raw or in hex (either case), is in any regular file under dir or
// in logs, and returns how many files it scanned (none is a failure: the scan proved nothing).
func AssertNoKey(t testing.TB, key []byte, dir string, logs []byte) (files int) {
	t.Helper()
	if len(key) != board.KeySize || bytes.Count(key, key[:1]) == len(key) {
		t.Fatal("BUG: AssertNoKey needs a real key")
	}
	needles := [][]byte{key, []byte(hex.EncodeToString(key)), bytes.ToUpper([]byte(hex.EncodeToString(key)))}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("the device key is in %s", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range needles {
		if bytes.Contains(logs, n) {
			t.Error("the device key is in the logs")
		}
	}
	if files == 0 {
		t.Error("BUG: no file scanned")
	}
	return files
}
