package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSimName is the name of the simulator's device link when Config.Name is empty.
const DefaultSimName = "gnss0"

// Config configures a [Receiver]. The zero value plays nothing; set Data or Source.
type Config struct {
	// Dir is the directory holding the stable device link. Empty means a new temporary
	// directory, removed by Close.
	Dir string
	// Name is the link's file name in Dir. Empty means DefaultSimName.
	Name string
	// Data is the byte stream the simulated receiver sends, e.g. a capture file's contents.
	Data []byte
	// LineDelay is the pause after each line (after each '\n'), imitating the receiver's
	// epochs. Zero means no pause.
	LineDelay time.Duration
	// BytesPerSecond limits the rate like a UART does (9600 baud 8N1 carries 960 bytes/s).
	// Zero means as fast as the pty takes the bytes.
	BytesPerSecond int
	// Source, if set, is played instead of Data, as it is read, until it returns io.EOF.
	// A paced, looping gnss.Replay makes a receiver that talks in real time forever. Close
	// closes Source if it is an io.Closer, to end a read that waits.
	Source io.Reader
	// Loop plays Data again from the start when it is done. False means the simulator goes
	// quiet (but stays plugged) at the end; Done is closed then. Loop does not apply to Source.
	Loop bool
	// Sleep makes the pauses: it returns nil after d, or ctx.Err() as soon as ctx is done.
	// Nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Receiver is a GNSS receiver simulated on a pseudo-terminal. Readers open [Receiver.Path], a symbolic
// link to the current slave /dev/pts/N (the number changes with every Replug). The pty is in
// raw mode, so bytes arrive exactly as in Data: no echo, no CR/LF translation, NUL and
// control bytes intact.
type Receiver struct {
	cfg    Config
	dir    string
	ownDir bool
	link   string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	master   *os.File   // nil while unplugged
	slave    *os.File   // kept open so written bytes wait in the pty until a reader comes
	pts      string
	replug   chan struct{} // closed by Replug
	closed   bool
	unplugs  int
	writeErr error

	written atomic.Int64
}

// Path returns the stable device path: the link that points to the current pty slave.
func (s *Receiver) Path() string { return s.link }

// Slave returns the pty slave the link points to now, e.g. /dev/pts/3, or "" while unplugged.
func (s *Receiver) Slave() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pts
}

// Written returns how many bytes of Data went into the pty so far, counting repeats when
// looping. Bytes written just before an Unplug may never reach a reader, as on a real line.
func (s *Receiver) Written() int64 { return s.written.Load() }

// Done is closed when playback stopped by itself: a non-looping simulator wrote all of Data,
// Source ended, or an error stopped it (Close returns that error).
func (s *Receiver) Done() <-chan struct{} { return s.done }

// Unplugs returns how many times Unplug succeeded.
func (s *Receiver) Unplugs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unplugs
}

// simReadSize is how much of Config.Source the simulator takes per read: a few epochs of
// a chatty receiver.
const simReadSize = 4096

// play writes Data or Source into the current master, pacing it, until the end or Close.
func (s *Receiver) play() {
	defer s.wg.Done()
	sleep := s.cfg.Sleep
	if sleep == nil {
		sleep = simSleep
	}
	// Rate-limited writes go out in pieces of 10 ms of line time.
	piece := -1
	if s.cfg.BytesPerSecond > 0 {
		piece = max(1, s.cfg.BytesPerSecond/100)
	}
	var buf []byte
	if s.cfg.Source != nil {
		buf = make([]byte, simReadSize)
	}
	var chunk []byte // bytes due next
	for passes := 0; ; {
		if len(chunk) == 0 {
			var ok bool
			if chunk, ok = s.refill(buf, passes); !ok {
				return
			}
			passes++
			continue
		}
		end := len(chunk)
		if piece > 0 {
			end = min(end, piece)
		}
		if s.cfg.LineDelay > 0 {
			if i := bytes.IndexByte(chunk[:end], '\n'); i >= 0 {
				end = i + 1
			}
		}
		m := s.waitPlugged()
		if m == nil {
			return
		}
		n, err := m.Write(chunk[:end])
		s.written.Add(int64(n))
		lineEnd := n > 0 && chunk[n-1] == '\n'
		chunk = chunk[n:]
		if err != nil {
			// Unplugged or closed under our feet: wait for Replug or Close. Anything else
			// is a broken simulator; keep it for Close to report.
			s.mu.Lock()
			if s.master == m && !s.closed {
				s.writeErr = err
				s.mu.Unlock()
				close(s.done)
				return
			}
			s.mu.Unlock()
			continue
		}
		var d time.Duration
		if s.cfg.BytesPerSecond > 0 {
			d += time.Duration(n) * time.Second / time.Duration(s.cfg.BytesPerSecond)
		}
		if s.cfg.LineDelay > 0 && lineEnd {
			d += s.cfg.LineDelay
		}
		if d > 0 && sleep(s.ctx, d) != nil {
			return
		}
	}
}

// refill returns the next bytes to play: the next read of Source, or Data again. It returns
// false, closing Done, at the end of a non-looping playback and on a Source error (kept for
// Close); it returns false without closing Done after Close.
func (s *Receiver) refill(buf []byte, passes int) ([]byte, bool) {
	if s.cfg.Source == nil {
		if len(s.cfg.Data) == 0 || passes > 0 && !s.cfg.Loop {
			close(s.done)
			return nil, false
		}
		return s.cfg.Data, true
	}
	for {
		n, err := s.cfg.Source.Read(buf)
		if s.ctx.Err() != nil {
			return nil, false
		}
		if n > 0 {
			return buf[:n], true
		}
		if err == io.EOF {
			close(s.done)
			return nil, false
		}
		if err != nil {
			s.mu.Lock()
			s.writeErr = fmt.Errorf("read source: %w", err)
			s.mu.Unlock()
			close(s.done)
			return nil, false
		}
	}
}

// waitPlugged returns the current master, waiting while unplugged; nil after Close.
func (s *Receiver) waitPlugged() *os.File {
	for {
		s.mu.Lock()
		m, ch := s.master, s.replug
		s.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case <-s.ctx.Done():
			return nil
		}
	}
}

func simSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
