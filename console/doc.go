// Package console is the serial-console diagnostics shell that a workshop technician reaches
// over the TCU's debug UART: a locked line-editing shell whose commands ask the daemon, over
// its control socket, for counts and states, never for where the car is or was.
//
// # Locked by default
//
// A Shell starts locked and prints a fresh nonce. It unlocks with a Token: an Ed25519
// signature, by one of the configured token keys, over this unit's device id, that nonce, a
// Scope (read-only or operate) and an expiry at most MaxTokenTTL ahead. A token works once:
// the nonce is spent by the unlock (and by a failed attempt), so a replayed token finds
// another nonce. After FreeFailures failed unlocks each further attempt waits twice as long
// as the one before. An idle shell locks again.
//
//	tok, _ := console.SignToken(priv, console.Token{Device: id, Nonce: n, Scope: console.ScopeRead,
//		Expires: now.Add(10 * time.Minute)})
//	scope, err := verifier.Verify(tok, n, now)
//
// # No raw position
//
// A position reaches the console only as a Position, whose fields are unexported grid
// indices: it is made from a policy decision of the public tier (coarsened, GCJ-02 where the
// policy says so) or is Withheld, and it prints at most to a thousandth of a degree.
package console
