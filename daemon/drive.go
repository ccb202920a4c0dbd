package daemon

import (
	"bytes"
	"sync"
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

// BeidaiheDrive returns the built-in simulated receiver output: NMEA 0183 (RMC, GGA, GSA) at
// 10 Hz for a car at 30 m/s (108 km/h) on the drive above, starting at start (UTC; the
// daemon passes the current time, so records are dated like a real drive's).
func BeidaiheDrive(start time.Time) []byte {
	return sim.Generator{}.Bytes(sim.Route(start, 10, 30, driveWaypoints...))
}

// driveReader generates the built-in drive on first use, in the simulator's goroutine rather
// than on the way to READY (it takes a sixth of a second). It is a Seeker so the replay can
// loop it.
type driveReader struct {
	once  sync.Once
	start time.Time
	r     *bytes.Reader
}

func (d *driveReader) init() { d.once.Do(func() { d.r = bytes.NewReader(BeidaiheDrive(d.start)) }) }

// Read implements io.Reader.
func (d *driveReader) Read(p []byte) (int, error) { d.init(); return d.r.Read(p) }

// Seek implements io.Seeker.
func (d *driveReader) Seek(off int64, whence int) (int64, error) {
	d.init()
	return d.r.Seek(off, whence)
}
