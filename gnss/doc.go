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
// A cycle without time (RMC/GGA/GNS/GLL with empty time fields, or an untimed sentence such as
// VTG repeating while the receiver's timed sentences are rejected) is an epoch of its own: the
// first sentence with a time starts a new one, so the receiver's last no-fix statement does
// not invalidate its first fix.
//
// Where two sentences of one epoch give positions further apart, in latitude or longitude,
// than one unit of the coarser one's last minute digit (10^-p/60 degree for p minute
// decimals: more than rounding or truncating the same solution explains), the epoch is
// counted in Stats.PosConflicts. The Fix keeps the position chosen as always: more minute
// digits, then GGA over GNS over RMC over GLL, then the first sent.
//
// # Validity
//
// A Fix is Valid when it has a position, some sentence of its epoch says the position is
// valid (RMC or GLL status A, GGA quality above 0, a GNS mode letter other than N, GSA fix
// type 2 or 3) and none says it is not: RMC or GLL status V, mode indicator N in RMC, GLL or
// VTG, GNS mode letters all N, GGA quality 0, GSA fix type 1. A fix that is not Valid has
// Mode ModeNoFix, as gpsd reports an unusable fix (TPV mode 1); the position the receiver
// printed anyway stays in Lat and Lon for diagnostics and must not be used.
//
// NMEA 4.10 adds a navigational status to RMC and GNS (their last field), the receiver's own
// integrity verdict. It is reported in Fix.NavStatus (the worst of the epoch) and acts so:
//
//   - V, "equipment does not provide navigational status", is NavNone: no effect. u-blox
//     M8/M9/F9, Quectel, Unicore, SkyTraq, Furuno and most 4.10 receivers send V in every RMC,
//     valid fix or not; validity comes from the fields above.
//   - S (safe) is NavSafe: no effect.
//   - C (caution) is NavCaution: the fix stays Valid, carries the flag and is counted in
//     Stats.Caution. The receiver says its integrity limits are approached, not exceeded.
//   - U (unsafe) is NavUnsafe: the receiver's integrity monitoring failed, so geogate fails
//     closed: the fix is not Valid (Mode ModeNoFix) and Stats.Unsafe counts it.
//
// Where gpsd differs (driver_nmea0183.c): gpsd ignores RMC's navigational status altogether,
// so it keeps an RMC marked U; geogate does not, because an unsafe fix must not decide what is
// stored. gpsd drops a GNS position whose status is U or V and judges GNS by its first (GPS)
// mode letter only; geogate takes V as "not given" there too and a GNS solution as valid when
// any constellation's mode is not N (the Furuno GL-GA sends NDD: GPS not used, GLONASS and
// Galileo differential). gpsd takes GGA's position whatever its quality, so its TPV for an
// epoch with GGA quality 0 or RMC status V can still carry lat/lon with mode 2 or 3 (the
// mtk-3301, tr737A+ and Garmin simulator-mode captures); geogate's fix is not Valid.
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
