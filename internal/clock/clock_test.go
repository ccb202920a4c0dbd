package clock

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name, start, shift string
		wantOff, wantShift time.Duration
		wantErr            string
	}{
		{name: "release build: the system clock"},
		{name: "shift", shift: "43824h", wantOff: 43824 * time.Hour, wantShift: 43824 * time.Hour},
		{name: "negative shift", shift: "-1h30m", wantOff: -90 * time.Minute, wantShift: -90 * time.Minute},
		{name: "start", start: "2026-11-25T08:00:00Z", wantOff: -(11*24 + 9) * time.Hour},
		{name: "start with a zone", start: "2026-12-07T02:00:00+08:00", wantOff: time.Hour},
		{name: "start and shift", start: "2026-12-06T18:00:00Z", shift: "24h", wantOff: 25 * time.Hour, wantShift: 24 * time.Hour},
		{name: "bad start", start: "2026-11-25", wantErr: "clock: link-time start"},
		{name: "bad shift", shift: "5y", wantErr: "clock: link-time shift"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, sh, err := parse(tt.start, tt.shift, now)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if off != tt.wantOff || sh != tt.wantShift {
				t.Errorf("offset %v shift %v, want %v %v", off, sh, tt.wantOff, tt.wantShift)
			}
		})
	}
}

// TestParseIgnoresMonotonic: a start instant is measured against the wall reading of the
// process's start, which a monotonic reading must not bend.
func TestParseIgnoresMonotonic(t *testing.T) {
	sys := time.Now()
	start := sys.Round(0).Add(time.Hour).Format(time.RFC3339Nano)
	off, _, err := parse(start, "", sys)
	if err != nil {
		t.Fatal(err)
	}
	if off != time.Hour {
		t.Errorf("offset %v, want 1h", off)
	}
}

func TestMustOffsetPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("a malformed link-time value did not stop the process")
		}
	}()
	mustOffset("", "5 years", time.Now())
}

// TestNow checks the clock against the offset this test binary was linked with (none in a
// plain go test; 43824h under make test-clock): the system clock moved by exactly that, with
// a monotonic reading that times durations between two readings.
func TestNow(t *testing.T) {
	before := time.Now()
	got := Now()
	after := time.Now()
	if got.Round(0).Before(before.Round(0).Add(offset)) || got.Round(0).After(after.Round(0).Add(offset)) {
		t.Errorf("Now() = %v, want between %v and %v (system clock + %v)", got, before.Add(offset), after.Add(offset), offset)
	}
	if !strings.Contains(got.String(), " m=") { // String shows a monotonic reading as " m=±secs"
		t.Error("Now() has no monotonic reading")
	}
	if d := Now().Sub(got); d < 0 || d > time.Minute {
		t.Errorf("two readings %v apart, want a small non-negative duration", d)
	}
	if Shift() != shiftBy {
		t.Errorf("Shift() = %v, want %v", Shift(), shiftBy)
	}
}

func TestNowAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = Now() }); n != 0 {
		t.Errorf("Now allocates %v times, want 0", n)
	}
}
