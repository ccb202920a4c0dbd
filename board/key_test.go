package board_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
	"github.com/geogate/geogate/internal/testtool"
)

const testKeyHex = "00112233445566778899aabbccddeeff0f1e2d3c4b5a69788796a5b4c3d2e1f0"

func writeKey(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is masked by the umask
		t.Fatal(err)
	}
	return p
}

func TestKeyFile(t *testing.T) {
	want, _ := hex.DecodeString(testKeyHex)
	for _, tt := range []struct {
		name    string
		content string
		mode    os.FileMode
		err     error
	}{
		{"hex and newline", testKeyHex + "\n", 0o600, nil},
		{"hex only", testKeyHex, 0o600, nil},
		{"upper case", strings.ToUpper(testKeyHex), 0o400, nil},
		{"group readable", testKeyHex, 0o640, board.ErrKeyInsecure},
		{"world readable", testKeyHex, 0o604, board.ErrKeyInsecure},
		{"short", testKeyHex[:62] + "\n", 0o600, board.ErrKeyFormat},
		{"long", testKeyHex + "00", 0o600, board.ErrKeyFormat},
		{"crlf", testKeyHex + "\r\n", 0o600, board.ErrKeyFormat},
		{"not hex", "g" + testKeyHex[1:], 0o600, board.ErrKeyFormat},
		{"all zero", strings.Repeat("0", 64), 0o600, board.ErrKeyFormat},
		{"binary key", string(want), 0o600, board.ErrKeyFormat},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeKey(t, tt.content, tt.mode)
			got, err := board.NewKeyFile(path).DeviceKey()
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && !bytes.Equal(got, want) {
				t.Errorf("key %x, want %x", got, want)
			}
			if err != nil && (strings.Contains(err.Error(), testKeyHex[:8]) || strings.Contains(err.Error(), testKeyHex[56:])) {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

func TestKeyFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	_, err := board.NewKeyFile(path).DeviceKey()
	if !errors.Is(err, board.ErrNoKey) {
		t.Fatalf("err = %v, want ErrNoKey", err)
	}
	if !strings.Contains(err.Error(), "geogate keygen -o "+path) {
		t.Errorf("error does not say what to do: %v", err)
	}
	if _, err := board.NewKeyFile(t.TempDir()).DeviceKey(); !errors.Is(err, board.ErrKeyInsecure) {
		t.Errorf("directory as key: %v, want ErrKeyInsecure", err)
	}
}

func TestKeyFileOwner(t *testing.T) {
	testtool.Root(t, "to give the key file to another user")
	path := writeKey(t, testKeyHex, 0o600)
	if err := os.Chown(path, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	// root may read anything; a key owned by someone else is still refused.
	_, err := board.NewKeyFile(path).DeviceKey()
	if !errors.Is(err, board.ErrKeyInsecure) || !strings.Contains(err.Error(), "chown") {
		t.Errorf("err = %v, want ErrKeyInsecure telling to chown", err)
	}
}

// TestKeyNeverLogged: the provider's String, LogValue and %v show the path only.
func TestKeyNeverLogged(t *testing.T) {
	path := writeKey(t, testKeyHex, 0o600)
	k := board.NewKeyFile(path)
	key, err := k.DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	l := slog.New(slog.NewTextHandler(&log, nil))
	l.Info("key", "provider", k)
	slog.New(slog.NewJSONHandler(&log, nil)).Info("key", "provider", k)
	fmt.Fprintf(&log, "%v %+v %s\n", k, k, k)
	fake := &boardtest.Key{Key: key}
	fmt.Fprintf(&log, "%v %s\n", fake, fake)
	for _, secret := range []string{testKeyHex[:16], testKeyHex[48:], string(key[:8])} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("log reveals key material:\n%s", log.String())
		}
	}
	if !strings.Contains(log.String(), path) {
		t.Errorf("log does not name the key file:\n%s", log.String())
	}
}

func TestGenerateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := board.GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	k1, err := board.NewKeyFile(path).DeviceKey()
	if err != nil {
		t.Fatalf("generated key does not load: %v", err)
	}
	if err := board.GenerateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second GenerateKeyFile = %v, want fs.ErrExist", err)
	}
	k2, _ := board.NewKeyFile(path).DeviceKey()
	if !bytes.Equal(k1, k2) {
		t.Error("GenerateKeyFile replaced an existing key")
	}
	if err := board.ReplaceKeyFile(path); err != nil {
		t.Fatal(err)
	}
	k3, err := board.NewKeyFile(path).DeviceKey()
	if err != nil || bytes.Equal(k1, k3) {
		t.Errorf("ReplaceKeyFile: key %x (err %v), want a new one", k3, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the key (temp files left?)", len(ents))
	}
	if err := board.GenerateKeyFile(filepath.Join(dir, "no", "such", "dir", "key")); err == nil {
		t.Error("GenerateKeyFile into a missing directory succeeded")
	}
}

func TestNewKey(t *testing.T) {
	a, b := board.NewKey(), board.NewKey()
	if len(a) != 65 || a[64] != '\n' || bytes.Equal(a, b) {
		t.Fatalf("NewKey %q %q", a, b)
	}
	if _, err := hex.DecodeString(string(a[:64])); err != nil {
		t.Fatal(err)
	}
}

func TestFakeKey(t *testing.T) {
	k := &boardtest.Key{Want: []string{"key", "close"}}
	if _, err := k.DeviceKey(); !errors.Is(err, board.ErrNoKey) {
		t.Errorf("fake without key: %v, want ErrNoKey", err)
	}
	if err := k.Close(); err != nil {
		t.Error(err)
	}
	k = &boardtest.Key{Want: []string{"key", "close"}}
	if err := k.Close(); err == nil {
		t.Error("Close did not notice the missing DeviceKey call")
	}
}

func TestDefaultKeyFile(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := board.DefaultKeyFile(getenv); got != "/etc/geogate/key" {
		t.Errorf("without credentials: %q", got)
	}
	env["CREDENTIALS_DIRECTORY"] = "/run/credentials/geogate.service"
	if got := board.DefaultKeyFile(getenv); got != "/run/credentials/geogate.service/geogate-key" {
		t.Errorf("with credentials: %q", got)
	}
}
