// Package anonymizetest has detectors for tests of code that uses package anonymize: a
// scripted Go detector on a real Unix socket (Fake), and a starter for the reference Haar
// sidecar (StartHaar).
package anonymizetest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geogate/geogate/anonymize"
)

// Mode is how a Fake answers.
type Mode int

// Modes.
const (
	Answer  Mode = iota // answer every request with Boxes
	Hang                // read the request, never answer (a detector slower than any deadline)
	Garbage             // answer with bytes that are not the protocol
	Hangup              // read the request and close the connection (a crash mid-frame)
	WrongID             // answer with Boxes under another request's id
)

// Fake is a detector speaking protocol v1 on a Unix socket, scripted by Mode.
type Fake struct {
	Socket string
	Boxes  []anonymize.Box
	// Received is signalled (non-blocking) after each complete request is read.
	Received chan anonymize.Request

	mu   sync.Mutex
	mode Mode
	ln   net.Listener
	wg   sync.WaitGroup
}

// NewFake listens on a socket in a temporary directory and serves until the test ends.
func NewFake(t testing.TB, mode Mode, boxes ...anonymize.Box) *Fake {
	t.Helper()
	f, err := Listen(filepath.Join(t.TempDir(), "detector.sock"), mode, boxes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// Listen starts a Fake on socket.
func Listen(socket string, mode Mode, boxes ...anonymize.Box) (*Fake, error) {
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return nil, err
	}
	f := &Fake{Socket: socket, Boxes: boxes, Received: make(chan anonymize.Request, 64), mode: mode, ln: ln}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

// SetMode changes how the Fake answers from the next request on.
func (f *Fake) SetMode(m Mode) {
	f.mu.Lock()
	f.mode = m
	f.mu.Unlock()
}

// Close stops listening and waits for the connections to end.
func (f *Fake) Close() {
	f.ln.Close()
	f.wg.Wait()
}

func (f *Fake) serve() {
	defer f.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, c)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.handle(c)
		}()
	}
}

func (f *Fake) handle(c net.Conn) {
	defer c.Close()
	hdr := make([]byte, anonymize.RequestHeaderSize)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		var r anonymize.Request
		if err := anonymize.ParseRequest(hdr, &r); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, c, int64(r.PayloadLen)); err != nil {
			return
		}
		select {
		case f.Received <- r:
		default:
		}
		f.mu.Lock()
		mode := f.mode
		f.mu.Unlock()
		switch mode {
		case Answer:
			c.Write(anonymize.AppendResponse(nil, r.ID, f.Boxes))
		case WrongID:
			c.Write(anonymize.AppendResponse(nil, r.ID+1, f.Boxes))
		case Garbage:
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		case Hangup:
			return
		case Hang:
			io.Copy(io.Discard, c) // until the client gives up and closes
			return
		}
	}
}

// Python returns Debian's python3 if it can import cv2 and the Haar cascades are installed.
// Otherwise it skips the test, or fails it when CI is set (scripts/deps.sh installs them).
func Python(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	why := ""
	if out, err := exec.Command(py, "-c", "import cv2").CombinedOutput(); err != nil {
		why = "python3-opencv: " + strings.TrimSpace(string(out))
	} else if _, err := os.Stat("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"); err != nil {
		why = "opencv-data: " + err.Error()
	}
	if why != "" {
		msg := "reference detector not installed (scripts/deps.sh; apt-get install python3-opencv opencv-data): " + why
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

// StartHaar starts tools/detector/haar.py on a socket in a temporary directory, waits until
// it listens, and stops it when the test ends. It returns the socket and the process.
func StartHaar(t testing.TB) (string, *os.Process) {
	t.Helper()
	py := Python(t)
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "tools", "detector", "haar.py")
	socket := filepath.Join(t.TempDir(), "haar.sock")
	cmd := exec.Command(py, script, "--socket", socket)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && !strings.Contains(line, "listening") {
			err = errors.New("unexpected first line: " + line)
		}
		ready <- err
		io.Copy(io.Discard, out)
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("haar.py did not start: %v", err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timed assertion
		t.Fatal("haar.py did not start within 30 s")
	}
	return socket, cmd.Process
}
