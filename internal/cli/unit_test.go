package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/internal/testtool"
)

// The console's systemd unit, the users and groups file, and the daemon's unit they must
// agree with (init/).
const (
	consoleUnit = "../../init/geogate-console@.service"
	sysusers    = "../../init/geogate.sysusers"
	daemonUnit  = "../../init/geogate.service"
)

// diagGroup is the control socket's group for the console: in init/geogate.sysusers, in the
// console unit's Group=, in examples/geogate.toml and in docs/OPERATIONS.md.
const diagGroup = "geogate-diag"

// unitLines returns a unit file's lines, trimmed, as a set; repeated keys are joined in
// values[key] in order.
func unitLines(t *testing.T, name string) (have map[string]bool, values map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	have, values = map[string]bool{}, map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		have[line] = true
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			values[k] = append(values[k], v)
		}
	}
	return have, values
}

// TestConsoleUnitDirectives: the console unit runs "geogate console" on its UART as the
// console user in the socket's group, with no network and no other device.
func TestConsoleUnitDirectives(t *testing.T) {
	have, _ := unitLines(t, consoleUnit)
	for _, want := range []string{
		"ExecStart=/usr/bin/geogate console -tty /dev/%I -baud 115200 -config /etc/geogate/geogate.toml",
		"User=geogate-console", "Group=" + diagGroup, "SupplementaryGroups=dialout geogate",
		"Conflicts=serial-getty@%i.service", "BindsTo=dev-%i.device",
		"DevicePolicy=closed", "DeviceAllow=/dev/%I rw", "RestrictAddressFamilies=AF_UNIX", "PrivateNetwork=yes",
		"NoNewPrivileges=yes", "CapabilityBoundingSet=", "ProtectSystem=strict", "LimitCORE=0",
	} {
		if !have[want] {
			t.Errorf("%s lacks %q", consoleUnit, want)
		}
	}
	// The unit's flags are the console's.
	fl := strings.Fields("-tty /dev/ttyS1 -baud 115200 -config /nonexistent/geogate.toml -h")
	var stderr bytes.Buffer
	if err := consoleMain(fl, &bytes.Buffer{}, &stderr); err == nil || !strings.Contains(stderr.String(), "-tty") {
		t.Errorf("geogate console %v: %v\n%s", fl, err, stderr.String())
	}
}

// TestSysusers applies init/geogate.sysusers with systemd-sysusers to an empty root and
// checks the users and groups the units name: the daemon's user, the console's user with
// the socket's group as its primary group, the daemon a member of that group (so it may give
// the socket to it), and every User=, Group= and SupplementaryGroups= of both units there or
// a distribution group. The config example and the operator's guide name the same group.
func TestSysusers(t *testing.T) {
	su := testtool.LookPath(t, "systemd-sysusers", "systemd")
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := filepath.Abs(sysusers)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(su, "--root="+root, conf).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	// name -> fields of /etc/passwd and /etc/group
	read := func(file string) map[string][]string {
		b, err := os.ReadFile(filepath.Join(root, "etc", file))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Split(l, ":")
			m[f[0]] = f
		}
		return m
	}
	users, groups := read("passwd"), read("group")
	gidName := map[string]string{}
	for name, f := range groups {
		gidName[f[2]] = name
	}
	if u := users["geogate-console"]; u == nil || gidName[u[3]] != diagGroup || !strings.HasSuffix(u[6], "/nologin") {
		t.Errorf("console user %v: want primary group %s and no login", u, diagGroup)
	}
	if g := groups[diagGroup]; g == nil || !strings.Contains(","+g[3]+",", ",geogate,") {
		t.Errorf("group %s %v: want the daemon's user geogate as a member", diagGroup, g)
	}
	distro := map[string]bool{"dialout": true, "video": true}
	for _, unit := range []string{daemonUnit, consoleUnit} {
		_, v := unitLines(t, unit)
		for _, u := range v["User"] {
			if users[u] == nil {
				t.Errorf("%s: User=%s not created by %s", unit, u, sysusers)
			}
		}
		for _, g := range append(v["Group"], strings.Fields(strings.Join(v["SupplementaryGroups"], " "))...) {
			if groups[g] == nil && !distro[g] {
				t.Errorf("%s: group %s not created by %s", unit, g, sysusers)
			}
		}
	}
	// The console reaches the socket in the daemon's RuntimeDirectory through group geogate.
	if have, _ := unitLines(t, daemonUnit); !have["RuntimeDirectory=geogate"] || !have["RuntimeDirectoryMode=0750"] {
		t.Errorf("%s: the control socket's directory is not /run/geogate, 0750", daemonUnit)
	}
	for file, want := range map[string]string{
		"../../examples/geogate.toml": `group = "` + diagGroup + `"`,
		"../../docs/OPERATIONS.md":    `group = "` + diagGroup + `"`,
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s does not say %s", file, want)
		}
	}
}
