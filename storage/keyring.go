package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Key rotation. A Log and a Reader hold a key ring: the current device key, which wraps the
// data keys of new segments, then any older device keys (Options.OldKeys), which only
// unwrap the segments they wrote. The ring is one byte slice of KeySize-byte keys, the
// current key first, so the functions that take a device key pass it on unchanged and only
// the header code picks a key: encodeHeader gets the first, header.unwrap the one whose key
// id the header names. A rotated-out key can be dropped once KeyInUse reports that no
// segment needs it any more (retention has erased the last one).

// ErrOldKeys means an old key is not KeySize bytes, or is the current key again.
var ErrOldKeys = errors.New("storage: old device keys must be 32 bytes each and differ from the current key")

// keyring returns a fresh copy of cur followed by old, KeySize bytes each.
func keyring(cur []byte, old [][]byte) ([]byte, error) {
	if len(cur) != KeySize {
		return nil, ErrKeySize
	}
	ring := make([]byte, 0, KeySize*(1+len(old)))
	ring = append(ring, cur...)
	curID := keyID(cur)
	for _, k := range old {
		if len(k) != KeySize || keyID(k) == curID {
			clear(ring)
			return nil, ErrOldKeys
		}
		ring = append(ring, k...)
	}
	return ring, nil
}

// pickKey returns the key of ring whose key id is want and that id; when none matches, the
// current key and its id (the caller reports the mismatch).
func pickKey(ring []byte, want [keyIDSize]byte) ([]byte, [keyIDSize]byte) {
	for off := 0; off+KeySize <= len(ring); off += KeySize {
		k := ring[off : off+KeySize]
		if id := keyID(k); id == want {
			return k, id
		}
	}
	cur := ring[:min(KeySize, len(ring))]
	return cur, keyID(cur)
}

// KeyInUse reports whether a segment file in dir was written under key and is not erased,
// reading only the segment headers. It never misses a segment that needs key while a Log
// writes to dir (new segments use the current key, and a segment being erased still
// counts), so a key it reports unused can be destroyed without losing a readable record.
func KeyInUse(dir string, key []byte) (bool, error) {
	if len(key) != KeySize {
		return false, ErrKeySize
	}
	list, err := listSegments(dir)
	if err != nil {
		return false, err
	}
	want := keyID(key)
	for _, id := range list.ids {
		var b [headerSize]byte
		f, err := os.Open(filepath.Join(dir, segName(id)))
		if errors.Is(err, os.ErrNotExist) {
			continue // erased meanwhile
		}
		if err != nil {
			return false, fmt.Errorf("storage: key in use: %w", err)
		}
		_, err = io.ReadFull(f, b[:])
		f.Close()
		if err != nil {
			// A segment whose header cannot be read may still need any key: keep them all.
			return true, nil
		}
		h, err := decodeHeader(b[:])
		if err != nil {
			return true, nil
		}
		if h.keyID == want && !h.erased() {
			return true, nil
		}
	}
	return false, nil
}
