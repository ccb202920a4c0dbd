package anonymize

import "errors"

// Errors the gate counts a dropped frame under; test them with errors.Is. Every one of them
// means the frame was not anonymized and must not be stored.
var (
	// ErrNoDetector: nothing listens on the detector socket (not started, not installed, or
	// the socket path is wrong). Start the detector service, or check anonymize.socket.
	ErrNoDetector = errors.New("anonymize: no detector")
	// ErrDetectorFailed: the connection broke during an exchange (the detector crashed or
	// closed it) or a write failed.
	ErrDetectorFailed = errors.New("anonymize: detector failed")
	// ErrTimeout: the detector did not answer within the deadline.
	ErrTimeout = errors.New("anonymize: detector too slow")
	// ErrMalformed: the detector's answer does not follow the protocol (wrong magic, version,
	// id, count, or a box that is not in the frame).
	ErrMalformed = errors.New("anonymize: malformed detector answer")
	// ErrRefused: the detector answered with an error message (it could not decode the frame).
	ErrRefused = errors.New("anonymize: detector refused the frame")
	// ErrFrame: the frame cannot be masked: an unknown format, or data that does not hold a
	// frame of its size.
	ErrFrame = errors.New("anonymize: bad frame")
	// ErrShortBuffer: the masked frame does not fit the caller's buffer.
	ErrShortBuffer = errors.New("anonymize: frame larger than buffer")
)
