package board

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/geogate/geogate/internal/atomicfile"
)

// KeySize is the size of the device key: 32 bytes, a 256-bit symmetric key.
const KeySize = 32

// keyFileSize is the content of a key file: 64 hex digits and an optional newline.
const keyFileSize = 2*KeySize + 1

// KeyProvider supplies the device's storage key. The key file is the provider for
// development and for systemd credentials; a TPM- or TEE-backed provider (unsealing with a
// policy bound to the boot state, never exposing the sealed blob's key to disk) implements
// the same method. Storage asks once at start and fails closed on any error.
type KeyProvider interface {
	// DeviceKey returns a new KeySize-byte slice owned by the caller, who should zero it
	// when done. A missing key is ErrNoKey.
	DeviceKey() ([]byte, error)
}

// Where the key file is when the config does not say.
const (
	// DevKeyFile is the development key file, in the unit's ConfigurationDirectory.
	DevKeyFile = "/etc/geogate/key"
	// KeyCredential is the name of the systemd credential holding the key
	// (LoadCredentialEncrypted=geogate-key:...).
	KeyCredential = "geogate-key"
)

// DefaultKeyFile returns the key file to use when the config names none:
// $CREDENTIALS_DIRECTORY/geogate-key when systemd passes credentials, else DevKeyFile.
func DefaultKeyFile(getenv func(string) string) string {
	if dir := getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		return filepath.Join(dir, KeyCredential)
	}
	return DevKeyFile
}

// KeyFile is a KeyProvider reading a key file: 64 hex digits (the 32 key bytes) and an
// optional newline, mode 0600 or stricter, owned by the daemon's user (or root, as systemd
// credentials may be). It holds only the path, never the key; its String and LogValue
// show the path only.
type KeyFile struct {
	path string
}

// NewKeyFile returns a KeyFile for path. Nothing is read until DeviceKey.
func NewKeyFile(path string) *KeyFile { return &KeyFile{path: path} }

// String returns "key file PATH".
func (k *KeyFile) String() string { return "key file " + k.path }

// LogValue implements slog.LogValuer: the path, nothing else.
func (k *KeyFile) LogValue() slog.Value { return slog.StringValue(k.String()) }

// DeviceKey implements KeyProvider. It opens the file without blocking and checks type,
// mode and owner on the open file, so a FIFO or device at the path cannot hold it up and a
// file swapped after the check is not read.
func (k *KeyFile) DeviceKey() ([]byte, error) {
	f, err := os.OpenFile(k.path, keyOpenFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("board: key file %s: %w: create one with \"geogate keygen -o %s\" (development) or provision it as described in docs/OPERATIONS.md", k.path, ErrNoKey, k.path)
		}
		return nil, fmt.Errorf("board: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("board: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("board: key file %s: %w: not a regular file (mode %v); put the key in a file", k.path, ErrKeyInsecure, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("board: key file %s: %w: mode %04o lets others read or write it; run \"chmod 600 %s\"", k.path, ErrKeyInsecure, perm, k.path)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() && uid != 0 {
		return nil, fmt.Errorf("board: key file %s: %w: owned by uid %d but geogate runs as uid %d; run \"chown %d %s\"", k.path, ErrKeyInsecure, uid, os.Geteuid(), os.Geteuid(), k.path)
	}
	var buf [keyFileSize + 1]byte // one more to detect a longer file
	n, err := io.ReadFull(f, buf[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("board: key file: %w", err)
	}
	key, err := parseKey(buf[:n])
	clear(buf[:])
	if err != nil {
		return nil, fmt.Errorf("board: key file %s: %w", k.path, err)
	}
	return key, nil
}

// parseKey decodes a key file's content. Its errors never quote the content.
func parseKey(b []byte) ([]byte, error) {
	if len(b) == 2*KeySize+1 && b[2*KeySize] == '\n' {
		b = b[:2*KeySize]
	}
	if len(b) != 2*KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want 64 hex digits and an optional newline", ErrKeyFormat, len(b))
	}
	key := make([]byte, KeySize)
	var or byte
	for i := range key {
		hi, ok1 := unhex(b[2*i])
		lo, ok2 := unhex(b[2*i+1])
		if !ok1 || !ok2 {
			clear(key)
			return nil, fmt.Errorf("%w: a character near offset %d is not a hex digit", ErrKeyFormat, 2*i)
		}
		key[i] = hi<<4 | lo
		or |= key[i]
	}
	if or == 0 {
		return nil, fmt.Errorf("%w: the all-zero key is not a key", ErrKeyFormat)
	}
	return key, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendKeyHex appends the key file form of key: lower-case hex and a newline.
func appendKeyHex(dst, key []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range key {
		dst = append(dst, digits[c>>4], digits[c&0xf])
	}
	return append(dst, '\n')
}

// NewKey returns a fresh random key from crypto/rand in key file form (64 hex digits and a
// newline), for "geogate keygen" on standard output (e.g. piped to systemd-creds encrypt).
func NewKey() []byte {
	var key [KeySize]byte
	rand.Read(key[:]) // never fails (crypto/rand panics rather than return short)
	out := appendKeyHex(make([]byte, 0, keyFileSize), key[:])
	clear(key[:])
	return out
}

// GenerateKeyFile writes a new random key to path, mode 0600, atomically: a temporary file
// in the same directory is written and fsynced, then linked to path (which fails with
// fs.ErrExist if path exists, so an existing key is never replaced), and the directory is
// fsynced. A crash leaves either no key file or a complete one.
func GenerateKeyFile(path string) error { return writeKeyFile(path, false) }

// ReplaceKeyFile is GenerateKeyFile that atomically replaces an existing key (rename).
// Everything stored under the old key becomes unreadable.
func ReplaceKeyFile(path string) error { return writeKeyFile(path, true) }

func writeKeyFile(path string, replace bool) error {
	content := NewKey()
	defer clear(content)
	if err := atomicfile.Write(path, content, 0o600, replace); err != nil {
		return fmt.Errorf("board: keygen: %w", err)
	}
	return nil
}

// NewCredential returns the KeyFile of the systemd credential the unit file loads with
// LoadCredentialEncrypted=geogate-key:PATH: systemd decrypts PATH (sealed by
// "systemd-creds encrypt" with the host key, the TPM, or both) into a memory-only file in
// $CREDENTIALS_DIRECTORY, readable by the service alone. Without $CREDENTIALS_DIRECTORY
// (geogate not started by such a unit) it fails with ErrNoKey: no plain file on disk is
// read in its place.
func NewCredential(getenv func(string) string) (*KeyFile, error) {
	dir := getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return nil, fmt.Errorf("board: systemd credential %s: %w: $CREDENTIALS_DIRECTORY is not set; start geogate from its unit with LoadCredentialEncrypted=%s:/etc/credstore.encrypted/%s (docs/OPERATIONS.md)", KeyCredential, ErrNoKey, KeyCredential, KeyCredential)
	}
	return NewKeyFile(filepath.Join(dir, KeyCredential)), nil
}
