// Package sim is the simulated GNSS receiver that `geogate run -dev` (and so `make run`)
// ships: a pseudo-terminal that plays NMEA 0183 into the real serial code, and a generator of
// the sentences a receiver sends on a drive.
//
// It does not import package gnss, so gnss's own tests can use it too.
//
// # Pseudo-terminal receiver
//
// [Receiver] plays a capture into the master side of a pty and exposes the slave side under a stable
// path, so the real serial code (github.com/tarm/serial, termios, hang-up handling) reads it.
// [Receiver.Unplug] and [Receiver.Replug] imitate a USB receiver pulled out and plugged back:
//
//	s, err := sim.New(sim.Config{Data: capture, LineDelay: 10 * time.Millisecond})
//	...
//	src, err := gnss.NewSerial(gnss.SerialConfig{Device: s.Path()})
//
// # Synthetic drives
//
// [Route] samples a drive along WGS-84 waypoints at a fixed speed and rate; a [Generator]
// turns samples into RMC, GGA, GSA and optionally VTG sentences with correct checksums:
//
//	samples := sim.Route(start, 10, 13.9, sim.Point{Lat: 39.9, Lon: 116.3}, sim.Point{Lat: 39.91, Lon: 116.3})
//	nmea := sim.Generator{VTG: true}.Bytes(samples)
package sim
