package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hang bounds how long a broken server can block a test; never a pass/fail condition.
const hang = 10 * time.Second

// start serves s on a socket in a new directory until the test ends.
func start(t *testing.T, s *Server) {
	t.Helper()
	if s.Path == "" {
		s.Path = filepath.Join(t.TempDir(), "control.sock")
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func echoServer() *Server {
	s := &Server{Group: -1}
	s.Handle("echo", func(_ context.Context, args json.RawMessage) (any, error) {
		var v map[string]any
		if err := json.Unmarshal(args, &v); err != nil {
			return nil, err
		}
		return v, nil
	})
	s.Handle("fail", func(context.Context, json.RawMessage) (any, error) {
		return nil, errors.New("it failed")
	})
	s.Handle("whoami", func(ctx context.Context, _ json.RawMessage) (any, error) {
		p, ok := PeerFrom(ctx)
		if !ok {
			return nil, errors.New("no peer in the handler's context")
		}
		return p, nil
	})
	return s
}

func TestCall(t *testing.T) {
	s := echoServer()
	start(t, s)
	c, err := Dial(s.Path, hang)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 { // several exchanges on one connection
		var out map[string]any
		if err := c.Call("echo", map[string]any{"n": i}, &out); err != nil {
			t.Fatal(err)
		}
		if out["n"] != float64(i) {
			t.Errorf("echo %d = %v", i, out)
		}
	}
	if err := c.Call("fail", nil, nil); err == nil || err.Error() != "it failed" {
		t.Errorf("fail = %v, want the handler's error text", err)
	}
	var p Peer
	if err := c.Call("whoami", nil, &p); err != nil || p.UID != os.Getuid() || p.PID != os.Getpid() || p.GID != os.Getgid() {
		t.Errorf("whoami = %+v, %v; want this process's credentials", p, err)
	}
	if _, ok := PeerFrom(context.Background()); ok {
		t.Error("PeerFrom outside a request reported a peer")
	}
	if err := c.Call("frob", nil, nil); err == nil || !strings.Contains(err.Error(), `unknown command "frob"`) {
		t.Errorf("frob = %v", err)
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
}

// raw sends lines as they are and returns the server's answers until it hangs up.
func raw(t *testing.T, path string, send string) []string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hang))
	// A refused peer may find the connection closed before it writes: the answer is still
	// there to read.
	c.Write([]byte(send))
	c.(*net.UnixConn).CloseWrite()
	var out []string
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestBadRequests(t *testing.T) {
	s := echoServer()
	start(t, s)
	tests := []struct {
		name, send string
		want       []string // substrings of the answers, in order; the server then hangs up
	}{
		{"not json", "hello\n" + `{"v":1,"cmd":"echo","args":{}}` + "\n", []string{"not a JSON object"}},
		{"other version", `{"v":2,"cmd":"echo"}` + "\n", []string{"protocol version 2, this daemon speaks 1"}},
		{"too long", `{"v":1,"cmd":"` + strings.Repeat("x", MaxRequest) + `"}` + "\n", []string{"longer than 4096 bytes"}},
		{"good then cut", `{"v":1,"cmd":"echo","args":{"a":1}}` + "\n" + `{"v":1,"cm`, []string{`"ok":true`, "unexpected EOF"}},
		{"hang up", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := raw(t, s.Path, tt.send)
			if len(got) != len(tt.want) {
				t.Fatalf("answers %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("answer %d %q does not contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestPeers(t *testing.T) {
	self, err := peerCredSelf(t)
	if err != nil {
		t.Fatal(err)
	}
	if self.PID != os.Getpid() || self.UID != os.Getuid() || self.GID != os.Getgid() {
		t.Errorf("SO_PEERCRED of our own connection = %+v, want pid %d uid %d gid %d", self, os.Getpid(), os.Getuid(), os.Getgid())
	}
	tests := []struct {
		name   string
		group  int
		peer   Peer
		groups []int
		ok     bool
	}{
		{"root", -1, Peer{PID: 1, UID: 0, GID: 0}, nil, true},
		{"own user", -1, Peer{PID: 1, UID: os.Getuid(), GID: 5}, nil, true},
		{"stranger, no group", -1, Peer{PID: 1, UID: 4242, GID: 4242}, nil, false},
		{"primary group", 77, Peer{PID: 1, UID: 4242, GID: 77}, nil, true},
		{"supplementary group", 77, Peer{PID: 1, UID: 4242, GID: 4242}, []int{20, 77}, true},
		{"other groups", 77, Peer{PID: 1, UID: 4242, GID: 4242}, []int{20, 78}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := echoServer()
			s.Group = -1 // the socket keeps our group; the check under test uses checkGroup
			s.cred = func(*net.UnixConn) (Peer, error) { return tt.peer, nil }
			s.groups = func(int) ([]int, error) { return tt.groups, nil }
			start(t, s)
			s.Group = tt.group
			got := raw(t, s.Path, `{"v":1,"cmd":"echo","args":{"x":1}}`+"\n")
			switch {
			case tt.ok && (len(got) != 1 || !strings.Contains(got[0], `"ok":true`)):
				t.Errorf("allowed peer got %q", got)
			case !tt.ok && (len(got) != 1 || !strings.Contains(got[0], "peer refused: uid 4242")):
				t.Errorf("refused peer got %q", got)
			}
		})
	}
}

// peerCredSelf connects to a listener of our own and reads the connection's SO_PEERCRED.
func peerCredSelf(t *testing.T) (Peer, error) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return Peer{}, err
	}
	defer ln.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		return Peer{}, err
	}
	defer c.Close()
	a, err := ln.AcceptUnix()
	if err != nil {
		return Peer{}, err
	}
	defer a.Close()
	return peerCred(a)
}

func TestListen(t *testing.T) {
	dir := t.TempDir()
	// A regular file at the path is never removed.
	file := filepath.Join(dir, "file.sock")
	os.WriteFile(file, []byte("keep me"), 0o600)
	if err := (&Server{Path: file, Group: -1}).Listen(); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Listen over a file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Error("the file was touched")
	}
	// A stale socket (its daemon gone) is replaced; a live one is not.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	s := echoServer()
	s.Path = stale
	start(t, s)
	if err := (&Server{Path: stale, Group: -1}).Listen(); err == nil || !strings.Contains(err.Error(), "another daemon is listening") {
		t.Errorf("second Listen on a live socket: %v", err)
	}
	// Nobody listening is ErrNotRunning.
	if _, err := Dial(filepath.Join(dir, "absent.sock"), hang); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial of a missing socket: %v, want ErrNotRunning", err)
	}
	if os.Getuid() == 0 {
		g := &Server{Path: filepath.Join(dir, "group.sock"), Group: 4321}
		start(t, g)
		fi, err := os.Stat(g.Path)
		if err != nil {
			t.Fatal(err)
		}
		if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 4321 {
			t.Errorf("socket group %d, want 4321", gid)
		}
	}
}

func TestIdleAndStop(t *testing.T) {
	s := echoServer()
	s.IdleTimeout = 50 * time.Millisecond
	start(t, s)
	c, err := net.Dial("unix", s.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(hang))
	// An idle connection is told why and closed by the server, long before our deadline.
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil || !strings.Contains(line, "idle for 50ms; closing") {
		t.Errorf("idle connection got %q, %v", line, err)
	}
	if _, err := r.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after the idle answer: %v, want the server to hang up", err)
	}
}
