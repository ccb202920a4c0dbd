// Package uploadtest runs a real S3 server (versitygw, installed by scripts/deps.sh) on
// loopback for the upload tests, and a TCP proxy that cuts connections at chosen bytes.
package uploadtest

import (
	"bytes"
	"context"
	"fmt"
	"go/build"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Credentials of the test server's root account.
const (
	AccessKey = "geogate-test"
	SecretKey = "geogate-test-secret-0123456789"
	Bucket    = "processor"
)

// Server is a versitygw process serving the posix directory Dir on 127.0.0.1.
type Server struct {
	Addr string // host:port
	Dir  string // the posix root: one directory per bucket, objects as files
	bin  string
	t    testing.TB
	cmd  *exec.Cmd
	log  string
}

// Find returns the versitygw binary: on PATH or in GOPATH/bin (where scripts/deps.sh puts
// it). Where CI is set a missing one fails the test, elsewhere it skips.
func Find(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	p := filepath.Join(build.Default.GOPATH, "bin", "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	msg := "versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0, or make deps)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Start starts versitygw on a free loopback port serving dir (created if missing), creates
// Bucket, and stops the server when the test ends.
func Start(t testing.TB, dir string) *Server {
	t.Helper()
	s := &Server{Dir: dir, bin: Find(t), t: t, log: filepath.Join(t.TempDir(), "versitygw.log")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	s.start()
	t.Cleanup(s.Stop)
	c := s.Client(AccessKey, SecretKey)
	if err := c.MakeBucket(context.Background(), Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return s
}

func (s *Server) start() {
	s.t.Helper()
	lf, err := os.OpenFile(s.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--port", s.Addr, "posix", s.Dir)
	s.cmd.Stdout, s.cmd.Stderr = lf, lf
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	lf.Close()
	// Up to 20 s (1000 tries 20 ms apart) for versitygw to listen.
	for try := 0; ; try++ {
		if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
			c.Close()
			return
		}
		if try == 1000 {
			b, _ := os.ReadFile(s.log)
			s.Stop()
			s.t.Fatalf("versitygw did not listen on %s:\n%s", s.Addr, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: as abrupt as a crash) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same address and directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// CPU returns the processor time (user and system) the running server has used, from
// /proc/<pid>/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux), or 0 where there is
// no such file: benchmarks compare it before and after an upload.
func (s *Server) CPU() time.Duration {
	if s.cmd == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which ends at the last ')': state is the first,
	// utime and stime the 12th and 13th (proc(5) fields 14 and 15).
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// Client returns a minio client of the server with the given credentials.
func (s *Server) Client(access, secret string) *minio.Client {
	s.t.Helper()
	c, err := minio.New(s.Addr, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// Proxy forwards TCP connections from its own loopback address to a target. While Cut is
// positive, the connection that carries the Cut-th byte sent to the target is closed right
// there (both ways), and Cut resets to zero: one cut each time it is armed.
type Proxy struct {
	Addr   string
	target string
	l      net.Listener
	mu     sync.Mutex
	cut    int64 // bytes left before the cut; 0 = no cut armed
	sent   atomic.Int64
	cuts   atomic.Int64
	wg     sync.WaitGroup
}

// NewProxy starts a proxy to target, closed when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, l: l}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { l.Close(); p.wg.Wait() })
	return p
}

// CutAfter arms a cut after n more bytes toward the target.
func (p *Proxy) CutAfter(n int64) {
	p.mu.Lock()
	p.cut = n
	p.mu.Unlock()
}

// Sent is the number of bytes forwarded to the target; Cuts the connections cut.
func (p *Proxy) Sent() int64 { return p.sent.Load() }

// Cuts is the number of connections cut so far.
func (p *Proxy) Cuts() int64 { return p.cuts.Load() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.forward(up, c); c.Close(); up.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, up); c.Close(); up.Close() }()
	}
}

// forward copies client bytes to the target, cutting where armed.
func (p *Proxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			cutHere := p.cut > 0 && int64(n) >= p.cut
			if cutHere {
				n = int(p.cut)
				p.cut = 0
			} else if p.cut > 0 {
				p.cut -= int64(n)
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			p.sent.Add(int64(n))
			if cutHere {
				p.cuts.Add(1)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// String describes the server for test logs.
func (s *Server) String() string { return fmt.Sprintf("versitygw on %s serving %s", s.Addr, s.Dir) }
