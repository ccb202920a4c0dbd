package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// chainProblems returns the chain problems Reader.Segments reports for dir.
func chainProblems(t *testing.T, dir string) []error {
	t.Helper()
	r, err := NewReader(dir, testKey)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	var out []error
	for _, s := range segs {
		if s.Err != nil {
			out = append(out, s.Err)
		}
		if s.Chain != nil {
			out = append(out, s.Chain)
		}
	}
	return out
}

// TestChainTampering: the five tamperings of issue 17, each of which store verify once
// passed with 0 problems, are reported with ErrChain; the untouched log has none.
func TestChainTampering(t *testing.T) {
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		tamper func(p []string)
	}{
		{"untouched", nil},
		{"old segment copied over the newest", func(p []string) { copyFile(p[0], p[len(p)-1]) }},
		{"two names swapped", func(p []string) {
			os.Rename(p[1], p[1]+".x")
			os.Rename(p[2], p[1])
			os.Rename(p[1]+".x", p[2])
		}},
		{"segment duplicated under a new name", func(p []string) {
			dir := filepath.Dir(p[0])
			copyFile(p[1], filepath.Join(dir, segName(uint64(len(p)+1))))
		}},
		{"middle segment deleted", func(p []string) { os.Remove(p[2]) }},
		{"last segment cut to its header", func(p []string) { os.Truncate(p[len(p)-1], headerSize) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := sealedLog(t, dir, 200)
			if len(paths) < 5 {
				t.Fatalf("want 5 segments, have %d", len(paths))
			}
			if tt.tamper == nil {
				if errs := chainProblems(t, dir); len(errs) != 0 {
					t.Fatalf("untouched log: %v", errs)
				}
				return
			}
			tt.tamper(paths)
			errs := chainProblems(t, dir)
			if len(errs) == 0 {
				t.Fatal("not reported")
			}
			for _, err := range errs {
				if !errors.Is(err, ErrChain) {
					t.Fatalf("reported as %v, want ErrChain", err)
				}
			}
			t.Log(errs)
		})
	}
}

// TestChainAcrossReopen: segments written by several opens, the first ones of format
// version 1 (the golden log), chain without a problem.
func TestChainAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ents, _ := os.ReadDir("testdata/v1-aes-gcm")
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join("testdata/v1-aes-gcm", e.Name()))
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600)
	}
	o := testOptions()
	o.Key = goldenKey
	for range 3 {
		l := mustOpen(t, dir, o)
		appendN(t, l, 50)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := NewReader(dir, goldenKey)
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if s.Err != nil || s.Chain != nil {
			t.Fatalf("segment %016x (version %d): %v %v", s.ID, s.Version, s.Err, s.Chain)
		}
	}
	if segs[0].Version != 1 || segs[len(segs)-1].Version != formatVersion {
		t.Fatalf("versions %d..%d", segs[0].Version, segs[len(segs)-1].Version)
	}
}
