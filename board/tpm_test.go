package board_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
)

// newRing returns a TPMKeyring on tpm with its keyring file in dir, logging into logs.
func newRing(tpm *boardtest.SWTPM, dir string, logs *bytes.Buffer, mod func(*board.TPMConfig)) (*board.TPMKeyring, *board.KeyEvents) {
	ev := new(board.KeyEvents)
	cfg := board.TPMConfig{
		Device:  tpm.Device(),
		Keyring: filepath.Join(dir, "keyring.tpm"),
		Logger:  slog.New(slog.NewTextHandler(logs, nil)),
		Events:  ev,
	}
	if mod != nil {
		mod(&cfg)
	}
	return board.NewTPMKeyring(cfg), ev
}

// TestTPMSealUnsealRestart: a key sealed on TPM A unseals on A after A was powered off and
// on; nothing of it is in the keyring file or the log.
func TestTPMSealUnsealRestart(t *testing.T) {
	dir := t.TempDir()
	tpmA := boardtest.StartSWTPM(t, filepath.Join(dir, "tpmA"))
	var logs bytes.Buffer
	ring, ev := newRing(tpmA, dir, &logs, nil)
	if _, err := ring.DeviceKeys(); !errors.Is(err, board.ErrNoKey) {
		t.Fatalf("DeviceKeys before Provision: %v, want ErrNoKey", err)
	}
	if made, err := ring.Provision(); err != nil || !made {
		t.Fatalf("Provision: %v, %v", made, err)
	}
	if made, err := ring.Provision(); err != nil || made {
		t.Fatalf("second Provision: %v, %v; want false, nil (the keyring exists)", made, err)
	}
	k1, err := ring.DeviceKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer k1.Clear()
	if len(k1.Current) != board.KeySize || len(k1.Old) != 0 {
		t.Fatalf("keys: %d bytes, %d old", len(k1.Current), len(k1.Old))
	}
	tpmA.Stop()
	if _, err := ring.DeviceKeys(); !errors.Is(err, board.ErrAbsent) {
		t.Fatalf("DeviceKeys with the TPM off: %v, want ErrAbsent", err)
	}
	tpmA.Start()
	k2, err := ring.DeviceKeys()
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	defer k2.Clear()
	if !bytes.Equal(k1.Current, k2.Current) {
		t.Fatal("the key unsealed after a restart differs")
	}
	want := board.KeyCounts{Sealed: 1, Unsealed: 2, Failed: 2}
	if got := ev.Counts(); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	boardtest.AssertNoKey(t, k1.Current, dir, logs.Bytes())
}

// TestTPMOtherUnit: the eMMC of unit A (its keyring) in unit B, with another TPM: nothing
// unseals, and the error says why.
func TestTPMOtherUnit(t *testing.T) {
	dir := t.TempDir()
	tpmA := boardtest.StartSWTPM(t, filepath.Join(dir, "tpmA"))
	tpmB := boardtest.StartSWTPM(t, filepath.Join(dir, "tpmB"))
	var logs bytes.Buffer
	ringA, _ := newRing(tpmA, dir, &logs, nil)
	if _, err := ringA.Provision(); err != nil {
		t.Fatal(err)
	}
	ringB, evB := newRing(tpmB, dir, &logs, nil)
	_, err := ringB.DeviceKeys()
	if !errors.Is(err, board.ErrSealedElsewhere) {
		t.Fatalf("unseal on TPM B: %v, want ErrSealedElsewhere", err)
	}
	t.Logf("on TPM B: %v", err)
	if evB.Counts().Failed != 1 {
		t.Errorf("failures counted: %+v", evB.Counts())
	}
	if !bytes.Contains(logs.Bytes(), []byte("DEVICE KEY unseal FAILED")) {
		t.Errorf("the failure is not logged:\n%s", logs.Bytes())
	}
}

