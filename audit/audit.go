package audit

import "errors"

// Errors callers branch on; test them with errors.Is. Verify wraps one of them for every
// way a log can fail its check.
var (
	// ErrCorrupt means a log file's bytes are damaged: a bad header, frame length or
	// checksum, or an entry out of sequence, inside what a checkpoint covers.
	ErrCorrupt = errors.New("audit: log corrupt")
	// ErrTorn means the log ends inside a frame (a write cut by a crash). Open cuts such a
	// tail when no checkpoint covers it; Verify reports it.
	ErrTorn = errors.New("audit: torn last entry")
	// ErrEntry means an entry does not decode, or is not in canonical form.
	ErrEntry = errors.New("audit: bad entry")
	// ErrVersion means a log or entry of a format version this geogate does not read.
	ErrVersion = errors.New("audit: unsupported format version")
	// ErrSignature means a checkpoint's signature is missing, wrong, by another key, or not
	// in canonical form.
	ErrSignature = errors.New("audit: checkpoint signature invalid")
	// ErrCheckpoint means a signed checkpoint's body is malformed.
	ErrCheckpoint = errors.New("audit: malformed checkpoint")
	// ErrRoot means the log's entries do not hash to the checkpoint's root: an entry was
	// changed, removed, reordered or inserted.
	ErrRoot = errors.New("audit: log does not match its checkpoint")
	// ErrTruncated means the log has fewer entries than its checkpoint.
	ErrTruncated = errors.New("audit: log shorter than its checkpoint")
	// ErrUnsigned means the log has entries after its checkpoint: written but never
	// checkpointed (a crash; the unit checkpoints them when it next opens the log), or
	// appended by someone else.
	ErrUnsigned = errors.New("audit: entries not covered by the checkpoint")
	// ErrRollback means a checkpoint covers fewer entries than one seen before.
	ErrRollback = errors.New("audit: checkpoint rolled back")
	// ErrProof means an inclusion or consistency proof does not hold.
	ErrProof = errors.New("audit: proof does not verify")
	// ErrKey means the signing or verifier key is unusable.
	ErrKey = errors.New("audit: bad key")
	// ErrClosed means the Log was closed.
	ErrClosed = errors.New("audit: log closed")
)
