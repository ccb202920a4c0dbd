package gate

import "time"

// rate keeps frames at most fps a second, evenly spaced on their capture times: a phase
// accumulator. next is the ideal capture time of the next frame to keep; a frame is kept when
// it is nearer to next than the frame after it will be (it is at most half a frame interval
// before next), and next then moves on by exactly 1/fps, so rounding never drifts: a 30 fps
// camera at 5 fps gives every 6th frame, at 7 fps every 4th or 5th, 7 a second on average,
// whatever the capture jitter. A gap of more than 1/fps (no frames, or none the policy let
// through) restarts the phase at the next frame. It reads only capture times, so it is
// deterministic, and it does not allocate.
type rate struct {
	next time.Time // ideal capture time of the next frame to keep; zero before the first
	prev time.Time // capture time of the last frame offered
}

// keep reports whether the frame captured at t is kept at fps (> 0) frames a second.
func (r *rate) keep(t time.Time, fps float64) bool {
	period := time.Duration(float64(time.Second) / fps)
	var half time.Duration // half the camera's frame interval, from the last two frames
	if dt := t.Sub(r.prev); !r.prev.IsZero() && dt > 0 {
		half = dt / 2
	}
	r.prev = t
	switch {
	case r.next.IsZero() || t.Sub(r.next) >= period:
		r.next = t.Add(period)
		return true
	case t.Add(half).Before(r.next):
		return false
	}
	r.next = r.next.Add(period)
	return true
}
