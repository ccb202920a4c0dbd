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
// # No position, no zone
//
// The console shows no position at all, and nothing that depends on what the policy decided
// for a fix or frame: the receiver's fix quality, satellites and fix age, counts of what came
// in, the policy's version, the log's and the eMMC's state. A technician watching it cannot
// tell where the car is or was, nor when it met a zone. The daemon's log lines reach it
// through a LogRing, which cuts numbers that could be coordinates and the values of keys that
// could name a zone.
package console
