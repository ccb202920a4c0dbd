package console

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The daemon's answers to the console's commands over the control socket (package control):
// counts, states and versions of the receiver, the camera and the log, none of which depends
// on what the policy decided for any fix or frame. No answer holds a coordinate, a zone, the
// verdict on the latest fix or a count that rises only in a zone (TestConsoleZoneBlind in
// package daemon compares every output over a drive through Beidaihe with the same drive
// while the zones lie elsewhere).

// Control socket commands the console uses besides "status" and "health".
const (
	CmdGNSS    = "gnss"
	CmdCamera  = "camera"
	CmdPolicy  = "policy"
	CmdStorage = "storage"
	CmdLog     = "log"
	CmdReload  = "reload"
	CmdExport  = "export"
	// CmdExportStatus asks for the state of the latest export (Export).
	CmdExportStatus = "export.status"
	// CmdEvent reports a console event (Event) for the daemon's audit trail.
	CmdEvent = "console.event"
)

// Event is what the console reports to the daemon for its audit trail: a command line's
// outcome, or a session event (unlocked, a failed unlock, locked, exit). Every field comes
// from a fixed vocabulary that Valid checks (the daemon refuses anything else), so nothing
// typed at the console (an unknown word, a command's arguments, a token) and nothing it
// printed can reach the audit trail.
type Event struct {
	// Cmd is the command's name, one of the console's commands; empty for a line that
	// names none and for session events.
	Cmd string `json:"cmd,omitempty"`
	// Outcome is what came of it.
	Outcome Outcome `json:"outcome"`
	// Scope is the session's scope when it happened (after an unlock: the new one).
	Scope string `json:"scope"`
	// Failures counts the failed unlocks in a row (failed unlock and back-off only).
	Failures int `json:"failures,omitempty"`
	// Reason says which check refused a token (failed unlock only): a TokenReason.
	Reason string `json:"reason,omitempty"`
}

// Outcome is what came of a console line or session.
type Outcome string

// Outcomes of Event.
const (
	Ran           Outcome = "ran"                      // the command ran (its errors are the daemon's)
	RefusedLocked Outcome = "refused: locked"          // the console was locked
	RefusedScope  Outcome = "refused: out of scope"    // the session's scope does not allow it
	UnknownCmd    Outcome = "unknown command"          // what was typed is not recorded
	TooLong       Outcome = "refused: line too long"   // over MaxLine
	Unlocked      Outcome = "unlocked"                 // session: a token was accepted
	UnlockFailed  Outcome = "unlock failed"            // session: a token was refused (Reason)
	BackedOff     Outcome = "unlock refused: back-off" // session: too many failures
	Locked        Outcome = "locked"                   // session: the lock command
	IdleLocked    Outcome = "locked: idle"             // session: the idle timeout
	Exited        Outcome = "exit"                     // session: the exit command
	Ended         Outcome = "terminal ended"           // session: the terminal went away
)

// session reports the outcomes that are session events.
var session = map[Outcome]bool{Unlocked: true, UnlockFailed: true, BackedOff: true, Locked: true, IdleLocked: true, Exited: true, Ended: true}

// tokenReasons names each token error for Event.Reason.
var tokenReasons = []tokenReason{
	{ErrTokenMalformed, "malformed"}, {ErrTokenSignature, "signature"}, {ErrTokenDevice, "other device"},
	{ErrTokenNonce, "other nonce (replayed or stale)"}, {ErrTokenExpired, "expired"}, {ErrTokenTTL, "lives too long"},
	{ErrTokenScope, "unknown scope"}, {ErrNoTokenKeys, "no token keys"},
}

type tokenReason struct {
	err  error
	name string
}

// noToken is the Reason of an unlock without a token.
const noToken = "no token"

