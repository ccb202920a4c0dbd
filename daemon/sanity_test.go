package daemon_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/daemon"
	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
)

// health runs geogate health on sock and returns its output and whether it exited 0.
func health(t *testing.T, sock string) (string, bool) {
	t.Helper()
	out, err := exec.Command(geogateBin(t), "health", "-socket", sock).CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("geogate health: %v", err)
	}
	return string(out), err == nil
}

// plugReceiver starts a receiver on a real pty playing cfg and points the unit's gnss.device
// at it.
func (u *otaUnit) plugReceiver(cfg sim.Config) {
	u.t.Helper()
	needPTY(u.t)
	cfg.Dir = u.t.TempDir()
	rx, err := sim.New(cfg)
	if err != nil {
		u.t.Fatal(err)
	}
	u.t.Cleanup(func() { rx.Close() })
	c, err := os.ReadFile(u.cfg)
	if err != nil {
		u.t.Fatal(err)
	}
	writeFile(u.t, u.cfg, strings.Replace(string(c), filepath.Join(u.dir, "ttyNONE"), rx.Path(), 1))
}

// drive is a paced, looping receiver playing the built-in drive with its clock at start.
func drive(t *testing.T, start time.Time) sim.Config {
	rp, err := gnss.NewReplay(bytes.NewReader(daemon.BeidaiheDrive(start)), gnss.ReplayConfig{Pace: true, Loop: true, Speed: 10})
	if err != nil {
		t.Fatal(err)
	}
	return sim.Config{Source: rp}
}

// TestRunHealthGNSSUndecoded: a receiver on a pty that sends bytes of which nothing decodes
// (binary frames, NMEA with bad checksums, at 9600 baud's pace) makes geogate health fail
// naming the bytes and the time, and the log warns, while the watchdog's checks pass and the
// daemon runs on: an image that broke the receiver's line settings is not marked good.
func TestRunHealthGNSSUndecoded(t *testing.T) {
	heavy(t)
	u := newOTAUnit(t)
	garbage := bytes.Repeat([]byte("\xb5\x62\x01\x07\x5c\x00\x10\x27\xea\x07\x0b\x19\xe5\xfa\x9f\xfe"+
		"$GPGGA,080000.00,3951.600000,N,11934.800000,E,1,08,0.90,0.00,M,0.0,M,,*00\r\n"), 8)
	u.plugReceiver(sim.Config{Data: garbage, Loop: true, BytesPerSecond: 960})
	p := startDaemon(t, "geogate run (undecodable receiver)", u.cfg)
	p.waitReady()
	var out string
	p.waitStatus("geogate health naming the undecodable receiver", func(status) bool {
		out, _ = health(t, u.sock)
		return strings.Contains(out, "no sentence decoded for")
	})
	t.Logf("geogate health: %s", strings.TrimSpace(out))
	if !strings.Contains(out, "gnss: ") || !strings.Contains(out, " bytes received, no sentence decoded for 1") {
		t.Errorf("geogate health does not say how many bytes came for how long: %q", out)
	}
	if _, ok := health(t, u.sock); ok {
		t.Error("geogate health exits 0 with a receiver whose bytes do not decode")
	}
	waitLog(t, p, "GNSS: bytes arrive but no sentence decodes")
	if n := strings.Count(p.stderr(), "GNSS: bytes arrive"); n != 1 {
		t.Errorf("the undecodable receiver is logged %d times, want once (per change)", n)
	}
	if st := u.status(); st.Health != "ok" || st.Fixes != 0 || st.GNSSRejected == "" {
		t.Errorf("status: watchdog health %q (want ok: the daemon runs on, fail closed), %d fixes, rejected %q (want the rejects)",
			st.Health, st.Fixes, st.GNSSRejected)
	}
}

// TestRunHealthGNSSDecoding: a receiver that decodes, on time, passes geogate health.
func TestRunHealthGNSSDecoding(t *testing.T) {
	heavy(t)
	u := newOTAUnit(t)
	u.plugReceiver(drive(t, runStart))
	p := startDaemon(t, "geogate run (decoding receiver)", u.cfg)
	p.waitReady()
	p.waitStatus("fixes and policy v1", func(s status) bool { return s.fixes >= 50 && s.policy == 1 })
	if out, ok := health(t, u.sock); !ok {
		t.Errorf("geogate health with a decoding receiver on time: %q", out)
	}
}

// TestRunClockGNSSDisagree is the freeze attack with a spoofed receiver: the factory bundle
// expired a day before the unit's clock (pinned at runStart), and the receiver says it is
// 400 days earlier, before the bundle's expiry. The status and the log say the clocks
// disagree (health does not fail for it: an RTC to fix), and the policy stays expired: every
// fix is dropped as policy-expired, none kept.
func TestRunClockGNSSDisagree(t *testing.T) {
	heavy(t)
	u := newOTAUnit(t)
	toml := filepath.Join(u.factory, "policy.toml")
	b, err := os.ReadFile(toml)
	if err != nil {
		t.Fatal(err)
	}
	issued, expires := runStart.AddDate(0, 0, -30), runStart.AddDate(0, 0, -1)
	b = bytes.Replace(b, []byte("\nversion = 1\n"), fmt.Appendf(nil, "\nversion = 1\nissued = %s\nexpires = %s\n",
		issued.Format(time.RFC3339), expires.Format(time.RFC3339)), 1)
	writeFile(t, toml, string(b))
	u.geogate(0, "policy", "sign", "-key", u.key+".key", u.factory)
	spoofed := runStart.AddDate(0, 0, -400)
	u.plugReceiver(drive(t, spoofed))

	p := startDaemon(t, "geogate run (spoofed receiver, expired bundle)", u.cfg)
	p.waitReady()
	var out string
	p.waitStatus("the status naming the clocks' disagreement", func(status) bool {
		out = u.status().Clock
		return out != ""
	})
	t.Logf("status: clock: %s", out)
	// 400 days are 9600 h; the receiver plays at 10x, so its clock gains a little meanwhile.
	if !strings.Contains(out, "clock: GNSS time is 9599h") && !strings.Contains(out, "clock: GNSS time is 9600h") ||
		!strings.Contains(out, "behind the unit's time") {
		t.Errorf("status clock: %q, want \"clock: GNSS time is 9600h... behind the unit's time\"", out)
	}
	if h, _ := health(t, u.sock); strings.Contains(h, "clock: ") || strings.Contains(h, "no sentence decoded") {
		t.Errorf("geogate health names the clock or an undecodable receiver: %q", h)
	}
	waitLog(t, p, "CLOCK: the unit's time and GNSS time disagree")
	s := p.waitStatus("100 fixes decided", func(s status) bool { return s.fixes >= 100 && s.policy == 1 })
	st := u.status()
	health(t, u.sock)
	if n := strings.Count(p.stderr(), "CLOCK: the unit's time"); n != 1 {
		t.Errorf("the clocks' disagreement is logged %d times, want once (per change)", n)
	}
	if s.kept+s.coarse != 0 || !strings.Contains(st.DropReasons, "policy-expired") || !strings.Contains(st.Line, "EXPIRED") {
		t.Errorf("a GNSS time before the expiry unexpired the bundle: kept %d, coarsened %d, drops %q, line %q",
			s.kept, s.coarse, st.DropReasons, st.Line)
	}
}
