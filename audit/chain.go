package audit

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ProveConsistency returns the proof that the log of its first oldSize entries is a prefix
// of the log of its first newSize, both covered by checkpoints this Log signed: what the
// uploader sends with an export, from the checkpoint of the export it sent before. oldSize
// 0 gives the empty proof (the empty log is a prefix of every log). It reads the log file
// and rebuilds its tree (about 64 bytes an entry, see Tree), so it costs a read of the log;
// it may run while the writer appends.
func (l *Log) ProveConsistency(oldSize, newSize int64) (*ConsistencyProof, error) {
	if oldSize < 0 || oldSize > newSize || newSize > l.size.Load() {
		return nil, fmt.Errorf("%w: no consistency proof from %d to %d entries in a log of %d", ErrProof, oldSize, newSize, l.size.Load())
	}
	if oldSize == 0 {
		return &ConsistencyProof{Old: 0, New: newSize}, nil
	}
	entries, err := ReadEntries(l.dir)
	// The writer may be appending a frame: what lies before newSize is whole and synced.
	if int64(len(entries)) < newSize {
		return nil, fmt.Errorf("audit: prove consistency: %d of %d entries readable: %w", len(entries), newSize, err)
	}
	t := NewTree(newSize)
	for _, p := range entries[:newSize] {
		t.AppendEntry(p)
	}
	return t.ProveConsistency(oldSize, newSize)
}

// Link is one checkpoint a processor received (with an export) and the consistency proof
// that came with it, from the checkpoint of the export before.
type Link struct {
	// Name says where the checkpoint came from (an object name), for messages.
	Name string
	// Checkpoint is the signed checkpoint, its signature already checked.
	Checkpoint Checkpoint
	// Proof shows that the log of an earlier checkpoint (Proof.Old entries) is a prefix
	// of this one's. Nil: none came with it.
	Proof *ConsistencyProof
}

// CheckChain checks that links, checkpoints of one log received one by one, describe one
// append-only log: ordered by size, each link's proof must start at the size of the link
// before (or at since's size for the first link, or 0 when since is nil) and verify
// against both checkpoints. Two checkpoints of the same size with different roots (a fork)
// and any proof that does not hold fail with ErrProof; a missing proof or one that starts
// elsewhere (a gap: an export the processor did not receive) fails with ErrProof too,
// naming the link, so every received checkpoint is tied to its predecessor.
func CheckChain(since *Checkpoint, links []Link) error {
	ls := slices.Clone(links)
	slices.SortStableFunc(ls, func(a, b Link) int { return cmp.Compare(a.Checkpoint.Size, b.Checkpoint.Size) })
	if len(ls) == 0 {
		return nil
	}
	prev, prevName := Checkpoint{Origin: ls[0].Checkpoint.Origin}, "the empty log"
	if since != nil {
		prev, prevName = *since, "the trusted checkpoint"
	}
	var errs []error
	for _, l := range ls {
		cp := l.Checkpoint
		switch {
		case cp.Origin != prev.Origin:
			errs = append(errs, fmt.Errorf("%w: %s is of log %q, %s of %q", ErrProof, l.Name, cp.Origin, prevName, prev.Origin))
			continue
		case cp.Size == prev.Size:
			if cp.Root != prev.Root {
				errs = append(errs, fmt.Errorf("%w: %s and %s both sign %d entries with different roots: the log forked", ErrProof, l.Name, prevName, cp.Size))
			}
			continue // the same checkpoint again
		case l.Proof == nil:
			errs = append(errs, fmt.Errorf("%w: %s came without a consistency proof", ErrProof, l.Name))
		case l.Proof.Old != prev.Size:
			errs = append(errs, fmt.Errorf("%w: %s's proof starts at %d entries, %s has %d (a checkpoint in between is missing)", ErrProof, l.Name, l.Proof.Old, prevName, prev.Size))
		default:
			if err := prev.Consistent(cp, l.Proof); err != nil {
				errs = append(errs, fmt.Errorf("%s after %s: %w", l.Name, prevName, err))
			}
		}
		prev, prevName = cp, l.Name
	}
	return errors.Join(errs...)
}
