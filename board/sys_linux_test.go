package board

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWatchdogRealSyscallsOnFile runs the real open/ioctl/write/close path against a
// regular file: the ioctl fails with ENOTTY, and the failed setup disarms with the magic
// character, which lands in the file. No /dev node is touched.
func TestWatchdogRealSyscallsOnFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchdog")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWatchdog(path, 30*time.Second)
	if !notTTY(err) || errors.Is(err, ErrAbsent) {
		t.Fatalf("err = %v, want ENOTTY, not absent", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "V" {
		t.Errorf("file holds %q, want the magic close %q", got, "V")
	}
	if w.Kick() != err {
		t.Error("Kick after failed open does not return the open error")
	}
	if _, err := OpenWatchdog(filepath.Join(t.TempDir(), "none"), 0); !errors.Is(err, ErrAbsent) {
		t.Errorf("missing node: %v, want ErrAbsent", err)
	}
}

// TestGPIORealSyscallsOnFile: the real line request on a regular file fails with ENOTTY,
// the errno a kernel without GPIO uAPI v2 gives, which OpenPower treats as "fall back".
func TestGPIORealSyscallsOnFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gpiochip0")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenPower(PowerConfig{Chip: path, Line: 1})
	if !notTTY(err) {
		t.Fatalf("err = %v, want ENOTTY", err)
	}
	sysfs := writeLevel(t, t.TempDir(), "0\n")
	p, err := OpenPower(PowerConfig{Chip: path, Line: 1, SysfsValue: sysfs})
	if err != nil {
		t.Fatalf("no fallback to sysfs after ENOTTY: %v", err)
	}
	p.Close()
}

// TestCdevLineRead checks the real line reader on a pipe: records arrive, and a cancelled
// context unblocks a read that has nothing to read.
func TestCdevLineRead(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	l := &cdevLine{f: r}
	defer l.close()
	var rec [sizeofGPIOV2LineEvent]byte
	rec[gpioV2LineEventIDOffset] = byte(gpioV2LineEventRisingEdge)
	w.Write(rec[:])
	g := &gpioSource{h: l}
	ctx, cancel := context.WithCancel(context.Background())
	lvl, err := g.next(ctx)
	if err != nil || !lvl {
		t.Fatalf("next = %v, %v; want true (rising edge)", lvl, err)
	}
	go cancel()
	if _, err := g.next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("next after cancel = %v, want context.Canceled", err)
	}
	if _, err := g.level(); !notTTY(err) {
		t.Errorf("GET_VALUES on a pipe = %v, want ENOTTY", err)
	}
}

// notTTY reports whether err is what an ioctl on a file that is not the device gives:
// ENOTTY from the kernel, ENOSYS under qemu-user (make test-arm64), which passes only the
// ioctls it knows.
func notTTY(err error) bool {
	return errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.ENOSYS)
}
