// Package anonymize masks faces and vehicle number plates in camera frames before geogate
// stores them, for policy tiers with anonymize = true. Detection runs in a separate process
// (a unit's NPU detector, or the reference Haar sidecar tools/detector/haar.py) reached over a
// Unix socket with a small versioned binary protocol (docs/ANONYMIZE.md); masking runs here,
// in pure Go.
//
// # Fail closed
//
// Anonymize returns a masked frame or an error, never the frame as captured: no detector, a
// crash, a malformed answer, an answer after the deadline, a frame it cannot decode all return
// one of the sentinel errors, and the gate drops the frame and counts it.
//
// # Masking
//
// Every returned box, widened by 10% on each side, is pixelated into cells of at least 8
// pixels, Cells across its longer side, in every plane (luma and chroma). YUYV and NV12 are
// masked in place without allocating; MJPEG is decoded and re-encoded (image/jpeg allocates).
//
// # Example
//
//	a := &anonymize.Anonymizer{Detector: anonymize.Detector{Socket: "/run/geogate-detector/detector.sock"}}
//	masked, err := a.Anonymize(buf, frame)
//	if err != nil {
//		// drop the frame: it could not be anonymized
//	}
package anonymize
