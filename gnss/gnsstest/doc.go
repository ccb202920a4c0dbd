// Package gnsstest holds real fakes for testing code that reads GNSS receivers: a
// pseudo-terminal receiver simulator, an NMEA 0183 sentence generator for synthetic drives,
// and a scripted byte source.
//
// It does not import package gnss, so gnss's own internal tests can use it too.
//
// # Pseudo-terminal simulator
//
// [Sim] plays a capture into the master side of a pty and exposes the slave side under a stable
// path, so the real serial code (github.com/tarm/serial, termios, hang-up handling) runs in
// tests. [Sim.Unplug] and [Sim.Replug] imitate a USB receiver pulled out and plugged back:
//
//	sim, err := gnsstest.NewSim(gnsstest.SimConfig{Data: capture, LineDelay: 10 * time.Millisecond})
//	...
//	src, err := gnss.NewSerial(gnss.SerialConfig{Device: sim.Path()})
//
// # Synthetic drives
//
// [Route] samples a drive along WGS-84 waypoints at a fixed speed and rate; a [Generator]
// turns samples into RMC, GGA, GSA and optionally VTG sentences with correct checksums:
//
//	samples := gnsstest.Route(start, 10, 13.9, gnsstest.Point{Lat: 39.9, Lon: 116.3}, gnsstest.Point{Lat: 39.91, Lon: 116.3})
//	nmea := gnsstest.Generator{VTG: true}.Bytes(samples)
package gnsstest
