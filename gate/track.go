package gate

import (
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/policy"
)

// trackLen is how many recent fixes a Track keeps. At 10 Hz it spans 1.6 s, longer than any
// sane freshness limit, so a frame can always find the fixes around it while they still count.
const trackLen = 16

// tracked is one fix of the track with the policy's verdict on it.
type tracked struct {
	fix    gnss.Fix
	action policy.Action
	reason policy.Reason
}

// track is the recent history of fixes, used to give a camera frame the position at its
// capture time. It is owned by the loop goroutine; it neither locks nor allocates.
type track struct {
	fixes [trackLen]tracked
	n     int // fixes stored, at most trackLen
	head  int // index of the newest fix
}

// add records a completed fix and its decision. Fixes arrive in Received order; an older one
// is ignored.
func (t *track) add(f *gnss.Fix, d *policy.Decision) {
	if t.n > 0 && f.Received.Before(t.fixes[t.head].fix.Received) {
		return
	}
	t.head = (t.head + 1) % trackLen
	t.fixes[t.head] = tracked{fix: *f, action: d.Action, reason: d.Reason}
	if t.n < trackLen {
		t.n++
	}
}

// span is the outcome of around.
type span uint8

const (
	spanNone    span = iota // no fix at or before the time: the frame has no trustworthy position
	spanPending             // the time is after the newest fix: wait for the next one
	spanFound               // before and after are set
)

// around finds the fixes just before and just after the local time at (both by Received).
// When at equals a fix's time, before and after are that same fix.
func (t *track) around(at time.Time) (before, after *tracked, s span) {
	if t.n == 0 {
		return nil, nil, spanNone
	}
	newest := &t.fixes[t.head]
	if at.After(newest.fix.Received) {
		return nil, nil, spanPending
	}
	after = newest
	for i := 1; i < t.n; i++ {
		f := &t.fixes[(t.head-i+trackLen)%trackLen]
		if !f.fix.Received.After(at) {
			return f, after, spanFound
		}
		after = f
	}
	if after.fix.Received.Equal(at) {
		return after, after, spanFound
	}
	return nil, nil, spanNone
}

// interpolate writes into dst the fix at local time at, linearly between before and after.
// The result is valid only if both are; its Received is at, so freshness is judged at the
// frame's own capture time.
func interpolate(dst *gnss.Fix, before, after *gnss.Fix, at time.Time) {
	*dst = *before
	dst.Received = at
	dst.Valid = before.Valid && after.Valid
	span := after.Received.Sub(before.Received)
	if span <= 0 || before.Has&after.Has&gnss.HasPos == 0 {
		return
	}
	k := float64(at.Sub(before.Received)) / float64(span)
	dst.Lat = before.Lat + k*(after.Lat-before.Lat)
	dLon := after.Lon - before.Lon
	if dLon > 180 { // the short way across the antimeridian
		dLon -= 360
	} else if dLon < -180 {
		dLon += 360
	}
	dst.Lon = before.Lon + k*dLon
	if dst.Lon > 180 {
		dst.Lon -= 360
	} else if dst.Lon < -180 {
		dst.Lon += 360
	}
	if before.Has&gnss.HasTime != 0 && after.Has&gnss.HasTime != 0 {
		dst.Time = before.Time.Add(time.Duration(k * float64(after.Time.Sub(before.Time))))
	}
}
