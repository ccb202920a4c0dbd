package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/console/consoletest"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/internal/testtool"
	"github.com/geogate/geogate/policy"
)

// TestConsoleSession is a technician's session over a real pty at 115200 baud: locked,
// unlock with a development token, a daemon that is not running (local checks), garbage and
// an over-long line, then a daemon answering, and a yanked cable.
func TestConsoleSession(t *testing.T) {
	dir := t.TempDir()
	if _, err := policy.WriteKeyPair(filepath.Join(dir, devConsoleKey)); err != nil {
		t.Fatal(err)
	}
	master, slave, err := pty.Open()
	testtool.Need(t, "a pseudo-terminal", err, "a Linux /dev/ptmx")
	defer slave.Close()
	// The master in non-blocking mode, so that the runtime's poller serves it: closing it (the
	// yanked cable below) then ends the expecter's pending read at once, and the line really
	// goes away (a blocking read would keep the descriptor open until data came).
	fd, err := syscall.Dup(int(master.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	master.Close()
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(fd), "ptmx")
	if err := setSpeed(int(master.Fd()), 115200); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- consoleMain([]string{"-tty", slave.Name(), "-baud", "115200", "-dev", dir}, io.Discard, &stderr)
	}()
	e := consoletest.New(t, master, 10*time.Second)
	banner := e.Expect("unlock with:")
	var id, nonce string
	for _, l := range strings.Split(banner, "\r\n") {
		if s, ok := strings.CutPrefix(l, "geogate console on "); ok {
			id, _, _ = strings.Cut(s, ":")
		}
		if s, ok := strings.CutPrefix(l, "nonce "); ok {
			nonce, _, _ = strings.Cut(s, " ")
		}
	}
	if id == "" || nonce == "" {
		t.Fatalf("banner without device id or nonce:\n%s", banner)
	}
	send := func(line string) { master.Write([]byte(line + "\r")) }

	send("gnss")
	e.Expect("locked; unlock first")
	key, _, err := policy.ReadSigningKey(filepath.Join(dir, devConsoleKey+".key"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := console.SignToken(key, console.Token{Device: id, Nonce: nonce, Scope: console.ScopeRead, Expires: clock.Now().Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	send("unlock " + tok)
	e.Expect("unlocked (read-only)")
	send("status")
	e.Expect("the daemon is not running")
	e.Expect("local checks")
	e.Expect("control socket")
	send("\x01\x02frob")
	e.Expect("unknown command")
	send(strings.Repeat("y", 700))
	e.Expect("line too long")
	send("reload")
	e.Expect("needs the operate scope")

	// Now a daemon answers on the socket.
	srv := &control.Server{Path: filepath.Join(dir, "control.sock"), Group: -1}
	srv.Handle(console.CmdGNSS, func(context.Context, json.RawMessage) (any, error) {
		return console.GNSS{State: "gnss fix", Quality: 1, QualityName: "GPS", Mode: "3D", Satellites: 9}, nil
	})
	srv.Handle("status", func(context.Context, json.RawMessage) (any, error) {
		return map[string]any{"line": "gnss fix | fixes 10", "health": "ok", "storing": true}, nil
	})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go srv.Serve(ctx)
	for _, cmd := range []struct{ line, want string }{
		{"gnss", "position: not shown"}, {"status", "health: ok"}, {"help", "export AGE1"},
	} {
		began := time.Now()
		send(cmd.line)
		e.Expect(cmd.want)
		e.Expect("geogate(read-only)> ")
		t.Logf("%s answered over the pty at 115200 baud in %v", cmd.line, time.Since(began).Round(time.Microsecond))
	}

	// The cable is yanked in the middle of a command: the terminal's other end goes away, and
	// nobody else holds the line (this test's own slave handle was only for setting it up).
	master.Write([]byte("stor"))
	slave.Close()
	master.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the console did not end when its terminal went away")
	}
	if !strings.Contains(stderr.String(), "console unlocked") || !strings.Contains(stderr.String(), "cmd=status") {
		t.Errorf("unlock and commands not logged:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), tok) {
		t.Error("the token was logged")
	}
}
