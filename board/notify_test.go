package board

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// listenNotify is a stand-in for systemd's notify socket.
func listenNotify(t testing.TB, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// drain reads and drops every datagram c receives until c is closed.
func drain(c *net.UnixConn) {
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
}

func recvAll(t *testing.T, c *net.UnixConn, n int) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 4096)
	for range n {
		c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang guard, not a timed assertion
		k, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(buf[:k]))
	}
	return out
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNotifyPath(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	srv := listenNotify(t, sock)
	n, err := NotifierFromEnv(env(map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "42"}), 42)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !n.Enabled() || n.WatchdogTimeout() != 10*time.Second {
		t.Fatalf("Enabled %v WatchdogTimeout %v, want true 10s", n.Enabled(), n.WatchdogTimeout())
	}
	for _, f := range []func() error{n.Ready, func() error { return n.Status("fix ok\nzone none") }, n.Kick, n.Stopping} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	got := recvAll(t, srv, 4)
	want := []string{"READY=1", "STATUS=fix ok zone none", "WATCHDOG=1", "STOPPING=1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("datagrams %q, want %q", got, want)
	}
}

func TestNotifyAbstract(t *testing.T) {
	name := "@geogate-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	srv := listenNotify(t, name)
	n, err := NotifierFromEnv(env(map[string]string{"NOTIFY_SOCKET": name}), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recvAll(t, srv, 1); got[0] != "READY=1" {
		t.Errorf("got %q", got)
	}
}

// TestNotifyReconnect: systemd re-executing re-creates its socket; the next send redials.
func TestNotifyReconnect(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	srv := listenNotify(t, sock)
	n, _ := NotifierFromEnv(env(map[string]string{"NOTIFY_SOCKET": sock}), 1)
	defer n.Close()
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	recvAll(t, srv, 1)
	srv.Close()
	os.Remove(sock) // as systemd does before binding again
	srv = listenNotify(t, sock)
	if err := n.Status("again"); err != nil {
		t.Fatal(err)
	}
	if got := recvAll(t, srv, 1); got[0] != "STATUS=again" {
		t.Errorf("got %q", got)
	}
}

func TestNotifyEnv(t *testing.T) {
	for _, tt := range []struct {
		name     string
		env      map[string]string
		enabled  bool
		watchdog time.Duration
		err      bool
	}{
		{name: "unset", env: nil},
		{name: "no watchdog", env: map[string]string{"NOTIFY_SOCKET": "/run/systemd/notify"}, enabled: true},
		{name: "watchdog, no pid", env: map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10000000"}, enabled: true, watchdog: 10 * time.Second},
		{name: "watchdog for another pid", env: map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "7"}, enabled: true},
		{name: "bad usec", env: map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "ten"}, enabled: true, err: true},
		{name: "zero usec", env: map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "0"}, enabled: true, err: true},
		{name: "relative socket", env: map[string]string{"NOTIFY_SOCKET": "notify"}, err: true},
		{name: "vsock", env: map[string]string{"NOTIFY_SOCKET": "vsock:2:999"}, err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NotifierFromEnv(env(tt.env), 42)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if n == nil || n.Enabled() != tt.enabled || n.WatchdogTimeout() != tt.watchdog {
				t.Errorf("Enabled %v WatchdogTimeout %v, want %v %v", n.Enabled(), n.WatchdogTimeout(), tt.enabled, tt.watchdog)
			}
		})
	}
}

func TestNotifyUnsetIsNoop(t *testing.T) {
	n, err := NotifierFromEnv(env(nil), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func() error{n.Ready, n.Kick, n.Stopping, func() error { return n.Status("x") }, n.Close} {
		if err := f(); err != nil {
			t.Errorf("no-op notifier returned %v", err)
		}
	}
}

func TestNotifyNoListener(t *testing.T) {
	n, _ := NotifierFromEnv(env(map[string]string{"NOTIFY_SOCKET": filepath.Join(t.TempDir(), "gone")}), 1)
	err := n.Ready()
	if err == nil || errors.Is(err, ErrAbsent) {
		t.Errorf("Ready without listener = %v, want a send error", err)
	}
}

func TestNotifyKickAllocs(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	drain(listenNotify(t, sock))
	n, _ := NotifierFromEnv(env(map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "10000000"}), 1)
	defer n.Close()
	n.Kick() // dial
	if a := testing.AllocsPerRun(100, func() { n.Kick() }); a != 0 {
		t.Errorf("Kick allocates %v times, want 0", a)
	}
}

func BenchmarkNotifierKick(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "notify")
	drain(listenNotify(b, sock))
	n, _ := NotifierFromEnv(env(map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "10000000"}), 1)
	defer n.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := n.Kick(); err != nil {
			b.Fatal(err)
		}
	}
}
