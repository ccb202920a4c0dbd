package storage

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// sectorSize is the unit a disk writes atomically at best (and eMMC at worst tears).
const sectorSize = 512

// crashPoint is one post-power-cut image: the ops before index n, then partial (the
// pieces of op n that reached the disk).
type crashPoint struct {
	n        int
	partial  []op
	what     string
	unsynced bool // drop every write not yet followed by a sync of its file
}

// crashPoints lists a power cut before every op, and for every write a cut at random byte
// offsets, at every sector boundary (up to 8), and with random subsets of its sectors.
func crashPoints(ops []op, rng *rand.Rand) []crashPoint {
	var out []crashPoint
	for i, o := range ops {
		out = append(out, crashPoint{n: i, what: "before " + o.kind.String()})
		out = append(out, crashPoint{n: i, what: "before " + o.kind.String() + ", unsynced writes lost", unsynced: true})
		if o.kind != opWrite || len(o.data) < 2 {
			continue
		}
		cut := func(b int) op { c := o; c.data = o.data[:b]; return c }
		for j := 0; j < 2; j++ {
			b := 1 + rng.IntN(len(o.data)-1)
			out = append(out, crashPoint{n: i, partial: []op{cut(b)}, what: fmt.Sprintf("write prefix %d/%d", b, len(o.data))})
		}
		// Sector pieces: boundaries are at file offsets that are multiples of 512.
		var bounds []int
		for off := (o.off/sectorSize + 1) * sectorSize; off < o.off+int64(len(o.data)); off += sectorSize {
			bounds = append(bounds, int(off-o.off))
		}
		for j, b := range bounds {
			if j >= 8 {
				break
			}
			out = append(out, crashPoint{n: i, partial: []op{cut(b)}, what: fmt.Sprintf("write sectors up to %d/%d", b, len(o.data))})
		}
		if len(bounds) > 0 {
			for j := 0; j < 2; j++ {
				var pieces []op
				start := 0
				for _, b := range append(bounds, len(o.data)) {
					if rng.IntN(2) == 0 {
						c := o
						c.off, c.data = o.off+int64(start), o.data[start:b]
						pieces = append(pieces, c)
					}
					start = b
				}
				out = append(out, crashPoint{n: i, partial: pieces, what: fmt.Sprintf("write with %d of %d sectors", len(pieces), len(bounds)+1)})
			}
		}
	}
	return append(out, crashPoint{n: len(ops), what: "after the last op"})
}

// TestCrashRecovery runs a workload through the recording file system, then rebuilds the
// directory as a power cut would have left it at every crash point and checks recovery:
// every acknowledged record is present and intact, nothing corrupt is returned, and the
// log accepts new appends.
func TestCrashRecovery(t *testing.T) {
	src := t.TempDir()
	rfs := &recFS{}
	o := testOptions()
	o.SegmentSize = 8 << 10
	o.BufferSize = 2 << 10
	o.fs = rfs
	// Phase 1: appends with syncs, then a power cut with records buffered.
	l := mustOpen(t, src, o)
	rfs.setDurable(l.Durable)
	appendSyncing(t, l, 115, 5)
	appendN(t, l, 2)
	// The two buffered records must not have rolled the segment: the flusher would race the
	// cut to seal the old one, and recovery might then find nothing to scan.
	l.mu.Lock()
	rolled := l.seg.stats.count <= 2
	l.mu.Unlock()
	if rolled {
		t.Fatal("test setup: the last appends started a new segment; change the record count")
	}
	l.powerCut()
	acked := l.Durable()
	rfs.setDurable(func() uint64 { return acked })
	// Phase 2: recovery (scan, cut, seal: its ops are crash points too), appends, Close.
	l = mustOpen(t, src, o)
	if l.Recovery().Scanned != 1 {
		t.Fatalf("recovery after the power cut: %+v", l.Recovery())
	}
	rfs.setDurable(l.Durable)
	appendSyncing(t, l, 30, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	acked = l.Durable()
	rfs.setDurable(func() uint64 { return acked })
	// Phase 3: a clean reopen, appends, and a power cut with unsynced records.
	l = mustOpen(t, src, o)
	rfs.setDurable(l.Durable)
	appendSyncing(t, l, 30, 3)
	appendN(t, l, 2)
	ops := rfs.snapshot()
	final := l.Durable()

	rng := rand.New(rand.NewPCG(1, 2))
	points := crashPoints(ops, rng)
	if testing.Short() {
		points = thin(points, 200)
	}
	for _, cp := range points {
		acked := final
		if cp.n < len(ops) {
			acked = ops[cp.n].durable
		}
		prefix := ops[:cp.n]
		if cp.unsynced {
			prefix = dropUnsynced(prefix)
		}
		if err := checkCrashImage(t, src, prefix, cp.partial, acked, o); err != nil {
			t.Fatalf("crash %s at op %d (%v): %v", cp.what, cp.n, ops[min(cp.n, len(ops)-1)].kind, err)
		}
	}
	t.Logf("%d ops recorded, %d crash points checked", len(ops), len(points))
	l.powerCut()
}

func checkCrashImage(t *testing.T, src string, ops, partial []op, acked uint64, o Options) error {
	dst, err := os.MkdirTemp(t.TempDir(), "crash")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dst)
	if err := replay(append(append([]op(nil), ops...), partial...), src, dst); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	o.fs = nil
	if _, err := os.Stat(filepath.Join(dst)); err != nil {
		return err
	}
	l, err := Open(dst, o)
	if err != nil {
		return fmt.Errorf("Open after crash: %w", err)
	}
	next := l.Stats().NextSeq
	appendN(t, l, 3)
	if err := l.Close(); err != nil {
		return fmt.Errorf("Close after crash: %w", err)
	}
	seqs, _ := readAll(t, dst, testKey) // fails the test on any corrupt record
	have := make(map[uint64]bool, len(seqs))
	for i, s := range seqs {
		if i > 0 && s <= seqs[i-1] {
			return fmt.Errorf("seq %d after %d", s, seqs[i-1])
		}
		have[s] = true
	}
	for s := uint64(1); s <= acked; s++ {
		if !have[s] {
			return fmt.Errorf("acknowledged record %d lost (acked up to %d, read %v)", s, acked, seqs)
		}
	}
	for s := next; s < next+3; s++ {
		if !have[s] {
			return fmt.Errorf("record %d appended after recovery lost", s)
		}
	}
	return nil
}

