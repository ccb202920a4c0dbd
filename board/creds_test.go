package board_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
	"github.com/geogate/geogate/internal/testtool"
)

// TestSystemdCreds runs the real systemd-creds: a new key piped (never in a file) into
// "systemd-creds encrypt --with-key=host", the credential decrypted as systemd does for
// LoadCredentialEncrypted= into a credentials directory, and read by NewCredential through
// $CREDENTIALS_DIRECTORY. The host secret is a test file ($SYSTEMD_CREDENTIAL_SECRET), so
// the machine's /var/lib/systemd/credential.secret is neither needed nor created.
func TestSystemdCreds(t *testing.T) {
	creds := testtool.LookPath(t, "systemd-creds", "systemd")
	dir := t.TempDir()
	env := append(os.Environ(), "SYSTEMD_CREDENTIAL_SECRET="+filepath.Join(dir, "host.secret"))
	run := func(stdin []byte, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(creds, args...)
		cmd.Env, cmd.Stdin = env, bytes.NewReader(stdin)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("systemd-creds %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return out.Bytes()
	}
	keyHex := board.NewKey()
	defer clear(keyHex)
	sealed := filepath.Join(dir, "geogate-key.cred")
	run(keyHex, "encrypt", "--with-key=host", "--name="+board.KeyCredential, "-", sealed)
	// systemd decrypts into a ramfs only the service reads; /dev/shm is the nearest here.
	credDir := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		credDir, err = os.MkdirTemp("/dev/shm", "geogate-creds-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(credDir) })
	}
	plain := run(nil, "decrypt", "--name="+board.KeyCredential, sealed, "-")
	defer clear(plain)
	if err := os.WriteFile(filepath.Join(credDir, board.KeyCredential), plain, 0o400); err != nil {
		t.Fatal(err)
	}

	if _, err := board.NewCredential(func(string) string { return "" }); !errors.Is(err, board.ErrNoKey) {
		t.Fatalf("NewCredential without $CREDENTIALS_DIRECTORY: %v, want ErrNoKey", err)
	}
	kf, err := board.NewCredential(func(k string) string {
		if k == "CREDENTIALS_DIRECTORY" {
			return credDir
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	key, err := kf.DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	defer clear(key)
	if hex.EncodeToString(key)+"\n" != string(keyHex) {
		t.Fatal("the credential holds another key")
	}
	// The sealed credential on "disk" holds the key neither raw nor in hex.
	os.Remove(filepath.Join(dir, "host.secret"))
	boardtest.AssertNoKey(t, key, dir, nil)

	// Another machine (another host secret) cannot decrypt it.
	other := exec.Command(creds, "decrypt", "--name="+board.KeyCredential, sealed, "-")
	other.Env = append(os.Environ(), "SYSTEMD_CREDENTIAL_SECRET="+filepath.Join(t.TempDir(), "other.secret"))
	if out, err := other.CombinedOutput(); err == nil {
		clear(out)
		t.Fatal("a credential sealed with one host key decrypts with another")
	}

	t.Run("tpm2", func(t *testing.T) {
		cmd := exec.Command(creds, "encrypt", "--with-key=tpm2", "--name="+board.KeyCredential, "-", filepath.Join(dir, "tpm2.cred"))
		cmd.Env, cmd.Stdin = env, bytes.NewReader(keyHex)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("systemd-creds --with-key=tpm2 cannot run here: it needs a kernel TPM device (/dev/tpmrm0), which swtpm over TCP is not (that would take the vtpm proxy or CUSE): %v: %s", err, bytes.TrimSpace(out))
		}
	})
}
