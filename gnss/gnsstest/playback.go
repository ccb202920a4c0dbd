package gnsstest

import (
	"errors"
	"fmt"
	"io"
)

// ErrClosed is returned by Playback.Read after Close.
var ErrClosed = errors.New("gnsstest: playback closed")

// Playback is a scripted byte source with the Read and Close methods of gnss.Source. It
// hands out Data in reads of at most Chunk bytes, so framers meet sentences split at every
// possible place, then returns Err.
type Playback struct {
	// Data is the byte stream to return.
	Data []byte
	// Chunk is the most bytes one Read returns. Zero means as many as the caller's buffer holds.
	Chunk int
	// Err is returned once Data is exhausted. Nil means io.EOF.
	Err error

	pos    int
	closed bool
}

// Read implements gnss.Source.
func (p *Playback) Read(b []byte) (int, error) {
	if p.closed {
		return 0, ErrClosed
	}
	if p.pos == len(p.Data) {
		if p.Err == nil {
			return 0, io.EOF
		}
		return 0, p.Err
	}
	if p.Chunk > 0 && len(b) > p.Chunk {
		b = b[:p.Chunk]
	}
	n := copy(b, p.Data[p.pos:])
	p.pos += n
	return n, nil
}

// Close implements gnss.Source. Like periph's record/playback fakes it checks the script ran:
// it returns an error if the reader stopped before the end of Data.
func (p *Playback) Close() error {
	p.closed = true
	if p.pos != len(p.Data) {
		return fmt.Errorf("gnsstest: playback closed with %d of %d bytes unread", len(p.Data)-p.pos, len(p.Data))
	}
	return nil
}