// thin keeps about n evenly spread points (for -short).
func thin(p []crashPoint, n int) []crashPoint {
	step := max(1, len(p)/n)
	var out []crashPoint
	for i := 0; i < len(p); i += step {
		out = append(out, p[i])
	}
	return out
}

// dropUnsynced removes what a disk with a volatile cache may lose in a power cut: the data
// writes that no later fdatasync of the same file covers, and the directory operations
// (create, rename, remove) that no later fsync of the directory covers. A file whose
// create is lost never existed, so its writes go too; the writes to a file whose rename is
// lost land under its old name.
func dropUnsynced(ops []op) []op {
	synced := make(map[string]bool)
	dirSynced := false
	keep := make([]bool, len(ops))
	for i := len(ops) - 1; i >= 0; i-- {
		o := ops[i]
		switch o.kind {
		case opSync:
			synced[o.path] = true
			keep[i] = true
		case opSyncDir:
			dirSynced = true
			keep[i] = true
		case opWrite, opTruncate, opAllocate:
			keep[i] = synced[o.path]
		case opRename:
			synced[o.path] = synced[o.to]
			keep[i] = dirSynced
		case opCreate, opRemove:
			keep[i] = dirSynced
		}
	}
	var out []op
	gone := make(map[string]bool)  // created, but the create was lost
	was := make(map[string]string) // renamed, but the rename was lost: the old name
	for i, o := range ops {
		switch {
		case o.kind == opCreate:
			gone[o.path] = !keep[i]
			delete(was, o.path)
		case o.kind == opRename && !keep[i]:
			was[o.to] = o.path
			gone[o.to] = gone[o.path]
		}
		if !keep[i] {
			continue
		}
		if old, ok := was[o.path]; ok && o.kind != opRename {
			o.path = old
		}
		if gone[o.path] && o.kind != opCreate {
			continue
		}
		out = append(out, o)
	}
	return out
}

// TestDropUnsynced checks the crash model itself: what a power cut keeps of file and
// directory operations without and with their fsyncs.
func TestDropUnsynced(t *testing.T) {
	w := func(p string) op { return op{kind: opWrite, path: p, data: []byte("x")} }
	tests := []struct {
		name string
		ops  []op
		want []opKind
		path []string // of the kept ops
	}{
		{"create and write, no syncs", []op{{kind: opCreate, path: "a"}, w("a")}, nil, nil},
		{"file synced, directory not: the file never existed",
			[]op{{kind: opCreate, path: "a"}, w("a"), {kind: opSync, path: "a"}},
			[]opKind{}, nil},
		{"both synced",
			[]op{{kind: opCreate, path: "a"}, w("a"), {kind: opSync, path: "a"}, {kind: opSyncDir, path: "d"}},
			[]opKind{opCreate, opWrite, opSync, opSyncDir}, []string{"a", "a", "a", "d"}},
		{"rename not synced: the data stays under the old name",
			[]op{{kind: opCreate, path: "t"}, {kind: opSyncDir, path: "d"}, {kind: opRename, path: "t", to: "s"}, w("s"), {kind: opSync, path: "s"}},
			[]opKind{opCreate, opSyncDir, opWrite, opSync}, []string{"t", "d", "t", "t"}},
		{"remove not synced: the file stays",
			[]op{{kind: opCreate, path: "a"}, {kind: opSyncDir, path: "d"}, {kind: opRemove, path: "a"}},
			[]opKind{opCreate, opSyncDir}, []string{"a", "d"}},
		{"remove synced",
			[]op{{kind: opCreate, path: "a"}, {kind: opRemove, path: "a"}, {kind: opSyncDir, path: "d"}},
			[]opKind{opCreate, opRemove, opSyncDir}, []string{"a", "a", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dropUnsynced(tt.ops)
			var kinds []opKind
			var paths []string
			for _, o := range got {
				kinds = append(kinds, o.kind)
				paths = append(paths, o.path)
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tt.want) || (tt.path != nil && fmt.Sprint(paths) != fmt.Sprint(tt.path)) {
				t.Fatalf("kept %v %v, want %v %v", kinds, paths, tt.want, tt.path)
			}
		})
	}
}
