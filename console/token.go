package console

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Scope is what an unlocked console may do.
type Scope uint8

// Scopes, weakest first.
const (
	ScopeNone    Scope = iota // locked
	ScopeRead                 // read-only: status, gnss, camera, policy, storage, log
	ScopeOperate              // also reload and export
)

func (s Scope) String() string {
	switch s {
	case ScopeRead:
		return "read-only"
	case ScopeOperate:
		return "operate"
	}
	return "locked"
}

// ParseScope parses "read-only" (or "read") and "operate".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "read-only", "read":
		return ScopeRead, nil
	case "operate":
		return ScopeOperate, nil
	}
	return ScopeNone, fmt.Errorf("console: scope %q: want read-only or operate", s)
}

// MaxTokenTTL is the longest a token may live: a workshop session's unlock, not a pass.
const MaxTokenTTL = 15 * time.Minute

// NonceBytes is the nonce's length: 128 random bits, never repeated by chance.
const NonceBytes = 16

// tokenVersion prefixes every token; tokenContext is signed before the payload, so a
// signature made for anything else (a policy manifest) can never pass as a token.
const (
	tokenVersion = "gct1"
	tokenContext = "geogate console token v1\n"
)

// maxTokenLen bounds what Verify parses: a real token is about 250 characters.
const maxTokenLen = 1024

// Errors callers branch on; every rejected token wraps one of them.
var (
	// ErrTokenMalformed means the text is not a token.
	ErrTokenMalformed = errors.New("console: malformed token")
	// ErrTokenSignature means no trusted key signed the token.
	ErrTokenSignature = errors.New("console: token not signed by a trusted key")
	// ErrTokenDevice means the token is for another unit.
	ErrTokenDevice = errors.New("console: token is for another device")
	// ErrTokenNonce means the token answers another nonce: replayed, or made for an earlier prompt.
	ErrTokenNonce = errors.New("console: token answers another nonce (replayed or stale)")
	// ErrTokenExpired means the token's expiry has passed, or its nonce is older than MaxTokenTTL.
	ErrTokenExpired = errors.New("console: token expired")
	// ErrTokenTTL means the token claims to live longer than MaxTokenTTL.
	ErrTokenTTL = errors.New("console: token lives longer than 15 minutes")
	// ErrTokenScope means the token's scope is unknown.
	ErrTokenScope = errors.New("console: token scope unknown")
	// ErrNoTokenKeys means no token key is configured: the console cannot be unlocked.
	ErrNoTokenKeys = errors.New("console: no token keys configured (console.token_keys)")
	// ErrBackoff means an unlock was tried before the back-off after repeated failures ended.
	ErrBackoff = errors.New("console: too many failed unlocks; wait")
	// ErrScope means a command needs a wider scope than the session's.
	ErrScope = errors.New("console: command needs the operate scope")
	// ErrEvent means an Event holds something outside its vocabulary.
	ErrEvent = errors.New("console: event outside the vocabulary")
)

// Token is what a workshop signs to unlock one console once.
type Token struct {
	Device  string    // the unit's device id (board.DeviceID)
	Nonce   string    // the nonce the locked console printed
	Scope   Scope     // ScopeRead or ScopeOperate
	Expires time.Time // at most MaxTokenTTL after signing
}

// tokenJSON is a Token's signed payload.
type tokenJSON struct {
	Device  string `json:"device"`
	Nonce   string `json:"nonce"`
	Scope   string `json:"scope"`
	Expires int64  `json:"exp"` // Unix seconds
}

// NewNonce returns a fresh random nonce, 32 hex digits.
func NewNonce() string {
	var b [NonceBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("BUG: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// SignToken signs t with priv: "gct1.PAYLOAD.SIGNATURE", both base64url without padding.
func SignToken(priv ed25519.PrivateKey, t Token) (string, error) {
	if t.Scope != ScopeRead && t.Scope != ScopeOperate {
		return "", ErrTokenScope
	}
	if t.Device == "" || t.Nonce == "" {
		return "", fmt.Errorf("%w: device and nonce are required", ErrTokenMalformed)
	}
	payload, err := json.Marshal(tokenJSON{Device: t.Device, Nonce: t.Nonce, Scope: t.Scope.String(), Expires: t.Expires.Unix()})
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(priv, append([]byte(tokenContext), payload...))
	enc := base64.RawURLEncoding
	return tokenVersion + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig), nil
}

// Verifier checks tokens for one unit against the trusted token keys.
type Verifier struct {
	// Keys are the trusted token keys (policy.ReadTrustedKeys reads their files).
	Keys []ed25519.PublicKey
	// Device is this unit's device id.
	Device string
}

// Verify checks text as the answer to nonce, which the console printed at issued, at now,
// and returns the token's scope. The caller spends the nonce whatever the result.
func (v *Verifier) Verify(text, nonce string, issued, now time.Time) (Scope, error) {
	if len(v.Keys) == 0 {
		return ScopeNone, ErrNoTokenKeys
	}
	text = strings.TrimSpace(text)
	if len(text) > maxTokenLen {
		return ScopeNone, fmt.Errorf("%w: longer than %d characters", ErrTokenMalformed, maxTokenLen)
	}
	parts := strings.Split(text, ".")
	if len(parts) != 3 || parts[0] != tokenVersion {
		return ScopeNone, fmt.Errorf("%w: want %s.PAYLOAD.SIGNATURE", ErrTokenMalformed, tokenVersion)
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(parts[1])
	sig, err2 := enc.DecodeString(parts[2])
	if err := errors.Join(err1, err2); err != nil {
		return ScopeNone, fmt.Errorf("%w: %w", ErrTokenMalformed, err)
	}
	if len(sig) != ed25519.SignatureSize {
		return ScopeNone, fmt.Errorf("%w: signature of %d bytes", ErrTokenMalformed, len(sig))
	}
	msg := append([]byte(tokenContext), payload...)
	signed := false
	for _, k := range v.Keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig) {
			signed = true
			break
		}
	}
	if !signed {
		return ScopeNone, ErrTokenSignature
	}
	var tj tokenJSON
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tj); err != nil {
		return ScopeNone, fmt.Errorf("%w: %w", ErrTokenMalformed, err)
	}
	scope, err := ParseScope(tj.Scope)
	switch {
	case err != nil:
		return ScopeNone, fmt.Errorf("%w: %q", ErrTokenScope, tj.Scope)
	case tj.Device != v.Device:
		return ScopeNone, ErrTokenDevice
	case nonce == "" || tj.Nonce != nonce:
		return ScopeNone, ErrTokenNonce
	case now.Sub(issued) > MaxTokenTTL || now.Sub(issued) < 0:
		return ScopeNone, fmt.Errorf("%w: the nonce was printed %v ago", ErrTokenExpired, now.Sub(issued).Round(time.Second))
	}
	exp := time.Unix(tj.Expires, 0)
	switch {
	case !now.Before(exp):
		return ScopeNone, fmt.Errorf("%w at %s", ErrTokenExpired, exp.UTC().Format(time.RFC3339))
	case exp.Sub(now) > MaxTokenTTL:
		return ScopeNone, fmt.Errorf("%w: expires in %v", ErrTokenTTL, exp.Sub(now).Round(time.Second))
	}
	return scope, nil
}
