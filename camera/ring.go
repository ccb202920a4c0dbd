package camera

import (
	"context"
	"sync"
)

// Ring is a fixed pool of preallocated frame buffers between one producer (the capture loop)
// and one consumer (the gate). Memory is bounded: slots+1 buffers of the given size, allocated
// once in NewRing, however slow the consumer is.
//
// # Backpressure: the oldest queued frame is dropped
//
// The producer never blocks. Commit queues the new frame, then takes a free buffer for the next
// one; when no buffer is free it reclaims the OLDEST queued frame and counts it in
// RingStats.Dropped, so the freshest image always survives (a gate joining frames with
// positions wants the newest view, and an old one is what a slow consumer would see last).
// When the consumer holds every buffer but the producer's, the only queued frame is the one
// just committed, so that one is dropped.
//
// # Ownership
//
// The producer owns exactly one buffer at a time, returned by Buffer. The consumer owns each
// Frame from Recv until it passes it to Release; it may hold several (e.g. while waiting for the
// GNSS fix after a frame's capture time) but every held frame is a buffer the producer cannot
// reuse. Size slots for the longest hold: fps x hold time + 2.
type Ring struct {
	mu     sync.Mutex
	bufs   [][]byte // slots+1 buffers, never reallocated
	free   []int32  // stack of free buffer indices
	queue  []Frame  // circular FIFO of committed frames, len(bufs)
	head   int      // index of the oldest queued frame
	n      int      // queued frames
	fill   int32    // buffer the producer is filling
	held   []bool   // held[i]: buffer i is with the consumer
	closed bool
	ready  chan struct{} // capacity 1: "queue may be non-empty"
	stats  RingStats
}

// RingStats counts what went through a Ring.
type RingStats struct {
	Committed uint64 // frames the producer committed
	Received  uint64 // frames handed to the consumer
	Dropped   uint64 // frames reclaimed before the consumer saw them (backpressure)
	Queued    int    // frames waiting now
	Held      int    // frames the consumer holds now
}

// NewRing allocates slots+1 buffers of bufBytes each: slots for queued or held frames and one
// for the producer. slots must be at least 1.
func NewRing(slots, bufBytes int) *Ring {
	if slots < 1 || bufBytes < 1 {
		panic("BUG: camera.NewRing needs slots >= 1 and bufBytes >= 1")
	}
	n := slots + 1
	r := &Ring{
		bufs:  make([][]byte, n),
		free:  make([]int32, 0, n),
		queue: make([]Frame, n),
		held:  make([]bool, n),
		ready: make(chan struct{}, 1),
	}
	for i := range r.bufs {
		r.bufs[i] = make([]byte, bufBytes)
	}
	for i := n - 1; i >= 1; i-- {
		r.free = append(r.free, int32(i))
	}
	return r
}

// Buffer returns the buffer the producer fills next, at full length. It stays the producer's
// until Commit. Only the producer goroutine may call it. It does not allocate.
func (r *Ring) Buffer() []byte {
	return r.bufs[r.fill]
}

// Commit queues f, whose Data must lie in the buffer from Buffer, and hands the producer a new
// buffer, dropping the oldest queued frame when none is free. It never blocks on the consumer
// and does not allocate. Only the producer goroutine may call it. After Close it drops f.
func (r *Ring) Commit(f Frame) {
	buf := r.bufs[r.fill]
	if len(f.Data) > 0 && (cap(f.Data) > cap(buf) || &f.Data[:1][0] != &buf[:1][0]) {
		panic("BUG: camera.Ring.Commit of a frame not read into Ring.Buffer")
	}
	r.mu.Lock()
	if r.closed {
		r.stats.Dropped++
		r.mu.Unlock()
		return
	}
	r.stats.Committed++
	f.slot = r.fill + 1
	r.queue[(r.head+r.n)%len(r.queue)] = f
	r.n++
	if k := len(r.free); k > 0 {
		r.fill = r.free[k-1]
		r.free = r.free[:k-1]
	} else {
		old := &r.queue[r.head]
		r.fill = old.slot - 1
		*old = Frame{}
		r.head = (r.head + 1) % len(r.queue)
		r.n--
		r.stats.Dropped++
	}
	wake := r.n > 0
	r.mu.Unlock()
	if wake {
		select {
		case r.ready <- struct{}{}:
		default:
		}
	}
}

// Recv returns the oldest queued frame, waiting until there is one. The caller owns it until
// Release. After Close, Recv returns the frames still queued, then ErrClosed. It returns
// ctx.Err() when ctx ends first. It does not allocate.
func (r *Ring) Recv(ctx context.Context) (Frame, error) {
	for {
		if f, ok, err := r.TryRecv(); ok || err != nil {
			return f, err
		}
		select {
		case <-r.ready:
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// Ready returns a channel that receives after a Commit or Close, so a consumer can wait for
// frames in a select together with other inputs and then drain them with TryRecv until ok is
// false. It is the ring's own channel: call it once and keep it. A consumer waits either on
// Ready or in Recv, not both.
func (r *Ring) Ready() <-chan struct{} { return r.ready }

// TryRecv is Recv without waiting: ok is false when no frame is queued. err is ErrClosed once
// the ring is closed and drained.
func (r *Ring) TryRecv() (f Frame, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		if r.closed {
			return Frame{}, false, ErrClosed
		}
		return Frame{}, false, nil
	}
	f = r.queue[r.head]
	r.queue[r.head] = Frame{}
	r.head = (r.head + 1) % len(r.queue)
	r.n--
	r.stats.Received++
	r.held[f.slot-1] = true
	return f, true, nil
}

// Release gives the buffer of a frame from Recv back to the ring. f.Data must not be used
// afterwards. Releasing a frame twice, or one not from this ring, panics. It does not allocate.
func (r *Ring) Release(f Frame) {
	if f.slot < 1 || int(f.slot) > len(r.bufs) {
		panic("BUG: camera.Ring.Release of a frame not from Recv")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.held[f.slot-1] {
		panic("BUG: camera.Ring.Release: frame released twice")
	}
	r.held[f.slot-1] = false
	r.free = append(r.free, f.slot-1)
}

// Close ends the stream: later commits are dropped, and Recv returns ErrClosed once the queue
// is empty. Held frames may still be released.
func (r *Ring) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// Stats returns the counters and the current fill.
func (r *Ring) Stats() RingStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Queued = r.n
	s.Held = len(r.bufs) - 1 - len(r.free) - r.n
	return s
}
