package daemon

import (
	"fmt"
	"time"

	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/update"
)

// undecodedLimit is how long a receiver may send bytes of which no sentence decodes before
// geogate health names it: NMEA receivers send a timed sentence at least once a second,
// so 10 s is ten missed epochs, never a slow start. Bytes that never decode mean a wrong
// baud rate, a binary protocol (UBX, RTCM) or noise on the line.
const undecodedLimit = 10 * time.Second

// clockSkewLimit is how far the daemon's notion of now (update.Installer.Now) and the GNSS
// time of the latest valid fix may disagree before the status and the log say so. An RTC
// drifts seconds a day and a car parked for months keeps it within minutes; an hour or more
// means an RTC that lost its battery or runs on local time, a receiver past a GPS week
// rollover, or a spoofed receiver. GNSS time is a sanity bound only: it never moves the
// notion of now, so it can neither extend nor unexpire a policy (docs/OTA.md).
const clockSkewLimit = time.Hour

// readerNow returns the GNSS reader's clock, the one its fixes' Received readings come from.
func (r *run) readerNow() time.Time {
	if r.reader.Now != nil {
		return r.reader.Now()
	}
	return clock.Now()
}

// gnssUndecoded returns the health problem of a receiver whose bytes have not decoded for
// undecodedLimit while they keep arriving, "" when there is none (a receiver that fell
// silent is not this problem). It logs a WARN when the problem starts and an INFO when it
// ends, once per change.
func (r *run) gnssUndecoded() string {
	p := r.reader.Progress()
	now := r.readerNow()
	problem := ""
	if d := now.Sub(p.UndecodedSince); p.Undecoded > 0 && d >= undecodedLimit && now.Sub(p.LastRead) < undecodedLimit {
		problem = fmt.Sprintf("gnss: %d bytes received, no sentence decoded for %v (%d rejected): check the baud rate and that the receiver sends NMEA",
			p.Undecoded, d.Round(time.Second), p.Rejected)
	}
	if bad := problem != ""; r.undecoded.Swap(bad) != bad {
		if bad {
			r.log.Warn("GNSS: bytes arrive but no sentence decodes; nothing is stored without fixes", "problem", problem)
		} else {
			r.log.Info("gnss: sentences decode again")
		}
	}
	return problem
}

// notionOfNow is the daemon's time for policy expiry: the policy installer's (the latest of
// the system clock, the last verified signed time and the build time), or, before the
// installer could be opened, the latest of the system clock and the build time.
func (r *run) notionOfNow() time.Time {
	r.updMu.Lock()
	in := r.upd
	r.updMu.Unlock()
	if in != nil {
		return in.Now()
	}
	now := clock.Now()
	if b := update.BuildTime(); b.After(now) {
		return b
	}
	return now
}

// clockSkew returns the GNSS time minus the daemon's notion of now, the GNSS time carried
// forward from the latest valid timed fix on the local clock, and false before such a fix.
func (r *run) clockSkew() (time.Duration, bool) {
	utc, recv := r.reader.TimeFix()
	if utc.IsZero() {
		return 0, false
	}
	gnssNow := utc.Add(r.readerNow().Sub(recv))
	return gnssNow.Sub(r.notionOfNow()), true
}

// clockProblem returns the status's word on a GNSS time that disagrees with the daemon's
// notion of now by more than clockSkewLimit, "" when they agree or no fix has a time. It is
// not a health problem: an updater would roll back every update of a unit whose RTC is wrong,
// and the previous slot would be no better. It
// logs a WARN when the disagreement starts and an INFO when it ends, once per change.
func (r *run) clockProblem() string {
	skew, ok := r.clockSkew()
	off := ok && (skew > clockSkewLimit || skew < -clockSkewLimit)
	problem := ""
	if off {
		way := "ahead of"
		if skew < 0 {
			way, skew = "behind", -skew
		}
		problem = fmt.Sprintf("clock: GNSS time is %v %s the unit's time (limit %v): check the RTC and the receiver; GNSS time never extends a policy",
			skew.Round(time.Second), way, clockSkewLimit)
	}
	if r.clockOff.Swap(off) != off {
		if off {
			r.log.Warn("CLOCK: the unit's time and GNSS time disagree; policy expiry keeps the unit's time", "problem", problem)
		} else {
			r.log.Info("clock: the unit's time and GNSS time agree again")
		}
	}
	return problem
}
