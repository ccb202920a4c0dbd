package daemon

import (
	"errors"
	"io"
	"time"

	"github.com/geogate/geogate/gnss/sim"
)

// Drive waypoints: from the coast road east of Beidaihe District, west straight through it,
// then north out of it, and back the same way, so a looping replay is one continuous drive.
// About 48 km at 30 m/s: 27 minutes of real time per loop (less with gnss.speedup).
var driveWaypoints = []sim.Point{
	{Lat: 39.86, Lon: 119.58, Alt: 12},
	{Lat: 39.86, Lon: 119.42, Alt: 20},
	{Lat: 39.95, Lon: 119.42, Alt: 35},
	{Lat: 39.86, Lon: 119.42, Alt: 20},
	{Lat: 39.86, Lon: 119.58, Alt: 12},
}

// The drive's receiver rate (epochs per second) and speed (metres per second).
const (
	driveRate  = 10
	driveSpeed = 30
)

// BeidaiheDrive returns the built-in simulated receiver output: NMEA 0183 (RMC, GGA, GSA) at
// 10 Hz for a car at 30 m/s (108 km/h) on the drive above, starting at start (UTC; the
// daemon passes the current time, so records are dated like a real drive's).
func BeidaiheDrive(start time.Time) []byte {
	return sim.Generator{}.Bytes(sim.Route(start, driveRate, driveSpeed, driveWaypoints...))
}

// driveReader plays the built-in drive (BeidaiheDrive's bytes) one epoch at a time: the
// route is computed at the first Read, in the simulator's goroutine, and each epoch's NMEA
// is generated when the replay reads it, instead of the whole 27-minute drive at once (a
// sixth of a second of CPU and 3 MB next to the start). It is a Seeker (to the start only)
// so the replay can loop it.
type driveReader struct {
	start   time.Time
	samples []sim.Sample // the drive's epochs; nil until the first Read
	next    int          // the epoch to generate next
	gen     sim.Generator
	epoch   []byte // the current epoch's sentences
	unread  []byte // what of epoch the caller has not read yet
}

// Read implements io.Reader.
func (d *driveReader) Read(p []byte) (int, error) {
	if d.samples == nil {
		d.samples = sim.Route(d.start, driveRate, driveSpeed, driveWaypoints...)
	}
	for len(d.unread) == 0 {
		if d.next == len(d.samples) {
			return 0, io.EOF
		}
		d.epoch = d.gen.AppendEpoch(d.epoch[:0], &d.samples[d.next])
		d.unread = d.epoch
		d.next++
	}
	n := copy(p, d.unread)
	d.unread = d.unread[n:]
	return n, nil
}

// Seek implements io.Seeker for the replay's rewind: only back to the start.
func (d *driveReader) Seek(off int64, whence int) (int64, error) {
	if off != 0 || whence != io.SeekStart {
		return 0, errors.New("daemon: the built-in drive seeks back to its start only")
	}
	d.next, d.unread = 0, nil
	return 0, nil
}
