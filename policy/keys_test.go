package policy_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/policy"
)

// TestKeyFiles writes key pairs as "geogate policy signkey" does and reads them back, and
// checks that every malformed or exposed trusted key file is refused with its name.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	pubA, err := policy.WriteKeyPair(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	pubB, err := policy.WriteKeyPair(filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.WriteKeyPair(filepath.Join(dir, "a")); err == nil || !strings.Contains(err.Error(), "a.key exists") {
		t.Errorf("second key pair over a: %v, want an error naming a.key", err)
	}
	keyA, perm, err := policy.ReadSigningKey(filepath.Join(dir, "a.key"))
	if err != nil {
		t.Fatal(err)
	}
	if perm != 0o600 || !keyA.Public().(ed25519.PublicKey).Equal(pubA) {
		t.Errorf("a.key: mode %04o, public half equal %v; want 0600 and true", perm, keyA.Public().(ed25519.PublicKey).Equal(pubA))
	}
	if _, _, err := policy.ReadSigningKey(filepath.Join(dir, "a.pub")); err == nil || !strings.Contains(err.Error(), "is a public key") {
		t.Errorf("a.pub as signing key: %v", err)
	}

	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	good, other := filepath.Join(dir, "a.pub"), filepath.Join(dir, "b.pub")
	bare := write("bare.pub", base64.StdEncoding.EncodeToString(pubA), 0o444)
	notBase64 := write("garbage.pub", "ssh-ed25519 AAAA...\n", 0o644)
	short := write("short.pub", base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))+"\n", 0o644)
	private := write("k.key", base64.StdEncoding.EncodeToString(keyA)+"\n", 0o644) // 64-byte private key
	writable := write("writable.pub", base64.StdEncoding.EncodeToString(pubA)+"\n", 0o666)

	tests := []struct {
		name  string
		files []string
		want  []ed25519.PublicKey
		err   string // in the error; "" = no error
		is    error  // errors.Is target, if any
	}{
		{"good key", []string{good}, []ed25519.PublicKey{pubA}, "", nil},
		{"two keys", []string{good, other}, []ed25519.PublicKey{pubA, pubB}, "", nil},
		{"no trailing newline, read-only", []string{bare}, []ed25519.PublicKey{pubA}, "", nil},
		{"missing key file", []string{good, filepath.Join(dir, "absent.pub")}, nil, "absent.pub", fs.ErrNotExist},
		{"malformed key", []string{notBase64}, nil, notBase64 + ": want the base64 of a 32-byte ed25519 public key", nil},
		{"wrong length", []string{short}, nil, short + ": want the base64", nil},
		{"private key", []string{private}, nil, private + ": want the base64", nil},
		{"writable by others", []string{writable}, nil, writable + ": writable by group or others (mode 0666); chmod 644", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := policy.ReadTrustedKeys(tt.files)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "policy: ") {
					t.Fatalf("got %v, want an error with %q", err, tt.err)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("got %v, want errors.Is %v", err, tt.is)
				}
				if keys != nil {
					t.Errorf("keys returned along with the error: %d", len(keys))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(tt.want) {
				t.Fatalf("%d keys, want %d", len(keys), len(tt.want))
			}
			for i, k := range tt.want {
				if !keys[i].Equal(k) {
					t.Errorf("key %d differs", i)
				}
			}
		})
	}
}
