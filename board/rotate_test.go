package board_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
	"github.com/geogate/geogate/internal/atomicfile"
	"github.com/geogate/geogate/storage"
)

var errPowerCut = errors.New("test: power cut")

// Power cut kinds at a keyring write: before anything reached the disk; with the temporary
// file half written (never renamed); after the rename, before the write returned.
const (
	cutBefore = iota
	cutTorn
	cutAfter
	numCuts
)

// TestRotationPowerCut runs a unit's life across a key rotation (first boot provisions K1
// and stores records; the operator rotates to K2; the next boot stores under K2 and still
// reads K1's records; a later boot finds retention erased K1's data and retires K1) and cuts
// the power at every keyring write in each of three ways. After every cut the unit boots
// again and the step is retried; in the end every acknowledged record that retention did
// not erase must read back, and the keyring must hold exactly the key still in use.
func TestRotationPowerCut(t *testing.T) {
	root := t.TempDir()
	tpm := boardtest.StartSWTPM(t, filepath.Join(root, "tpm"))
	const writes = 3 // provision, rotate, retire
	for cutAt := 0; cutAt <= writes; cutAt++ {
		for kind := range numCuts {
			if cutAt == 0 && kind > 0 {
				continue // cutAt 0 is the run without a power cut
			}
			t.Run(fmt.Sprintf("write%d/cut%d", cutAt, kind), func(t *testing.T) {
				rotationLife(t, tpm, t.TempDir(), cutAt, kind)
			})
		}
	}
}

func rotationLife(t *testing.T, tpm *boardtest.SWTPM, dir string, cutAt, kind int) {
	calls := 0
	*board.WriteRingFile = func(name string, data []byte, perm fs.FileMode, replace bool) error {
		calls++
		if calls != cutAt {
			return atomicfile.Write(name, data, perm, replace)
		}
		switch kind {
		case cutTorn:
			os.WriteFile(filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp-cut"), data[:len(data)/2], perm)
		case cutAfter:
			if err := atomicfile.Write(name, data, perm, replace); err != nil {
				t.Fatal(err)
			}
		}
		return errPowerCut
	}
	t.Cleanup(func() { *board.WriteRingFile = atomicfile.Write })

	data := filepath.Join(dir, "data")
	ring := board.NewTPMKeyring(board.TPMConfig{Device: tpm.Device(), Keyring: filepath.Join(dir, "keyring.tpm"), Logger: slog.New(slog.DiscardHandler)})
	t0 := time.Unix(1_700_000_000, 0)
	maxAge := 24 * time.Hour
	acked := map[string]bool{} // payloads acknowledged durable and not yet expired

	// boot is what the daemon does at start: provision if needed, unseal, open the log,
	// retire unused old keys, store payloads. A power cut aborts the boot; the caller boots
	// again, as the unit would.
	boot := func(now time.Time, payloads ...string) error {
		if _, err := ring.Provision(); err != nil {
			return err
		}
		keys, err := ring.DeviceKeys()
		if err != nil {
			return err
		}
		defer keys.Clear()
		l, err := storage.Open(data, storage.Options{Key: keys.Current, OldKeys: keys.Old,
			Clock: fixedClock(now), MaxAge: map[storage.Type]time.Duration{1: maxAge}})
		if err != nil {
			t.Fatalf("open the log at %v: %v", now, err)
		}
		defer l.Close()
		if _, err := ring.Retire(func(k []byte) (bool, error) { return storage.KeyInUse(data, k) }); err != nil {
			return err
		}
		for _, p := range payloads {
			seq, err := l.Append(1, now, []byte(p))
			if err == nil {
				err = l.WaitDurable(seq)
			}
			if err != nil {
				t.Fatal(err)
			}
			acked[p] = true
		}
		return nil
	}
	retry := func(what string, f func() error) {
		for try := 0; ; try++ {
			err := f()
			if err == nil {
				return
			}
			if !errors.Is(err, errPowerCut) || try > 0 {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	retry("first boot", func() error { return boot(t0, "a1", "a2") })
	retry("rotate", ring.Rotate)
	retry("boot after rotation", func() error { return boot(t0.Add(time.Hour), "b1") })
	checkRecords(t, ring, data, acked)
	// Two days later retention erases the first boot's records (and the hour-later ones).
	for p := range acked {
		delete(acked, p)
	}
	retry("boot after retention", func() error { return boot(t0.Add(48*time.Hour), "c1") })
	retry("boot again", func() error { return boot(t0.Add(49*time.Hour), "d1") })
	checkRecords(t, ring, data, acked)
	keys, err := ring.DeviceKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Clear()
	if len(keys.Old) != 0 {
		t.Errorf("%d old keys left after retention erased their data", len(keys.Old))
	}
	if calls < 3 {
		t.Errorf("only %d keyring writes: the power cut was never injected", calls)
	}
}

// checkRecords reads the log with the keyring's keys and compares with the acknowledged
// payloads.
func checkRecords(t *testing.T, ring *board.TPMKeyring, dir string, acked map[string]bool) {
	t.Helper()
	keys, err := ring.DeviceKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Clear()
	r, err := storage.NewReader(dir, keys.Current, keys.Old...)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range segs {
		if s.Err != nil {
			t.Fatalf("segment %d unreadable: %v", s.ID, s.Err)
		}
		if _, err := r.Scan(s.ID, func(rec *storage.Record) error { got = append(got, string(rec.Payload)); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for p := range acked {
		want = append(want, p)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("records %q, want the acknowledged %q", got, want)
	}
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
