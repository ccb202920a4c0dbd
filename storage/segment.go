package storage

import (
	"crypto/cipher"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// segExt names segment files: "<16 hex digits of the id>.seg". tmpExt marks a segment being
// created; Open removes leftovers.
const (
	segExt = ".seg"
	tmpExt = ".tmp"
)

func segName(id uint64) string { return fmt.Sprintf("%016x%s", id, segExt) }

// listSegments returns the ids of the segment files in dir, oldest first, and the leftover
// temporary files.
func listSegments(dir string) (ids []uint64, tmps []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: list %s: %w", dir, err)
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, segExt+tmpExt) {
			tmps = append(tmps, filepath.Join(dir, n))
			continue
		}
		if len(n) != 16+len(segExt) || !strings.HasSuffix(n, segExt) {
			continue
		}
		id, err := strconv.ParseUint(n[:16], 16, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, tmps, nil
}

// image is a whole segment file in memory with its header checked against the device key.
type image struct {
	hdr  header
	data []byte
	aead cipher.AEAD
}

// loadImage reads a segment file and unwraps its data key. For an erased segment it
// returns the header and an error wrapping ErrCorrupt.
func loadImage(path string, devKey []byte) (*image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("storage: read segment: %w", err)
	}
	return parseImage(path, data, devKey)
}

func parseImage(path string, data, devKey []byte) (*image, error) {
	h, err := decodeHeader(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	im := &image{hdr: h, data: data}
	if h.cipher == cipherNone {
		return im, fmt.Errorf("storage: segment %016x: %w", h.id, ErrPlain)
	}
	key, err := h.unwrap(data, devKey)
	if err != nil {
		return im, err
	}
	im.aead, err = recordAEAD(h.cipher, key)
	clear(key)
	if err != nil {
		return im, err
	}
	return im, nil
}

func (im *image) scanner(path string) *scanner {
	return &scanner{data: im.data, segID: im.hdr.id, path: path, aead: im.aead}
}
