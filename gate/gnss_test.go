package gate

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/gnss/sim"
	"github.com/geogate/geogate/internal/testtool"
)

// hang bounds the waits for the pty: a guard against a hung test, never a pass/fail timing.
const hang = 30 * time.Second

// garbage is what a receiver sends that never decodes: a u-blox UBX binary frame, NMEA at a
// wrong baud rate (high bytes), a line with a bad checksum and one without any.
var garbage = bytes.Repeat([]byte("\xb5\x62\x01\x07\x5c\x00\x10\x27\x00\x00\xea\x07\x0b\x19"+
	"\xe5\xfa\x9f\xfe\x8f\xf3\xdd\xfe"+
	"$GPGGA,080000.00,3951.600000,N,11934.800000,E,1,08,0.90,0.00,M,0.0,M,,*00\r\n"+
	"$GPRMC,080000.00,A,3951.600000,N\r\n"), 20)

// TestGNSSReaderProgressOnPTY: a receiver on a real pty that sends bytes which never decode
// shows in Progress and Stats without any fix: bytes counted, nothing decoded, rejects
// counted, and the undecoded run dated from its first read (on the reader's clock). A decoded
// sentence ends the run; garbage after it starts a new one, as does garbage after a silence.
func TestGNSSReaderProgressOnPTY(t *testing.T) {
	testtool.Need(t, "a pseudo-terminal", sim.PTYAvailable(), "a Linux /dev/ptmx")
	pr, pw := io.Pipe()
	rx, err := sim.New(sim.Config{Source: pr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pw.Close(); rx.Close() })
	src, err := gnss.NewSerial(gnss.SerialConfig{Device: rx.Path()})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	var at atomic.Int64 // the reader's clock, as an offset from base
	set := func(d time.Duration) time.Time { at.Store(int64(d)); return base.Add(d) }
	fixes := make(chan gnss.Fix, 64)
	r := &GNSSReader{Source: src, Decoder: gnss.NewDecoder(gnss.Config{}), Out: fixes,
		Now: func() time.Time { return base.Add(time.Duration(at.Load())) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	send := func(b []byte) {
		t.Helper()
		if _, err := pw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	var total uint64
	read := func() Progress { // waits until every byte sent was read and fed
		t.Helper()
		for deadline := time.Now().Add(hang); ; time.Sleep(5 * time.Millisecond) {
			if p := r.Progress(); p.Bytes == total {
				return p
			} else if time.Now().After(deadline) {
				t.Fatalf("the reader took %d of the %d bytes sent in %v", p.Bytes, total, hang)
			}
		}
	}

	first := set(time.Second)
	send(garbage)
	total += uint64(len(garbage))
	p := read()
	st := r.Stats()
	if p.Decoded != 0 || p.Undecoded != total || !p.UndecodedSince.Equal(first) || !p.LastRead.Equal(first) {
		t.Errorf("after garbage: %+v; want nothing decoded, all %d bytes undecoded since %v", p, total, first)
	}
	if p.Rejected == 0 || p.Rejected != st.RejectedTotal() || st.Bytes != total {
		t.Errorf("rejects not visible without a fix: progress %d, stats %d of %d bytes", p.Rejected, st.RejectedTotal(), st.Bytes)
	}
	more := set(5 * time.Second)
	send(garbage[:100])
	total += 100
	if p = read(); p.Undecoded != total || !p.UndecodedSince.Equal(first) || !p.LastRead.Equal(more) {
		t.Errorf("more garbage: %+v; want %d bytes undecoded, still since %v", p, total, first)
	}
	if len(fixes) != 0 || r.Last().Mode != gnss.ModeUnknown {
		t.Fatalf("a fix came out of garbage: %+v", r.Last())
	}

	good := set(6 * time.Second)
	epoch := sim.Generator{}.Bytes(route()[:1])
	send(epoch)
	total += uint64(len(epoch))
	p = read()
	// The read that decodes a sentence ends the run; a line end split from its sentence by a
	// read (at most CR LF) may start the next one.
	if p.Decoded == 0 || p.Undecoded > 2 || p.Undecoded > 0 && !p.UndecodedSince.Equal(good) {
		t.Errorf("after a good epoch: %+v; want sentences decoded and the undecoded run ended", p)
	}
	later := set(20 * time.Second)
	send(garbage[:300])
	total += 300
	p = read()
	switch {
	case p.Undecoded < 300 || p.Undecoded > 302:
		t.Errorf("garbage after the good epoch: %d bytes undecoded, want the 300 sent since", p.Undecoded)
	case p.Undecoded == 300 && !p.UndecodedSince.Equal(later), p.Undecoded > 300 && !p.UndecodedSince.Equal(good):
		t.Errorf("garbage after the good epoch: undecoded since %v, want %v", p.UndecodedSince, later)
	}
	// A silence longer than SilenceBreaksRun (a receiver unplugged and back) starts a new run.
	back := set(20*time.Second + SilenceBreaksRun + time.Second)
	send(garbage[:50])
	total += 50
	if p = read(); p.Undecoded != 50 || !p.UndecodedSince.Equal(back) {
		t.Errorf("garbage after a silence: %d bytes undecoded since %v, want 50 since %v", p.Undecoded, p.UndecodedSince, back)
	}
}

// loopSource serves one epoch per Read, forever.
type loopSource struct{ epoch []byte }

func (s *loopSource) Read(p []byte) (int, error) { return copy(p, s.epoch), nil }
func (s *loopSource) Close() error               { return nil }

// TestGNSSReaderZeroAlloc: a read as Run does it (publishing the counters, reading the
// source, feeding the decoder) and every fix it completes handed to the loop allocate nothing.
func TestGNSSReaderZeroAlloc(t *testing.T) {
	var epochs [][]byte
	for _, s := range route()[:20] {
		epochs = append(epochs, sim.Generator{}.Bytes([]sim.Sample{s}))
	}
	src := &loopSource{}
	fixes := make(chan gnss.Fix, 1)
	r := &GNSSReader{Source: src, Decoder: gnss.NewDecoder(gnss.Config{}), Out: fixes}
	now := driveStart
	r.start, r.readAt, r.counted.r = now, now, r
	buf := make([]byte, 512)
	var fix gnss.Fix
	i, emitted := 0, 0
	allocs := testing.AllocsPerRun(200, func() {
		src.epoch = epochs[i%len(epochs)]
		i++
		n, _ := r.counted.Read(buf)
		now = now.Add(100 * time.Millisecond)
		r.readAt = now
		for p := buf[:n]; len(p) > 0; {
			k, ready := r.Decoder.Feed(p, now)
			p = p[k:]
			for ready {
				var ok bool
				if fix, ok = r.Decoder.Next(); !ok {
					break
				}
				r.emit(&fix)
				emitted++
				select {
				case <-fixes:
				default:
				}
			}
		}
	})
	if allocs != 0 {
		t.Errorf("read and fix path: %v allocs per read, want 0", allocs)
	}
	if p := r.Progress(); emitted == 0 || p.Decoded == 0 || p.Undecoded > 2 {
		t.Fatalf("the measured path decoded nothing: %d fixes, %+v", emitted, p)
	}
}
