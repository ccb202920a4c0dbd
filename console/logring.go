package console

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// LogRingLines is how many log lines a LogRing keeps: a screen and a half at 40 lines.
const LogRingLines = 64

// maxLogLine bounds one kept line: longer lines are cut, the serial line is slow.
const maxLogLine = 240

// shownKeys are the attributes whose string values a LogRing keeps: paths, devices and
// states from the configuration and the parts, never data. Every other string (an error's
// text may quote a bundle's zone) shows as "…"; floats (a coordinate) never show.
var shownKeys = map[string]bool{
	"device": true, "dir": true, "path": true, "input": true, "bundle": true, "signature": true,
	"state": true, "event": true, "check": true, "group": true, "signal": true, "summary": true,
	"id": true, "cmd": true, "scope": true, "tty": true, "peer": true,
}

// droppedMessages are log records a LogRing leaves out: the periodic status line, whose kept,
// coarsened and dropped counts, read one after another, would tell when the car met a zone.
var droppedMessages = map[string]bool{"status": true}

// LogRing keeps the daemon's latest log lines, desensitized, for the console's log command:
// it is a slog.Handler to tee into. A kept line holds the record's time of day, level,
// message and attributes, with every decimal fraction masked (so no coordinate, whatever
// its key), float values dropped, and string values shown only for a short list of keys.
type LogRing struct {
	mu    sync.Mutex
	lines [LogRingLines]string
	next  int
	n     int
}

// Lines returns the kept lines, oldest first.
func (r *LogRing) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, r.n)
	for i := range r.n {
		out = append(out, r.lines[(r.next-r.n+i+LogRingLines)%LogRingLines])
	}
	return out
}

func (r *LogRing) add(line string) {
	r.mu.Lock()
	r.lines[r.next] = line
	r.next = (r.next + 1) % LogRingLines
	r.n = min(r.n+1, LogRingLines)
	r.mu.Unlock()
}

// Tee returns a handler that passes every record to h and keeps it, desensitized, in r.
func (r *LogRing) Tee(h slog.Handler) slog.Handler { return &teeHandler{ring: r, h: h} }

type teeHandler struct {
	ring   *LogRing
	h      slog.Handler
	attrs  []slog.Attr // from WithAttrs, keys already prefixed by groups
	prefix string
}

func (t *teeHandler) Enabled(ctx context.Context, l slog.Level) bool { return t.h.Enabled(ctx, l) }

func (t *teeHandler) Handle(ctx context.Context, rec slog.Record) error {
	err := t.h.Handle(ctx, rec)
	if droppedMessages[rec.Message] {
		return err
	}
	var b strings.Builder
	if !rec.Time.IsZero() {
		b.WriteString(rec.Time.Format(time.TimeOnly))
		b.WriteByte(' ')
	}
	b.WriteString(rec.Level.String())
	b.WriteByte(' ')
	b.WriteString(Desensitize(rec.Message))
	for _, a := range t.attrs {
		writeAttr(&b, "", a)
	}
	rec.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, t.prefix, a)
		return true
	})
	line := b.String()
	if len(line) > maxLogLine {
		line = line[:maxLogLine] + "…"
	}
	t.ring.add(line)
	return err
}

func (t *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &teeHandler{ring: t.ring, h: t.h.WithAttrs(as), prefix: t.prefix, attrs: append([]slog.Attr(nil), t.attrs...)}
	for _, a := range as {
		n.attrs = append(n.attrs, slog.Attr{Key: t.prefix + a.Key, Value: a.Value})
	}
	return n
}

func (t *teeHandler) WithGroup(name string) slog.Handler {
	return &teeHandler{ring: t.ring, h: t.h.WithGroup(name), attrs: t.attrs, prefix: t.prefix + name + "."}
}

// writeAttr appends " key=value" with the value desensitized.
func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	key := prefix + a.Key
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			writeAttr(b, key+".", g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(Desensitize(key))
	b.WriteByte('=')
	switch v.Kind() {
	case slog.KindInt64:
		b.WriteString(strconv.FormatInt(v.Int64(), 10))
	case slog.KindUint64:
		b.WriteString(strconv.FormatUint(v.Uint64(), 10))
	case slog.KindBool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case slog.KindDuration:
		b.WriteString(Desensitize(v.Duration().String()))
	case slog.KindString:
		if shownKeys[a.Key] {
			b.WriteString(strconv.Quote(Desensitize(v.String())))
			return
		}
		b.WriteString("…")
	default: // floats, times, errors, any: not shown
		b.WriteString("…")
	}
}

// Desensitize masks every decimal fraction in s ("39.86" -> "#.#", also "39,86" and
// "39°51'") and drops control characters, so no coordinate survives, whatever its format.
func Desensitize(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case unicode.IsDigit(c):
			j := i
			for j < len(rs) && unicode.IsDigit(rs[j]) {
				j++
			}
			if j+1 < len(rs) && strings.ContainsRune(".,°'", rs[j]) && unicode.IsDigit(rs[j+1]) {
				// a fraction, a decimal comma or degrees and minutes: mask the whole number
				for j < len(rs) && (unicode.IsDigit(rs[j]) || strings.ContainsRune(".,°'\"", rs[j])) {
					j++
				}
				b.WriteString("#.#")
			} else {
				b.WriteString(string(rs[i:j]))
			}
			i = j - 1
		case unicode.IsControl(c):
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
