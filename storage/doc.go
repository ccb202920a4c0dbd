// Package storage is geogate's encrypted, crash-safe, append-only log of typed records:
// segment files on the unit's eMMC that never return a corrupt record and never lose a
// record they acknowledged as durable. It knows nothing of fixes, frames or policy: a
// record is a Type (chosen by the caller), a timestamp and a payload.
//
// # Encryption
//
// Every segment has a fresh random data key, wrapped (AES-256-GCM) by a key derived with
// HKDF-SHA256 from the 32-byte device key and a per-segment salt. Records are sealed with
// AES-256-GCM (default) or XChaCha20-Poly1305, which bind each record to
// its segment id, sequence number, type, timestamp and length, so records cannot be
// altered, reordered, replayed or moved between segments undetected. Type and timestamp
// are sealed with the payload: the clear framing is a frame's length, sequence number and
// CRC, which recovery needs. A caller that drops a record appends a placeholder of the
// same size instead (AppendPlaceholder), so the stream shows no gap; readers skip it.
// Nothing is stored in the clear. docs/FORMAT.md documents every byte.
//
// # Durability
//
// Append copies a record into one of three preallocated buffers and returns its sequence
// number without encrypting or touching the disk, so the caller's loop never waits on
// either. The buffers form a pipeline: sealer goroutines encrypt frames in place, in runs
// of about 64 KiB: the first sealer in the buffer Append fills (behind Append), and, when it
// falls behind, the others (one per CPU, up to four) in the buffer handed off before it;
// meanwhile a flusher goroutine writes the buffer before that, every SyncInterval (group
// commit), or sooner when SyncBytes are buffered or a caller waits, and a syncer goroutine
// calls fdatasync on what was written, so that the disk flushes one batch while the next is
// written. Once synced, the written pages are dropped from the page cache (the log never
// reads them back; a TCU's memory is better spent elsewhere). A payload is in the clear
// only in process memory, and only until it is sealed: no byte reaches a file before that.
// Durable reports the highest sequence number on disk; WaitDurable and Sync wait for it.
// Segments are preallocated with fallocate, created under a temporary name and renamed, and
// the directory is fsynced on every create, rename and delete.
//
// # Recovery
//
// Open reads the index of every sealed segment and scans any segment that was not sealed
// (a power cut): it keeps every record that authenticates, cuts the torn tail after the
// last one, seals the segment and reports what it found in a Recovery. Zeros (unused
// preallocated space) end a segment. A corrupt record is skipped and reported; the frames
// after it are found again even if its length field was hit, in one pass over the segment.
// A segment recovery cannot read is never cut or erased: it is set aside under a quarantine
// name and reported. Every segment starts with a chain frame binding the one before it, so
// Reader reports deleted, reordered, duplicated and cut segments (ErrChain).
//
// # Retention
//
// Segments roll by size and age. The oldest sealed segments are erased to keep under a
// byte Quota, and a sealed segment holding a record type older than that type's MaxAge is
// erased whole; if older segments are kept, it leaves a tombstone in its place that keeps
// the chain and tells readers which records retention erased (Reader lists it in
// SegmentInfo.Erased), removed once it is the oldest. A full disk (ENOSPC) erases the oldest sealed segments too, but never the
// newest KeepSegments (the retention floor); beyond that the log drops and counts new
// records (Stats.Dropped, ErrNoSpace) and writes again by itself once space returns. Erasure is crypto-erasure: the wrapped key is
// overwritten and synced before the file is unlinked.
//
// # Usage
//
//	l, err := storage.Open("/var/lib/geogate/log", storage.Options{Key: key})
//	if err != nil {
//		return err
//	}
//	defer l.Close()
//	seq, err := l.Append(typeFix, fix.Time, payload) // no allocation, no disk wait
//	...
//	if l.Durable() >= seq { /* the record survives a power cut */ }
//
// Reader lists, verifies and reads a log directory for the tools (geogate store).
package storage
