package camera

import (
	"math/rand/v2"
	"testing"
)

// TestBoxExact compares the box filter, with its division by reciprocal multiplication, against
// plain rounded division, for reductions from slight to beyond 64x64 blocks.
func TestBoxExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		sw, sh, dw, dh int
		white          bool // all 255: the largest sums
	}{
		{1920, 1080, 1460, 820, false}, {640, 480, 7, 5, true}, {300, 300, 3, 2, false},
		{50, 40, 50, 40, false}, {10, 10, 20, 20, false},
		{64, 64, 8, 8, true}, {64, 64, 8, 8, false}, {48, 48, 8, 8, true}, {72, 72, 8, 8, true},
	}
	for _, tt := range tests {
		src := plane{make([]byte, tt.sw*tt.sh), 0, 1, tt.sw, tt.sw, tt.sh}
		for i := range src.b {
			src.b[i] = byte(r.IntN(256))
			if tt.white {
				src.b[i] = 255
			}
		}
		dst := plane{make([]byte, tt.dw*tt.dh), 0, 1, tt.dw, tt.dw, tt.dh}
		var s Scaler
		s.box(dst, src)
		xs, ys := bounds(nil, tt.sw, tt.dw), bounds(nil, tt.sh, tt.dh)
		for y := range tt.dh {
			for x := range tt.dw {
				sum, n := 0, 0
				for sy := ys[2*y]; sy < ys[2*y+1]; sy++ {
					for sx := xs[2*x]; sx < xs[2*x+1]; sx++ {
						sum += int(src.b[sy*tt.sw+sx])
						n++
					}
				}
				if want := byte((sum + n/2) / n); dst.b[y*tt.dw+x] != want {
					t.Fatalf("%dx%d -> %dx%d at (%d,%d): %d, want %d", tt.sw, tt.sh, tt.dw, tt.dh, x, y, dst.b[y*tt.dw+x], want)
				}
			}
		}
	}
}
