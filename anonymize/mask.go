package anonymize

import (
	"image"

	"github.com/geogate/geogate/camera"
)

// Masking constants.
const (
	// Cells is how many pixelation cells span a box's longer side. Six cells across a face
	// (about one per eye, nose, mouth width) or a plate (about one per two characters) leave
	// nothing to recognise or read, yet keep the frame's brightness and colour, so a reviewer
	// still sees that there was a person or a car.
	Cells = 6
	// minCell is the smallest cell, in pixels: below a JPEG block (8x8) the re-encode would
	// smear a fine mosaic back into a blur that sharpening can partly undo.
	minCell = 8
	// marginPercent widens every box on each side: detectors' boxes are tight (Haar's face box
	// stops at the eyebrows and often cuts the chin), GB/T 44464's face boundary frame runs from
	// brow to chin and ear to ear.
	marginPercent = 10
)

// plane is one sample plane of an image held in a byte slice: sample (x, y) is at
// data[off + y*stride + x*step].
type plane struct {
	data              []byte
	off, step, stride int
	w, h              int
}

// rect is a half-open rectangle in a plane's samples.
type rect struct{ x0, y0, x1, y1 int }

// grow returns b widened by marginPercent on each side, aligned outward to even coordinates
// (4:2:x chroma covers two luma columns and rows) and clipped to a w x h frame.
func grow(b Box, w, h int) rect {
	mx, my := b.W*marginPercent/100, b.H*marginPercent/100
	r := rect{(b.X - mx) &^ 1, (b.Y - my) &^ 1, b.X + b.W + mx, b.Y + b.H + my}
	r.x1 += r.x1 & 1
	r.y1 += r.y1 & 1
	r.x0, r.y0 = max(r.x0, 0), max(r.y0, 0)
	r.x1, r.y1 = min(r.x1, w), min(r.y1, h)
	return r
}

// cellSize is the pixelation cell, in luma pixels, for a box of r's size.
func cellSize(r rect) int {
	side := max(r.x1-r.x0, r.y1-r.y0)
	return max((side+Cells-1)/Cells, minCell)
}

// pixelate replaces every cell x cell block of r in p (r in p's samples) with its mean. It
// does not allocate.
func (p plane) pixelate(r rect, cell int) {
	for cy := r.y0; cy < r.y1; cy += cell {
		ey := min(cy+cell, r.y1)
		for cx := r.x0; cx < r.x1; cx += cell {
			ex := min(cx+cell, r.x1)
			sum, n := 0, 0
			for y := cy; y < ey; y++ {
				row := p.off + y*p.stride
				for x := cx; x < ex; x++ {
					sum += int(p.data[row+x*p.step])
					n++
				}
			}
			v := byte((sum + n/2) / n)
			for y := cy; y < ey; y++ {
				row := p.off + y*p.stride
				for x := cx; x < ex; x++ {
					p.data[row+x*p.step] = v
				}
			}
		}
	}
}

// maskPlanes pixelates box b (in luma pixels of a w x h frame) in planes, the first of which
// is full size and the others subsampled by sx, sy (1, 2 or 4).
func maskPlanes(planes []plane, sx, sy int, b Box, w, h int) {
	r := grow(b, w, h)
	cell := cellSize(r)
	for i, p := range planes {
		pr, pc := r, cell
		if i > 0 {
			pr = rect{r.x0 / sx, r.y0 / sy, (r.x1 + sx - 1) / sx, (r.y1 + sy - 1) / sy}
			pr.x1, pr.y1 = min(pr.x1, p.w), min(pr.y1, p.h)
			pc = max(cell/max(sx, sy), 1)
		}
		p.pixelate(pr, pc)
	}
}

// rawPlanes returns the Y, U and V planes of a raw YUYV or NV12 frame held in data, and the
// chroma subsampling, or ok false for another format or a short buffer.
func rawPlanes(data []byte, format camera.Format, w, h int) (ps [3]plane, sx, sy int, ok bool) {
	switch {
	case w < 2 || h < 2 || w%2+h%2 != 0:
		return ps, 0, 0, false
	case format == camera.YUYV && len(data) >= w*h*2:
		ps[0] = plane{data, 0, 2, 2 * w, w, h}
		ps[1] = plane{data, 1, 4, 2 * w, w / 2, h}
		ps[2] = plane{data, 3, 4, 2 * w, w / 2, h}
		return ps, 2, 1, true
	case format == camera.NV12 && len(data) >= w*h*3/2:
		ps[0] = plane{data, 0, 1, w, w, h}
		ps[1] = plane{data, w * h, 2, w, w / 2, h / 2}
		ps[2] = plane{data, w*h + 1, 2, w, w / 2, h / 2}
		return ps, 2, 2, true
	}
	return ps, 0, 0, false
}

// imagePlanes returns the planes of a decoded JPEG and its chroma subsampling, or ok false
// for an image type image/jpeg decodes that geogate does not mask (CMYK).
func imagePlanes(img image.Image) (ps []plane, sx, sy int, ok bool) {
	switch m := img.(type) {
	case *image.Gray:
		b := m.Rect
		return []plane{{m.Pix, 0, 1, m.Stride, b.Dx(), b.Dy()}}, 1, 1, true
	case *image.YCbCr:
		b := m.Rect
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio444:
			sx, sy = 1, 1
		case image.YCbCrSubsampleRatio422:
			sx, sy = 2, 1
		case image.YCbCrSubsampleRatio420:
			sx, sy = 2, 2
		case image.YCbCrSubsampleRatio440:
			sx, sy = 1, 2
		case image.YCbCrSubsampleRatio411:
			sx, sy = 4, 1
		case image.YCbCrSubsampleRatio410:
			sx, sy = 4, 2
		default:
			return nil, 0, 0, false
		}
		cw, ch := (b.Dx()+sx-1)/sx, (b.Dy()+sy-1)/sy
		return []plane{
			{m.Y, 0, 1, m.YStride, b.Dx(), b.Dy()},
			{m.Cb, 0, 1, m.CStride, cw, ch},
			{m.Cr, 0, 1, m.CStride, cw, ch},
		}, sx, sy, true
	}
	return nil, 0, 0, false
}
