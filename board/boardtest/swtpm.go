package boardtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/geogate/geogate/board"
)

// SWTPM is a software TPM 2.0 (swtpm, Debian package swtpm) serving the plain TPM command
// stream on 127.0.0.1, its state (seeds, NV) in a directory: the real TPM code path of
// board.TPMKeyring without a TPM. Stop and Start power it off and on again with the same
// state and port; two SWTPMs with different state directories are two different TPMs.
type SWTPM struct {
	t          testing.TB
	dir        string
	port, ctrl int
	cmd        *exec.Cmd
	exited     chan struct{}
}

// swtpmStartTimeout bounds the wait for swtpm's port: it manufactures a TPM (generates its
// seeds) on first start, well under a second even on a loaded 2-core machine.
const swtpmStartTimeout = 20 * time.Second

// StartSWTPM starts swtpm with its state in stateDir (created if missing) and stops it when
// the test ends. Without swtpm the test is skipped, or fails when $CI is "true" (the CI
// image must have it: scripts/deps.sh installs it).
func StartSWTPM(t testing.TB, stateDir string) *SWTPM {
	t.Helper()
	if _, err := exec.LookPath("swtpm"); err != nil {
		msg := "swtpm not installed (apt-get install swtpm swtpm-tools, or make deps): TPM tests need a TPM"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	port := freePorts(t)
	s := &SWTPM{t: t, dir: stateDir, port: port, ctrl: port + 1}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Device returns the TPM's address as board.TPMConfig.Device takes it.
func (s *SWTPM) Device() string { return "tcp:127.0.0.1:" + strconv.Itoa(s.port) }

// Start starts (powers on) the TPM and waits until it accepts connections.
func (s *SWTPM) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("boardtest: swtpm already running")
	}
	deadline := time.Now().Add(swtpmStartTimeout)
	for {
		cmd := exec.Command("swtpm", "socket", "--tpm2",
			"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", s.port),
			"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", s.ctrl),
			"--tpmstate", "dir="+s.dir,
			"--flags", "not-need-init,startup-clear")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			s.t.Fatalf("boardtest: start swtpm: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		for {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), time.Second)
			if err == nil {
				c.Close()
				s.cmd, s.exited = cmd, exited
				return
			}
			select {
			case <-exited:
				// The port was still held (a restart right after a stop): try again.
			case <-time.After(20 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				cmd.Process.Kill()
				<-exited
				s.t.Fatalf("boardtest: swtpm did not listen on port %d within %v", s.port, swtpmStartTimeout)
			}
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("boardtest: swtpm exits at start (port %d or %d taken?)", s.port, s.ctrl)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops (powers off) the TPM; its state stays in the directory. Stopping a stopped
// TPM does nothing.
func (s *SWTPM) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// freePorts returns a TCP port P on 127.0.0.1 such that P and P+1 were free a moment ago:
// the control port is the server port + 1, where tpm2-tools' swtpm TCTI looks for it.
func freePorts(t testing.TB) int {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l.Close()
		if err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("boardtest: no two adjacent free ports on 127.0.0.1")
	return 0
}

// SignPolicy reads the running TPM's SHA-256 values of pcrs and signs them with the policy
// authority's private key priv (board.NewPolicyAuthority): the PCR policy an update would
// install, marshalled.
func (s *SWTPM) SignPolicy(priv []byte, pcrs ...uint) []byte {
	s.t.Helper()
	vals, err := board.ReadPCRs(s.Device(), pcrs)
	if err != nil {
		s.t.Fatal(err)
	}
	p, err := board.SignPolicy(priv, pcrs, vals)
	if err != nil {
		s.t.Fatal(err)
	}
	return p.Marshal()
}

// ExtendPCR extends SHA-256 PCR pcr of the running TPM with data's SHA-256 digest through
// tpm2_pcrextend (Debian tpm2-tools), as a boot loader measuring a new image would. The
// test is skipped without tpm2-tools (failed when $CI is "true").
func (s *SWTPM) ExtendPCR(pcr int, digest [32]byte) {
	s.t.Helper()
	if _, err := exec.LookPath("tpm2_pcrextend"); err != nil {
		msg := "tpm2-tools not installed (apt-get install tpm2-tools, or make deps): cannot change a PCR"
		if os.Getenv("CI") == "true" {
			s.t.Fatal(msg)
		}
		s.t.Skip(msg)
	}
	cmd := exec.Command("tpm2_pcrextend", fmt.Sprintf("%d:sha256=%x", pcr, digest))
	cmd.Env = append(os.Environ(), fmt.Sprintf("TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=%d", s.port))
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("boardtest: tpm2_pcrextend: %v\n%s", err, out)
	}
}
