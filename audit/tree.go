package audit

import (
	"crypto/sha256"
	"fmt"
	"hash"

	"golang.org/x/mod/sumdb/tlog"
)

// The tree is RFC 6962's (as in Certificate Transparency, the Go checksum database and C2SP
// tlog-checkpoint): a leaf hashes SHA-256(0x00 || entry), an inner node SHA-256(0x01 || left
// || right). Proofs are made and checked by golang.org/x/mod/sumdb/tlog.

// leafHasher computes leaf hashes without allocating: it owns one SHA-256 state.
type leafHasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

var leafPrefix = [1]byte{0}

func newLeafHasher() *leafHasher { return &leafHasher{h: sha256.New()} }

// hash returns tlog.RecordHash(entry) without allocating.
func (l *leafHasher) hash(entry []byte) tlog.Hash {
	l.h.Reset()
	l.h.Write(leafPrefix[:])
	l.h.Write(entry)
	return tlog.Hash(l.h.Sum(l.sum[:0]))
}

// edge is the right edge of the tree: the roots of its perfect subtrees, largest first (one
// per bit set in the size). It is all the writer needs to append and to compute the root,
// so the unit's memory does not grow with its log.
type edge struct {
	n      int64
	k      int
	hashes [64]tlog.Hash // 64: one per bit of the size
}

// append adds the leaf hash h. It does not allocate.
func (e *edge) append(h tlog.Hash) {
	e.hashes[e.k] = h
	e.k++
	for m := e.n; m&1 == 1; m >>= 1 { // every trailing 1 bit of the old size: two equal subtrees merge
		e.k--
		e.hashes[e.k-1] = tlog.NodeHash(e.hashes[e.k-1], e.hashes[e.k])
	}
	e.n++
}

// root returns the tree hash (tlog.TreeHash's value: zero for the empty tree).
func (e *edge) root() tlog.Hash {
	if e.k == 0 {
		return tlog.Hash{}
	}
	h := e.hashes[e.k-1]
	for i := e.k - 2; i >= 0; i-- {
		h = tlog.NodeHash(e.hashes[i], h)
	}
	return h
}

// Tree is a whole tree held in memory as tlog's stored hashes (about two per entry, 32
// bytes each, in one slice: 64 MB for a million entries), for making proofs and checking a
// log. The unit's writer keeps only the right edge.
type Tree struct {
	n      int64
	hashes []tlog.Hash // indexed by tlog.StoredHashIndex
}

// NewTree returns an empty tree with room for n entries.
func NewTree(n int64) *Tree {
	return &Tree{hashes: make([]tlog.Hash, 0, tlog.StoredHashCount(n))}
}

// Size returns the number of entries.
func (t *Tree) Size() int64 { return t.n }

// AppendEntry adds an encoded entry as the next leaf.
func (t *Tree) AppendEntry(entry []byte) { t.AppendHash(tlog.RecordHash(entry)) }

// AppendHash adds the next leaf by its hash (tlog.RecordHash of the entry), storing the
// hashes tlog.StoredHashes would: the leaf, then each inner node it completes.
func (t *Tree) AppendHash(h tlog.Hash) {
	n := t.n
	t.hashes = append(t.hashes, h)
	for level := 0; (n>>level)&1 == 1; level++ {
		left := t.hashes[tlog.StoredHashIndex(level, (n>>level)-1)]
		h = tlog.NodeHash(left, h)
		t.hashes = append(t.hashes, h)
	}
	t.n++
}

// ReadHashes implements tlog.HashReader.
func (t *Tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, fmt.Errorf("audit: stored hash %d of %d", x, len(t.hashes))
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

// Root returns the hash of the tree's first n entries.
func (t *Tree) Root(n int64) (tlog.Hash, error) {
	if n < 0 || n > t.n {
		return tlog.Hash{}, fmt.Errorf("%w: tree of %d entries has no prefix of %d", ErrProof, t.n, n)
	}
	return tlog.TreeHash(n, t)
}

// ProveConsistency returns the proof that the tree of the first oldSize entries is a prefix
// of the tree of the first newSize.
func (t *Tree) ProveConsistency(oldSize, newSize int64) (*ConsistencyProof, error) {
	if oldSize < 1 || oldSize > newSize || newSize > t.n {
		return nil, fmt.Errorf("%w: no consistency proof from %d to %d entries in a tree of %d", ErrProof, oldSize, newSize, t.n)
	}
	p, err := tlog.ProveTree(newSize, oldSize, t)
	if err != nil {
		return nil, fmt.Errorf("audit: prove consistency: %w", err)
	}
	return &ConsistencyProof{Old: oldSize, New: newSize, Hashes: p}, nil
}

// ProveInclusion returns the proof that entry (which must be the index-th) is in the tree of
// the first size entries.
func (t *Tree) ProveInclusion(index, size int64, entry []byte) (*InclusionProof, error) {
	if index < 0 || index >= size || size > t.n {
		return nil, fmt.Errorf("%w: no inclusion proof of entry %d in %d entries, tree of %d", ErrProof, index, size, t.n)
	}
	p, err := tlog.ProveRecord(size, index, t)
	if err != nil {
		return nil, fmt.Errorf("audit: prove inclusion: %w", err)
	}
	return &InclusionProof{Index: index, Size: size, Entry: append([]byte(nil), entry...), Hashes: p}, nil
}
