package policy

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"
)

// Signed bundles carry two more files: a manifest listing the SHA-256 of every bundle file
// in sha256sum(1) format ("<64 hex>  <path>" per line, sorted by path), and ed25519
// signatures of the manifest's bytes, base64-encoded, one per line (one line per signing
// key; a bundle for a k-of-n trust set carries at least k).
const (
	ManifestHashes    = "manifest.sha256"
	ManifestSignature = "manifest.sig"
)

// maxSignatures bounds the lines of manifest.sig: more than any trust set has keys, so a
// bundle cannot make a verifier try millions of signatures.
const maxSignatures = 16

// SignedBy returns a Verifier accepting only bundles whose manifest is signed by one of
// keys. It checks every listed file's hash and hands Load an in-memory copy holding exactly
// the listed files, so a file that is not signed cannot be read, and nothing can change
// between verification and parsing.
func SignedBy(keys ...ed25519.PublicKey) Verifier { return SignedByThreshold(1, keys...) }

// SignedByThreshold is SignedBy for a k-of-n trust set: the manifest must carry valid
// signatures by at least k distinct keys of keys (a key listed twice counts once). Fewer is
// an error wrapping ErrUnverified and ErrThreshold. k < 1 counts as 1.
func SignedByThreshold(k int, keys ...ed25519.PublicKey) Verifier {
	k = max(k, 1)
	return func(fsys fs.FS) (fs.FS, error) {
		man, err := readBundleFile(fsys, ManifestHashes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
		}
		sigText, err := readBundleFile(fsys, ManifestSignature)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
		}
		lines := strings.Fields(string(sigText))
		if len(lines) == 0 || len(lines) > maxSignatures {
			return nil, fmt.Errorf("%w: %s: want 1 to %d base64 ed25519 signatures, one a line; found %d", ErrUnverified, ManifestSignature, maxSignatures, len(lines))
		}
		var sigs [][]byte
		for i, l := range lines {
			sig, err := base64.StdEncoding.DecodeString(l)
			if err != nil || len(sig) != ed25519.SignatureSize {
				return nil, fmt.Errorf("%w: %s line %d: not a base64 ed25519 signature", ErrUnverified, ManifestSignature, i+1)
			}
			sigs = append(sigs, sig)
		}
		signers := 0
		for i, key := range keys {
			if len(key) != ed25519.PublicKeySize || slices.ContainsFunc(keys[:i], func(k ed25519.PublicKey) bool { return k.Equal(key) }) {
				continue
			}
			for _, sig := range sigs {
				if ed25519.Verify(key, man, sig) {
					signers++
					break
				}
			}
		}
		switch {
		case signers == 0:
			return nil, fmt.Errorf("%w: %s: signature does not match any of %d trusted keys", ErrUnverified, ManifestSignature, len(keys))
		case signers < k:
			return nil, fmt.Errorf("%w: %w: %s: %d of the trusted keys signed, %d must", ErrUnverified, ErrThreshold, ManifestSignature, signers, k)
		}
		files, err := parseManifest(man)
		if err != nil {
			return nil, err
		}
		mem := memFS{}
		for name, want := range files {
			data, err := readBundleFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
			}
			if got := sha256.Sum256(data); got != want {
				return nil, fmt.Errorf("%w: %s: SHA-256 differs from the signed manifest", ErrUnverified, name)
			}
			mem[name] = data
		}
		if _, ok := mem[ManifestFile]; !ok {
			return nil, fmt.Errorf("%w: manifest does not list %s", ErrUnverified, ManifestFile)
		}
		return mem, nil
	}
}

func parseManifest(man []byte) (map[string][sha256.Size]byte, error) {
	files := map[string][sha256.Size]byte{}
	for i, line := range strings.Split(strings.TrimRight(string(man), "\n"), "\n") {
		h, name, ok := strings.Cut(line, "  ")
		sum, err := hex.DecodeString(h)
		if !ok || err != nil || len(sum) != sha256.Size || !fs.ValidPath(name) || name == ManifestHashes || name == ManifestSignature {
			return nil, fmt.Errorf("%w: %s line %d: want \"<sha256 hex>  <path>\"", ErrUnverified, ManifestHashes, i+1)
		}
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("%w: %s line %d: %s listed twice", ErrUnverified, ManifestHashes, i+1, name)
		}
		files[name] = [sha256.Size]byte(sum)
	}
	return files, nil
}

// Sign returns the manifest and its signature for every file of the bundle in fsys (except
// existing manifest files). Write them into the bundle as ManifestHashes and
// ManifestSignature. Every file must be one Load would read (a regular file of at most
// MaxFileBytes, not a symbolic link): anything else is an error wrapping ErrBadFile, since
// it would be missing from the verified bundle.
func Sign(fsys fs.FS, key ed25519.PrivateKey) (manifest, signature []byte, err error) {
	var names []string
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() || name == ManifestHashes || name == ManifestSignature:
		case !d.Type().IsRegular():
			return &BundleError{File: name, Feature: -1, Err: fmt.Errorf("%w: %s is %s; a signed bundle holds regular files only (copy the file in)",
				ErrBadFile, name, describeMode(fsys, name, d.Type()))}
		default:
			names = append(names, name)
		}
		return nil
	})
	var be *BundleError
	if errors.As(err, &be) {
		return nil, nil, err
	} else if err != nil {
		return nil, nil, fmt.Errorf("policy: sign: %w", err)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		data, err := readBundleFile(fsys, n)
		if err != nil {
			return nil, nil, &BundleError{File: n, Feature: -1, Err: err}
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%x  %s\n", sum, n)
	}
	sig := ed25519.Sign(key, b.Bytes())
	return b.Bytes(), []byte(base64.StdEncoding.EncodeToString(sig) + "\n"), nil
}

// memFS is a read-only in-memory file system of verified files.
type memFS map[string][]byte

func (m memFS) Open(name string) (fs.File, error) {
	data, ok := m[name]
	if !ok || !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{info: memInfo{name: name, size: int64(len(data))}, r: bytes.NewReader(data)}, nil
}

type memFile struct {
	info memInfo
	r    *bytes.Reader
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *memFile) Close() error               { return nil }

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name[strings.LastIndexByte(i.name, '/')+1:] }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
