package audit

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
)

// ReadEntries returns the encoded entries of the log in dir (its "log" file), in order. A
// damaged frame fails with ErrCorrupt, a torn last one with ErrTorn; the entries before it
// are returned with the error.
func ReadEntries(dir string) ([][]byte, error) {
	name := filepath.Join(dir, logName)
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("audit: read log: %w", err)
	}
	return splitEntries(name, data)
}

// splitEntries splits a log file's bytes into its entries (ReadEntries).
func splitEntries(name string, data []byte) ([][]byte, error) {
	if err := checkHeader(data); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out [][]byte
	for off := headerSize; off < len(data); {
		p, size, _, err := nextFrame(data[off:])
		if err != nil {
			return out, fmt.Errorf("%s: byte %d, entry %d: %w", name, off, len(out), err)
		}
		out = append(out, p)
		off += size
	}
	return out, nil
}

// Report is what Verify found.
type Report struct {
	// Entries is the number of entries in the log.
	Entries int64
	// Checkpoint is the log's checkpoint, signature checked.
	Checkpoint Checkpoint
	// KeyFromDir is true when no verifier was given and the log directory's own key.pub
	// was used: that proves integrity, not who wrote the log.
	KeyFromDir bool
	// Tree holds the whole tree, for proofs.
	Tree *Tree
}

// Verify checks the whole log in dir: its checkpoint's signature by v (nil: the key.pub in
// dir), every frame and entry, that the entries hash to the checkpoint's root and that the
// checkpoint covers them all, and that each of trusted (checkpoints of this log seen before,
// e.g. with earlier exports, their signatures already checked) is a prefix of it. The first
// failure is returned, wrapping one of the package's errors: ErrCorrupt, ErrTorn, ErrEntry,
// ErrSignature, ErrCheckpoint, ErrRoot, ErrTruncated, ErrUnsigned, ErrRollback or ErrProof.
func Verify(dir string, v note.Verifier, trusted ...Checkpoint) (*Report, error) {
	fromDir := v == nil
	if fromDir {
		var err error
		if v, err = ReadVerifier(filepath.Join(dir, pubName)); err != nil {
			return nil, err
		}
	}
	cpData, err := os.ReadFile(filepath.Join(dir, cpName))
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoint: %w", err)
	}
	logData, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		return nil, fmt.Errorf("audit: read log: %w", err)
	}
	rep, err := verify(logData, cpData, v, trusted)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", dir, err)
	}
	rep.KeyFromDir = fromDir
	return rep, nil
}

// verify is Verify on the files' contents.
func verify(logData, cpData []byte, v note.Verifier, trusted []Checkpoint) (*Report, error) {
	rep := &Report{}
	cp, err := ParseCheckpoint(cpData, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cpName, err)
	}
	rep.Checkpoint = cp
	entries, err := splitEntries(logName, logData)
	if err != nil {
		return nil, err
	}
	n := int64(len(entries))
	rep.Entries = n
	if n < cp.Size {
		return nil, fmt.Errorf("%w: %d entries, the checkpoint covers %d", ErrTruncated, n, cp.Size)
	}
	t := NewTree(n)
	for _, p := range entries {
		t.AppendEntry(p)
	}
	rep.Tree = t
	if root, err := t.Root(cp.Size); err != nil || root != cp.Root {
		return nil, fmt.Errorf("%w: the first %d entries do not hash to the checkpoint's root", ErrRoot, cp.Size)
	}
	var e Entry
	for i, p := range entries {
		if err := Decode(p, &e); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if e.Seq != uint64(i) {
			return nil, fmt.Errorf("%w: entry %d has sequence number %d", ErrCorrupt, i, e.Seq)
		}
	}
	if n > cp.Size {
		return nil, fmt.Errorf("%w: entries %d to %d", ErrUnsigned, cp.Size, n-1)
	}
	for _, old := range trusted {
		switch {
		case old.Origin != cp.Origin:
			return nil, fmt.Errorf("%w: a trusted checkpoint of %q, the log is %q", ErrProof, old.Origin, cp.Origin)
		case old.Size > cp.Size:
			return nil, fmt.Errorf("%w: the log's checkpoint covers %d entries, a trusted one %d", ErrRollback, cp.Size, old.Size)
		}
		if root, err := t.Root(old.Size); err != nil || root != old.Root {
			return nil, fmt.Errorf("%w: the log's first %d entries differ from a trusted checkpoint's", ErrProof, old.Size)
		}
	}
	return rep, nil
}
