// Package testtool is how a test asks for something outside Go that the machine may lack: a
// command, a pseudo-terminal, root. Where CI is set (CI machines install every such tool, see
// scripts/deps.sh) a missing requirement fails the test, naming what to install; elsewhere the
// test skips with the same message. It also tells a test whether it runs under qemu-user.
//
// It is for _test.go files only: nothing that ships in the geogate binary imports it.
//
//	func TestDifferential(t *testing.T) {
//		bin := testtool.LookPath(t, "gpsdecode", "gpsd-clients")
//		...
//	}
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// EmulatorEnv is the environment variable that names the qemu-user emulator the test binary
// runs under. scripts/test-qemu.sh sets it next to go test -exec; natively it is unset.
const EmulatorEnv = "GEOGATE_EMULATOR"

// InCI reports whether the tests run in CI, where the CI environment variable is set to
// anything non-empty.
func InCI() bool { return os.Getenv("CI") != "" }

// Need stops t when err says a requirement is missing: what names it ("gpsdecode", "a
// pseudo-terminal") and fix says how to get it. In CI the test fails, elsewhere it skips; the
// message is the same. A nil err lets the test go on.
func Need(t testing.TB, what string, err error, fix string) {
	t.Helper()
	if err == nil {
		return
	}
	if InCI() {
		t.Fatalf("needs %s, which CI must provide: %v (%s)", what, err, fix)
	}
	t.Skipf("needs %s: %v (%s)", what, err, fix)
}

// LookPath returns the path of the command name, which the Debian package pkg installs. A
// missing command fails the test in CI and skips it elsewhere (see Need).
func LookPath(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	Need(t, name, err, "apt-get install "+pkg+", or make deps as root")
	return path
}

// Root requires the tests to run as root, for why ("to give a file to another user"): CI
// runs them as root; elsewhere the test skips (see Need).
func Root(t testing.TB, why string) {
	t.Helper()
	if euid := os.Geteuid(); euid != 0 {
		Need(t, "root "+why, fmt.Errorf("euid is %d", euid), "run the tests as root, as CI does")
	}
}

// Emulator returns the qemu-user command the test binary runs under, or "" when it runs
// natively (EmulatorEnv unset).
func Emulator() string { return os.Getenv(EmulatorEnv) }

// SelfCommand returns a command that runs this test binary again with args, through the
// emulator when there is one: qemu-user without binfmt_misc cannot exec a foreign binary
// directly, but it can exec the host's emulator.
func SelfCommand(args ...string) *exec.Cmd {
	if emu := Emulator(); emu != "" {
		return exec.Command(emu, append([]string{os.Args[0]}, args...)...)
	}
	return exec.Command(os.Args[0], args...)
}
