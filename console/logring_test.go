package console

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// logSensitive logs msg and two more lines full of what the ring must not keep: positions,
// zone names, degrees, the status line, through derived loggers too.
func logSensitive(log *slog.Logger, msg string) {
	log.Info(msg, "lat", 39.8612, "zone", "beidaihe", "err", "zone beidaihe: ring not closed",
		"path", "/var/lib/geogate 39.86", "n", 3, "dms", "39°51'40\"")
	log.With("zone", "beidaihe-summer-buffer").WithGroup("g").Info("ok", "device", "/dev/ttyS1", "pos", slog.GroupValue(slog.Float64("lon", 119.42)))
	log.Info("status", "line", "ignored")
}

func TestLogRingDesensitizes(t *testing.T) {
	var sink bytes.Buffer
	ring := new(LogRing)
	log := slog.New(ring.Tee(slog.NewTextHandler(&sink, nil)))
	logSensitive(log, "fix at 39.861234,119.42 in beidaihe")
	for range LogRingLines + 3 {
		log.Info("fill")
	}
	lines := ring.Lines()
	if len(lines) != LogRingLines {
		t.Fatalf("%d lines kept", len(lines))
	}
	ring2 := new(LogRing)
	log2 := slog.New(ring2.Tee(slog.NewTextHandler(&sink, nil)))
	logSensitive(log2, "fix at 39.861234,119.42 in zone")
	all := strings.Join(ring2.Lines(), "\n")
	for _, leak := range []string{"39.8", "119.4", "861", "beidaihe", "51'", "ignored"} {
		if strings.Contains(all, leak) {
			t.Errorf("kept lines contain %q:\n%s", leak, all)
		}
	}
	for _, want := range []string{"n=3", `g.device="/dev/ttyS1"`, "#.#"} {
		if !strings.Contains(all, want) {
			t.Errorf("kept lines lack %q:\n%s", want, all)
		}
	}
}
