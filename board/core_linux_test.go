package board_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
	"github.com/geogate/geogate/internal/testtool"
)

// The core helper: when the test binary runs with these variables set, TestMain-less
// TestCoreHelper unseals the keyring and aborts with a core dump (GOTRACEBACK=crash).
const (
	envCoreHelper  = "GEOGATE_TEST_CORE_HELPER" // "protected" (board.NoCoreDumps first, as the daemon) or "bare"
	envCoreDevice  = "GEOGATE_TEST_CORE_TPM"
	envCoreKeyring = "GEOGATE_TEST_CORE_KEYRING"
)

// TestCoreHelper is not a test: it is the child process of TestNoKeyInCore.
func TestCoreHelper(t *testing.T) {
	mode := os.Getenv(envCoreHelper)
	if mode == "" {
		t.Skip("helper process of TestNoKeyInCore")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
	}
	if mode == "protected" {
		if err := board.NoCoreDumps(); err != nil {
			panic(err)
		}
	}
	ring := board.NewTPMKeyring(board.TPMConfig{Device: os.Getenv(envCoreDevice), Keyring: os.Getenv(envCoreKeyring)})
	keys, err := ring.DeviceKeys()
	if err != nil {
		panic(err)
	}
	held = keys.Current
	panic("test: abort with the key in memory")
}

// held keeps the key reachable until the abort.
var held []byte

// TestNoKeyInCore forces a core dump of a process holding the unsealed key. Without
// board.NoCoreDumps (the control) the core holds the key, which proves the scan finds it;
// with it, as the daemon runs, the kernel writes no core, so the key is in none.
func TestNoKeyInCore(t *testing.T) {
	if emu := testtool.Emulator(); emu != "" {
		// Under qemu-user the kernel would dump the emulator, not the target process: what
		// is in a unit's core file is tested natively.
		t.Skipf("under the emulator %s a core file is the emulator's, not the test process's", emu)
	}
	pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	pattern = bytes.TrimSpace(pattern)
	if len(pattern) == 0 || pattern[0] == '|' || bytes.ContainsRune(pattern, '/') {
		t.Skipf("core_pattern %q sends cores to a program or another directory; this test reads cores from the process's working directory only", pattern)
	}
	dir := t.TempDir()
	tpm := boardtest.StartSWTPM(t, filepath.Join(dir, "tpm"))
	keyring := filepath.Join(dir, "keyring.tpm")
	ring := board.NewTPMKeyring(board.TPMConfig{Device: tpm.Device(), Keyring: keyring})
	if _, err := ring.Provision(); err != nil {
		t.Fatal(err)
	}
	keys, err := ring.DeviceKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Clear()

	crash := func(mode string) (core []byte, found string) {
		wd := filepath.Join(dir, mode)
		os.Mkdir(wd, 0o700)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCoreHelper$")
		cmd.Dir = wd
		cmd.Env = append(os.Environ(), envCoreHelper+"="+mode, envCoreDevice+"="+tpm.Device(), envCoreKeyring+"="+keyring, "GOTRACEBACK=crash")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil {
			t.Fatalf("%s helper did not abort", mode)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
			t.Fatalf("%s helper: %v, want death by SIGABRT\n%s", mode, err, stderr.Bytes())
		}
		if bytes.Contains(stderr.Bytes(), keys.Current) || strings.Contains(stderr.String(), hex.EncodeToString(keys.Current)) {
			t.Errorf("%s helper: the key is in its stderr", mode)
		}
		ents, _ := os.ReadDir(wd)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "core") {
				b, err := os.ReadFile(filepath.Join(wd, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				return b, e.Name()
			}
		}
		return nil, ""
	}

	core, name := crash("bare")
	if core == nil {
		t.Skipf("the control (a dumpable process with RLIMIT_CORE unlimited) left no core file under core_pattern %q: the kernel or container does not write cores here, so the scan cannot be proven", pattern)
	}
	if !bytes.Contains(core, keys.Current) {
		t.Fatalf("control core %s (%d bytes) does not contain the key: the scan would prove nothing", name, len(core))
	}
	t.Logf("control: core %s, %d bytes, holds the key", name, len(core))
	clear(core)

	core, name = crash("protected")
	if core != nil {
		if bytes.Contains(core, keys.Current) {
			t.Fatalf("core %s of a process after NoCoreDumps holds the key", name)
		}
		t.Errorf("a process after NoCoreDumps left a core file %s", name)
	}
}
