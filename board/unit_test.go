package board_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/geogate/geogate/internal/testtool"
)

// unitFile is the systemd unit shipped in init/.
const unitFile = "../init/geogate.service"

// maxExposure is the goal for "systemd-analyze security": 2.0 or lower is "OK"/"SAFE".
const maxExposure = 2.0

// TestUnitDirectives checks that the unit keeps the settings docs/OPERATIONS.md and the
// daemon rely on.
func TestUnitDirectives(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		have[strings.TrimSpace(line)] = true
	}
	for _, want := range []string{
		"Type=notify", "NotifyAccess=main", "WatchdogSec=10", "Restart=on-failure", "RestartSec=2",
		"TimeoutStopSec=5", "User=geogate", "SupplementaryGroups=dialout video",
		"StateDirectory=geogate", "ConfigurationDirectory=geogate",
		"ExecStart=/usr/bin/geogate run -config /etc/geogate/geogate.toml",
		"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
		"ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
		"ProtectControlGroups=yes", "ProtectClock=yes", "ProtectHostname=yes",
		"RestrictAddressFamilies=AF_UNIX", "RestrictNamespaces=yes", "RestrictRealtime=yes",
		"LockPersonality=yes", "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service",
		"SystemCallArchitectures=native", "CapabilityBoundingSet=", "DevicePolicy=closed",
		"DeviceAllow=char-ttyS rw", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyACM rw",
		"DeviceAllow=char-video4linux rw", "DeviceAllow=/dev/watchdog rw", "DeviceAllow=char-gpiochip rw",
	} {
		if !have[want] {
			t.Errorf("%s lacks %q", unitFile, want)
		}
	}
}

// TestUnitSystemdAnalyze runs "systemd-analyze verify" on the daemon's unit and an instance
// of the serial console's, and measures their "systemd-analyze security" exposure. verify
// needs ExecStart's binary to exist, so it checks copies whose ExecStart is this test binary.
func TestUnitSystemdAnalyze(t *testing.T) {
	sa := testtool.LookPath(t, "systemd-analyze", "systemd")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ file, as string }{
		{unitFile, "geogate.service"},
		{"../init/geogate-console@.service", "geogate-console@ttyS1.service"},
	} {
		t.Run(u.as, func(t *testing.T) {
			b, err := os.ReadFile(u.file)
			if err != nil {
				t.Fatal(err)
			}
			unit := bytes.Replace(b, []byte("ExecStart=/usr/bin/geogate "), []byte("ExecStart="+self+" "), 1)
			if bytes.Equal(unit, b) {
				t.Fatal("ExecStart=/usr/bin/geogate not found in the unit")
			}
			path := filepath.Join(t.TempDir(), u.as)
			if err := os.WriteFile(path, unit, 0o644); err != nil {
				t.Fatal(err)
			}
			analyze(t, sa, path)
		})
	}
}

// analyze runs systemd-analyze verify and security on the unit file at path.
func analyze(t *testing.T, sa, path string) {
	t.Helper()
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(sa, "security", "--offline=true", "--no-pager", path).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("--offline")) || bytes.Contains(out, []byte("unrecognized option")) {
			testtool.Need(t, "systemd-analyze security --offline", fmt.Errorf("too old: %s", out), "systemd >= 250, Debian 12 or later")
		}
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure in systemd-analyze security output:\n%s", out)
	}
	exposure, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security exposure: %.1f %s", exposure, m[2])
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "✗") {
			t.Log(strings.Join(strings.Fields(line), " "))
		}
	}
	if exposure > maxExposure {
		t.Errorf("exposure %.1f %s, want <= %.1f", exposure, m[2], maxExposure)
	}
}
