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
	}
	seen := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		if !allowed[m] && !seen[m] {
			t.Errorf("the geogate binary depends on %s: keep it in tests or add it here with its reason", m)
		}
		seen[m] = true
	}
}
