package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the unit's binary lean and its supply chain short: the reference libraries
// geogate is tested against (go-nmea, orb, rtree, mediadevices) must stay in tests, and every
// other module in the arm64 binary must be on this list.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("go list in -short mode")
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{.Module.Path}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/geogate/geogate": true,
		"github.com/BurntSushi/toml": true, // config and policy.toml
		"github.com/tarm/serial":     true, // the UART
		"github.com/creack/pty":      true, // the -dev simulator's pseudo-terminal
		"golang.org/x/sys":           true, // ioctls, fdatasync, fallocate
		"golang.org/x/crypto":        true, // XChaCha20-Poly1305, HKDF
		"filippo.io/age":             true, // store export
		"filippo.io/hpke":            true, // age's dependency
		"golang.org/x/mod":           true, // sumdb/tlog and sumdb/note: the audit log's Merkle tree and signed checkpoints
		"github.com/google/go-tpm":   true, // the TPM 2.0 key provider (pure Go: sealing, PolicyAuthorize)
		"golang.org/x/term":          true, // the serial console's line editing and raw mode
		// upload: the S3 client (SigV4, multipart) and what it pulls in. Measured on
		// linux/arm64 with -s -w: 5.70 MB before, 8.26 MB with net/http alone (any S3 client
		// needs it), 9.63 MB with package upload: minio-go's own share is about 1.1 MB.
		"github.com/minio/minio-go/v7":  true, // the S3 client
		"github.com/minio/crc64nvme":    true, // minio-go: checksums
		"github.com/minio/md5-simd":     true, // minio-go: MD5 of parts
		"github.com/klauspost/compress": true, // minio-go: (s2) compression helpers
		"github.com/klauspost/cpuid/v2": true, // md5-simd, crc32: CPU features
		"github.com/klauspost/crc32":    true, // minio-go: CRC32 checksums
		"github.com/cespare/xxhash/v2":  true, // minio-go's dependencies
		"github.com/zeebo/xxh3":         true, // minio-go's dependencies
		"github.com/dustin/go-humanize": true, // minio-go: sizes in messages
		"github.com/google/uuid":        true, // minio-go: request ids
		"github.com/rs/xid":             true, // minio-go: ids
		"github.com/tinylib/msgp":       true, // minio-go: msgpack types
		"github.com/philhofer/fwd":      true, // msgp's reader
		"go.yaml.in/yaml/v3":            true, // minio-go credentials: config files (never read by geogate: static keys)
		"gopkg.in/ini.v1":               true, // minio-go credentials: AWS config files (never read by geogate)
		"golang.org/x/net":              true, // minio-go: publicsuffix, http/httpguts
		"golang.org/x/text":             true, // x/net's IDNA
	}
	seen := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		if !allowed[m] && !seen[m] {
			t.Errorf("the geogate binary depends on %s: keep it in tests or add it here with its reason", m)
		}
		seen[m] = true
	}
}
