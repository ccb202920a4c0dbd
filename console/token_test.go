package console

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// t0 is a fixed instant: no test depends on the date.
var t0 = time.Date(2030, 7, 1, 12, 0, 0, 0, time.UTC)

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func sign(t testing.TB, priv ed25519.PrivateKey, tok Token) string {
	s, err := SignToken(priv, tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRejects(t *testing.T) {
	pub, priv := newKey(t)
	_, other := newKey(t)
	v := &Verifier{Keys: []ed25519.PublicKey{pub}, Device: "unit-1"}
	good := Token{Device: "unit-1", Nonce: "n1", Scope: ScopeRead, Expires: t0.Add(10 * time.Minute)}
	mod := func(f func(*Token)) Token { tk := good; f(&tk); return tk }
	tests := []struct {
		name   string
		text   string
		nonce  string
		issued time.Time
		now    time.Time
		want   error
	}{
		{"cross-device", sign(t, priv, mod(func(k *Token) { k.Device = "unit-2" })), "n1", t0, t0, ErrTokenDevice},
		{"replayed (old nonce)", sign(t, priv, good), "n2", t0, t0, ErrTokenNonce},
		{"empty nonce", sign(t, priv, good), "", t0, t0, ErrTokenNonce},
		{"expired", sign(t, priv, mod(func(k *Token) { k.Expires = t0.Add(-time.Second) })), "n1", t0, t0, ErrTokenExpired},
		{"expires now", sign(t, priv, mod(func(k *Token) { k.Expires = t0 })), "n1", t0, t0, ErrTokenExpired},
		{"nonce older than 15m", sign(t, priv, mod(func(k *Token) { k.Expires = t0.Add(20 * time.Minute) })), "n1", t0, t0.Add(16 * time.Minute), ErrTokenExpired},
		{"ttl over 15m", sign(t, priv, mod(func(k *Token) { k.Expires = t0.Add(16 * time.Minute) })), "n1", t0, t0, ErrTokenTTL},
		{"untrusted key", sign(t, other, good), "n1", t0, t0, ErrTokenSignature},
		{"tampered payload", strings.Replace(sign(t, priv, good), "gct1.e", "gct1.f", 1), "n1", t0, t0, ErrTokenSignature},
		{"garbage", "hello", "n1", t0, t0, ErrTokenMalformed},
		{"wrong version", strings.Replace(sign(t, priv, good), "gct1", "gct2", 1), "n1", t0, t0, ErrTokenMalformed},
		{"over-long", strings.Repeat("A", 5000), "n1", t0, t0, ErrTokenMalformed},
		{"bad base64", "gct1.!!!.???", "n1", t0, t0, ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := v.Verify(tt.text, tt.nonce, tt.issued, tt.now)
			if !errors.Is(err, tt.want) || s != ScopeNone {
				t.Fatalf("Verify = %v, %v; want %v", s, err, tt.want)
			}
		})
	}
	if s, err := v.Verify(sign(t, priv, good), "n1", t0, t0.Add(time.Minute)); err != nil || s != ScopeRead {
		t.Fatalf("good token: %v, %v", s, err)
	}
	if _, err := (&Verifier{Device: "unit-1"}).Verify(sign(t, priv, good), "n1", t0, t0); !errors.Is(err, ErrNoTokenKeys) {
		t.Fatalf("no keys: %v", err)
	}
	if _, err := SignToken(priv, mod(func(k *Token) { k.Scope = 7 })); !errors.Is(err, ErrTokenScope) {
		t.Fatalf("sign unknown scope: %v", err)
	}
}

// fakeBackend answers every command with a fixed value and counts calls; it keeps the
// events (CmdEvent) apart, in the order they came.
type fakeBackend struct {
	calls  []string
	events []Event
	err    error
}

func (f *fakeBackend) Call(cmd string, args, out any) error {
	if cmd == CmdEvent {
		f.events = append(f.events, args.(Event))
		return f.err
	}
	f.calls = append(f.calls, cmd)
	return f.err
}

type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time { return c.t }

func newShell(t testing.TB) (*Shell, ed25519.PrivateKey, *testClock, *fakeBackend) {
	pub, priv := newKey(t)
	clk := &testClock{t0}
	be := &fakeBackend{}
	sh := &Shell{Backend: be, Verifier: &Verifier{Keys: []ed25519.PublicKey{pub}, Device: "unit-1"}, Now: clk.Now}
	sh.Lock()
	return sh, priv, clk, be
}

func exec(sh *Shell, line string) string {
	var b bytes.Buffer
	sh.Exec(line, &b)
	return b.String()
}

// TestShellTokens: every replayed, cross-device, expired and out-of-scope token or command
// is refused; the good ones work once.
func TestShellTokens(t *testing.T) {
	sh, priv, clk, be := newShell(t)
	if out := exec(sh, "gnss"); !strings.Contains(out, "locked") || len(be.calls) != 0 {
		t.Fatalf("locked gnss: %q, calls %v", out, be.calls)
	}
	n := sh.Nonce()
	tok := sign(t, priv, Token{Device: "unit-1", Nonce: n, Scope: ScopeRead, Expires: clk.t.Add(5 * time.Minute)})
	if out := exec(sh, "unlock "+tok); !strings.Contains(out, "unlocked (read-only)") {
		t.Fatalf("unlock: %q", out)
	}
	exec(sh, "gnss")
	if len(be.calls) != 1 {
		t.Fatalf("read-only gnss not called: %v", be.calls)
	}
	for _, cmd := range []string{"reload", "export age1xyz"} {
		if out := exec(sh, cmd); !strings.Contains(out, "operate scope") {
			t.Fatalf("%s in read-only: %q", cmd, out)
		}
	}
	if len(be.calls) != 1 {
		t.Fatalf("out-of-scope commands reached the daemon: %v", be.calls)
	}
	exec(sh, "lock")
	if out := exec(sh, "unlock "+tok); !strings.Contains(out, "unlock failed") || sh.Scope() != ScopeNone {
		t.Fatalf("replayed token: %q", out)
	}
	cross := sign(t, priv, Token{Device: "unit-2", Nonce: sh.Nonce(), Scope: ScopeOperate, Expires: clk.t.Add(5 * time.Minute)})
	if out := exec(sh, "unlock "+cross); !strings.Contains(out, "another device") || sh.Scope() != ScopeNone {
		t.Fatalf("cross-device: %q", out)
	}
	exp := sign(t, priv, Token{Device: "unit-1", Nonce: sh.Nonce(), Scope: ScopeOperate, Expires: clk.t.Add(time.Minute)})
	clk.t = clk.t.Add(2 * time.Minute)
	if out := exec(sh, "unlock "+exp); !strings.Contains(out, "expired") || sh.Scope() != ScopeNone {
		t.Fatalf("expired: %q", out)
	}
	op := sign(t, priv, Token{Device: "unit-1", Nonce: sh.Nonce(), Scope: ScopeOperate, Expires: clk.t.Add(time.Minute)})
	if out := exec(sh, "unlock "+op); !strings.Contains(out, "unlocked (operate)") {
		t.Fatalf("operate: %q", out)
	}
	exec(sh, "reload")
	if be.calls[len(be.calls)-1] != CmdReload {
		t.Fatalf("operate reload not called: %v", be.calls)
	}
}

func TestShellBackoff(t *testing.T) {
	sh, priv, clk, _ := newShell(t)
	for i := range FreeFailures {
		if out := exec(sh, "unlock junk"); !strings.Contains(out, "unlock failed") {
			t.Fatalf("failure %d: %q", i+1, out)
		}
	}
	good := func() string {
		return sign(t, priv, Token{Device: "unit-1", Nonce: sh.Nonce(), Scope: ScopeRead, Expires: clk.t.Add(time.Minute)})
	}
	// The fifth failure set a 1 s wait: even a good token is refused until it ends.
	if out := exec(sh, "unlock "+good()); !strings.Contains(out, "too many failed unlocks") || sh.Scope() != ScopeNone {
		t.Fatalf("during back-off: %q", out)
	}
	clk.t = clk.t.Add(time.Second)
	exec(sh, "unlock junk") // sixth failure: 2 s
	clk.t = clk.t.Add(1500 * time.Millisecond)
	if out := exec(sh, "unlock "+good()); !strings.Contains(out, "wait") {
		t.Fatalf("doubled back-off not applied: %q", out)
	}
	clk.t = clk.t.Add(time.Second)
	if out := exec(sh, "unlock "+good()); !strings.Contains(out, "unlocked") {
		t.Fatalf("after back-off: %q", out)
	}
}

func TestShellLines(t *testing.T) {
	sh, _, _, be := newShell(t)
	for _, tt := range []struct{ line, want string }{
		{strings.Repeat("x", MaxLine+1), "line too long"},
		{"\x1b[2J\x00frob", "unknown command \"?[2J?frob\""},
		{"", ""},
		{"help", "unlock TOKEN"},
	} {
		if out := exec(sh, tt.line); !strings.Contains(out, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.line, out, tt.want)
		}
	}
	if len(be.calls) != 0 {
		t.Fatalf("calls while locked: %v", be.calls)
	}
}

