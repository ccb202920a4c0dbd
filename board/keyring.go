package board

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/geogate/geogate/internal/atomicfile"
)

// Keys are the device keys a log needs: Current wraps the data keys of new segments; Old
// are keys a rotation replaced, which still unwrap the segments written under them. The
// caller owns the slices and clears them with Clear as soon as the log has its copy.
type Keys struct {
	Current []byte
	Old     [][]byte
}

// Clear overwrites every key with zeros.
func (k *Keys) Clear() {
	clear(k.Current)
	for _, o := range k.Old {
		clear(o)
	}
}

// KeyEvents counts what happened to the device keys since start: keys sealed (provisioned
// or rotated in), unseal runs that succeeded, rotations, old keys retired, and failures. Its
// zero value is ready; it is safe for concurrent use. No event carries key material.
type KeyEvents struct {
	sealed, unsealed, rotated, retired, failed atomic.Uint64

	mu       sync.Mutex
	lastFail string // the latest failure logged, until an unseal succeeds
}

// KeyCounts is a snapshot of KeyEvents.
type KeyCounts struct {
	Sealed   uint64 `json:"sealed"`
	Unsealed uint64 `json:"unsealed"`
	Rotated  uint64 `json:"rotated"`
	Retired  uint64 `json:"retired"`
	Failed   uint64 `json:"failed"`
}

// Counts returns the counters.
func (e *KeyEvents) Counts() KeyCounts {
	return KeyCounts{Sealed: e.sealed.Load(), Unsealed: e.unsealed.Load(), Rotated: e.rotated.Load(),
		Retired: e.retired.Load(), Failed: e.failed.Load()}
}

// Unsealed counts and logs keys obtained from source (a provider's String): n keys in all,
// the current one first, taking took.
func (e *KeyEvents) Unsealed(log *slog.Logger, source string, n int, took time.Duration) {
	c := e.unsealed.Add(1)
	e.mu.Lock()
	e.lastFail = ""
	e.mu.Unlock()
	log.Info("device key unsealed", "source", source, "keys", n, "took", took.Round(time.Microsecond), "unsealed_total", c)
}

// Failed counts and logs a key operation (op: "unseal", "seal", "rotate", "retire") that
// failed. err never holds key material: no error of this package quotes a key. A failure
// equal to the one logged last, with no unseal in between (a daemon asking an absent TPM again
// and again), is counted but not logged again.
func (e *KeyEvents) Failed(log *slog.Logger, source, op string, err error) {
	c := e.failed.Add(1)
	msg := source + " " + op + ": " + err.Error()
	e.mu.Lock()
	repeat := msg == e.lastFail
	e.lastFail = msg
	e.mu.Unlock()
	if repeat {
		return
	}
	log.Error("DEVICE KEY "+op+" FAILED", "source", source, "err", err, "failed_total", c)
}

// TPMConfig configures a TPMKeyring.
type TPMConfig struct {
	// Device is the TPM: a device node, or "tcp:HOST:PORT" for a software TPM (swtpm) in
	// development and tests. Zero: TPMDevice.
	Device string
	// Keyring is the file of sealed keys on the unit's storage. Required. It holds no key in
	// clear: only blobs the TPM that sealed them can open.
	Keyring string
	// Authority is the PCR policy authority's public key file (PEM, ECDSA P-256). New keys
	// are sealed so that only a PCR policy it signed unseals them. Zero: keys are sealed to
	// the TPM only, not to the boot state.
	Authority string
	// Policies are signed PCR policy files (SignedPolicy), tried in order at unseal. Zero: a
	// key bound to an authority cannot be unsealed.
	Policies []string
	// Logger receives the key events. Nil discards.
	Logger *slog.Logger
	// Events counts the key events. Nil: a private counter.
	Events *KeyEvents
}

// TPMKeyring is a KeyProvider whose device keys are sealed to the unit's TPM 2.0, in a
// keyring file on the unit's storage: the current key, then the keys rotations replaced
// until Retire finds nothing stored under them. Copied to another unit, the file and the
// data are useless: the sealed blobs only load under this TPM's storage root key. Each call
// connects to the TPM anew, so a TPM that went away and came back just works again.
type TPMKeyring struct {
	cfg TPMConfig
}

