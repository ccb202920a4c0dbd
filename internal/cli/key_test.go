package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geogate/geogate/board"
)

// TestKeyAuthoritySignPolicy: an authority made by "key authority" signs a policy from
// given PCR values; the file parses and verifies; bad arguments are usage errors.
func TestKeyAuthoritySignPolicy(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "pcr-authority")
	var out, errb bytes.Buffer
	if err := keyMain([]string{"authority", "-o", prefix}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	if st, err := os.Stat(prefix + ".pem"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", st, err)
	}
	if _, err := board.ReadPolicyAuthority(prefix + ".pub.pem"); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "v1.policy")
	v := strings.Repeat("ab", 32)
	if err := keyMain([]string{"sign-policy", "-authority", prefix + ".pem", "-pcrs", "7,11", "-values", v + "," + v, "-o", pol}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	p, err := board.ReadSignedPolicy(pol)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.PCRs) != 2 || p.PCRs[1] != 11 {
		t.Fatalf("PCRs %v", p.PCRs)
	}
	for _, args := range [][]string{
		nil,
		{"nonsense"},
		{"authority"},
		{"sign-policy", "-authority", prefix + ".pem", "-o", pol},
		{"sign-policy", "-authority", prefix + ".pem", "-o", pol, "-values", v, "-tpm", "/dev/tpmrm0"},
	} {
		if err := keyMain(args, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("key %q: %v, want a usage error", args, err)
		}
	}
	if err := keyMain([]string{"sign-policy", "-authority", prefix + ".pem", "-o", pol, "-values", "abc"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "not a 64-digit hex") {
		t.Errorf("bad value: %v", err)
	}
}