// TestShellEvents: every unlock, failure and command is reported for the audit trail, as
// the command's name and outcome only: no token, no argument, nothing typed that is unknown.
func TestShellEvents(t *testing.T) {
	sh, priv, clk, be := newShell(t)
	for _, line := range []string{"help", "gnss", "unlock junk", "unlock", "UNLOCK", "gnss", "reload", "frob 39.861234 beidaihe",
		strings.Repeat("z", MaxLine+1), "export age1recipient", "lock", "exit"} {
		if line == "UNLOCK" {
			line = "unlock " + sign(t, priv, Token{Device: "unit-1", Nonce: sh.Nonce(), Scope: ScopeRead, Expires: clk.t.Add(time.Minute)})
		}
		exec(sh, line)
	}
	var got []string
	for _, e := range be.events {
		if err := e.Valid(); err != nil {
			t.Errorf("%+v: %v", e, err)
		}
		kind := "cmd"
		if e.Session() {
			kind = "session"
		}
		got = append(got, kind+" "+e.String())
	}
	want := []string{
		"cmd help: ran (locked)",
		"cmd gnss: refused: locked (locked)",
		"session unlock failed (1 in a row): malformed (locked)",
		"session unlock failed: no token (locked)",
		"session unlocked (read-only)",
		"cmd gnss: ran (read-only)",
		"cmd reload: refused: out of scope (read-only)",
		"cmd unknown command (read-only)",
		"cmd refused: line too long (read-only)",
		"cmd export: refused: out of scope (read-only)",
		"session locked (read-only)",
		"session exit (locked)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestEventValid: an event with anything outside the vocabulary is refused.
func TestEventValid(t *testing.T) {
	good := Event{Cmd: "gnss", Outcome: Ran, Scope: "read-only"}
	if err := good.Valid(); err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{
		{Cmd: "beidaihe", Outcome: Ran, Scope: "read-only"},
		{Cmd: "gnss", Outcome: "ran at 39.86,119.42", Scope: "read-only"},
		{Outcome: Ran, Scope: "root"},
		{Outcome: UnlockFailed, Scope: "locked", Reason: "token gct1.abc"},
		{Outcome: UnlockFailed, Scope: "locked", Failures: -1},
		{},
	} {
		if err := e.Valid(); !errors.Is(err, ErrEvent) {
			t.Errorf("%+v: %v, want ErrEvent", e, err)
		}
	}
	for _, r := range tokenReasons {
		if got := TokenReason(fmt.Errorf("wrapped: %w", r.err)); got != r.name {
			t.Errorf("TokenReason(%v) = %q", r.err, got)
		}
	}
}
