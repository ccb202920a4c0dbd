package storage

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestOldKeys: after a rotation the log opens with the new key and the old one, reads the
// old segments, writes new ones under the new key only; without the old key it refuses.
func TestOldKeys(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	at := time.Unix(1_700_000_000, 0)
	l, err := Open(dir, Options{Key: k1})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, at, "under k1")
	l.Close()

	if _, err := Open(dir, Options{Key: k2}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with the new key alone: %v, want ErrWrongKey", err)
	}
	for _, bad := range [][][]byte{{k2}, {k1[:31]}} {
		if _, err := Open(dir, Options{Key: k2, OldKeys: bad}); !errors.Is(err, ErrOldKeys) {
			t.Errorf("old keys %d bytes, same as current %v: %v, want ErrOldKeys", len(bad[0]), bytes.Equal(bad[0], k2), err)
		}
	}
	l, err = Open(dir, Options{Key: k2, OldKeys: [][]byte{k1}})
	if err != nil {
		t.Fatalf("open with the old key for reading: %v", err)
	}
	mustAppend(t, l, at.Add(time.Second), "under k2")
	if used, err := KeyInUse(dir, k1); err != nil || !used {
		t.Fatalf("KeyInUse(k1) = %v, %v; want true", used, err)
	}
	l.Close()

	r, err := NewReader(dir, k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	segs, err := r.Segments()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if s.Err != nil {
			t.Fatalf("segment %d: %v", s.ID, s.Err)
		}
		if _, err := r.Scan(s.ID, func(rec *Record) error { got = append(got, string(rec.Payload)); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"under k1", "under k2"}; !equalStrings(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
	// The new segment is under k2 only: k1 cannot read it.
	r1, _ := NewReader(dir, k1)
	segs, _ = r1.Segments()
	if last := segs[len(segs)-1]; !errors.Is(last.Err, ErrWrongKey) {
		t.Fatalf("the newest segment with k1 only: %v, want ErrWrongKey", last.Err)
	}

	// Retention erases the k1 segment: k1 is no longer in use.
	clk := &stepClock{t: at.Add(48 * time.Hour)}
	l, err = Open(dir, Options{Key: k2, OldKeys: [][]byte{k1}, Clock: clk, MaxAge: map[Type]time.Duration{1: 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if used, err := KeyInUse(dir, k1); err != nil || used {
		t.Errorf("KeyInUse(k1) after retention = %v, %v; want false", used, err)
	}
	if used, err := KeyInUse(dir, k2); err != nil || !used {
		t.Errorf("KeyInUse(k2), the current key, = %v, %v; want true", used, err)
	}
	if _, err := KeyInUse(dir, k1[:3]); !errors.Is(err, ErrKeySize) {
		t.Errorf("KeyInUse with a short key: %v", err)
	}
}

type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

func mustAppend(t *testing.T, l *Log, at time.Time, payload string) {
	t.Helper()
	seq, err := l.Append(1, at, []byte(payload))
	if err == nil {
		err = l.WaitDurable(seq)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
