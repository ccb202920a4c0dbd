package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
	"github.com/geogate/geogate/camera"
	"github.com/geogate/geogate/policy"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// storeFixture writes a log of n records under a fresh key file and returns dir and key path.
func storeFixture(t *testing.T, n int) (dir, keyPath string) {
	t.Helper()
	tmp := t.TempDir()
	dir, keyPath = filepath.Join(tmp, "log"), filepath.Join(tmp, "device.key")
	if err := board.GenerateKeyFile(keyPath); err != nil {
		t.Fatal(err)
	}
	key, err := board.NewKeyFile(keyPath).DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	l, err := storage.Open(dir, storage.Options{Key: key, SegmentSize: 8 << 10, BufferSize: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		if _, err := l.Append(storage.Type(1+i%2), at.Add(time.Duration(i)*time.Second), []byte(fmt.Sprintf("record %03d %s", i, strings.Repeat("x", 100)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, keyPath
}

func runStore(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = storeMain(args, &o, &e)
	return o.String(), e.String(), err
}

func TestStoreCommands(t *testing.T) {
	dir, key := storeFixture(t, 150)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"ls"}, []string{"SEGMENT", "0000000000000001", "1-", "sealed", "AES-256-GCM", "2026-11-25T08:00:01Z"}},
		{[]string{"verify"}, []string{"150 records authenticated, 0 problems"}},
		{[]string{"stats"}, []string{"records    150", "fix        75 records", "frame      75 records"}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			out, _, err := runStore(append(tt.args, "-dir", dir, "-key", key)...)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestStoreCat(t *testing.T) {
	dir, key := storeFixture(t, 150)
	out, _, err := runStore("cat", "-dir", dir, "-key", key)
	if err != nil {
		t.Fatal(err)
	}
	checkJSONLines(t, strings.NewReader(out), 150)

	saved := storeTypes[2]
	storeTypes[2] = storeType{Name: "fix", Decode: func(p []byte) (any, error) { return map[string]string{"text": string(p[:10])}, nil }}
	t.Cleanup(func() { storeTypes[2] = saved })
	out, _, err = runStore("cat", "-dir", dir, "-key", key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"type_name":"fix","time":"2026-11-25T08:00:01Z","record":{"text":"record 001"}`) {
		t.Fatalf("decoder not used:\n%.300s", out)
	}
}

func checkJSONLines(t *testing.T, r io.Reader, n int) {
	t.Helper()
	sc := bufio.NewScanner(r)
	var i int
	for sc.Scan() {
		i++
		var j jsonRecord
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, sc.Text())
		}
		if j.Seq != uint64(i) || !bytes.HasPrefix(j.Payload, []byte(fmt.Sprintf("record %03d ", i))) {
			t.Fatalf("line %d: %s", i, sc.Text())
		}
	}
	if i != n {
		t.Fatalf("%d lines, want %d", i, n)
	}
}

func TestStoreWrongKey(t *testing.T) {
	dir, _ := storeFixture(t, 10)
	other := filepath.Join(t.TempDir(), "other.key")
	if err := board.GenerateKeyFile(other); err != nil {
		t.Fatal(err)
	}
	out, _, err := runStore("cat", "-dir", dir, "-key", other)
	if !errors.Is(err, storage.ErrWrongKey) || out != "" {
		t.Fatalf("cat with the wrong key: %v, stdout %q", err, out)
	}
	if !strings.Contains(err.Error(), "key id") {
		t.Fatalf("error does not say why: %v", err)
	}
	if _, _, err := runStore("verify", "-dir", dir, "-key", other); err == nil {
		t.Fatal("verify with the wrong key passed")
	}
}

func TestStoreVerifyCorrupt(t *testing.T) {
	dir, key := storeFixture(t, 150)
	seg := filepath.Join(dir, "0000000000000002.seg")
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	b[1000] ^= 0x04
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runStore("verify", "-dir", dir, "-key", key)
	if err == nil {
		t.Fatalf("verify passed a flipped bit:\n%s", out)
	}
	if !strings.Contains(out, "segment 0000000000000002 (") || !strings.Contains(out, ") offset ") || !strings.Contains(out, "149 records authenticated, 1 problems") {
		t.Fatalf("verify output:\n%s", out)
	}
	out, errOut, err := runStore("cat", "-dir", dir, "-key", key)
	if err == nil || strings.Count(out, "\n") != 149 || !strings.Contains(errOut, "offset") {
		t.Fatalf("cat of a damaged log: %v, %d lines, stderr %q", err, strings.Count(out, "\n"), errOut)
	}
}

func TestStoreKeyFileChecks(t *testing.T) {
	dir, key := storeFixture(t, 1)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runStore("ls", "-dir", dir, "-key", key); !errors.Is(err, board.ErrKeyInsecure) {
		t.Fatalf("world-readable key file: %v", err)
	}
	if _, _, err := runStore("ls", "-dir", dir); !errors.Is(err, errUsage) {
		t.Fatalf("missing -key: %v", err)
	}
	if _, _, err := runStore("frobnicate"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown subcommand: %v", err)
	}
}

func TestStoreExport(t *testing.T) {
	dir, key := storeFixture(t, 150)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "export.age")
	if _, _, err := runStore("export", "-dir", dir, "-key", key, "-to", id.Recipient().String(), "-o", out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Fatalf("export mode %v", fi.Mode())
	}
	raw, _ := os.ReadFile(out)
	if bytes.Contains(raw, []byte("record 001")) {
		t.Fatal("export holds plaintext")
	}
	r, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatal(err)
	}
	checkJSONLines(t, r, 150)
	if _, _, err := runStore("export", "-dir", dir, "-key", key, "-to", id.Recipient().String(), "-o", out); err == nil {
		t.Fatal("export overwrote an existing file")
	}
}

// TestStoreExportWholeRecords exports a log of real frame and fix records and checks that
// the recipient gets every payload byte for byte: a frame's decoded view holds only its
// header, and the export once carried nothing else (the images were lost).
func TestStoreExportWholeRecords(t *testing.T) {
	tmp := t.TempDir()
	dir, keyPath := filepath.Join(tmp, "log"), filepath.Join(tmp, "device.key")
	if err := board.GenerateKeyFile(keyPath); err != nil {
		t.Fatal(err)
	}
	key, err := board.NewKeyFile(keyPath).DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	l, err := storage.Open(dir, storage.Options{Key: key, SegmentSize: 256 << 10, BufferSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	var want [][]byte
	for i := 0; i < 40; i++ {
		ts := at.Add(time.Duration(i) * 100 * time.Millisecond)
		var p []byte
		typ := record.TypeFix
		if i%2 == 0 {
			typ = record.TypeFrame
			p = record.AppendFrameHeader(nil, &record.FrameHeader{Action: policy.Keep, Format: camera.MJPEG, Time: ts, Lat: 39.8, Lon: 119.5, Width: 64, Height: 48})
			for j := 0; j < 20000+i*97; j++ {
				p = append(p, byte(i*31+j*7))
			}
		} else {
			p = record.AppendFix(nil, &record.Fix{Action: policy.Keep, Time: ts, Lat: 39.8, Lon: 119.5})
		}
		if _, err := l.Append(typ, ts, p); err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "export.age")
	if _, _, err := runStore("export", "-dir", dir, "-key", keyPath, "-to", id.Recipient().String(), "-o", out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	var n int
	for sc.Scan() {
		var j jsonRecord
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if n >= len(want) || !bytes.Equal(j.Payload, want[n]) {
			t.Fatalf("record %d (seq %d, type %d): %d payload bytes exported, want %d, or they differ", n, j.Seq, j.Type, len(j.Payload), len(want[n%len(want)]))
		}
		if j.Record == nil {
			t.Fatalf("record %d: no decoded view", n)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("%d records exported, want %d", n, len(want))
	}
}

// TestStoreChainBroken: a middle segment deleted is a problem for verify, and cat and
// export refuse the log instead of printing what is left as if it were whole.
func TestStoreChainBroken(t *testing.T) {
	dir, key := storeFixture(t, 150)
	if err := os.Remove(filepath.Join(dir, "0000000000000002.seg")); err != nil {
		t.Fatal(err)
	}
	out, _, err := runStore("verify", "-dir", dir, "-key", key)
	if err == nil || !strings.Contains(out, "segment chain broken") {
		t.Fatalf("verify of a log missing a segment: %v\n%s", err, out)
	}
	out, _, err = runStore("cat", "-dir", dir, "-key", key)
	if !errors.Is(err, storage.ErrChain) || out != "" {
		t.Fatalf("cat: %v, %d bytes out", err, len(out))
	}
	id, _ := age.GenerateX25519Identity()
	exp := filepath.Join(t.TempDir(), "x.age")
	if _, _, err := runStore("export", "-dir", dir, "-key", key, "-to", id.Recipient().String(), "-o", exp); !errors.Is(err, storage.ErrChain) {
		t.Fatalf("export: %v", err)
	}
	if _, err := os.Stat(exp); !os.IsNotExist(err) {
		t.Fatalf("export left a file: %v", err)
	}
}

// stepClock is a storage.Clock the test moves.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestStoreRetentionTombstone: frames expire (MaxAge) in a segment between segments of
// fixes; verify lists the erased segment with its range and finds no problem, cat prints
// the fixes, ls shows the erasure; deleting the tombstone is a chain break.
func TestStoreRetentionTombstone(t *testing.T) {
	dir, key := storeFixture(t, 0)
	k, err := board.NewKeyFile(key).DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	clk := &stepClock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	l, err := storage.Open(dir, storage.Options{Key: k, Clock: clk, MaxAge: map[storage.Type]time.Duration{record.TypeFrame: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []storage.Type{record.TypeFix, record.TypeFrame, record.TypeFix} {
		for range 3 {
			if _, err := l.Append(typ, clk.Now(), []byte("payload")); err != nil {
				t.Fatal(err)
			}
		}
		clk.add(2 * time.Hour) // the next append starts a segment
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out, _, err := runStore("verify", "-dir", dir, "-key", key)
	if err != nil || !strings.Contains(out, ": 3 records, seq 4-6, 2026-11-25T10:00:00Z to 2026-11-25T10:00:00Z") || !strings.Contains(out, "6 records authenticated, 0 problems") {
		t.Fatalf("verify of a healthy log with retention: %v\n%s", err, out)
	}
	out, _, err = runStore("cat", "-dir", dir, "-key", key)
	if err != nil || strings.Count(out, "\n") != 6 {
		t.Fatalf("cat: %v\n%s", err, out)
	}
	if out, _, err = runStore("ls", "-dir", dir, "-key", key); err != nil || !strings.Contains(out, "erased by retention") {
		t.Fatalf("ls: %v\n%s", err, out)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	for _, p := range segs {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("GGTOMB")) {
			os.Remove(p)
		}
	}
	if out, _, err = runStore("verify", "-dir", dir, "-key", key); err == nil || !strings.Contains(out, "segment chain broken") {
		t.Fatalf("verify after the tombstone was deleted: %v\n%s", err, out)
	}
}

// writeStoreConfig writes a daemon config with data_dir dir and the [storage] lines storage.
func writeStoreConfig(t *testing.T, dir, storage string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "geogate.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "data_dir = %q\n\n[storage]\n%s", dir, storage), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestStoreConfigFile: with -config the store commands take the daemon's data_dir and key
// file; -dir still overrides the directory, and -key with -config is a usage error.
func TestStoreConfigFile(t *testing.T) {
	dir, key := storeFixture(t, 150)
	cfg := writeStoreConfig(t, dir, fmt.Sprintf("key_file = %q\n", key))
	out, _, err := runStore("verify", "-config", cfg)
	if err != nil || !strings.Contains(out, "150 records authenticated, 0 problems") {
		t.Fatalf("verify -config: %v\n%s", err, out)
	}
	other, _ := storeFixture(t, 20)
	if out, _, err := runStore("verify", "-config", cfg, "-dir", other); err == nil || !strings.Contains(out, "written with a different device key") {
		t.Fatalf("verify -config -dir with another unit's log: %v\n%s", err, out)
	}
	if _, _, err := runStore("cat", "-config", cfg, "-key", key); !errors.Is(err, errUsage) {
		t.Fatalf("-config with -key: %v, want a usage error", err)
	}
	if _, _, err := runStore("cat", "-config", filepath.Join(t.TempDir(), "absent.toml")); err == nil {
		t.Fatal("-config with a missing file passed")
	}
}

// TestStoreConfigTPM reads a log through the daemon's TPM keyring on a real software TPM,
// with segments written under a key a rotation replaced; with the TPM off it fails, saying
// the TPM is absent, and it never seals a keyring of its own.
func TestStoreConfigTPM(t *testing.T) {
	tmp := t.TempDir()
	tpm := boardtest.StartSWTPM(t, filepath.Join(tmp, "tpm"))
	dir := filepath.Join(tmp, "data")
	ringPath := filepath.Join(dir, "keyring.tpm")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ring := board.NewTPMKeyring(board.TPMConfig{Device: tpm.Device(), Keyring: ringPath})
	cfg := writeStoreConfig(t, dir, fmt.Sprintf("key_provider = \"tpm\"\ntpm_device = %q\n", tpm.Device()))
	if _, _, err := runStore("ls", "-config", cfg); !errors.Is(err, board.ErrNoKey) {
		t.Fatalf("ls -config before the keyring exists: %v, want ErrNoKey", err)
	}
	if _, err := os.Stat(ringPath); err == nil {
		t.Fatal("the store command sealed a keyring")
	}
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	seq := 0
	write := func(n int) {
		t.Helper()
		keys, err := ring.DeviceKeys()
		if err != nil {
			t.Fatal(err)
		}
		l, err := storage.Open(dir, storage.Options{Key: keys.Current, OldKeys: keys.Old, SegmentSize: 8 << 10, BufferSize: 2 << 10})
		keys.Clear()
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			seq++
			if _, err := l.Append(storage.Type(1+seq%2), at.Add(time.Duration(seq)*time.Second), fmt.Appendf(nil, "record %03d %s", seq, strings.Repeat("x", 100))); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ring.Provision(); err != nil {
		t.Fatal(err)
	}
	write(80)
	if err := ring.Rotate(); err != nil {
		t.Fatal(err)
	}
	write(70)

	out, _, err := runStore("verify", "-config", cfg)
	if err != nil || !strings.Contains(out, "150 records authenticated, 0 problems") {
		t.Fatalf("verify -config through the TPM: %v\n%s", err, out)
	}
	out, _, err = runStore("cat", "-config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkJSONLines(t, strings.NewReader(out), 150)

	tpm.Stop()
	if _, _, err := runStore("verify", "-config", cfg); !errors.Is(err, board.ErrAbsent) {
		t.Fatalf("verify -config with the TPM off: %v, want ErrAbsent", err)
	} else {
		t.Logf("TPM off: %v", err)
	}
}
