package update

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/internal/testtool"
)

// needTools skips the test without the tools (failing with CI=true, where scripts/deps.sh
// installs them).
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		testtool.LookPath(t, tool, "rauc squashfs-tools openssl dbus-daemon")
	}
}

func runTool(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRAUC builds a RAUC bundle holding the geogate binary with a PKI made here, checks
// that rauc verifies it and refuses a tampered copy, installs it into file-backed A/B slots
// through the real RAUC service (on a private D-Bus, with the custom bootloader backend
// logging what a boot loader would be told), checks that the shipped install-check hook
// (init/rauc/hook.sh) refuses a bundle below the firmware floor or for another system, then
// lets "geogate mark-good" mark the booted slot good while the daemon is healthy, and bad
// while it is not.
func TestRAUC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds geogate and runs RAUC")
	}
	needTools(t, "rauc", "mksquashfs", "openssl", "dbus-daemon")
	testtool.LookPath(t, "mkfs.ext4", "e2fsprogs")
	testtool.LookPath(t, "debugfs", "e2fsprogs")
	testtool.Root(t, "for RAUC to mount the ext4 slot it writes (a loop device)")
	dir := t.TempDir()
	// The image: an ext4 root file system holding /usr/bin/geogate, as on a unit.
	bin := filepath.Join(dir, "root", "usr", "bin", "geogate")
	must(t, os.MkdirAll(filepath.Dir(bin), 0o755))
	runTool(t, []string{"CGO_ENABLED=0"}, "go", "build", "-o", bin, "..")
	rootfs := filepath.Join(dir, "rootfs.ext4")
	runTool(t, nil, "mkfs.ext4", "-q", "-F", "-d", filepath.Join(dir, "root"), rootfs, "24M") // the binary (~12 MB) and room
	runTool(t, nil, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", filepath.Join(dir, "key.pem"),
		"-out", filepath.Join(dir, "cert.pem"), "-days", "3650", "-subj", "/CN=geogate test signer")
	cert := filepath.Join(dir, "cert.pem")
	hook, err := os.ReadFile("../init/rauc/hook.sh")
	must(t, err)
	// mkBundle signs a bundle holding the image and the shipped install-check hook.
	mkBundle := func(name, compatible, version string) string {
		t.Helper()
		content := filepath.Join(dir, name)
		must(t, os.Mkdir(content, 0o755))
		must(t, os.Link(rootfs, filepath.Join(content, "rootfs.ext4")))
		must(t, os.WriteFile(filepath.Join(content, "hook.sh"), hook, 0o755))
		must(t, os.WriteFile(filepath.Join(content, "manifest.raucm"), []byte("[update]\ncompatible="+compatible+"\nversion="+version+
			"\n\n[bundle]\n# plain: verity needs device-mapper, absent here\nformat=plain\n\n[hooks]\nfilename=hook.sh\nhooks=install-check\n\n[image.rootfs]\nfilename=rootfs.ext4\n"), 0o644))
		bundle := filepath.Join(dir, name+".raucb")
		runTool(t, nil, "rauc", "bundle", "--cert", cert, "--key", filepath.Join(dir, "key.pem"), content, bundle)
		return bundle
	}
	bundle := mkBundle("geogate", "geogate-test", "2.0.0")
	if out := runTool(t, nil, "rauc", "info", "--keyring", cert, bundle); !strings.Contains(out, "Verified detached signature") || !strings.Contains(out, "'2.0.0'") {
		t.Fatalf("rauc info:\n%s", out)
	}
	data, err := os.ReadFile(bundle)
	must(t, err)
	tampered := filepath.Join(dir, "tampered.raucb")
	data[4096] ^= 0x40 // inside the squashfs: the image or its metadata
	must(t, os.WriteFile(tampered, data, 0o644))
	if out, err := exec.Command("rauc", "info", "--keyring", cert, tampered).CombinedOutput(); err == nil || !strings.Contains(string(out), "signature verification failed") {
		t.Fatalf("rauc info accepted a tampered bundle: %v\n%s", err, out)
	}

	// File-backed ext4 slots, the custom bootloader backend, the service on a private bus.
	slotA, slotB, bootLog := filepath.Join(dir, "slotA.img"), filepath.Join(dir, "slotB.img"), filepath.Join(dir, "boot.log")
	for _, s := range []string{slotA, slotB} {
		must(t, os.WriteFile(s, nil, 0o600))
		must(t, os.Truncate(s, 32<<20))
	}
	backend := filepath.Join(dir, "bootloader.sh")
	must(t, os.WriteFile(backend, []byte("#!/bin/sh\necho \"$@\" >> "+bootLog+"\ncase \"$1\" in get-primary|get-current) echo A;; get-state) echo good;; esac\n"), 0o755))
	conf := filepath.Join(dir, "system.conf")
	must(t, os.WriteFile(conf, []byte("[system]\ncompatible=geogate-test\nbootloader=custom\n\n[handlers]\nbootloader-custom-backend="+backend+
		"\n\n[keyring]\npath="+cert+"\n\n[slot.rootfs.0]\ndevice="+slotA+"\ntype=ext4\nbootname=A\n\n[slot.rootfs.1]\ndevice="+slotB+"\ntype=ext4\nbootname=B\n"), 0o644))
	bus := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1")
	busOut, err := bus.StdoutPipe()
	must(t, err)
	must(t, bus.Start())
	t.Cleanup(func() { bus.Process.Kill(); bus.Wait() })
	addr, err := bufio.NewReader(busOut).ReadString('\n')
	must(t, err)
	env := []string{"DBUS_SYSTEM_BUS_ADDRESS=" + strings.TrimSpace(addr)}
	floor := filepath.Join(dir, "firmware-floor") // the hook's; on a unit on the data partition
	svc := exec.Command("rauc", "--conf="+conf, "service", "--override-boot-slot=A")
	svc.Env = append(os.Environ(), append(env, "GEOGATE_FIRMWARE_FLOOR="+floor)...)
	must(t, svc.Start())
	t.Cleanup(func() { svc.Process.Kill(); svc.Wait() })
	var out string
	for range 50 { // the service takes its bus name asynchronously
		c := exec.Command("rauc", "install", bundle)
		c.Env = append(os.Environ(), env...)
		b, err := c.CombinedOutput()
		if out = string(b); err == nil || !strings.Contains(out, "ServiceUnknown") && !strings.Contains(out, "not provided") {
			break
		}
		exec.Command("sleep", "0.1").Run()
	}
	if !strings.Contains(out, "succeeded") {
		t.Fatalf("rauc install:\n%s", out)
	}
	inSlot := func() string {
		t.Helper()
		out, err := exec.Command("debugfs", "-R", "cat /usr/bin/geogate", slotB).Output()
		must(t, err)
		return string(out)
	}
	want, err := os.ReadFile(bin)
	must(t, err)
	if inSlot() != string(want) {
		t.Error("slot B does not hold /usr/bin/geogate after the install")
	}
	if log, _ := os.ReadFile(bootLog); !strings.Contains(string(log), "set-primary B") {
		t.Errorf("the boot loader was not told to boot B:\n%s", log)
	}
	// The tampered bundle, through the service: refused, the boot loader told nothing.
	must(t, os.WriteFile(bootLog, nil, 0o600))
	c := exec.Command("rauc", "install", tampered)
	c.Env = append(os.Environ(), env...)
	if b, err := c.CombinedOutput(); err == nil || !strings.Contains(string(b), "signature verification failed") {
		t.Errorf("rauc install of a tampered bundle: %v\n%s", err, b)
	}
	if log, _ := os.ReadFile(bootLog); strings.Contains(string(log), "set-primary") {
		t.Errorf("the boot loader was told to switch for a tampered bundle:\n%s", log)
	}

	// The shipped install-check hook: with the floor at 2.10.0 an older bundle (2.9.0, which
	// a comparison of strings would let through) and one for another system are refused
	// through the real service; 2.10.0 itself installs.
	must(t, os.WriteFile(floor, []byte("2.10.0\n"), 0o600))
	for _, tt := range []struct{ name, compatible, version, want string }{
		{"old", "geogate-test", "2.9.0", "bundle version 2.9.0 is older than the installed floor 2.10.0"},
		{"other", "other-board", "3.0.0", "bundle for 'other-board', this system is 'geogate-test'"},
		{"same", "geogate-test", "2.10.0", "succeeded"},
	} {
		c := exec.Command("rauc", "install", mkBundle(tt.name, tt.compatible, tt.version))
		c.Env = append(os.Environ(), env...)
		b, err := c.CombinedOutput()
		if (err == nil) != (tt.want == "succeeded") || !strings.Contains(string(b), tt.want) {
			t.Errorf("rauc install of %s %s with the floor at 2.10.0: %v\n%s", tt.compatible, tt.version, err, b)
		}
	}

	// geogate mark-good against a daemon's health answers, calling RAUC's mark-good/-bad.
	for _, healthy := range []bool{true, false} {
		sock := filepath.Join(t.TempDir(), "control.sock")
		s := &control.Server{Path: sock, Group: -1}
		s.Handle("health", func(context.Context, json.RawMessage) (any, error) {
			return map[string]any{"healthy": healthy, "policy": 2}, nil // daemon.Health
		})
		must(t, s.Listen())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.Serve(ctx) }()
		must(t, os.WriteFile(bootLog, nil, 0o600))
		c := exec.Command(bin, "mark-good", "-socket", sock, "-hold", "200ms", "-timeout", "600ms", "-interval", "20ms",
			"-good", "rauc --conf="+conf+" status mark-good", "-bad", "rauc --conf="+conf+" status mark-bad")
		c.Env = append(os.Environ(), env...)
		b, err := c.CombinedOutput()
		cancel()
		<-done
		log, _ := os.ReadFile(bootLog)
		wantState := map[bool]string{true: "set-state A good", false: "set-state A bad"}[healthy]
		if (err == nil) != healthy || !strings.Contains(string(log), wantState) {
			t.Errorf("healthy %v: mark-good exit %v, boot loader told:\n%s\n%s", healthy, err, log, b)
		}
	}
}
