package gnss

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultReplayMaxGap is the longest pause a paced Replay makes between two sentence times
// when ReplayConfig.MaxGap is zero: long enough for any receiver rate down to 0.2 Hz, short
// enough that a capture with a recording gap does not stall a test or a demo.
const DefaultReplayMaxGap = 5 * time.Second

// replayBufSize holds many NMEA lines (82 bytes each by the standard); longer runs of bytes
// without a newline (binary noise) pass through in pieces of this size, unpaced.
const replayBufSize = 4096

// ReplayConfig configures a [Replay] source. The zero value replays once, as fast as the
// caller reads.
type ReplayConfig struct {
	// Pace releases each line no earlier than the capture says: a line whose sentence
	// (RMC, GGA, GNS, GLL or ZDA) carries a later UTC time than the previous one waits for the
	// difference. Lines without a time go out at once. False means no waiting at all.
	Pace bool
	// Speed divides the paced waits: 2 plays twice as fast as recorded. Zero means 1.
	Speed float64
	// MaxGap caps one paced wait; a larger jump of the capture's clock (recording gap,
	// reordered lines) is played as MaxGap. Zero means DefaultReplayMaxGap.
	MaxGap time.Duration
	// Loop starts again from the beginning at the end of the capture instead of returning
	// io.EOF. It needs an io.Seeker. An empty capture still returns io.EOF.
	Loop bool
	// Now reads the clock pacing is measured against. Nil means time.Now.
	Now func() time.Time
	// Sleep waits for paced lines: it returns nil after d, or ctx.Err() as soon as ctx is done
	// (Close cancels ctx). Nil means a real timer; tests pass a fake that does not sleep.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Replay is a [Source] that plays a capture of a receiver's byte stream, such as the gpsd
// test logs in testdata, optionally paced by the sentences' own UTC times.
type Replay struct {
	cfg    ReplayConfig
	src    io.Reader
	br     *bufio.Reader
	ctx    context.Context
	cancel context.CancelFunc

	pending []byte // rest of the current line, inside br's buffer
	pass    int64  // bytes read since the last rewind

	// Pacing state: the wall clock at the first timed line, the capture time played since
	// then, the previous sentence time and the last step between two sentence times.
	started bool
	rewound bool
	start   time.Time
	elapsed time.Duration
	prev    time.Duration
	step    time.Duration
}

// OpenReplay opens the capture file name. Close closes the file.
func OpenReplay(name string, cfg ReplayConfig) (*Replay, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("gnss: replay: %w", err)
	}
	r, err := NewReplay(f, cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// NewReplay plays the capture read from src. Close closes src if it is an io.Closer.
func NewReplay(src io.Reader, cfg ReplayConfig) (*Replay, error) {
	if cfg.Loop {
		if _, ok := src.(io.Seeker); !ok {
			return nil, errors.New("gnss: replay: Loop needs a seekable capture")
		}
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.MaxGap == 0 {
		cfg.MaxGap = DefaultReplayMaxGap
	}
	if cfg.Speed < 0 || cfg.MaxGap < 0 {
		return nil, fmt.Errorf("gnss: replay: negative speed %v or max gap %v", cfg.Speed, cfg.MaxGap)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sourceSleep
	}
	r := &Replay{cfg: cfg, src: src, br: bufio.NewReaderSize(src, replayBufSize)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// Read implements [Source]. Paced, it returns at most one line per call. At the end of the
// capture it returns io.EOF, or starts over if Loop is set. After Close it returns [ErrClosed].
//
// Read does not allocate; the caller owns p.
func (r *Replay) Read(p []byte) (int, error) {
	if r.ctx.Err() != nil {
		return 0, ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !r.cfg.Pace {
		for {
			n, err := r.br.Read(p)
			r.pass += int64(n)
			if err != io.EOF || n > 0 {
				return n, r.wrap(err)
			}
			if err := r.rewind(); err != nil {
				return 0, err
			}
		}
	}
	for len(r.pending) == 0 {
		line, err := r.br.ReadSlice('\n')
		r.pass += int64(len(line))
		if len(line) > 0 {
			r.pending = line
			if err == nil || err == io.EOF {
				if err := r.pace(line); err != nil {
					return 0, err
				}
			}
			break
		}
		if err != io.EOF {
			return 0, r.wrap(err)
		}
		if err := r.rewind(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

func (r *Replay) wrap(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return fmt.Errorf("gnss: replay: %w", err)
}

// rewind starts the capture over if Loop is set; otherwise, or if the last pass was empty,
// it returns io.EOF.
func (r *Replay) rewind() error {
	if !r.cfg.Loop || r.pass == 0 {
		return io.EOF
	}
	if _, err := r.src.(io.Seeker).Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("gnss: replay: rewind: %w", err)
	}
	r.br.Reset(r.src)
	r.pass = 0
	r.rewound = true
	return nil
}

// pace waits until line is due, if it carries a sentence time.
func (r *Replay) pace(line []byte) error {
	t, ok := replayTimeOfDay(line)
	if !ok {
		return nil
	}
	if !r.started {
		r.started, r.start, r.prev = true, r.cfg.Now(), t
		return nil
	}
	d := t - r.prev
	switch {
	case r.rewound:
		// The capture starts over: play its first epoch one step after its last one.
		r.rewound = false
		d = r.step
	case d < -12*time.Hour:
		d += 24 * time.Hour // UTC midnight passed
	}
	r.prev = t
	if d <= 0 {
		return nil
	}
	r.step = d
	r.elapsed += min(d, r.cfg.MaxGap)
	due := r.start.Add(time.Duration(float64(r.elapsed) / r.cfg.Speed))
	if wait := due.Sub(r.cfg.Now()); wait > 0 {
		if r.cfg.Sleep(r.ctx, wait) != nil {
			return ErrClosed
		}
	}
	return nil
}

// Close implements [Source]. It makes a pending or later Read return [ErrClosed] and closes
// the capture if it is an io.Closer.
func (r *Replay) Close() error {
	r.cancel()
	if c, ok := r.src.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("gnss: replay: close: %w", err)
		}
	}
	return nil
}

// replayTimeOfDay returns the UTC time of day of the sentence in line if it is an RMC, GGA,
// GNS, ZDA (field 1) or GLL (field 5) sentence with a well-formed hhmmss[.sss] field. It is a
// cheap scan for pacing only; the decoder does the real validation.
func replayTimeOfDay(line []byte) (time.Duration, bool) {
	i := 0
	for i < len(line) && line[i] != '$' {
		i++
	}
	s := line[i:]
	// "$" + 2-letter talker + 3-letter type + ","
	if len(s) < 7 || s[6] != ',' {
		return 0, false
	}
	field := 1
	switch string(s[3:6]) {
	case "RMC", "GGA", "GNS", "ZDA":
	case "GLL":
		field = 5
	default:
		return 0, false
	}
	s = s[7:]
	for ; field > 1; field-- {
		j := 0
		for j < len(s) && s[j] != ',' {
			j++
		}
		if j == len(s) {
			return 0, false
		}
		s = s[j+1:]
	}
	if len(s) < 6 {
		return 0, false
	}
	var hms [3]int
	for k := range hms {
		a, b := s[2*k]-'0', s[2*k+1]-'0'
		if a > 9 || b > 9 {
			return 0, false
		}
		hms[k] = int(a)*10 + int(b)
	}
	if hms[0] > 23 || hms[1] > 59 || hms[2] > 60 { // 60: leap second
		return 0, false
	}
	t := time.Duration(hms[0])*time.Hour + time.Duration(hms[1])*time.Minute + time.Duration(hms[2])*time.Second
	if len(s) > 6 && s[6] == '.' {
		unit := 100 * time.Millisecond
		for _, c := range s[7:] {
			if c-'0' > 9 || unit == 0 {
				break
			}
			t += time.Duration(c-'0') * unit
			unit /= 10
		}
	}
	return t, true
}
