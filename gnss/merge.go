package gnss

import (
	"math"
	"time"
)

// GPSWeekRollover is the span of the 10-bit GPS week counter: 1024 weeks, about 19.6 years.
// Receivers whose firmware predates a rollover (1999-08-22, 2019-04-07) report dates exactly
// this much too early.
const GPSWeekRollover = 1024 * 7 * 24 * time.Hour

// DefaultDateFloor is the earliest date a receiver fitted today can legitimately report, used
// when Config.DateFloor is zero: 2024-01-01, two years before geogate was written. A date
// before the floor is taken as a GPS week rollover victim and moved forward by
// GPSWeekRollover (repeatedly, at most maxRollovers times) until it is not.
var DefaultDateFloor = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// maxRollovers bounds the rollover correction: four rollovers span 78 years, beyond any
// receiver's service life; a date still before the floor after that is reported as is.
const maxRollovers = 4

// halfDay is the jump in time of day that means midnight passed between two epochs when the
// date comes from an earlier epoch (receivers send ZDA/RMC at 1 Hz, GGA at higher rates).
const halfDay = 12 * time.Hour

// enderVotes is how many epochs in a row must end with the same sentence before the merger
// trusts it as the cycle ender and closes epochs on it without waiting for the next time.
const enderVotes = 2

// key identifies a sentence kind for the epoch heuristics: talker and type. 0 means "none".
type key uint16

func keyOf(s *sentence) key {
	if s.typ == TypeGSV && !s.gsvLast {
		return 0 // only the last GSV of a group can end a cycle
	}
	return key(s.talker)<<8 | key(s.typ)
}

// merger joins decoded sentences into one Fix per receiver epoch.
//
// An epoch is the set of sentences with the same UTC time of day. A sentence with a different
// time closes the open epoch. Untimed sentences (GSA, VTG, NMEA 1.x GLL) join the open epoch;
// an untimed sentence kind seen twice in one epoch closes it (receivers without any timed
// sentence still give one fix per cycle). Like gpsd, the merger also learns the cycle ender,
// the sentence kind that last preceded a time change; once enderVotes epochs agree, that
// sentence closes its epoch at once, so the fix leaves without waiting for the next epoch.
// When sentences that describe epoch t arrive before its first timed sentence, they are merged
// into epoch t-1; no heuristic can tell without timestamps.
type merger struct {
	floor time.Time
	stats *Stats // the Decoder's; close counts Caution, Unsafe and PosConflicts in it

	open        bool
	contributed bool // a position, a validity statement or a GSA fix type was merged
	fix         Fix
	hasTOD      bool
	tod         int64
	hasDate     bool
	y, m, d     int
	posRank     int
	posPrec     int  // minute fraction digits of the kept position
	conflict    bool // two positions of the epoch differ by more than their printed precision
	timeless    bool // a sentence of the epoch had an empty time field
	// untimedCycle: the epoch was opened by an untimed sentence repeating in an epoch
	// without time, so the receiver's cycle has no (accepted) timed sentence.
	untimedCycle bool
	nav          NavStatus
	valid        bool
	invalid      bool
	gsaMode      Mode
	gsaSeen      bool
	gsaSats      int
	fixSats      bool // SatsUsed came from GGA/GNS
	gsaDOP       bool // DOPs came from GSA
	hasQuality   bool
	seenUntimed  [8]key
	nUntimed     int

	// Across epochs: the last known date (as midnight UTC after rollover correction) and the
	// last emitted time, for epochs whose sentences carry a time of day only.
	day    time.Time
	hasDay bool
	// dayY, dayM, dayD is the receiver's date that day was derived from (before rollover
	// correction and midnight carry); an unchanged date skips the calendar arithmetic.
	dayY, dayM, dayD int
	last             time.Time
	lastKey          key

	ender      key
	votes      int
	closedTOD  int64 // time of day of an epoch the ender closed
	closedTime bool

	// Fixes ready for the caller. Feed stops after a sentence that completed fixes (at most
	// two: the previous epoch and, by the cycle ender, its own) and takes no more input until
	// they are taken; Flush adds at most one more.
	out  [3]Fix
	nout int
	head int
}

