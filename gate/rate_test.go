package gate

import (
	"testing"
	"time"
)

// TestRateKeepsEvenly offers 10 s of camera frames with capture jitter to rate.keep and checks
// how many are kept and that the gaps between them are as even as the camera's rate allows.
func TestRateKeepsEvenly(t *testing.T) {
	tests := []struct {
		name              string
		cameraFPS, maxFPS float64
		jitter            time.Duration // each capture time is off by up to +-jitter
		gaps              []int         // allowed gaps, in camera frames, between kept frames
		kept              int           // in 10 s
	}{
		{"30 fps camera at 5", 30, 5, 3 * time.Millisecond, []int{6}, 50},
		{"30 fps camera at 7", 30, 7, 3 * time.Millisecond, []int{4, 5}, 70},
		{"30 fps camera at 0.5", 30, 0.5, 3 * time.Millisecond, []int{60}, 5},
		{"25 fps camera at 10", 25, 10, 2 * time.Millisecond, []int{2, 3}, 100},
		{"30 fps camera at 30", 30, 30, 3 * time.Millisecond, []int{1}, 300},
		{"30 fps camera at 60", 30, 60, 3 * time.Millisecond, []int{1}, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rate
			t0 := time.Unix(1_700_000_000, 0)
			seed := uint32(1)
			n := int(10 * tt.cameraFPS)
			kept, last := 0, -1
			for i := range n {
				seed = seed*1664525 + 1013904223 // deterministic jitter
				j := time.Duration(int64(seed>>8)%int64(2*tt.jitter+1)) - tt.jitter
				at := t0.Add(time.Duration(float64(i)*float64(time.Second)/tt.cameraFPS) + j)
				if !r.keep(at, tt.maxFPS) {
					continue
				}
				if last >= 0 && !contains(tt.gaps, i-last) {
					t.Errorf("frame %d kept %d frames after the last, want one of %v", i, i-last, tt.gaps)
				}
				kept, last = kept+1, i
			}
			if kept < tt.kept-1 || kept > tt.kept+1 {
				t.Errorf("kept %d of %d frames, want %d +-1", kept, n, tt.kept)
			}
		})
	}
}

// TestRateRestartsAfterGap: after the camera (or the policy) stops frames for longer than a
// rate period, the first frame offered is kept at once.
func TestRateRestartsAfterGap(t *testing.T) {
	var r rate
	t0 := time.Unix(1_700_000_000, 0)
	if !r.keep(t0, 5) || r.keep(t0.Add(33*time.Millisecond), 5) {
		t.Fatal("first frame not kept, or the next one not dropped")
	}
	if !r.keep(t0.Add(3*time.Second), 5) {
		t.Error("first frame after a 3 s gap dropped")
	}
	if r.keep(t0.Add(3*time.Second+33*time.Millisecond), 5) {
		t.Error("frame 33 ms after a kept one kept at 5 fps")
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestPublicTierRate drives the sample bundle's public tier (max_fps = 5) for 3 s at 30 fps:
// about 15 frames are stored, the others counted as "rate", none as "scaler busy", and the
// rate-limited frame path allocates nothing.
func TestPublicTierRate(t *testing.T) {
	store := &memStore{last: make([]byte, 0, 8192)}
	d := newDrive(t, store, "public")
	samples := route()
	for i := 0; i < 30; i++ {
		d.epoch(&samples[i])
	}
	c := &d.loop.Counters
	stored := c.FramesKept.Load() + c.FramesCoarsened.Load()
	rate, busy := c.FrameDrops(ReasonRate), c.FrameDrops(ReasonScalerBusy)
	if stored < 13 || stored > 16 || rate < 60 || busy != 0 {
		t.Errorf("3 s at 30 fps: %d frames stored, %d dropped as rate, %d as busy; want ~15, >= 60 (a few wait for their fix), 0",
			stored, rate, busy)
	}
	i := 30
	allocs := testing.AllocsPerRun(100, func() {
		d.epoch(&samples[i])
		i++
	})
	if allocs != 0 {
		t.Errorf("public tier fix+frame path: %v allocs per epoch, want 0", allocs)
	}
}
