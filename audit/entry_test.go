package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// t0 is the golden files' clock: fixed, so they do not depend on the day they are made.
var t0 = time.Date(2026, 11, 25, 8, 0, 0, 123456789, time.UTC)

// sampleEntries has one entry of every kind geogate writes.
func sampleEntries() []Entry {
	return []Entry{
		{Kind: AuditOpened},
		{Kind: DaemonStart, Detail: "geogate v1.2.3"},
		{Kind: PolicyLoaded, ID: "cn-sample", Version: 3, Key: "9f2c61d0a8b4e517"},
		{Kind: PolicyRejected, ID: "cn-sample", Version: 4, Key: "9f2c61d0a8b4e517", Detail: "policy: signature does not verify"},
		{Kind: PolicyExpired, ID: "cn-sample", Version: 3},
		{Kind: ConsoleSession, ID: "s-17", Peer: "uid 1000", Detail: "open"},
		{Kind: ConsoleCommand, ID: "s-17", Peer: "uid 1000", Detail: "store export -to \"processor\"\tnow"},
		{Kind: Export, Object: "export-0001.age", Peer: "age1processor", SHA256: strings.Repeat("ab", 32), Bytes: 1 << 20},
		{Kind: Upload, Object: "sha256/abab", Peer: "https://s3.processor.example/bucket", SHA256: strings.Repeat("ab", 32), Bytes: 1 << 20},
		{Kind: KeyEvent, ID: "audit", Key: "2a56d9b9", Detail: "generated"},
		{Kind: PowerFail, Detail: "falling"},
		{Kind: PowerOK},
		{Kind: StorageFault, Detail: "storage: fdatasync: input/output error"},
		{Kind: Decisions, Counts: Counts{Seconds: 3600, Fixes: 36000, FixesKept: 30000, FixesCoarsened: 5000, FixDrops: 1000, Frames: 108000, FramesKept: 100000, FramesScaled: 7000, FrameDrops: 1000}},
		{Kind: AuditDropped, Count: 12},
		{Kind: DaemonStop, Detail: "terminated"},
	}
}

