package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/board"
)

func TestKeygenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	var stdout, stderr bytes.Buffer
	if err := keygenMain([]string{"-o", path}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	first, err := board.NewKeyFile(path).DeviceKey()
	if err != nil {
		t.Fatalf("key written by keygen does not load: %v", err)
	}
	if !strings.Contains(stdout.String(), path) {
		t.Errorf("stdout %q does not name the file", stdout.String())
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(stdout.String()+stderr.String(), string(raw[:16])) {
		t.Error("keygen -o printed key material")
	}

	err = keygenMain([]string{"-o", path}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-force") {
		t.Errorf("second keygen = %v, want a refusal mentioning -force", err)
	}
	if k, _ := board.NewKeyFile(path).DeviceKey(); !bytes.Equal(k, first) {
		t.Error("refused keygen changed the key")
	}

	stderr.Reset()
	if err := keygenMain([]string{"-o", path, "-force"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if k, _ := board.NewKeyFile(path).DeviceKey(); bytes.Equal(k, first) {
		t.Error("-force kept the old key")
	}
	if !strings.Contains(stderr.String(), "can no longer be read") {
		t.Errorf("-force did not warn: %q", stderr.String())
	}
}

func TestKeygenStdout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := keygenMain(nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	// What keygen prints is a valid key file.
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, stdout.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := board.NewKeyFile(path).DeviceKey(); err != nil {
		t.Errorf("stdout %q is not a key file: %v", stdout.String(), err)
	}
}

func TestKeygenUsage(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"-force"}, {"-bogus"}} {
		var stdout, stderr bytes.Buffer
		err := keygenMain(args, &stdout, &stderr)
		if err == nil {
			t.Errorf("keygen %q succeeded", args)
		}
		if args[0] != "-bogus" && !errors.Is(err, errUsage) {
			t.Errorf("keygen %q = %v, want errUsage", args, err)
		}
		if stdout.Len() != 0 {
			t.Errorf("keygen %q wrote %q to stdout", args, stdout.String())
		}
	}
}
