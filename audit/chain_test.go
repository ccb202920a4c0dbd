package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// uploads appends n export entries to l, as the uploader does, and returns the links a
// processor receives: each checkpoint with the proof from the one before.
func uploads(t *testing.T, l *Log, from Checkpoint, n int, tag string) []Link {
	t.Helper()
	var links []Link
	prev := from
	for i := range n {
		l.Record(Entry{Kind: Decisions, Count: uint64(i)}) // other events in between
		cp, err := l.Append(Entry{Kind: Export, Object: fmt.Sprintf("%s-%d.age", tag, i), SHA256: "00", Bytes: 1})
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.ProveConsistency(prev.Size, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, Link{Name: fmt.Sprintf("%s-%d", tag, i), Checkpoint: cp, Proof: p})
		prev = cp
	}
	return links
}

func TestCheckChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	l := mustOpen(t, dir)
	defer l.Close()
	good := uploads(t, l, Checkpoint{}, 6, "x")
	if err := CheckChain(nil, good); err != nil {
		t.Fatalf("a true chain: %v", err)
	}
	// Received out of order (or listed by name): the same chain.
	rev := []Link{good[3], good[0], good[5], good[1], good[4], good[2]}
	if err := CheckChain(nil, rev); err != nil {
		t.Fatalf("the same chain out of order: %v", err)
	}
	since := good[1].Checkpoint
	if err := CheckChain(&since, good[2:]); err != nil {
		t.Fatalf("a chain from a trusted checkpoint: %v", err)
	}

	// A fork: a copy of the log at good[2] grows other entries, signed by the same key.
	forkDir := filepath.Join(t.TempDir(), "fork")
	copyLogPrefix(t, dir, forkDir, good[2].Checkpoint)
	fl := mustOpen(t, forkDir)
	defer fl.Close()
	fork := uploads(t, fl, good[2].Checkpoint, 3, "fork")

	// A rewritten log: as many entries, other objects named, re-signed with the same key.
	rw := mustOpen(t, filepath.Join(t.TempDir(), "rewritten"))
	defer rw.Close()
	rewritten := uploads(t, rw, Checkpoint{}, 6, "y")

	// A fork the processor sees alone, after its last true checkpoint, is an append-only
	// log as far as it can tell: only both branches side by side show it.
	if err := CheckChain(nil, append(append([]Link(nil), good[:3]...), fork...)); err != nil {
		t.Errorf("one branch alone: %v", err)
	}

	swapped := func(i int, by Link) []Link {
		out := append([]Link(nil), good...)
		out[i] = by
		return out
	}
	noProof := good[4]
	noProof.Proof = nil
	wrongFrom := good[4]
	wrongFrom.Proof = good[5].Proof
	gap := append(append([]Link(nil), good[:2]...), good[3:]...)
	for _, tt := range []struct {
		name  string
		since *Checkpoint
		links []Link
	}{
		{"fork next to the true log", nil, append(append([]Link(nil), good...), fork...)},
		{"fork's checkpoint replaces one", nil, swapped(4, fork[1])},
		{"rewritten log, same sizes", nil, swapped(3, rewritten[3])},
		{"rewritten log from a trusted checkpoint", &good[0].Checkpoint, rewritten[1:]},
		{"proof missing", nil, swapped(4, noProof)},
		{"proof from elsewhere", nil, swapped(4, wrongFrom)},
		{"checkpoint missing", nil, gap},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckChain(tt.since, tt.links)
			if !errors.Is(err, ErrProof) {
				t.Fatalf("CheckChain: %v, want ErrProof", err)
			}
			t.Log(err)
		})
	}
}

// copyLogPrefix copies the log in dir to dst, keeping the entries cp covers and cp.
func copyLogPrefix(t *testing.T, dir, dst string, cp Checkpoint) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	hdr, fs := frames(t, data)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, logName), reframe(hdr, fs[:cp.Size]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, cpName), cp.Signed, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProveConsistencyBounds(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "audit"))
	defer l.Close()
	links := uploads(t, l, Checkpoint{}, 2, "x")
	n := links[1].Checkpoint.Size
	for _, tt := range [][2]int64{{-1, n}, {n, n - 1}, {1, n + 100}} {
		if _, err := l.ProveConsistency(tt[0], tt[1]); !errors.Is(err, ErrProof) {
			t.Errorf("ProveConsistency(%d, %d): %v, want ErrProof", tt[0], tt[1], err)
		}
	}
}
