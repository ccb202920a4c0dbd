package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Version is the protocol version this package speaks.
const Version = 1

// MaxRequest bounds a request line: commands and their arguments are small, and a bounded
// line keeps a misbehaving peer from growing the daemon's memory.
const MaxRequest = 4096

// DefaultIdleTimeout closes a connection with no request for this long.
const DefaultIdleTimeout = 15 * time.Minute

// Errors callers branch on.
var (
	// ErrUnknownCommand answers a command no handler serves.
	ErrUnknownCommand = errors.New("control: unknown command")
	// ErrPeerRefused means a peer's credentials did not allow it to connect.
	ErrPeerRefused = errors.New("control: peer refused")
	// ErrNotRunning means no daemon listens on the socket.
	ErrNotRunning = errors.New("control: daemon not running")
)

// Request is one client request.
type Request struct {
	V    int             `json:"v"`
	Cmd  string          `json:"cmd"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Response is the server's answer to one Request.
type Response struct {
	V     int             `json:"v"`
	OK    bool            `json:"ok"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error string          `json:"error,omitempty"`
}

// Handler serves one command: it gets the request's arguments (nil when none) and returns a
// value encoded as the response's data, or an error sent as its text.
type Handler func(ctx context.Context, args json.RawMessage) (any, error)

// Peer is the credentials of a connected client.
type Peer struct {
	PID, UID, GID int
}

// peerKey is the context key of a request's Peer.
type peerKey struct{}

// PeerFrom returns the credentials of the client whose request a Handler serves, as the
// kernel reported them (SO_PEERCRED); ok is false outside a request.
func PeerFrom(ctx context.Context) (p Peer, ok bool) {
	p, ok = ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// Server serves the control socket. Set the fields, register handlers with Handle, then
// call Listen and Serve.
type Server struct {
	// Path is the socket file. Required.
	Path string
	// Group is the numeric group allowed to connect besides root and the daemon's own user.
	// Negative: nobody else (the file's group stays the daemon's primary group).
	Group int
	// IdleTimeout closes a connection with no request for this long. Zero: DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Log receives refusals and connection errors. Nil: discarded.
	Log *slog.Logger

	mu       sync.Mutex
	handlers map[string]Handler
	ln       *net.UnixListener
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
	// groups reads a peer's supplementary groups; a field so tests can stand in for /proc.
	groups func(pid int) ([]int, error)
	// cred reads a connection's peer credentials; a field so tests can stand in for the kernel.
	cred func(c *net.UnixConn) (Peer, error)
}

// Handle registers h for cmd. It must be called before Serve.
func (s *Server) Handle(cmd string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handlers == nil {
		s.handlers = map[string]Handler{}
	}
	s.handlers[cmd] = h
}

// Listen creates the socket file (replacing a stale one left by a crashed daemon, never a
// file of another kind) with mode 0660 and the configured group.
func (s *Server) Listen() error {
	if s.Path == "" {
		return errors.New("control: no socket path")
	}
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o750); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if fi, err := os.Lstat(s.Path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return fmt.Errorf("control: %s exists and is not a socket; remove it", s.Path)
		}
		if c, err := net.DialTimeout("unix", s.Path, time.Second); err == nil {
			c.Close()
			return fmt.Errorf("control: %s: another daemon is listening", s.Path)
		}
		if err := os.Remove(s.Path); err != nil {
			return fmt.Errorf("control: stale socket: %w", err)
		}
	}
	// Between bind and chmod the socket has mode 0777 less the umask; connecting needs
	// write permission, which a umask of 022 (or the unit's 077) already withholds from others.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: s.Path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("control: listen %s: %w", s.Path, err)
	}
	ln.SetUnlinkOnClose(true)
	if s.Group >= 0 {
		if err := os.Chown(s.Path, -1, s.Group); err != nil {
			ln.Close()
			return fmt.Errorf("control: group of %s: %w", s.Path, err)
		}
	}
	if err := os.Chmod(s.Path, 0o660); err != nil {
		ln.Close()
		return fmt.Errorf("control: mode of %s: %w", s.Path, err)
	}
	s.mu.Lock()
	s.ln, s.conns = ln, map[net.Conn]struct{}{}
	s.mu.Unlock()
	return nil
}

