package update

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/policy"
)

var errPowerCut = errors.New("power cut")

// cutOps is the real file system until op number cut, which and every later op fail
// without effect: the power went off before them. It tracks what a disk with a volatile
// cache may still lose at that point: file data written but not fsynced, and renames whose
// directory was not fsynced since.
type cutOps struct {
	cut, n   int
	unsynced map[string]bool // files written, not synced
	renames  []rename        // renames not yet made durable by a SyncDir of their directory
}

// rename is a rename not yet durable, and the file it replaced (nil: none).
type rename struct {
	from, to string
	old      []byte
}

func (o *cutOps) step() error {
	o.n++
	if o.n > o.cut {
		return errPowerCut
	}
	return nil
}

func (o *cutOps) WriteFile(name string, data []byte, perm fs.FileMode) error {
	if err := o.step(); err != nil {
		return err
	}
	o.unsynced[name] = true
	return osOps{}.WriteFile(name, data, perm)
}

func (o *cutOps) SyncFile(name string) error {
	if err := o.step(); err != nil {
		return err
	}
	delete(o.unsynced, name)
	return osOps{}.SyncFile(name)
}

func (o *cutOps) Mkdir(name string, perm fs.FileMode) error {
	if err := o.step(); err != nil {
		return err
	}
	return osOps{}.Mkdir(name, perm)
}

func (o *cutOps) Rename(from, to string) error {
	if err := o.step(); err != nil {
		return err
	}
	r := rename{from: from, to: to}
	if info, err := os.Stat(to); err == nil && info.Mode().IsRegular() {
		r.old, _ = os.ReadFile(to)
	}
	o.renames = append(o.renames, r)
	for name := range o.unsynced { // the file itself, or files in a renamed directory
		if name == from || strings.HasPrefix(name, from+"/") {
			delete(o.unsynced, name)
			o.unsynced[to+name[len(from):]] = true
		}
	}
	return osOps{}.Rename(from, to)
}

func (o *cutOps) SyncDir(dir string) error {
	if err := o.step(); err != nil {
		return err
	}
	kept := o.renames[:0]
	for _, r := range o.renames {
		if filepath.Dir(r.to) != dir {
			kept = append(kept, r)
		}
	}
	o.renames = kept
	return osOps{}.SyncDir(dir)
}

// SyncAll syncs one name after the other, each an op the power may go off before: a prefix
// of them durable is what concurrent fsyncs leave at a cut too, as far as the Installer can
// tell (it reads none of them before the rename that follows).
func (o *cutOps) SyncAll(files, dirs []string) error {
	for _, f := range files {
		if err := o.SyncFile(f); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		if err := o.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func (o *cutOps) RemoveAll(name string) error {
	if err := o.step(); err != nil {
		return err
	}
	return osOps{}.RemoveAll(name)
}

// loseVolatile makes the directory look as the disk may have kept it: unsynced file data
// lost (the file empty), renames without a directory sync undone (the file back under its
// old name, and the file it replaced back in place).
func (o *cutOps) loseVolatile(t *testing.T) {
	for name := range o.unsynced {
		if err := os.Truncate(name, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	for i := len(o.renames) - 1; i >= 0; i-- {
		r := o.renames[i]
		if err := os.Rename(r.to, r.from); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if r.old != nil {
			must(t, os.WriteFile(r.to, r.old, 0o600))
		}
	}
}

// TestPowerCut cuts the power before every file operation of three installs (the first
// one rotating the keys), with and without the loss of what was not yet durable, then
// restarts: the policy in force is the last acknowledged install or the one in progress,
// the floor is exactly its version (never above the bundle that is there, never below an
// acknowledged install), the trust set matches it, and the next install works.
func TestPowerCut(t *testing.T) {
	a, b := testKey('a'), testKey('b')
	src := t.TempDir()
	v2 := writeBundle(t, src, "v2", bundleOpts{version: 2, nextKeys: []ed25519.PublicKey{pub(a), pub(b)}, nextThreshold: 2}, a)
	v3 := writeBundle(t, src, "v3", bundleOpts{version: 3, issued: t0}, a, b)
	v4 := writeBundle(t, src, "v4", bundleOpts{version: 4}, a, b)
	v9 := writeBundle(t, src, "v9", bundleOpts{version: 9}, a, b)
	clk := &fixedClock{t0.Add(-time.Hour)}

	run := func(state string, ops fileOps) (acked uint64) {
		h := &policy.Holder{}
		in, err := open(Config{Dir: state, Keys: []ed25519.PublicKey{pub(a)}, Clock: clk.now}, h, ops)
		if err != nil {
			t.Fatal(err)
		}
		for i, src := range []string{v2, v3, v4} {
			if _, err := in.Install(src); err != nil {
				if !errors.Is(err, errPowerCut) {
					t.Fatalf("install %d: %v", i, err)
				}
				return acked
			}
			acked = uint64(i + 2)
		}
		return acked
	}
	full := &cutOps{cut: 1 << 30, unsynced: map[string]bool{}}
	run(t.TempDir(), full)
	total := full.n
	points := 0
	for cut := 0; cut <= total; cut++ {
		for _, lose := range []bool{false, true} {
			t.Run(fmt.Sprintf("cut before op %d, lose volatile %v", cut, lose), func(t *testing.T) {
				state := t.TempDir()
				ops := &cutOps{cut: cut, unsynced: map[string]bool{}}
				acked := run(state, ops)
				if lose {
					ops.loseVolatile(t)
				}
				h := &policy.Holder{}
				in, err := Open(Config{Dir: state, Keys: []ed25519.PublicKey{pub(a)}, Clock: clk.now}, h)
				if err != nil {
					t.Fatalf("open after the cut: %v", err)
				}
				p, _, err := in.Load(nil, nil)
				st := in.State()
				next := max(acked+1, 2) // the install in progress at the cut
				switch {
				case err != nil && acked == 0 && st.Floor == 0:
					// Nothing was acknowledged and nothing committed: no policy, as before.
				case err != nil:
					t.Fatalf("load after the cut (acked v%d, floor %d): %v", acked, st.Floor, err)
				case p.Version() != acked && p.Version() != next:
					t.Fatalf("v%d in force, acknowledged v%d", p.Version(), acked)
				case st.Floor != p.Version():
					t.Fatalf("floor %d with v%d in force", st.Floor, p.Version())
				case p.Version() >= 2 && (len(st.Keys) != 2 || st.Threshold != 2):
					t.Fatalf("v%d in force without the rotated trust set: %+v", p.Version(), st)
				case p.Version() >= 3 && !in.Now().Equal(t0):
					t.Fatalf("v%d in force, but Now %v is not its issued time", p.Version(), in.Now())
				}
				if _, err := in.Install(v9); err != nil {
					t.Fatalf("install after the cut: %v", err)
				}
				ents, _ := os.ReadDir(filepath.Join(state, bundlesDir))
				if len(ents) != 1 {
					t.Errorf("leftovers in bundles/: %v", ents)
				}
				points++
			})
		}
	}
	if total < 30 || points != 2*(total+1) {
		t.Fatalf("%d ops, %d crash points checked", total, points)
	}
	t.Logf("%d file operations, %d crash points", total, points)
}