// add merges one decoded sentence. now is the local clock reading, recorded in Received of
// any fix the sentence completes.
func (m *merger) add(s *sentence, now time.Time) {
	if s.typ == TypeOther {
		return
	}
	k := keyOf(s)
	repeated := false
	switch {
	case s.hasTOD && m.open && m.hasTOD && s.tod != m.tod:
		// A new time: the previous sentence kind ended the cycle.
		if m.lastKey == m.ender {
			m.votes++
		} else {
			m.ender, m.votes = m.lastKey, 1
		}
		m.close(now)
	case s.hasTOD && !m.open && m.closedTime && s.tod == m.closedTOD:
		// The learned ender closed an epoch that was not over: forget it.
		m.ender, m.votes = 0, 0
	case s.hasTOD && m.open && !m.hasTOD && (m.timeless || m.untimedCycle):
		// The open epoch belongs to a cycle without time: its RMC/GGA/GNS/GLL had empty
		// time fields (the Foretrex 201 before its first fix), or it was opened by an
		// untimed sentence repeating within an epoch that had no timed sentence (the
		// MTK-3301's VTG while its GGA and RMC still carry a rejected placeholder). The first
		// time starts a new epoch, so the last no-fix statement does not invalidate the
		// first real fix.
		m.close(now)
	case !s.hasTOD && m.open && s.typ != TypeGSA && s.typ != TypeGSV:
		for i := 0; i < m.nUntimed; i++ {
			if m.seenUntimed[i] == k {
				repeated = !m.hasTOD
				m.close(now)
				break
			}
		}
	}
	if s.hasTOD {
		m.closedTime = false
	}
	if !m.open {
		m.start()
		m.untimedCycle = repeated
	}
	m.merge(s, k)
	m.lastKey = k
	if m.votes >= enderVotes && k == m.ender && k != 0 {
		m.closedTOD, m.closedTime = m.tod, m.hasTOD
		m.close(now)
	}
}

// start opens a new epoch.
func (m *merger) start() {
	m.open, m.contributed = true, false
	m.fix = Fix{}
	m.hasTOD, m.hasDate, m.posRank, m.posPrec, m.conflict, m.nav = false, false, 0, 0, false, NavNone
	m.timeless = false
	m.valid, m.invalid = false, false
	m.gsaMode, m.gsaSeen, m.gsaSats, m.fixSats, m.gsaDOP, m.hasQuality = ModeUnknown, false, 0, false, false, false
	m.nUntimed = 0
}

// posRank orders the positions of one epoch: more minute digits win; on a tie GGA wins over
// GNS over RMC over GLL, so position, altitude and quality come from one sentence where possible.
func posRank(s *sentence) int {
	r := 4 * s.posPrec
	switch s.typ {
	case TypeGGA:
		r += 3
	case TypeGNS:
		r += 2
	case TypeRMC:
		r++
	}
	return r
}

// posTol is, for p minute fraction digits, one unit of the last digit in degrees (10^-p / 60),
// plus 1e-12 degree (0.1 micrometre) for the rounding of the two parsed values.
var posTol = func() (t [maxLatLonFrac + 1]float64) {
	for p := range t {
		t[p] = 1/(60*pow10f[p]) + 1e-12
	}
	return t
}()

// posConflict reports whether a position and the one of s differ, in latitude or longitude,
// by more than one unit of the last minute digit of the coarser of the two: a receiver that
// rounds or truncates one sentence's digits of the same solution stays within that.
func posConflict(lat, lon float64, prec int, s *sentence) bool {
	tol := posTol[min(prec, s.posPrec)]
	return math.Abs(lat-s.lat) > tol || math.Abs(lon-s.lon) > tol
}

