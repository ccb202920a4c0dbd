package camera

import "image"

// packYUYV writes the 4:2:0 image m as YUYV 4:2:2 into dst (len >= rawBytes(YUYV); even width), repeating
// each chroma row for the two luma rows it covers. It returns dst[:n] and does not allocate.
func packYUYV(dst []byte, m *image.YCbCr) []byte {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	n := rawBytes(YUYV, w, h)
	dst = dst[:n]
	for y := range h {
		row := dst[y*w*2 : (y+1)*w*2]
		yr := m.Y[y*m.YStride:]
		cr := m.COffset(0, y) - m.COffset(0, 0)
		for x := 0; x+1 < w; x += 2 {
			c := cr + x/2
			row[2*x], row[2*x+1], row[2*x+2], row[2*x+3] = yr[x], m.Cb[c], yr[x+1], m.Cr[c]
		}
	}
	return dst
}

// packNV12 writes the 4:2:0 image m as NV12 into dst (len >= rawBytes(NV12)). It returns dst[:n]
// and does not allocate.
func packNV12(dst []byte, m *image.YCbCr) []byte {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	n := rawBytes(NV12, w, h)
	dst = dst[:n]
	for y := range h {
		copy(dst[y*w:(y+1)*w], m.Y[y*m.YStride:])
	}
	cw, ch := w/2, h/2
	uv := dst[w*h:]
	for y := range ch {
		for x := range cw {
			c := y*m.CStride + x
			uv[2*(y*cw+x)], uv[2*(y*cw+x)+1] = m.Cb[c], m.Cr[c]
		}
	}
	return dst
}
