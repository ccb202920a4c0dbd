package audit

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// leafData is the i-th test leaf.
func leafData(i int64) []byte { return fmt.Appendf(nil, "entry %d", i) }

// TestTreeAgainstTlog builds trees of every size up to 300 and checks the writer's right
// edge, the leaf hasher and Tree's stored hashes against tlog's own functions (the oracle:
// tlog.RecordHash, StoredHashes and TreeHash share no code with edge and AppendHash).
func TestTreeAgainstTlog(t *testing.T) {
	var e edge
	lh := newLeafHasher()
	tr := NewTree(0)
	var stored []tlog.Hash
	oracle := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for n := int64(0); n < 300; n++ {
		d := leafData(n)
		if got, want := lh.hash(d), tlog.RecordHash(d); got != want {
			t.Fatalf("leaf %d: hash %v, tlog %v", n, got, want)
		}
		hs, err := tlog.StoredHashes(n, d, oracle)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		e.append(lh.hash(d))
		tr.AppendEntry(d)
		want, err := tlog.TreeHash(n+1, oracle)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.root(); got != want {
			t.Fatalf("size %d: edge root %v, tlog %v", n+1, got, want)
		}
		if got, _ := tr.Root(n + 1); got != want {
			t.Fatalf("size %d: Tree root %v, tlog %v", n+1, got, want)
		}
	}
	if len(tr.hashes) != len(stored) {
		t.Fatalf("Tree stores %d hashes, tlog %d", len(tr.hashes), len(stored))
	}
	for i := range stored {
		if tr.hashes[i] != stored[i] {
			t.Fatalf("stored hash %d differs from tlog's", i)
		}
	}
}

func TestProofs(t *testing.T) {
	const n = 1000
	tr := NewTree(n)
	for i := range int64(n) {
		tr.AppendEntry(leafData(i))
	}
	cpAt := func(size int64) Checkpoint {
		r, err := tr.Root(size)
		if err != nil {
			t.Fatal(err)
		}
		return Checkpoint{Origin: "o", Size: size, Root: r}
	}
	for _, c := range [][2]int64{{1, 1}, {1, 1000}, {7, 8}, {8, 9}, {500, 1000}, {999, 1000}, {1000, 1000}} {
		p, err := tr.ProveConsistency(c[0], c[1])
		if err != nil {
			t.Fatal(err)
		}
		txt, _ := p.MarshalText()
		var q ConsistencyProof
		if err := q.UnmarshalText(txt); err != nil {
			t.Fatal(err)
		}
		if err := cpAt(c[0]).Consistent(cpAt(c[1]), &q); err != nil {
			t.Errorf("%v: %v", c, err)
		}
		// The same proof against a different old root, or reversed, must fail.
		bad := cpAt(c[0])
		bad.Root[0] ^= 1
		if err := bad.Consistent(cpAt(c[1]), &q); err == nil {
			t.Errorf("%v: a wrong old root verified", c)
		}
		if c[0] < c[1] {
			if err := cpAt(c[1]).Consistent(cpAt(c[0]), &q); !errors.Is(err, ErrRollback) {
				t.Errorf("%v reversed: %v, want ErrRollback", c, err)
			}
		}
		if len(q.Hashes) > 0 {
			q.Hashes[len(q.Hashes)-1][3] ^= 0x80
			if err := cpAt(c[0]).Consistent(cpAt(c[1]), &q); !errors.Is(err, ErrProof) {
				t.Errorf("%v: edited proof: %v, want ErrProof", c, err)
			}
		}
	}
	for _, c := range [][2]int64{{0, 1}, {0, 1000}, {999, 1000}, {511, 512}, {512, 1000}} {
		p, err := tr.ProveInclusion(c[0], c[1], leafData(c[0]))
		if err != nil {
			t.Fatal(err)
		}
		txt, _ := p.MarshalText()
		var q InclusionProof
		if err := q.UnmarshalText(txt); err != nil {
			t.Fatal(err)
		}
		if err := cpAt(c[1]).Includes(&q); err != nil {
			t.Errorf("%v: %v", c, err)
		}
		q.Entry = leafData(c[0] + 1)
		if err := cpAt(c[1]).Includes(&q); !errors.Is(err, ErrProof) {
			t.Errorf("%v: another entry: %v, want ErrProof", c, err)
		}
	}
	for _, bad := range []string{"", "geogate audit consistency proof v1\n1\n", "geogate audit consistency proof v1\n1\n2\nnot base64\n", "x\n1\n2\n"} {
		var q ConsistencyProof
		if err := q.UnmarshalText([]byte(bad)); !errors.Is(err, ErrProof) {
			t.Errorf("%q: %v, want ErrProof", bad, err)
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	var e edge
	lh := newLeafHasher()
	d := leafData(1)
	if a := testing.AllocsPerRun(1000, func() { e.append(lh.hash(d)); _ = e.root() }); a != 0 {
		t.Errorf("edge append + root: %v allocations, want 0", a)
	}
}

// BenchmarkConsistency1M proves and checks consistency proofs between checkpoints of a
// 1,048,576-entry log: the goal is < 10 ms to verify.
func BenchmarkConsistency1M(b *testing.B) {
	const n = 1 << 20
	tr := NewTree(n)
	lh := newLeafHasher()
	var buf [32]byte
	for i := range int64(n) {
		tr.AppendHash(lh.hash(fmt.Appendf(buf[:0], "entry %d", i)))
	}
	newRoot, _ := tr.Root(n)
	olds := []int64{1, 1000, 524289, 999999, n - 1}
	type pr struct {
		old Checkpoint
		p   *ConsistencyProof
	}
	var prs []pr
	for _, o := range olds {
		r, _ := tr.Root(o)
		p, err := tr.ProveConsistency(o, n)
		if err != nil {
			b.Fatal(err)
		}
		prs = append(prs, pr{Checkpoint{Origin: "o", Size: o, Root: r}, p})
	}
	newer := Checkpoint{Origin: "o", Size: n, Root: newRoot}
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			x := prs[i%len(prs)]
			if err := x.old.Consistent(newer, x.p); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("prove", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := tr.ProveConsistency(olds[i%len(olds)], n); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkAppendHash is the unit's per-entry tree work: a leaf hash and the edge update.
func BenchmarkAppendHash(b *testing.B) {
	b.ReportAllocs()
	var e edge
	lh := newLeafHasher()
	d := make([]byte, 200)
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		if e.n == 1<<62 {
			e = edge{}
		}
		e.append(lh.hash(d))
	}
}
