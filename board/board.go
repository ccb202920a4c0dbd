package board

import (
	"errors"
	"time"
)

// Conditions callers branch on. Every error this package returns names the part and the
// operation; test for these with errors.Is.
var (
	// ErrAbsent means the hardware is not there: no driver, no device node, no sysfs file, or
	// a GOOS without support. The daemon logs it once and runs without the part.
	ErrAbsent = errors.New("board: absent")

	// ErrNoKey means no device key exists at the configured place. The daemon must fail
	// closed: store nothing, say so in its status, keep running.
	ErrNoKey = errors.New("board: no device key")

	// ErrKeyInsecure means a key file is readable or writable by others, or owned by a user
	// other than the daemon's (or root). It is refused like a missing key.
	ErrKeyInsecure = errors.New("board: key file not private")

	// ErrKeyFormat means a key file does not hold exactly 64 hex digits and an optional
	// newline, or holds the all-zero key.
	ErrKeyFormat = errors.New("board: key file malformed")

	// ErrTPM means the TPM is there but a command failed (busy, in failure mode, lockout, a
	// hierarchy with a password). The key stays sealed: fail closed, try again later.
	ErrTPM = errors.New("board: tpm command failed")

	// ErrSealedElsewhere means a sealed key does not load: it was sealed by another TPM (the
	// eMMC was copied into another unit) or this TPM was cleared. It never unseals here.
	ErrSealedElsewhere = errors.New("board: key sealed by another TPM")

	// ErrPolicy means a key bound to PCRs did not unseal: no signed policy matches the PCRs
	// (the boot chain changed and no policy for it was signed) or none is configured.
	ErrPolicy = errors.New("board: no signed PCR policy authorizes the key")

	// ErrPolicyFormat means a signed policy or policy authority file is malformed, uses an
	// algorithm the TPM cannot verify, or its signature does not verify.
	ErrPolicyFormat = errors.New("board: bad signed policy")

	// ErrKeyringFormat means a keyring file of sealed keys is truncated, damaged or of an
	// unknown version.
	ErrKeyringFormat = errors.New("board: keyring file malformed")

	// ErrKeyringFull means a keyring already holds its most keys: rotations came faster than
	// retention erased the data of the oldest.
	ErrKeyringFull = errors.New("board: keyring full")

	// ErrStale is the error of a Health heartbeat that was not refreshed within its limit.
	ErrStale = errors.New("board: stale")

	// ErrClosed means the part was used after Close.
	ErrClosed = errors.New("board: closed")
)

// Clock is the time source of Health and of polled inputs, injected so tests never sleep.
// boardtest.Clock is a manual one.
type Clock interface {
	// Now returns the current time, with a monotonic reading when the clock has one.
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real Clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
