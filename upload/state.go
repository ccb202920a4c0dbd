package upload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/geogate/geogate/internal/atomicfile"
)

// File names in Config.Dir (docs/OPERATIONS.md, "Uploads").
const (
	spoolDir     = "spool"                // <sha256>.age sealed exports, <sha256>.json their manifests, <sha256>.parts multipart state
	manifestName = "confirmed.json"       // segments whose export the object store confirmed
	lastName     = "last-checkpoint.json" // the audit checkpoint size of the last confirmed export
)

// exportMeta is a spooled export's manifest (<sha256>.json), written atomically after the
// sealed file is complete and the export is in the audit log.
type exportMeta struct {
	Object     string   `json:"object"`     // object name, Prefix + <sha256>.age
	SHA256     string   `json:"sha256"`     // hex SHA-256 of the sealed bytes
	Bytes      int64    `json:"bytes"`      // size of the sealed file
	Segments   []uint64 `json:"segments"`   // the storage segments it holds, whole
	Records    int      `json:"records"`    // records it holds
	Recipients []string `json:"recipients"` // age recipients it is sealed to
	Checkpoint []byte   `json:"checkpoint"` // signed audit checkpoint covering the export's entry
	// CheckpointSize is the number of audit entries Checkpoint covers.
	CheckpointSize int64 `json:"checkpoint_size"`
}

// lastUploaded is the audit checkpoint of the last confirmed export (lastName): the next
// export's consistency proof starts at its size.
type lastUploaded struct {
	Object string `json:"object"`
	Size   int64  `json:"size"`
	Prev   int64  `json:"prev"` // where Object's proof started
}

// partState is a multipart upload in progress (<sha256>.parts), written atomically once
// the object store gave it an id. Which parts the store holds is asked of the store when
// the upload resumes (reconcile): a cut loses at most the part in flight, and no fsync
// sits between two parts.
type partState struct {
	UploadID string `json:"upload_id"`
	PartSize int64  `json:"part_size"`
}

// donePart is a part the object store holds.
type donePart struct {
	N    int
	ETag string
	MD5  string // hex MD5 of the part, for the multipart ETag check
}

// Manifest lists the segments whose export the object store confirmed, by segment id: the
// contract with retention (docs/OPERATIONS.md, "Uploads"). It is rewritten atomically.
type Manifest map[uint64]Confirmed

// Confirmed is one confirmed export.
type Confirmed struct {
	Object string `json:"object"`
	SHA256 string `json:"sha256"`
}

// Released reports whether segment id was confirmed uploaded, so retention may erase it.
func (m Manifest) Released(id uint64) bool {
	_, ok := m[id]
	return ok
}

// ReadManifest reads the manifest in dir (Config.Dir). A missing one is empty.
func ReadManifest(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("upload: manifest: %w", err)
	}
	var raw map[string]Confirmed
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("upload: manifest %s: %w", filepath.Join(dir, manifestName), err)
	}
	m := make(Manifest, len(raw))
	for k, v := range raw {
		id, err := strconv.ParseUint(k, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("upload: manifest: segment %q: %w", k, err)
		}
		m[id] = v
	}
	return m, nil
}

func writeManifest(dir string, m Manifest) error {
	raw := make(map[string]Confirmed, len(m))
	for id, v := range m {
		raw[fmt.Sprintf("%016x", id)] = v
	}
	b, err := json.MarshalIndent(raw, "", "\t")
	if err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, manifestName), b)
}

func writeJSON(name string, b []byte) error {
	if err := atomicfile.Write(name, append(b, '\n'), 0o600, true); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

func saveJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeJSON(name, b)
}

// loadJSON reads name into v; a missing file returns false.
func loadJSON(name string, v any) (bool, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return false, fmt.Errorf("upload: %s: %w", name, err)
	}
	return true, nil
}

// Hold returns a storage.Options.Hold for the manifest in dir: it holds every segment the
// manifest does not release, so age-based retention erases only what the processor
// confirmed. It rereads the manifest when its modification time or size changes; while the
// manifest cannot be read it holds everything (fail safe: keep data, the quota still
// bounds it).
func Hold(dir string) func(segment uint64) bool {
	var (
		mu    sync.Mutex
		m     Manifest
		mtime time.Time
		size  int64 = -1
	)
	name := filepath.Join(dir, manifestName)
	return func(id uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		st, err := os.Stat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			m, size = nil, -1
		case err != nil:
			return true
		case !st.ModTime().Equal(mtime) || st.Size() != size:
			nm, err := ReadManifest(dir)
			if err != nil {
				return true
			}
			m, mtime, size = nm, st.ModTime(), st.Size()
		}
		return !m.Released(id)
	}
}
