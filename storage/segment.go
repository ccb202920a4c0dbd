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
// created; Open removes leftovers. quarantineExt marks a segment that recovery could not
// read and set aside instead of erasing it: "<16 hex digits>.seg.quarantined", with ".N"
// appended if that name is taken.
const (
	segExt        = ".seg"
	tmpExt        = ".tmp"
	quarantineExt = ".quarantined"
)

// maxSegID bounds the segment ids the log uses and reads. Ids start at 1 and grow by one per
// segment; 2^48 segments at one a second would last nine million years, so a larger id is
// not the log's (a stray or planted file). Such files are reported and never read, erased
// or renamed over, and they do not move the next id: ids never wrap.
const maxSegID = 1 << 48

func segName(id uint64) string { return fmt.Sprintf("%016x%s", id, segExt) }

// dirList is what listSegments finds in a log directory.
type dirList struct {
	// ids are the segment ids in range, oldest first.
	ids []uint64
	// tmps are leftover temporary files (full paths).
	tmps []string
	// stray are segment files whose id is out of range (full paths).
	stray []string
	// quarantined are segments set aside by recovery (full paths).
	quarantined []string
}

// listSegments lists the segment files in dir.
func listSegments(dir string) (dirList, error) {
	var d dirList
	ents, err := os.ReadDir(dir)
	if err != nil {
		return d, fmt.Errorf("storage: list %s: %w", dir, err)
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, segExt+tmpExt):
			d.tmps = append(d.tmps, filepath.Join(dir, n))
			continue
		case strings.Contains(n, segExt+quarantineExt):
			d.quarantined = append(d.quarantined, filepath.Join(dir, n))
			continue
		}
		if len(n) != 16+len(segExt) || !strings.HasSuffix(n, segExt) {
			continue
		}
		id, err := strconv.ParseUint(n[:16], 16, 64)
		if err != nil {
			continue
		}
		if id == 0 || id >= maxSegID || n[:16] != fmt.Sprintf("%016x", id) {
			d.stray = append(d.stray, filepath.Join(dir, n))
			continue
		}
		d.ids = append(d.ids, id)
	}
	sort.Slice(d.ids, func(i, j int) bool { return d.ids[i] < d.ids[j] })
	return d, nil
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
	return &scanner{data: im.data, segID: im.hdr.id, path: path, aead: im.aead, v: im.hdr.version}
}
