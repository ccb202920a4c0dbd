// Package audit is the unit's tamper-evident audit trail: an append-only log, apart from the
// data log, of what the unit did (policies loaded and rejected, console sessions, exports and
// uploads, key events, power failures, storage faults, decision counts per interval), never
// where the car was. The entries are the leaves of an RFC 6962 Merkle tree, as in a
// transparency log; the unit signs checkpoints (tree size and root hash, in the C2SP
// tlog-checkpoint signed-note format) with its own Ed25519 key. Anyone holding the verifier
// key can check the whole log (Verify), that an entry is in it (InclusionProof) and that a
// later checkpoint extends an earlier one (ConsistencyProof), so a changed, removed,
// reordered or inserted entry, a forged checkpoint and a rolled-back one all show.
//
// docs/AUDIT.md describes the files byte by byte and how a processor verifies them.
//
// # Writing
//
// One goroutine owns the file. Record queues an entry without blocking or allocating and
// drops (and counts, and later logs the count) when the queue is full; entries other than
// decision counts are fsynced and checkpointed as soon as they are written, decision counts
// within Options.SyncInterval. Append writes one entry durably and returns the checkpoint that
// covers it, for an export to carry.
//
//	l, err := audit.Open("/var/lib/geogate/audit", audit.Options{KeyFile: "/var/lib/geogate/audit.key"})
//	if err != nil {
//		return err // say so loudly; the daemon runs on without an audit trail
//	}
//	defer l.Close()
//	l.Record(audit.Entry{Kind: audit.PolicyLoaded, ID: "cn-sample", Version: 3, Key: "9f2c61d0a8b4e517"})
//	cp, err := l.Checkpoint() // cp.Signed travels with the export
//
// # Checking
//
//	v, _ := audit.ReadVerifier("unit-123.pub")
//	rep, err := audit.Verify("audit-copy/", v, lastSeen) // lastSeen: an earlier checkpoint
package audit