// maxRingKeys bounds the keyring: rotating more often than retention erases segments would
// grow it forever. Rotate refuses beyond it.
const maxRingKeys = 8

// NewTPMKeyring returns a TPMKeyring. Nothing is read until a method is called.
func NewTPMKeyring(cfg TPMConfig) *TPMKeyring {
	if cfg.Device == "" {
		cfg.Device = TPMDevice
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Events == nil {
		cfg.Events = new(KeyEvents)
	}
	return &TPMKeyring{cfg: cfg}
}

// String returns "tpm keyring PATH (DEVICE)".
func (k *TPMKeyring) String() string {
	return "tpm keyring " + k.cfg.Keyring + " (" + k.cfg.Device + ")"
}

// LogValue implements slog.LogValuer.
func (k *TPMKeyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// DeviceKey implements KeyProvider: the current key only.
func (k *TPMKeyring) DeviceKey() ([]byte, error) {
	keys, err := k.DeviceKeys()
	if err != nil {
		return nil, err
	}
	for _, o := range keys.Old {
		clear(o)
	}
	return keys.Current, nil
}

// DeviceKeys unseals every key of the ring. A missing keyring is ErrNoKey; one sealed by
// another TPM is ErrSealedElsewhere; PCRs no signed policy approves, ErrPolicy; an absent
// TPM, ErrAbsent.
func (k *TPMKeyring) DeviceKeys() (Keys, error) {
	start := time.Now()
	keys, err := k.unsealAll()
	if err != nil {
		k.cfg.Events.Failed(k.cfg.Logger, k.String(), "unseal", err)
		return Keys{}, err
	}
	k.cfg.Events.Unsealed(k.cfg.Logger, k.String(), 1+len(keys.Old), time.Since(start))
	return keys, nil
}

func (k *TPMKeyring) unsealAll() (Keys, error) {
	ring, err := k.read()
	if err != nil {
		return Keys{}, err
	}
	policies, err := k.policies(ring)
	if err != nil {
		return Keys{}, err
	}
	var keys Keys
	err = withTPM(k.cfg.Device, func(t transport.TPM, srk *tpm2.CreatePrimaryResponse, srkPub *tpm2.TPMTPublic) error {
		for i, s := range ring {
			key, err := unsealIn(t, srk, srkPub, s, policies)
			if err != nil {
				if i > 0 {
					err = fmt.Errorf("old key %d of %d: %w", i, len(ring)-1, err)
				}
				return err
			}
			if i == 0 {
				keys.Current = key
			} else {
				keys.Old = append(keys.Old, key)
			}
		}
		return nil
	})
	if err != nil {
		keys.Clear()
		return Keys{}, fmt.Errorf("board: %s: %w", k, err)
	}
	return keys, nil
}

// policies reads the configured signed policies when a key of ring needs them. A policy
// file that cannot be read is an error: an update shipped a broken policy, and the unit
// must say so rather than fall back silently.
func (k *TPMKeyring) policies(ring []sealedKey) ([]*SignedPolicy, error) {
	need := false
	for _, s := range ring {
		need = need || s.authority != nil
	}
	if !need {
		return nil, nil
	}
	var ps []*SignedPolicy
	for _, path := range k.cfg.Policies {
		p, err := ReadSignedPolicy(path)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// Provision seals a fresh random key into a new keyring, unless the keyring exists (then
// it does nothing and reports false). The daemon calls it at start, so a unit provisions
// its key on first boot without the key ever leaving the process.
func (k *TPMKeyring) Provision() (bool, error) {
	unlock, err := lockRing(k.cfg.Keyring)
	if err != nil {
		return false, err
	}
	defer unlock()
	if _, err := os.Stat(k.cfg.Keyring); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("board: %s: %w", k, err)
	}
	s, err := k.sealNew()
	if err != nil {
		k.cfg.Events.Failed(k.cfg.Logger, k.String(), "seal", err)
		return false, err
	}
	if err := k.write([]sealedKey{s}, false); err != nil {
		k.cfg.Events.Failed(k.cfg.Logger, k.String(), "seal", err)
		return false, err
	}
	c := k.cfg.Events.sealed.Add(1)
	k.cfg.Logger.Info("device key sealed", "source", k.String(), "pcr_bound", s.authority != nil, "sealed_total", c)
	return true, nil
}

// Rotate seals a fresh key and makes it the current one; the old current key moves to the
// old keys, which keep reading what they wrote. The new key takes effect at the next
// DeviceKeys (the daemon's next start). Only sealed blobs are touched: no key is unsealed.
// A power cut leaves the old keyring or the new one, never a mix (atomicfile).
func (k *TPMKeyring) Rotate() error {
	err := k.rotate()
	if err != nil {
		k.cfg.Events.Failed(k.cfg.Logger, k.String(), "rotate", err)
		return err
	}
	return nil
}

func (k *TPMKeyring) rotate() error {
	unlock, err := lockRing(k.cfg.Keyring)
	if err != nil {
		return err
	}
	defer unlock()
	ring, err := k.read()
	if err != nil {
		return err
	}
	if len(ring) >= maxRingKeys {
		return fmt.Errorf("board: %s: %d keys already: %w: let retention erase the oldest data and the daemon retire its key first", k, len(ring), ErrKeyringFull)
	}
	s, err := k.sealNew()
	if err != nil {
		return err
	}
	if err := k.write(append([]sealedKey{s}, ring...), true); err != nil {
		return err
	}
	k.cfg.Events.sealed.Add(1)
	c := k.cfg.Events.rotated.Add(1)
	k.cfg.Logger.Info("device key rotated", "source", k.String(), "keys", len(ring)+1, "pcr_bound", s.authority != nil, "rotated_total", c)
	return nil
}

// Retire drops the old keys for which inUse reports false (storage.KeyInUse on the data
// directory: retention erased the last segment written under the key) and returns how
// many it dropped. Call it only after the log was opened with the current key, so no new
// segment can be written under an old one.
func (k *TPMKeyring) Retire(inUse func(key []byte) (bool, error)) (int, error) {
	n, err := k.retire(inUse)
	if err != nil {
		k.cfg.Events.Failed(k.cfg.Logger, k.String(), "retire", err)
	}
	return n, err
}

func (k *TPMKeyring) retire(inUse func(key []byte) (bool, error)) (int, error) {
	unlock, err := lockRing(k.cfg.Keyring)
	if err != nil {
		return 0, err
	}
	defer unlock()
	ring, err := k.read()
	if err != nil || len(ring) == 1 {
		return 0, err
	}
	policies, err := k.policies(ring)
	if err != nil {
		return 0, err
	}
	keep := ring[:1]
	for _, s := range ring[1:] {
		key, err := unseal(k.cfg.Device, s, policies)
		if err != nil {
			return 0, fmt.Errorf("board: %s: retire: %w", k, err)
		}
		used, err := inUse(key)
		clear(key)
		if err != nil {
			return 0, fmt.Errorf("board: %s: retire: %w", k, err)
		}
		if used {
			keep = append(keep, s)
		}
	}
	dropped := len(ring) - len(keep)
	if dropped == 0 {
		return 0, nil
	}
	if err := k.write(keep, true); err != nil {
		return 0, err
	}
	c := k.cfg.Events.retired.Add(uint64(dropped))
	k.cfg.Logger.Info("old device key retired: nothing stored under it remains", "source", k.String(), "retired", dropped, "keys", len(keep), "retired_total", c)
	return dropped, nil
}

// sealNew seals a fresh random key, which is cleared at once: only the blob remains.
func (k *TPMKeyring) sealNew() (sealedKey, error) {
	var authority []byte
	if k.cfg.Authority != "" {
		var err error
		if authority, err = ReadPolicyAuthority(k.cfg.Authority); err != nil {
			return sealedKey{}, err
		}
	}
	var key [KeySize]byte
	rand.Read(key[:]) // never fails (crypto/rand panics rather than return short)
	defer clear(key[:])
	s, err := seal(k.cfg.Device, key[:], authority)
	if err != nil {
		return sealedKey{}, fmt.Errorf("board: %s: %w", k, err)
	}
	return s, nil
}

func (k *TPMKeyring) read() ([]sealedKey, error) {
	b, err := os.ReadFile(k.cfg.Keyring)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("board: %s: %w: the daemon seals one at start (storage.key_provider = \"tpm\")", k, ErrNoKey)
	}
	if err != nil {
		return nil, fmt.Errorf("board: %s: %w", k, err)
	}
	ring, err := parseRing(b)
	if err != nil {
		return nil, fmt.Errorf("board: %s: %w", k, err)
	}
	return ring, nil
}

// writeRingFile writes the keyring durably; tests replace it to cut the power mid-write.
var writeRingFile = atomicfile.Write

func (k *TPMKeyring) write(ring []sealedKey, replace bool) error {
	if err := writeRingFile(k.cfg.Keyring, appendRing(nil, ring), 0o600, replace); err != nil {
		return fmt.Errorf("board: %s: write: %w", k, err)
	}
	return nil
}

// Keyring file format, version 1. All integers little-endian.
//
//	magic    8 bytes "GGKEYS\r\n"
//	version  2       1
//	count    2       number of keys, 1..maxRingKeys; the first is the current key
//	count times:
//	  authority  2 + n  TPM name of the PCR policy authority (n = 0: not bound to PCRs)
//	  public     2 + n  TPM2B_PUBLIC contents of the sealed object
//	  private    2 + n  TPM2B_PRIVATE contents (encrypted by the TPM's storage root key)
//	crc      4       CRC32C of everything before
var ringMagic = [8]byte{'G', 'G', 'K', 'E', 'Y', 'S', '\r', '\n'}

const ringVersion = 1

func appendRing(b []byte, ring []sealedKey) []byte {
	b = append(b, ringMagic[:]...)
	b = binary.LittleEndian.AppendUint16(b, ringVersion)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(ring)))
	for _, s := range ring {
		for _, f := range [][]byte{s.authority, s.public, s.private} {
			b = binary.LittleEndian.AppendUint16(b, uint16(len(f)))
			b = append(b, f...)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// parseRing parses a keyring file. Its errors say where it is damaged, never what it holds.
func parseRing(b []byte) ([]sealedKey, error) {
	const fixed = 8 + 2 + 2 + 4
	if len(b) < fixed || [8]byte(b[:8]) != ringMagic {
		return nil, fmt.Errorf("%w: not a geogate keyring", ErrKeyringFormat)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (damaged or truncated)", ErrKeyringFormat)
	}
	if v := binary.LittleEndian.Uint16(body[8:]); v != ringVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrKeyringFormat, v, ringVersion)
	}
	n := int(binary.LittleEndian.Uint16(body[10:]))
	if n < 1 || n > maxRingKeys {
		return nil, fmt.Errorf("%w: %d keys, want 1..%d", ErrKeyringFormat, n, maxRingKeys)
	}
	rest := body[12:]
	field := func() ([]byte, bool) {
		if len(rest) < 2 {
			return nil, false
		}
		l := int(binary.LittleEndian.Uint16(rest))
		if len(rest) < 2+l {
			return nil, false
		}
		f := rest[2 : 2+l]
		rest = rest[2+l:]
		return f, true
	}
	ring := make([]sealedKey, n)
	for i := range ring {
		a, ok1 := field()
		pub, ok2 := field()
		priv, ok3 := field()
		if !ok1 || !ok2 || !ok3 || len(pub) == 0 || len(priv) == 0 {
			return nil, fmt.Errorf("%w: key %d truncated", ErrKeyringFormat, i)
		}
		if len(a) == 0 {
			a = nil
		}
		ring[i] = sealedKey{authority: a, public: pub, private: priv}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last key", ErrKeyringFormat, len(rest))
	}
	return ring, nil
}
