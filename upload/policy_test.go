package upload_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/geogate/geogate/storage"
	"github.com/geogate/geogate/upload"
	"github.com/geogate/geogate/upload/uploadtest"
)

func sealed(t *testing.T, rs ...age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, rs...)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(`{"seq":1}`))
	w.Close()
	return b.Bytes()
}

func TestCheckSealed(t *testing.T) {
	a, _ := age.GenerateX25519Identity()
	b, _ := age.GenerateX25519Identity()
	pass, err := age.NewScryptRecipient("passphrase")
	if err != nil {
		t.Fatal(err)
	}
	pass.SetWorkFactor(10)
	two := sealed(t, a.Recipient(), b.Recipient())
	for _, tt := range []struct {
		name string
		data []byte
		n    int
		ok   bool
	}{
		{"one X25519", sealed(t, a.Recipient()), 1, true},
		{"two X25519", two, 2, true},
		{"two X25519, one configured", two, 1, false},
		{"plaintext JSON", []byte(`{"seq":1,"payload":"..."}` + "\n"), 1, false},
		{"empty", nil, 1, false},
		{"passphrase (scrypt)", sealed(t, pass), 1, false},
		{"header cut", two[:60], 2, false},
		{"other stanza", []byte("age-encryption.org/v1\n-> ssh-ed25519 abc def\nxyz\n--- mac\n"), 1, false},
		{"armored", []byte("-----BEGIN AGE ENCRYPTED FILE-----\n"), 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := upload.CheckSealed(bytes.NewReader(tt.data), tt.n)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, upload.ErrNotSealed)) {
				t.Errorf("CheckSealed = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestRefused: nothing but a sealed export to a configured recipient leaves the unit.
func TestRefused(t *testing.T) {
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	logDir, recs := testLog(t, 20, 20000, 4)
	empty := func(t *testing.T) {
		t.Helper()
		if n := listAll(t, srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)); len(n) != 0 {
			t.Errorf("the bucket holds %v", n)
		}
	}
	t.Run("recipient no longer licensed", func(t *testing.T) {
		e := newEnv(t, logDir, recs, srv, srv.Addr)
		e.spool(t)
		other, _ := age.GenerateX25519Identity()
		e.cfg.Recipients = []string{other.Recipient().String()}
		if _, err := e.uploader(t).Push(context.Background()); !errors.Is(err, upload.ErrRecipient) {
			t.Fatalf("push: %v, want ErrRecipient", err)
		}
		empty(t)
	})
	t.Run("export replaced by plaintext", func(t *testing.T) {
		e := newEnv(t, logDir, recs, srv, srv.Addr)
		e.spool(t)
		f := spooledFile(t, e)
		st, _ := os.Stat(f)
		plain := bytes.Repeat([]byte(marker+"\n"), int(st.Size())/(len(marker)+1)+1)[:st.Size()]
		if err := os.WriteFile(f, plain, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := e.uploader(t).Push(context.Background()); !errors.Is(err, upload.ErrNotSealed) {
			t.Fatalf("push: %v, want ErrNotSealed", err)
		}
		empty(t)
	})
	t.Run("no audit trail", func(t *testing.T) {
		e := newEnv(t, logDir, recs, srv, srv.Addr)
		e.cfg.Audit = nil
		r, err := storage.NewReader(logDir, devKey)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := e.uploader(t).Spool(r); !errors.Is(err, upload.ErrNoAudit) || n != 0 {
			t.Fatalf("spool without audit: %d, %v", n, err)
		}
	})
	t.Run("audit trail closed", func(t *testing.T) {
		e := newEnv(t, logDir, recs, srv, srv.Addr)
		e.audit.Close()
		r, err := storage.NewReader(logDir, devKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.uploader(t).Spool(r); !errors.Is(err, upload.ErrNoAudit) {
			t.Fatalf("spool with a closed audit log: %v", err)
		}
		if m, _ := filepath.Glob(filepath.Join(e.cfg.Dir, "spool", "*")); len(m) != 0 {
			t.Errorf("spool holds %v", m)
		}
	})
}

func TestMetered(t *testing.T) {
	srv := uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	logDir, recs := testLog(t, 20, 20000, 4)
	e := newEnv(t, logDir, recs, srv, srv.Addr)
	e.cfg.Network = upload.UnmeteredOnly
	e.cfg.NetworkFile = filepath.Join(t.TempDir(), "network")
	e.spool(t)
	for _, state := range []string{"", "metered\n", "unknown", "UNMETERED-ish"} {
		if state != "" {
			os.WriteFile(e.cfg.NetworkFile, []byte(state), 0o644)
		}
		if _, err := e.uploader(t).Push(context.Background()); !errors.Is(err, upload.ErrMetered) {
			t.Errorf("network file %q: %v, want ErrMetered", state, err)
		}
	}
	if n := listAll(t, srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)); len(n) != 0 {
		t.Fatalf("sent on a metered network: %v", n)
	}
	os.WriteFile(e.cfg.NetworkFile, []byte("unmetered\n"), 0o644)
	if _, err := e.uploader(t).Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.checkBucket(t)
}

func TestConfig(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	good := upload.Config{Endpoint: "127.0.0.1:9", Bucket: "b", AccessKey: "a", SecretKey: "s",
		Recipients: []string{id.Recipient().String()}, Dir: t.TempDir()}
	for _, tt := range []struct {
		name string
		edit func(*upload.Config)
		want string
	}{
		{"no endpoint", func(c *upload.Config) { c.Endpoint = "" }, "endpoint"},
		{"no recipients", func(c *upload.Config) { c.Recipients = nil }, "recipients"},
		{"bad recipient", func(c *upload.Config) { c.Recipients = []string{"age1notakey"} }, "age1notakey"},
		{"passphrase is no recipient", func(c *upload.Config) { c.Recipients = []string{"hunter2"} }, "hunter2"},
		{"small parts", func(c *upload.Config) { c.PartSize = 1 << 20 }, "part size"},
		{"network", func(c *upload.Config) { c.Network = "sometimes" }, "sometimes"},
		{"no credentials", func(c *upload.Config) { c.SecretKey = "" }, "credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			_, err := upload.New(c)
			if !errors.Is(err, upload.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want ErrConfig naming %q", err, tt.want)
			}
		})
	}
	if _, err := upload.New(good); err != nil {
		t.Errorf("good config: %v", err)
	}
}
