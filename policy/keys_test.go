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

	"github.com/geogate/geogate/internal/testtool"
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

// nobody is the uid of the unprivileged user "nobody" on Linux.
const nobody = 65534

// TestTrustAnchorOwner: a trusted key file or bundle directory another user owns is refused,
// whatever its mode; root's (or this process's user's) are taken. It needs root, to give
// files away with os.Chown.
func TestTrustAnchorOwner(t *testing.T) {
	testtool.Root(t, "to chown files to nobody")
	dir := t.TempDir()
	pub, err := policy.WriteKeyPair(filepath.Join(dir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "k.pub") // root-owned, 0644
	if keys, err := policy.ReadTrustedKeys([]string{key}); err != nil || !keys[0].Equal(pub) {
		t.Fatalf("root-owned 0644 key: %v", err)
	}
	foreign := filepath.Join(dir, "nobody.pub")
	if err := os.WriteFile(foreign, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(foreign, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	_, err = policy.ReadTrustedKeys([]string{key, foreign})
	if want := "policy: trusted key " + foreign + ": owned by uid 65534, neither root nor this service's user (uid 0), who could replace it; chown root " + foreign; err == nil || err.Error() != want {
		t.Errorf("nobody-owned 0644 key: %v\nwant %s", err, want)
	}

	mkdir := func(name string, mode os.FileMode, uid int) string {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, 0); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name string
		dir  string
		err  string // "" = accepted
	}{
		{"root-owned 0755", mkdir("root", 0o755, 0), ""},
		{"root-owned, group-writable", mkdir("group", 0o775, 0), ""},
		{"writable by others", mkdir("others", 0o757, 0), "writable by others (mode 0757); chmod o-w"},
		{"owned by nobody", mkdir("nobody", 0o755, nobody), "owned by uid 65534, neither root nor this service's user (uid 0)"},
		{"a file", key, "not a directory"},
		{"missing", filepath.Join(dir, "absent"), "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := policy.CheckBundleDir(tt.dir)
			if tt.err == "" {
				if err != nil {
					t.Error(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "policy: bundle directory") || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want an error with %q", err, tt.err)
			}
		})
	}
}