// TestEntryGolden pins the encoding of every kind (docs/AUDIT.md quotes it): go test
// ./audit -run Golden -update rewrites testdata/entries.golden.
func TestEntryGolden(t *testing.T) {
	var out []byte
	for i, e := range sampleEntries() {
		e.Seq, e.Time = uint64(i), t0.Add(time.Duration(i)*time.Second)
		out = AppendJSON(out, &e)
		out = append(out, '\n')
		var got Entry
		if err := Decode(AppendJSON(nil, &e), &got); err != nil {
			t.Fatalf("%s: %v", e.Kind, err)
		}
		if !got.Time.Equal(e.Time) {
			t.Errorf("%s: time %v, want %v", e.Kind, got.Time, e.Time)
		}
		got.Time = e.Time
		if got != e {
			t.Errorf("%s: decoded %+v, want %+v", e.Kind, got, e)
		}
	}
	golden := filepath.Join("testdata", "entries.golden")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("encoding changed (a new format version?):\n%s\nwant:\n%s", out, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"not json", `nope`, ErrEntry},
		{"no version", `{"seq":0,"time":"2026-11-25T08:00:00Z","kind":"power.ok"}`, ErrEntry},
		{"version 2", `{"v":2,"seq":0,"time":"2026-11-25T08:00:00Z","kind":"power.ok"}`, ErrVersion},
		{"no kind", `{"v":1,"seq":0,"time":"2026-11-25T08:00:00Z"}`, ErrEntry},
		{"unknown field", `{"v":1,"seq":0,"time":"2026-11-25T08:00:00Z","kind":"power.ok","lat":39.8}`, ErrEntry},
		{"trailing", `{"v":1,"seq":0,"time":"2026-11-25T08:00:00Z","kind":"power.ok"}{}`, ErrEntry},
		{"field order", `{"seq":0,"v":1,"time":"2026-11-25T08:00:00Z","kind":"power.ok"}`, ErrEntry},
		{"space", `{"v":1, "seq":0,"time":"2026-11-25T08:00:00Z","kind":"power.ok"}`, ErrEntry},
		{"zero written", `{"v":1,"seq":0,"time":"2026-11-25T08:00:00Z","kind":"power.ok","bytes":0}`, ErrEntry},
		{"local time", `{"v":1,"seq":0,"time":"2026-11-25T16:00:00+08:00","kind":"power.ok"}`, ErrEntry},
		{"escaped slash", `{"v":1,"seq":0,"time":"2026-11-25T08:00:00Z","kind":"power.ok","detail":"a\/b"}`, ErrEntry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Entry
			if err := Decode([]byte(tt.in), &e); !errors.Is(err, tt.want) {
				t.Errorf("Decode: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestEncodeStrings checks the string escaping against encoding/json (the oracle) and the
// cut at maxField.
func TestEncodeStrings(t *testing.T) {
	for _, s := range []string{"plain", `q"uote\back`, "ctl\x00\x01\x1f\x7f", "\u2028 中文 ✓", "bad\xffutf8\xc3", strings.Repeat("é", 400), strings.Repeat("\x01", 200)} {
		e := Entry{Time: t0, Kind: ConsoleCommand, Detail: s}
		b := AppendJSON(nil, &e)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%q: not JSON: %v\n%s", s, err, b)
		}
		var got Entry
		if err := Decode(b, &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if len(b) > 300 && strings.HasSuffix(got.Detail, "...") {
			want = got.Detail // cut: a prefix, checked below
			if !strings.HasPrefix(strings.ToValidUTF8(s, "\uFFFD"), strings.TrimSuffix(got.Detail, "...")) {
				t.Errorf("%q: cut to %q, not a prefix", s, got.Detail)
			}
		}
		if got.Detail != want || m["detail"] != want {
			t.Errorf("%q: decoded %q (encoding/json %q)", s, got.Detail, m["detail"])
		}
	}
	long := Entry{Time: t0, Kind: Export}
	long.ID, long.Key, long.Peer, long.Object, long.SHA256, long.Detail = strings.Repeat("\x01", 5000), strings.Repeat("\"", 5000), strings.Repeat("x", 5000), strings.Repeat("y", 5000), strings.Repeat("z", 5000), strings.Repeat("\\", 5000)
	long.Kind = Kind(strings.Repeat("k", 5000))
	long.Seq, long.Version, long.Bytes, long.Count = ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)
	long.Counts = Counts{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
	b := AppendJSON(nil, &long)
	t.Logf("longest entry: %d bytes", len(b))
	if len(b) > MaxEntry {
		t.Errorf("the longest entry encodes to %d bytes, MaxEntry is %d", len(b), MaxEntry)
	}
}

func TestAppendJSONDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, MaxEntry)
	e := sampleEntries()[13]
	e.Time = t0
	if a := testing.AllocsPerRun(100, func() { buf = AppendJSON(buf[:0], &e) }); a != 0 {
		t.Errorf("AppendJSON: %v allocations, want 0", a)
	}
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "entries.golden"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(golden, []byte("\n")) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if Decode(b, &e) != nil {
			return
		}
		if got := AppendJSON(nil, &e); !bytes.Equal(got, b) {
			t.Fatalf("accepted %q, which encodes as %q", b, got)
		}
	})
}

// FuzzEncode: any entry encodes to valid JSON that Decode accepts and that encodes the same.
func FuzzEncode(f *testing.F) {
	f.Add("policy.loaded", "cn", "k", "d\x00\"", uint64(3), int64(0))
	f.Add("x", "\xff", "中文", "", uint64(0), int64(-1e18))
	f.Fuzz(func(t *testing.T, kind, id, key, detail string, n uint64, ns int64) {
		if kind == "" {
			return
		}
		e := Entry{Seq: n, Time: time.Unix(0, ns), Kind: Kind(kind), ID: id, Key: key, Detail: detail, Version: n, Counts: Counts{Fixes: n}}
		b := AppendJSON(nil, &e)
		if !json.Valid(b) {
			t.Fatalf("not JSON: %q", b)
		}
		var got Entry
		if err := Decode(b, &got); err != nil {
			if e.Time.Year() < 0 || e.Time.Year() > 9999 {
				return // RFC 3339 has four-digit years
			}
			t.Fatalf("%v: %q", err, b)
		}
		if again := AppendJSON(nil, &got); !bytes.Equal(again, b) {
			t.Fatalf("%q re-encodes as %q", b, again)
		}
	})
}
