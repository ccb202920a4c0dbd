package camera_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/geogate/geogate/camera"
)

// put commits a frame carrying seq in its first byte, as a capture loop would.
func put(r *camera.Ring, seq uint64) {
	b := r.Buffer()
	b[0] = byte(seq)
	r.Commit(camera.Frame{Data: b[:1], Width: 2, Height: 2, Format: camera.MJPEG, Seq: seq})
}

func TestRingBackpressure(t *testing.T) {
	tests := []struct {
		name     string
		slots    int
		hold     int      // frames the consumer receives and keeps before the burst
		burst    int      // frames committed while the consumer sleeps
		want     []uint64 // Seqs the consumer then receives, oldest first
		dropped  uint64
		queued   int
		received uint64
	}{
		{name: "fits", slots: 4, burst: 3, want: []uint64{1, 2, 3}},
		{name: "exactly full", slots: 4, burst: 4, want: []uint64{1, 2, 3, 4}},
		{name: "oldest dropped", slots: 4, burst: 7, want: []uint64{4, 5, 6, 7}, dropped: 3},
		{name: "consumer holds some", slots: 4, hold: 2, burst: 5, want: []uint64{6, 7}, dropped: 3},
		{name: "consumer holds all but one", slots: 4, hold: 3, burst: 3, want: []uint64{6}, dropped: 2},
		{name: "consumer holds all: newest dropped", slots: 4, hold: 4, burst: 3, want: nil, dropped: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := camera.NewRing(tt.slots, 16)
			var held []camera.Frame
			seq := uint64(0)
			for range tt.hold {
				seq++
				put(r, seq)
				f, ok, err := r.TryRecv()
				if !ok || err != nil {
					t.Fatalf("TryRecv = %v, %v", ok, err)
				}
				held = append(held, f)
			}
			for range tt.burst {
				seq++
				put(r, seq)
			}
			var got []uint64
			for {
				f, ok, err := r.TryRecv()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if f.Data[0] != byte(f.Seq) {
					t.Errorf("frame %d carries data of frame %d", f.Seq, f.Data[0])
				}
				got = append(got, f.Seq)
				r.Release(f)
			}
			if !equal(got, tt.want) {
				t.Errorf("received %v, want %v", got, tt.want)
			}
			for _, f := range held {
				if f.Data[0] != byte(f.Seq) {
					t.Errorf("held frame %d overwritten by frame %d", f.Seq, f.Data[0])
				}
			}
			s := r.Stats()
			if s.Dropped != tt.dropped || s.Committed != uint64(tt.hold+tt.burst) || s.Held != tt.hold || s.Queued != 0 {
				t.Errorf("stats %+v, want dropped %d, committed %d, held %d", s, tt.dropped, tt.hold+tt.burst, tt.hold)
			}
			for _, f := range held {
				r.Release(f)
			}
			if s := r.Stats(); s.Held != 0 {
				t.Errorf("held %d after releasing all", s.Held)
			}
		})
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRingRecvWaitsAndCloses(t *testing.T) {
	r := camera.NewRing(2, 8)
	got := make(chan uint64)
	go func() {
		for {
			f, err := r.Recv(context.Background())
			if err != nil {
				close(got)
				return
			}
			got <- f.Seq
			r.Release(f)
		}
	}()
	put(r, 1)
	if s := <-got; s != 1 {
		t.Fatalf("got frame %d, want 1", s)
	}
	put(r, 2)
	r.Close()
	put(r, 3) // after Close: dropped
	var rest []uint64
	for s := range got {
		rest = append(rest, s)
	}
	if !equal(rest, []uint64{2}) {
		t.Errorf("after Close received %v, want [2]", rest)
	}
	if s := r.Stats(); s.Dropped != 1 {
		t.Errorf("dropped %d, want 1 (the commit after Close)", s.Dropped)
	}
}

func TestRingRecvContext(t *testing.T) {
	r := camera.NewRing(1, 8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := r.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Recv on an empty ring = %v, want the context's error", err)
	}
}

func TestRingMisuse(t *testing.T) {
	tests := []struct {
		name string
		do   func(r *camera.Ring)
	}{
		{"release twice", func(r *camera.Ring) {
			put(r, 1)
			f, _, _ := r.TryRecv()
			r.Release(f)
			r.Release(f)
		}},
		{"release a frame not from the ring", func(r *camera.Ring) { r.Release(camera.Frame{}) }},
		{"commit foreign data", func(r *camera.Ring) { r.Commit(camera.Frame{Data: make([]byte, 4)}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.do(camera.NewRing(2, 8))
		})
	}
}

func TestRingZeroAlloc(t *testing.T) {
	r := camera.NewRing(3, 64)
	ctx := context.Background()
	seq := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		put(r, seq)
		seq++
		put(r, seq)
		f, err := r.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r.Release(f)
	})
	if allocs != 0 {
		t.Errorf("commit/recv/release: %v allocs per frame, want 0", allocs)
	}
}

// TestRingReady is the gate's pattern: select over the ring and another input, drain on wake.
func TestRingReady(t *testing.T) {
	r := camera.NewRing(4, 8)
	fixes := make(chan int)
	go func() {
		put(r, 1)
		put(r, 2)
		fixes <- 1
		put(r, 3)
		r.Close()
	}()
	var got []uint64
	nfix := 0
	for done := false; !done; {
		select {
		case <-fixes:
			nfix++
		case <-r.Ready():
			for {
				f, ok, err := r.TryRecv()
				if err != nil {
					done = true
					break
				}
				if !ok {
					break
				}
				got = append(got, f.Seq)
				r.Release(f)
			}
		}
	}
	if !equal(got, []uint64{1, 2, 3}) || nfix != 1 {
		t.Errorf("frames %v and %d fixes, want [1 2 3] and 1", got, nfix)
	}
}
