// Package gnsstest holds fakes for testing code that reads GNSS receivers: a scripted byte
// source with the methods of gnss.Source. The simulated receiver that the daemon ships is
// package [github.com/geogate/geogate/gnss/sim].
//
// It does not import package gnss, so gnss's own internal tests can use it too.
package gnsstest