// TokenReason names which check refused a token: "expired", "other device", ...
func TokenReason(err error) string {
	for _, r := range tokenReasons {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// Session reports whether e is a session event (audit.ConsoleSession) rather than a
// command (audit.ConsoleCommand).
func (e Event) Session() bool { return session[e.Outcome] }

// Valid checks that every field of e is from its vocabulary.
func (e Event) Valid() error {
	if _, known := commands[e.Cmd]; e.Cmd != "" && !known {
		return fmt.Errorf("%w: command %q", ErrEvent, printable(e.Cmd, 20))
	}
	if !session[e.Outcome] {
		switch e.Outcome {
		case Ran, RefusedLocked, RefusedScope, UnknownCmd, TooLong:
		default:
			return fmt.Errorf("%w: outcome %q", ErrEvent, printable(string(e.Outcome), 40))
		}
	}
	switch e.Scope {
	case ScopeNone.String(), ScopeRead.String(), ScopeOperate.String():
	default:
		return fmt.Errorf("%w: scope %q", ErrEvent, printable(e.Scope, 20))
	}
	if e.Failures < 0 || e.Failures > 1<<20 {
		return fmt.Errorf("%w: %d failures", ErrEvent, e.Failures)
	}
	if e.Reason != "" && e.Reason != noToken && e.Reason != "other" && !slices.ContainsFunc(tokenReasons, func(r tokenReason) bool { return r.name == e.Reason }) {
		return fmt.Errorf("%w: reason %q", ErrEvent, printable(e.Reason, 40))
	}
	return nil
}

// String is the event as the audit trail's detail: "gnss: ran (read-only)", "unlock failed
// (3 in a row): expired (locked)".
func (e Event) String() string {
	var b strings.Builder
	if e.Cmd != "" {
		b.WriteString(e.Cmd + ": ")
	}
	b.WriteString(string(e.Outcome))
	if e.Failures > 0 {
		fmt.Fprintf(&b, " (%d in a row)", e.Failures)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	b.WriteString(" (" + e.Scope + ")")
	return b.String()
}

// GNSS is the receiver's state.
type GNSS struct {
	// State is "gnss fix", "gnss no fix (stale)", "gnss absent" or "gnss down".
	State string `json:"state"`
	// Quality is the GGA fix quality of the latest fix (0 invalid, 1 GPS, 2 DGPS, 4 RTK
	// fixed, 5 RTK float, 6 dead reckoning); QualityName names it.
	Quality     uint8  `json:"quality"`
	QualityName string `json:"quality_name"`
	// Mode is "no fix", "2D" or "3D".
	Mode string `json:"mode"`
	// Satellites is how many satellites the latest fix used.
	Satellites uint8 `json:"satellites"`
	// HDOPx10 is the latest fix's horizontal dilution of precision times ten, 0 unknown.
	HDOPx10 int `json:"hdop_x10"`
	// Fixes, Sentences and Bytes count since start; the rates are per second since start.
	Fixes, Sentences, Bytes uint64
	FixesPerSecX10          int `json:"fixes_per_s_x10"`
	SentencesPerSecX10      int `json:"sentences_per_s_x10"`
	// Rejected counts the decoder's rejected sentences by reason ("checksum", "truncated", ...).
	Rejected map[string]uint64 `json:"rejected,omitempty"`
	// Dropped counts fixes the loop was too busy to take; Reconnects the device's reconnects.
	Dropped, Reconnects uint64
	// AgeX10 is the latest fix's age by the local clock in tenths of a second; -1: none yet.
	// The console shows no position at all: the fix's quality, satellites and age say
	// whether the receiver works.
	AgeX10 int `json:"age_x10"`
}

// Camera is the camera's state.
type Camera struct {
	// Source is "v4l2", "synthetic" or "off"; Format, Width, Height and FPS are configured.
	Source        string `json:"source"`
	Format        string `json:"format"`
	Width, Height int
	FPS           int `json:"fps"`
	// Up is true while the device is open.
	Up bool `json:"up"`
	// Frames counts frames captured since start; FramesPerSecX10 is their rate times ten.
	Frames          uint64 `json:"frames"`
	FramesPerSecX10 int    `json:"frames_per_s_x10"`
	// Drops counts frames lost before the policy saw them, by reason in gate's vocabulary
	// ("backlog", "too-large", "bad-frame"). What the gate dropped after the policy's
	// decision is not here: those counts (even "rate" or "no-store") rise or stall with the
	// zones the car drives through.
	Drops map[string]uint64 `json:"drops,omitempty"`
	// ReadErrors, OpenFailures and Reconnects count the device's troubles.
	ReadErrors, OpenFailures, Reconnects uint64
}

// Policy describes the policy in force, never its geometry.
type Policy struct {
	// Loaded is false when none is in force (nothing is stored).
	Loaded  bool   `json:"loaded"`
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	// Signature is "verified (ed25519, N trusted keys)" or "UNSIGNED (no policy.trusted_keys)".
	Signature string `json:"signature"`
	// Expiry is when the bundle stops being valid (RFC 3339, UTC), "none" for a bundle without
	// one, followed by " (EXPIRED: nothing is stored)" once it has passed.
	Expiry string `json:"expiry"`
	// Zones counts the zones; Tier names the tier stored data belongs to.
	Zones int    `json:"zones"`
	Tier  string `json:"tier"`
}

// Storage is the encrypted log's state: whether it stores, its quota, a full disk and the
// eMMC's wear. Not its segments, bytes, seqs or fdatasyncs: those grow with what the policy
// lets through (a frame dropped in a zone leaves no record; a segment of placeholders seals
// at another byte than one of fixes), so watching them would tell when the car met a zone.
// "geogate store ls" shows them to whoever holds the device key.
type Storage struct {
	// Storing is false while nothing is stored; Why says why.
	Storing bool   `json:"storing"`
	Why     string `json:"why,omitempty"`
	// QuotaBytes is the cap on the log's size (storage.quota_mb).
	QuotaBytes int64 `json:"quota_bytes"`
	// Full is true while the disk is full and records are lost; Dropped counts the records
	// lost to a full disk since start.
	Full    bool   `json:"full"`
	Dropped uint64 `json:"dropped"`
	// EMMC is the eMMC's wear, one line per device, or why it is not known.
	EMMC []string `json:"emmc"`
}

// LogTail is the daemon's latest log lines, desensitized by a LogRing.
type LogTail struct {
	Lines []string `json:"lines"`
}

// Reload is the outcome of a policy reload.
type Reload struct {
	// Version is the policy version in force after the reload; Changed whether it changed.
	Version uint64 `json:"version"`
	Changed bool   `json:"changed"`
}

// ExportArgs are the export command's arguments.
type ExportArgs struct {
	// To is the licensed recipient's age X25519 public key (age1...).
	To string `json:"to"`
}

// Export is the state of the daemon's latest export: CmdExport starts one and answers at
// once (ExportRunning), CmdExportStatus tells how far it got. The daemon runs one at a time.
type Export struct {
	// ID numbers the exports since the daemon started, from 1; 0: none yet.
	ID int `json:"id"`
	// File is where the encrypted export goes (under the daemon's data directory). The file
	// has this name only once complete and fsynced: an export that fails or is cut short
	// leaves nothing by it.
	File string `json:"file"`
	// State is ExportRunning, ExportDone or ExportFailed.
	State string `json:"state"`
	// Records and Bytes count what was written so far; Total is how many records the export
	// writes (those stored when it began), -1 while they are being counted.
	Records int   `json:"records"`
	Total   int   `json:"total"`
	Bytes   int64 `json:"bytes"`
	// SHA256 is the file's SHA-256 (hex) once done, as in the audit trail's export entry.
	SHA256 string `json:"sha256,omitempty"`
	// Err says why a failed export failed.
	Err string `json:"err,omitempty"`
}

// States of Export.
const (
	ExportRunning = "running"
	ExportDone    = "done"
	ExportFailed  = "failed"
)
