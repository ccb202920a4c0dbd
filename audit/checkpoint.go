package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/geogate/geogate/internal/atomicfile"
)

// Checkpoint is a signed statement of the log's size and root hash, in the C2SP
// tlog-checkpoint format (a signed note):
//
//	<origin>\n<size>\n<base64 root hash>\n\n— <key name> <base64 key hash || Ed25519 signature>\n
type Checkpoint struct {
	// Origin names the log (the unit); it is also the signing key's name.
	Origin string
	// Size is the number of entries covered.
	Size int64
	// Root is the Merkle tree hash of those entries.
	Root tlog.Hash
	// Signed is the whole signed note, as written to disk and sent with exports.
	Signed []byte
}

// checkpointBody formats the note text of a checkpoint.
func checkpointBody(origin string, size int64, root tlog.Hash) string {
	return origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// signCheckpoint signs a checkpoint of size and root with s; its origin is s.Name().
func signCheckpoint(s note.Signer, size int64, root tlog.Hash) (Checkpoint, error) {
	signed, err := note.Sign(&note.Note{Text: checkpointBody(s.Name(), size, root)}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return Checkpoint{Origin: s.Name(), Size: size, Root: root, Signed: signed}, nil
}

// ParseCheckpoint checks a signed checkpoint against v and returns it. It accepts exactly
// what the unit writes: one signature, by v's key, over a three-line body whose origin is
// v's name, every byte in canonical form (so no edit of a signed checkpoint verifies).
func ParseCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if len(n.Sigs) != 1 || len(n.UnverifiedSigs) != 0 {
		return Checkpoint{}, fmt.Errorf("%w: want exactly one signature, by %s", ErrSignature, v.Name())
	}
	// note decodes base64 leniently: rebuild the signature line and insist on the same bytes.
	sig, err := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	canon := n.Text + "\n— " + n.Sigs[0].Name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
	if !bytes.Equal([]byte(canon), signed) {
		return Checkpoint{}, fmt.Errorf("%w: not in canonical form", ErrSignature)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, fmt.Errorf("%w: want origin, size and root hash lines", ErrCheckpoint)
	}
	cp := Checkpoint{Origin: lines[0], Signed: append([]byte(nil), signed...)}
	if cp.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: origin %q is not the key's name %q", ErrCheckpoint, cp.Origin, v.Name())
	}
	if cp.Size, err = strconv.ParseInt(lines[1], 10, 64); err != nil || cp.Size < 0 || strconv.FormatInt(cp.Size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: size %q", ErrCheckpoint, lines[1])
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: root hash %q", ErrCheckpoint, lines[2])
	}
	cp.Root = tlog.Hash(root)
	return cp, nil
}

// ReadCheckpoint reads and checks a checkpoint file.
func ReadCheckpoint(name string, v note.Verifier) (Checkpoint, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: read checkpoint: %w", err)
	}
	cp, err := ParseCheckpoint(b, v)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%s: %w", name, err)
	}
	return cp, nil
}

// Consistent checks that newer extends cp: same origin, at least as many entries, and proof
// shows cp's tree is a prefix of newer's. A rolled-back checkpoint (fewer entries) fails
// with ErrRollback, any other mismatch with ErrProof.
func (cp Checkpoint) Consistent(newer Checkpoint, proof *ConsistencyProof) error {
	switch {
	case cp.Origin != newer.Origin:
		return fmt.Errorf("%w: origins %q and %q", ErrProof, cp.Origin, newer.Origin)
	case newer.Size < cp.Size:
		return fmt.Errorf("%w: checkpoint of %d entries after one of %d", ErrRollback, newer.Size, cp.Size)
	case cp.Size == 0:
		return nil // the empty tree is a prefix of every tree
	case proof == nil || proof.Old != cp.Size || proof.New != newer.Size:
		return fmt.Errorf("%w: the proof is not from %d to %d entries", ErrProof, cp.Size, newer.Size)
	}
	if err := tlog.CheckTree(proof.Hashes, newer.Size, newer.Root, cp.Size, cp.Root); err != nil {
		return fmt.Errorf("%w: %d entries are not a prefix of %d: %w", ErrProof, cp.Size, newer.Size, err)
	}
	return nil
}

// Includes checks that proof.Entry is entry proof.Index of the log cp signs.
func (cp Checkpoint) Includes(proof *InclusionProof) error {
	if proof.Size != cp.Size {
		return fmt.Errorf("%w: the proof is for %d entries, the checkpoint has %d", ErrProof, proof.Size, cp.Size)
	}
	if err := tlog.CheckRecord(proof.Hashes, cp.Size, cp.Root, proof.Index, tlog.RecordHash(proof.Entry)); err != nil {
		return fmt.Errorf("%w: entry %d is not in the checkpoint's log: %w", ErrProof, proof.Index, err)
	}
	return nil
}

// LoadKey returns the signer in the key file name and its verifier key, creating the file
// first (a fresh Ed25519 key named origin, mode 0600) when it does not exist. The file holds
// one line, the note private key "PRIVATE+KEY+<name>+<key hash>+<base64>", and must not be
// readable by group or others. The verifier key, "<name>+<key hash>+<base64 public key>", is
// what auditors need (the Log writes it to key.pub next to the log).
func LoadKey(name, origin string) (note.Signer, string, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		skey, _, gerr := note.GenerateKey(rand.Reader, origin)
		if gerr != nil {
			return nil, "", fmt.Errorf("audit: generate key %q: %w", origin, gerr)
		}
		if werr := atomicfile.Write(name, []byte(skey+"\n"), 0o600, false); werr != nil {
			return nil, "", fmt.Errorf("audit: write key: %w", werr)
		}
		b, err = []byte(skey+"\n"), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("audit: read key: %w", err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		return nil, "", fmt.Errorf("audit: key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, "", fmt.Errorf("%w: %s has mode %v: chmod 600 it", ErrKey, name, fi.Mode().Perm())
	}
	skey := strings.TrimSpace(string(b))
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: not a note signing key", ErrKey, name) // no %w: it might quote the key
	}
	vkey, err := verifierKey(skey)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	return s, vkey, nil
}

// verifierKey derives the verifier key from a note Ed25519 private key,
// PRIVATE+KEY+<name>+<hash>+base64(0x01 || 32-byte seed).
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5) // the base64 key may hold "+" too
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("%w: not a note signing key", ErrKey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", fmt.Errorf("%w: not an Ed25519 note signing key", ErrKey)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// ReadVerifier reads a verifier key file (one line, as key.pub holds it).
func ReadVerifier(name string) (note.Verifier, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("audit: read verifier key: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKey, name, err)
	}
	return v, nil
}
