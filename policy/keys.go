package policy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/geogate/geogate/internal/atomicfile"
)

// Key files, as "geogate policy signkey" writes them: PREFIX.key holds the base64 of the
// 32-byte ed25519 seed and a newline (mode 0600, kept off the vehicles); PREFIX.pub holds the
// base64 of the 32-byte public key and a newline (mode 0644, named in policy.trusted_keys).

// ReadTrustedKeys reads the ed25519 public keys policy bundles must be signed with, one per
// file. A key file that is missing or malformed, owned by anyone but root or this process's
// user, or writable by group or others (anyone who can write it can replace the trust
// anchor) is an error naming the file.
func ReadTrustedKeys(files []string) ([]ed25519.PublicKey, error) {
	keys := make([]ed25519.PublicKey, 0, len(files))
	for _, name := range files {
		info, err := os.Stat(name)
		if err != nil {
			return nil, fmt.Errorf("policy: trusted key: %w", err)
		}
		if perm := info.Mode().Perm(); perm&0o022 != 0 {
			return nil, fmt.Errorf("policy: trusted key %s: writable by group or others (mode %04o); chmod 644 %s", name, perm, name)
		}
		if err := checkOwner(name, info); err != nil {
			return nil, fmt.Errorf("policy: trusted key %w", err)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("policy: trusted key: %w", err)
		}
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("policy: trusted key %s: want the base64 of a %d-byte ed25519 public key (geogate policy signkey writes one as PREFIX.pub)", name, ed25519.PublicKeySize)
		}
		keys = append(keys, ed25519.PublicKey(k))
	}
	return keys, nil
}

// CheckBundleDir checks the directory a daemon loads bundles from, a trust anchor like the
// key files: it must be a directory (a symbolic link to one is followed) owned by root or
// this process's user, and not writable by others. Otherwise anyone could put a bundle
// there, or (without policy.trusted_keys) any policy at all.
func CheckBundleDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("policy: bundle directory: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("policy: bundle directory %s: not a directory", dir)
	}
	if perm := info.Mode().Perm(); perm&0o002 != 0 {
		return fmt.Errorf("policy: bundle directory %s: writable by others (mode %04o); chmod o-w %s", dir, perm, dir)
	}
	if err := checkOwner(dir, info); err != nil {
		return fmt.Errorf("policy: bundle directory %w", err)
	}
	return nil
}

// checkOwner refuses a trust anchor owned by anyone but root or this process's user (the
// service user), who alone may replace it. The error starts with name.
func checkOwner(name string, info fs.FileInfo) error {
	uid, err := fileOwner(info)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if uid != 0 && uid != os.Geteuid() {
		return fmt.Errorf("%s: owned by uid %d, neither root nor this service's user (uid %d), who could replace it; chown root %s", name, uid, os.Geteuid(), name)
	}
	return nil
}

// ReadSigningKey reads a private signing key file (PREFIX.key). It also returns the file's
// permission bits, so that the caller can warn about a key others can read.
func ReadSigningKey(name string) (ed25519.PrivateKey, fs.FileMode, error) {
	if strings.HasSuffix(name, ".pub") {
		return nil, 0, fmt.Errorf("policy: %s is a public key; signing takes the private PREFIX.key", name)
	}
	info, err := os.Stat(name)
	if err != nil {
		return nil, 0, fmt.Errorf("policy: signing key: %w", err)
	}
	text, err := os.ReadFile(name)
	if err != nil {
		return nil, 0, fmt.Errorf("policy: signing key: %w", err)
	}
	defer clear(text)
	seed := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	defer clear(seed)
	n, err := base64.StdEncoding.Decode(seed, bytes.TrimSpace(text))
	if err != nil || n != ed25519.SeedSize {
		return nil, 0, fmt.Errorf("policy: %s: want the base64 of a %d-byte ed25519 seed (\"geogate policy signkey\" writes one as PREFIX.key)", name, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed[:n]), info.Mode().Perm(), nil
}

// WriteKeyPair makes a new ed25519 key pair and writes PREFIX.key (private, mode 0600) and
// PREFIX.pub (public, mode 0644), each atomically. Existing files are never replaced. It
// returns the public key.
func WriteKeyPair(prefix string) (ed25519.PublicKey, error) {
	keyFile, pubFile := prefix+".key", prefix+".pub"
	for _, f := range []string{keyFile, pubFile} {
		if _, err := os.Lstat(f); err == nil {
			return nil, fmt.Errorf("policy: %s exists; keeping it (choose another PREFIX for a new key pair)", f)
		}
	}
	pub, key, err := ed25519.GenerateKey(nil) // nil: crypto/rand
	if err != nil {
		return nil, fmt.Errorf("policy: new key pair: %w", err)
	}
	keyText := append(base64.StdEncoding.AppendEncode(nil, key.Seed()), '\n')
	clear(key)
	err = atomicfile.Write(keyFile, keyText, 0o600, false)
	clear(keyText)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	pubText := append(base64.StdEncoding.AppendEncode(nil, pub), '\n')
	if err := atomicfile.Write(pubFile, pubText, 0o644, false); err != nil {
		os.Remove(keyFile) // a private key without its public half is of no use
		return nil, fmt.Errorf("policy: %w", err)
	}
	return pub, nil
}