// Serve accepts connections until ctx ends, then closes the listener and every connection
// and waits for their handlers. It returns nil after ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		return errors.New("control: Serve before Listen")
	}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	defer stop()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			s.wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control: accept: %w", err)
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(ctx, c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// serveConn checks the peer, then answers requests until the peer hangs up, sends a bad
// request, or stays idle too long.
func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	credOf := s.cred
	if credOf == nil {
		credOf = peerCred
	}
	p, err := credOf(c)
	if err == nil {
		err = s.allowed(p)
	}
	if err != nil {
		s.logger().Warn("control: connection refused", "peer_uid", p.UID, "peer_pid", p.PID, "err", err)
		writeResponse(c, Response{V: Version, Error: err.Error()})
		return
	}
	idle := s.IdleTimeout
	if idle == 0 {
		idle = DefaultIdleTimeout
	}
	ctx = context.WithValue(ctx, peerKey{}, p)
	r := bufio.NewReaderSize(c, MaxRequest+1)
	for {
		c.SetReadDeadline(time.Now().Add(idle)) // a duration, not a date: the monotonic clock
		line, err := readLine(r)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			writeResponse(c, Response{V: Version, Error: fmt.Sprintf("control: idle for %v; closing", idle)})
			return
		case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			return
		default:
			writeResponse(c, Response{V: Version, Error: err.Error()})
			return
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			writeResponse(c, Response{V: Version, Error: "control: request is not a JSON object: " + err.Error()})
			return
		}
		if req.V != Version {
			writeResponse(c, Response{V: Version, Error: fmt.Sprintf("control: protocol version %d, this daemon speaks %d", req.V, Version)})
			return
		}
		if err := writeResponse(c, s.call(ctx, &req)); err != nil {
			return
		}
	}
}

// call runs the handler of req and packs its result.
func (s *Server) call(ctx context.Context, req *Request) Response {
	s.mu.Lock()
	h := s.handlers[req.Cmd]
	s.mu.Unlock()
	if h == nil {
		return Response{V: Version, Error: fmt.Sprintf("%v %q", ErrUnknownCommand, req.Cmd)}
	}
	v, err := h(ctx, req.Args)
	if err != nil {
		return Response{V: Version, Error: err.Error()}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Response{V: Version, Error: "control: encode answer: " + err.Error()}
	}
	return Response{V: Version, OK: true, Data: data}
}

// errTooLong answers a request line over MaxRequest.
var errTooLong = fmt.Errorf("control: request longer than %d bytes", MaxRequest)

// readLine reads one request line without its newline; an over-long line is errTooLong.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > MaxRequest+1 {
		return nil, errTooLong
	}
	if err != nil {
		if len(line) > 0 && errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func writeResponse(w io.Writer, r Response) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// allowed checks a peer: root, the daemon's own user, or a member of Group.
func (s *Server) allowed(p Peer) error {
	if p.UID == 0 || p.UID == os.Getuid() {
		return nil
	}
	if s.Group >= 0 {
		if p.GID == s.Group {
			return nil
		}
		groupsOf := s.groups
		if groupsOf == nil {
			groupsOf = procGroups
		}
		gs, err := groupsOf(p.PID)
		if err != nil {
			return fmt.Errorf("%w: uid %d: groups: %w", ErrPeerRefused, p.UID, err)
		}
		for _, g := range gs {
			if g == s.Group {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: uid %d is not root, the daemon's user or in group %d", ErrPeerRefused, p.UID, s.Group)
}

// Client is one connection to a daemon's control socket. It is not safe for concurrent use.
type Client struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// Dial connects to the socket at path. A missing socket or one nobody listens on is
// ErrNotRunning. Each exchange must complete within timeout.
func Dial(path string, timeout time.Duration) (*Client, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errConnRefused) {
			return nil, fmt.Errorf("%w (%s): %w", ErrNotRunning, path, err)
		}
		return nil, fmt.Errorf("control: %w", err)
	}
	return &Client{c: c, r: bufio.NewReaderSize(c, 64<<10), timeout: timeout}, nil
}

// Call sends cmd with args (nil for none) and decodes the answer's data into out (nil to
// discard it). An answer with ok false is an error carrying the server's text.
func (c *Client) Call(cmd string, args, out any) error {
	req := Request{V: Version, Cmd: cmd}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("control: %s: %w", cmd, err)
		}
		req.Args = b
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("control: %s: %w", cmd, err)
	}
	c.c.SetDeadline(time.Now().Add(c.timeout)) // a duration, not a date
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("control: %s: %w", cmd, err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("control: %s: no answer: %w", cmd, err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("control: %s: bad answer: %w", cmd, err)
	}
	if !resp.OK {
		return errors.New(resp.Error)
	}
	if out != nil && resp.Data != nil {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return fmt.Errorf("control: %s: decode answer: %w", cmd, err)
		}
	}
	return nil
}

// Close ends the connection.
func (c *Client) Close() error { return c.c.Close() }
