package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
	"github.com/geogate/geogate/storage"
	"github.com/geogate/geogate/upload"
	"github.com/geogate/geogate/upload/uploadtest"
)

// uploadFixture is a unit's data directory with a log of n records, its config file pointing
// at a versitygw server, and the processor's identity file.
func uploadFixture(t *testing.T, n int) (cfgPath, dataDir, idPath string, srv *uploadtest.Server) {
	t.Helper()
	srv = uploadtest.Start(t, filepath.Join(t.TempDir(), "s3"))
	dataDir, key := storeFixture(t, n)
	tmp := t.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idPath = filepath.Join(tmp, "processor.age")
	if err := os.WriteFile(idPath, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cred := filepath.Join(tmp, "upload-credentials")
	if err := os.WriteFile(cred, []byte(uploadtest.AccessKey+"\n"+uploadtest.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(tmp, "geogate.toml")
	cfg := fmt.Sprintf("data_dir = %q\ndevice_id = \"unit-1\"\n[storage]\nkey_file = %q\n[upload]\nendpoint = %q\ninsecure = true\nbucket = %q\ncredentials_file = %q\nrecipients = [%q]\nnetwork = \"any\"\n",
		dataDir, key, srv.Addr, uploadtest.Bucket, cred, id.Recipient().String())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dataDir, idPath, srv
}

func runUpload(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = uploadMain(args, &o, &e)
	return o.String(), e.String(), err
}

// TestUploadCommand: geogate upload sends the log, and the processor's store verify and cat
// read every record back with its identity and check each export's audit checkpoint.
func TestUploadCommand(t *testing.T) {
	cfgPath, dataDir, idPath, srv := uploadFixture(t, 150)
	out, stderr, err := runUpload("-config", cfgPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "0 pending") || strings.Contains(out, "uploaded 0 ") {
		t.Fatalf("stdout %q", out)
	}
	c := srv.Client(uploadtest.AccessKey, uploadtest.SecretKey)
	ctx := context.Background()
	got := dataDir + "-processor"
	os.Mkdir(got, 0o700)
	var lines, exports int
	var names []string
	for o := range c.ListObjects(ctx, uploadtest.Bucket, minio.ListObjectsOptions{Prefix: "geogate/unit-1/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		name := filepath.Join(got, filepath.Base(o.Key))
		if err := c.FGetObject(ctx, uploadtest.Bucket, o.Key, name, minio.GetObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".age") {
			names = append(names, name)
		}
	}
	for _, name := range names {
		exports++
		vout, _, err := runStore("verify", "-identity", idPath, "-pub", filepath.Join(dataDir, "audit", "key.pub"), name)
		if err != nil || !strings.Contains(vout, "0 problems") || !strings.Contains(vout, "signed by geogate/unit-1/audit") {
			t.Errorf("verify %s: %v\n%s", name, err, vout)
		}
		cout, _, err := runStore("cat", "-identity", idPath, name)
		if err != nil {
			t.Fatal(err)
		}
		lines += strings.Count(cout, "\n")
	}
	if exports == 0 || lines != 150 {
		t.Errorf("%d exports with %d records, want all 150", exports, lines)
	}
	// Nothing more to send; a second run says so.
	if out, _, err := runUpload("-config", cfgPath); err != nil || !strings.Contains(out, "spooled 0 exports") || !strings.Contains(out, "uploaded 0 exports") {
		t.Errorf("second run: %v %q", err, out)
	}
}

func TestUploadCommandRefuses(t *testing.T) {
	cfgPath, dataDir, _, _ := uploadFixture(t, 20)
	t.Run("daemon running", func(t *testing.T) {
		key, err := board.NewKeyFile(filepath.Join(filepath.Dir(dataDir), "device.key")).DeviceKey()
		if err != nil {
			t.Fatal(err)
		}
		l, err := storage.Open(dataDir, storage.Options{Key: key, SegmentSize: 8 << 10, BufferSize: 2 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, _, err := runUpload("-config", cfgPath); !errors.Is(err, upload.ErrLocked) {
			t.Errorf("upload while the log is open: %v", err)
		}
	})
	t.Run("credentials readable by others", func(t *testing.T) {
		cred := filepath.Join(filepath.Dir(cfgPath), "upload-credentials")
		os.Chmod(cred, 0o644)
		defer os.Chmod(cred, 0o600)
		_, _, err := runUpload("-config", cfgPath)
		if !errors.Is(err, upload.ErrConfig) || strings.Contains(err.Error(), uploadtest.SecretKey) {
			t.Errorf("loose credentials: %v", err)
		}
	})
	t.Run("bad network", func(t *testing.T) {
		if _, _, err := runUpload("-config", cfgPath, "-network", "cheap"); !errors.Is(err, upload.ErrConfig) {
			t.Errorf("-network cheap: %v", err)
		}
	})
	t.Run("arguments", func(t *testing.T) {
		if _, _, err := runUpload("-config", cfgPath, "extra"); !errors.Is(err, errUsage) {
			t.Errorf("extra argument: %v", err)
		}
	})
	t.Run("tpm keyring missing", func(t *testing.T) {
		// The key comes from the daemon's provider: here a TPM without the unit's keyring.
		tpm := boardtest.StartSWTPM(t, filepath.Join(t.TempDir(), "tpm"))
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		tpmCfg := filepath.Join(t.TempDir(), "geogate.toml")
		b = regexp.MustCompile(`key_file = ".*"`).ReplaceAll(b, fmt.Appendf(nil, "key_provider = \"tpm\"\ntpm_device = %q", tpm.Device()))
		if err := os.WriteFile(tpmCfg, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runUpload("-config", tpmCfg); !errors.Is(err, board.ErrNoKey) || !strings.Contains(err.Error(), "tpm keyring") {
			t.Errorf("upload with the tpm provider and no keyring: %v, want ErrNoKey from the keyring", err)
		}
	})
}

// TestStoreReadExport: the processor reads a hand export too; a wrong identity, a cut or
// altered file, and misuse fail clearly.
func TestStoreReadExport(t *testing.T) {
	dir, key := storeFixture(t, 150)
	id, _ := age.GenerateX25519Identity()
	tmp := t.TempDir()
	idPath := filepath.Join(tmp, "id")
	os.WriteFile(idPath, []byte(id.String()+"\n"), 0o600)
	out := filepath.Join(tmp, "export.age")
	if _, _, err := runStore("export", "-dir", dir, "-key", key, "-to", id.Recipient().String(), "-o", out); err != nil {
		t.Fatal(err)
	}
	cout, _, err := runStore("cat", "-identity", idPath, out)
	if err != nil {
		t.Fatal(err)
	}
	checkJSONLines(t, strings.NewReader(cout), 150)
	if vout, _, err := runStore("verify", "-identity", idPath, out); err != nil || !strings.Contains(vout, "150 records authenticated, 0 problems") {
		t.Errorf("verify: %v %q", err, vout)
	}
	raw, _ := os.ReadFile(out)
	other, _ := age.GenerateX25519Identity()
	otherPath := filepath.Join(tmp, "other")
	os.WriteFile(otherPath, []byte(other.String()+"\n"), 0o600)
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-100] ^= 1
	cut := raw[:len(raw)-200]
	for _, tt := range []struct {
		name string
		data []byte
		id   string
	}{
		{"wrong identity", raw, otherPath},
		{"byte flipped", flipped, idPath},
		{"cut", cut, idPath},
		{"plaintext", []byte(`{"seq":1,"type":1}` + "\n"), idPath},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "x.age")
			os.WriteFile(f, tt.data, 0o600)
			for _, sub := range []string{"verify", "cat"} {
				if _, _, err := runStore(sub, "-identity", tt.id, f); err == nil {
					t.Errorf("store %s accepted it", sub)
				}
			}
		})
	}
	if _, _, err := runStore("cat", "-identity", idPath, "-dir", dir, out); !errors.Is(err, errUsage) {
		t.Errorf("-identity with -dir: %v", err)
	}
	if _, _, err := runStore("verify", "-identity", idPath, "-pub", filepath.Join(tmp, "missing.pub"), out); err == nil {
		t.Errorf("a missing verifier key passed")
	}
}