// TestTPMPCRPolicy: a key bound to a policy authority unseals while the PCRs hold what a
// signed policy approves; after a PCR changes (a new boot image) it fails until the
// authority signs a policy for the new value, without resealing.
func TestTPMPCRPolicy(t *testing.T) {
	dir := t.TempDir()
	tpm := boardtest.StartSWTPM(t, filepath.Join(dir, "tpm"))
	priv, pub, err := board.NewPolicyAuthority()
	if err != nil {
		t.Fatal(err)
	}
	authority := filepath.Join(dir, "authority.pem")
	if err := os.WriteFile(authority, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	const pcr = 16 // the debug PCR: nothing measures into it
	sign := func(name string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, tpm.SignPolicy(priv, pcr), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	v1 := sign("v1.policy")
	var logs bytes.Buffer
	policies := []string{v1}
	ring, _ := newRing(tpm, dir, &logs, func(c *board.TPMConfig) { c.Authority = authority; c.Policies = policies })
	if _, err := ring.Provision(); err != nil {
		t.Fatal(err)
	}
	k1, err := ring.DeviceKeys()
	if err != nil {
		t.Fatalf("unseal under the signed policy: %v", err)
	}
	defer k1.Clear()

	tpm.ExtendPCR(pcr, sha256.Sum256([]byte("boot image v2")))
	if _, err := ring.DeviceKeys(); !errors.Is(err, board.ErrPolicy) {
		t.Fatalf("unseal after the PCR changed: %v, want ErrPolicy", err)
	} else {
		t.Logf("PCR changed: %v", err)
	}

	// A policy signed by another authority does not help.
	otherPriv, _, _ := board.NewPolicyAuthority()
	forgedPath := filepath.Join(dir, "forged.policy")
	os.WriteFile(forgedPath, tpm.SignPolicy(otherPriv, pcr), 0o644)
	ringForged, _ := newRing(tpm, dir, &logs, func(c *board.TPMConfig) { c.Authority = authority; c.Policies = []string{v1, forgedPath} })
	if _, err := ringForged.DeviceKeys(); !errors.Is(err, board.ErrPolicy) {
		t.Fatalf("unseal with a policy of another authority: %v, want ErrPolicy", err)
	}

	v2 := sign("v2.policy")
	ring2, _ := newRing(tpm, dir, &logs, func(c *board.TPMConfig) { c.Authority = authority; c.Policies = []string{v1, v2} })
	k2, err := ring2.DeviceKeys()
	if err != nil {
		t.Fatalf("unseal under the newly signed policy: %v", err)
	}
	defer k2.Clear()
	if !bytes.Equal(k1.Current, k2.Current) {
		t.Fatal("a different key after the new policy")
	}
	boardtest.AssertNoKey(t, k1.Current, dir, logs.Bytes())
}

// BenchmarkUnseal measures what the "tpm" provider adds to the daemon's start (READY waits
// for the key): connect, derive the storage root key, load and unseal, against swtpm on
// 127.0.0.1. A discrete TPM is slower; measure on the unit. Goal: under 100 ms.
func BenchmarkUnseal(b *testing.B) {
	for _, bound := range []bool{false, true} {
		b.Run(fmt.Sprintf("pcr_bound=%v", bound), func(b *testing.B) {
			dir := b.TempDir()
			tpm := boardtest.StartSWTPM(b, filepath.Join(dir, "tpm"))
			cfg := board.TPMConfig{Device: tpm.Device(), Keyring: filepath.Join(dir, "keyring.tpm")}
			if bound {
				priv, pub, err := board.NewPolicyAuthority()
				if err != nil {
					b.Fatal(err)
				}
				cfg.Authority = filepath.Join(dir, "authority.pem")
				os.WriteFile(cfg.Authority, pub, 0o644)
				cfg.Policies = []string{filepath.Join(dir, "pcr.policy")}
				os.WriteFile(cfg.Policies[0], tpm.SignPolicy(priv, 7), 0o644)
			}
			ring := board.NewTPMKeyring(cfg)
			if _, err := ring.Provision(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				k, err := ring.DeviceKeys()
				if err != nil {
					b.Fatal(err)
				}
				k.Clear()
			}
		})
	}
}

// TestKeyEventsRepeat: a failure that repeats (a TPM asked again while absent) is counted each
// time but logged once, until an unseal succeeds; a different failure is logged at once.
func TestKeyEventsRepeat(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var ev board.KeyEvents
	absent := fmt.Errorf("connect: %w", board.ErrAbsent)
	for range 3 {
		ev.Failed(log, "tpm keyring k", "unseal", absent)
	}
	ev.Failed(log, "tpm keyring k", "unseal", board.ErrTPM)
	ev.Unsealed(log, "tpm keyring k", 1, 0)
	ev.Failed(log, "tpm keyring k", "unseal", board.ErrTPM)
	if got := bytes.Count(logs.Bytes(), []byte("DEVICE KEY unseal FAILED")); got != 3 {
		t.Errorf("%d failures logged, want 3 (the absent TPM once, the failing TPM before and after the unseal):\n%s", got, logs.Bytes())
	}
	if c := ev.Counts(); c.Failed != 5 || c.Unsealed != 1 {
		t.Errorf("counts %+v, want 5 failures and 1 unseal", c)
	}
}
