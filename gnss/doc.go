// Package gnss turns a GNSS receiver's NMEA 0183 byte stream into fixes.
//
// # Data path
//
// Bytes come from a Source (serial port, file replay, pty simulator). A Decoder cuts them
// into sentences (the framer), decodes the sentences geogate uses (RMC, GGA, GNS, GLL, VTG,
// GSA, GSV, ZDA, GST from every talker, NMEA 2.x to 4.11 layouts) and merges the sentences of
// one receiver epoch into one Fix. Everything runs in fixed buffers owned by the Decoder:
// after NewDecoder, no call allocates.
//
// # Framing
//
// Any byte stream is accepted. A sentence starts at '$' or '!' and ends at CR or LF (CR, LF
// and CR LF all work). A new start character resyncs at once, so garbage, partial lines,
// binary protocols and terminal escape codes cost at most the line they hit. Lines with
// control or non-ASCII bytes, lines longer than MaxSentence (twice NMEA's 80 characters, for
// receivers that overrun the standard) and lines with a bad checksum are dropped and counted
// by Reason in Stats. Sentences without a checksum are dropped unless Config.NoChecksumOK.
//
// # Decoding
//
// A sentence is applied whole or not at all: a bad field or a value out of its physical
// range (latitude beyond 90 degrees, minute 60, month 13, negative speed...) rejects it.
// Numbers are parsed from the bytes as exact integers; a coordinate "ddmm.mmmm" becomes
// degrees by one division of the integer minutes, so positions round like gpsd's.
//
// # Epochs
//
// Sentences with the same UTC time of day form one epoch; a new time closes it, and so does
// the learned cycle-ending sentence (as in gpsd). The date comes from RMC or ZDA and is
// carried to later epochs; a date before Config.DateFloor is a GPS week rollover and is moved
// forward by 1024 weeks. Each Fix carries Received (the local clock when it was completed,
// passed in by the caller) and Valid, so later stages can fail closed.
//
// # Usage
//
//	d := gnss.NewDecoder(gnss.Config{})
//	err := d.Scan(src, time.Now, func(f *gnss.Fix) error {
//		if f.Usable(time.Now(), 2*time.Second) {
//			// use f.Lat, f.Lon
//		}
//		return nil
//	})
//
// Or, to drive it from one's own read loop:
//
//	n, _ := src.Read(buf)
//	for p := buf[:n]; len(p) > 0; {
//		k, _ := d.Feed(p, now)
//		p = p[k:]
//		for f, ok := d.Next(); ok; f, ok = d.Next() {
//			// use f
//		}
//	}
package gnss