// merge adds the fields of s to the open epoch. Where two sentences give the same value the
// first wins, except: the position of highest posRank wins (a position further from the kept
// one than their printed precision marks the epoch's conflict, counted in Stats.PosConflicts),
// GSA's DOPs win over GGA's HDOP (GSA has two decimals, GGA often one), GGA/GNS satellites used
// win over GSA counts, and the worst navigational status wins.
func (m *merger) merge(s *sentence, k key) {
	f := &m.fix
	f.Talkers |= s.talker
	if !s.hasTOD && s.typ != TypeGSA && s.typ != TypeGSV && m.nUntimed < len(m.seenUntimed) {
		m.seenUntimed[m.nUntimed] = k
		m.nUntimed++
	}
	if s.typ == TypeGSV {
		return
	}
	if s.has&HasPos != 0 || s.status != statusNone || s.mode != ModeUnknown {
		m.contributed = true
	}
	if s.hasTOD && !m.hasTOD {
		m.tod, m.hasTOD = s.tod, true
	}
	m.timeless = m.timeless || s.timeless
	if s.hasDate && !m.hasDate {
		m.y, m.m, m.d, m.hasDate = s.year, s.month, s.day, true
	}
	switch s.status {
	case statusValid:
		m.valid = true
	case statusInvalid:
		m.invalid = true
	}
	if s.has&HasPos != 0 {
		if f.Has&HasPos != 0 && !m.conflict && posConflict(f.Lat, f.Lon, m.posPrec, s) {
			m.conflict = true
		}
		if r := posRank(s); f.Has&HasPos == 0 || r > m.posRank {
			f.Lat, f.Lon, m.posRank, m.posPrec = s.lat, s.lon, r, s.posPrec
			f.Has |= HasPos
		}
	}
	m.nav = max(m.nav, s.nav)
	if s.has&HasAlt != 0 && f.Has&HasAlt == 0 {
		f.Alt = s.alt
		f.Has |= HasAlt
	}
	if s.has&HasSpeed != 0 && f.Has&HasSpeed == 0 {
		f.Speed = s.speed
		f.Has |= HasSpeed
	}
	if s.has&HasTrack != 0 && f.Has&HasTrack == 0 {
		f.Track = s.track
		f.Has |= HasTrack
	}
	if s.hasQuality && !m.hasQuality {
		f.Quality, m.hasQuality = s.quality, true
		f.Has |= HasQuality
	}
	if s.typ == TypeGSA {
		if s.mode != ModeUnknown && !m.gsaSeen {
			m.gsaMode = s.mode
		}
		m.gsaSeen = true
		if s.mode == Mode2D || s.mode == Mode3D {
			m.valid = true
		}
		m.gsaSats += int(s.sats)
		if !m.fixSats {
			f.SatsUsed = uint8(min(m.gsaSats, 255))
			f.Has |= HasSats
		}
		if !m.gsaDOP {
			m.gsaDOP = true
			f.Has &^= HasHDOP | HasPDOP | HasVDOP
			f.HDOP, f.PDOP, f.VDOP = s.hdop, s.pdop, s.vdop
			f.Has |= s.has & (HasHDOP | HasPDOP | HasVDOP)
		}
	} else {
		if s.has&HasSats != 0 && !m.fixSats {
			f.SatsUsed, m.fixSats = s.sats, true
			f.Has |= HasSats
		}
		if s.has&HasHDOP != 0 && f.Has&HasHDOP == 0 {
			f.HDOP = s.hdop
			f.Has |= HasHDOP
		}
	}
	if s.has&HasErr != 0 && f.Has&HasErr == 0 {
		f.LatErr, f.LonErr, f.AltErr = s.latErr, s.lonErr, 0
		if s.hasAltErr {
			f.AltErr = s.altErr
		}
		f.Has |= HasErr
	}
}

// close finishes the open epoch and queues its fix.
func (m *merger) close(now time.Time) {
	if !m.open {
		return
	}
	m.open = false
	if m.hasDate && (!m.hasDay || m.y != m.dayY || m.m != m.dayM || m.d != m.dayD) {
		day := time.Date(m.y, time.Month(m.m), m.d, 0, 0, 0, 0, time.UTC)
		for i := 0; i < maxRollovers && day.Before(m.floor); i++ {
			day = day.Add(GPSWeekRollover)
		}
		m.day, m.hasDay = day, true
		m.dayY, m.dayM, m.dayD = m.y, m.m, m.d
	}
	if !m.contributed {
		// Only ZDA, GST, VTG or GSV: nothing about the position. Such an epoch (a ZDA stamped
		// off the fix times, say) must not interleave position-less fixes with real ones.
		return
	}
	f := &m.fix
	if m.hasTOD && m.hasDay {
		t := m.day.Add(time.Duration(m.tod))
		if !m.hasDate && t.Before(m.last.Add(-halfDay)) {
			// Midnight passed since the date was last given.
			m.day = m.day.Add(24 * time.Hour)
			t = t.Add(24 * time.Hour)
		}
		f.Time, m.last = t, t
		f.Has |= HasTime
	}
	f.NavStatus = m.nav
	f.Valid = f.Has&HasPos != 0 && m.valid && !m.invalid && m.nav != NavUnsafe
	switch {
	case !f.Valid:
		f.Mode = ModeNoFix
	case m.gsaMode != ModeUnknown:
		f.Mode = m.gsaMode // 2D or 3D: GSA mode 1 made the fix invalid
	case f.Has&HasAlt != 0:
		f.Mode = Mode3D
	default:
		f.Mode = Mode2D
	}
	switch m.nav {
	case NavCaution:
		m.stats.Caution++
	case NavUnsafe:
		m.stats.Unsafe++
	}
	if m.conflict {
		m.stats.PosConflicts++
	}
	f.Received = now
	if m.nout == len(m.out) {
		panic("BUG: gnss: fix queue overflow")
	}
	m.out[(m.head+m.nout)%len(m.out)] = *f
	m.nout++
}

// next takes the oldest queued fix.
func (m *merger) next() (Fix, bool) {
	if m.nout == 0 {
		return Fix{}, false
	}
	f := m.out[m.head]
	m.head = (m.head + 1) % len(m.out)
	m.nout--
	return f, true
}
