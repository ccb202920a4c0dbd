package camera

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
)

// The DCT-domain decoder's errors. errNoFastPath wraps every JPEG the decoder does not handle
// but image/jpeg does (progressive, non-interleaved, 12-bit, arithmetic-coded, CMYK or RGB,
// unusual sampling): the Scaler falls back to image/jpeg for those. Anything else it returns
// is a corrupt or truncated stream and wraps ErrBadFrame.
var (
	errNoFastPath  = errors.New("camera: JPEG not decodable at reduced scale")
	errProgressive = fmt.Errorf("%w: progressive JPEG (SOF2)", errNoFastPath)
)

// Geometry of the JPEG stream (ITU T.81).
const (
	blockSide  = 8  // an 8x8 DCT block
	maxComps   = 3  // Y, Cb, Cr; CMYK (4) is left to image/jpeg
	lutBits    = 11 // Huffman codes up to 11 bits (nearly all of them) decode in one lookup
	maxCodeLen = 16 // T.81 Annex C: Huffman codes are at most 16 bits
	fastEOB    = 64 // the run of end-of-block in huffTable.fast: past any coefficient index
	coefDump   = 16 // where block stores the coefficients the reduced IDCT does not use
	// maxCoef bounds a dequantized coefficient. For 8-bit samples |F(u,v)| <= 2048 (|F00| <=
	// 1024); quantization rounding adds at most q/2 <= 128. Clamping at 4096 never changes a
	// valid stream and keeps the fixed-point IDCT below in int32 for any corrupt one.
	maxCoef = 4096
)

// zigzag[k] is the natural (row*8+col) index of the k-th coefficient in the entropy-coded order.
var zigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// huffTable is one decoding table. lut[code] for the next lutBits bits of the stream is
// length<<8 | symbol, or 0 when the code is longer than lutBits; longer codes are found
// through maxCode and valPtr, the canonical decoding of T.81 F.2.2.3. For AC tables, fast
// holds what most coefficients need in one lookup: when a code and the magnitude bits after it
// fit in lutBits, fast[bits] is value<<16 | run<<8 | total length, else 0. ZRL (sixteen
// zeros) is run 15 with value 0; end-of-block is run fastEOB.
type huffTable struct {
	lut     [1 << lutBits]uint16
	fast    [1 << lutBits]int32
	maxCode [maxCodeLen + 1]int32 // largest code of each length; -1: none
	valPtr  [maxCodeLen + 1]int32 // index in vals of a length's first code, minus that code
	vals    [256]byte
	ok      bool
}

// jpegComp is one colour component of the frame and, once decoded, its output plane.
type jpegComp struct {
	id       byte
	h, v     int // sampling factors
	tq       int // quantization table
	td, ta   int // DC and AC Huffman tables of the current scan
	pred     int32
	bw, bh   int // blocks across and down, padded to whole MCUs
	stride   int
	pix      []byte
	coefMask [64]uint8 // for the scan's scale: index into the reduced block, or coefDump
	qsmall   [16]int32 // the quantizer of each coefficient of the reduced block
}

// jpegDecoder decodes a baseline (sequential, Huffman-coded, 8-bit) JPEG at 1/2, 1/4 or 1/8 of
// its size in the DCT domain: it entropy-decodes every coefficient, as it must, but keeps
// only those the output needs and inverse-transforms them with a reduced IDCT (4x4 and 2x2
// points; 1/8 is the DC term alone). It reuses its planes and tables: after the first frame of
// a size it does not allocate. It is not safe for concurrent use.
type jpegDecoder struct {
	quant     [4][64]int32
	haveQuant [4]bool
	huff      [2][4]huffTable // [0]: DC, [1]: AC
	comps     [maxComps]jpegComp
	ncomp     int
	width     int
	height    int
	hmax      int
	vmax      int
	restart   int // MCUs between restart markers; 0: none
	adobe     int // Adobe APP14 colour transform, -1 when absent

	// The entropy-coded segment being read: acc holds nbits valid bits, left-aligned. pad
	// counts the zero bits fed in after the segment ended; consuming one means the scan is
	// truncated.
	data   []byte
	pos    int
	acc    uint64
	nbits  uint
	pad    uint
	marker bool

	gray image.Gray
	ycc  image.YCbCr
}

// errJPEG returns a corrupt-stream error: ErrBadFrame with what was wrong.
func errJPEG(what string) error { return fmt.Errorf("%w: JPEG: %s", ErrBadFrame, what) }

// Preallocated errors for the per-block paths, which must not allocate.
var (
	errBadHuffman  = errJPEG("bad Huffman code")
	errTruncated   = errJPEG("scan data ends early")
	errBadCoef     = errJPEG("coefficient index past 63")
	errBadRestart  = errJPEG("missing or out-of-order restart marker")
	errBadCategory = errJPEG("coefficient size out of range")
)

// scaleShift returns the reduction 1<<shift (1, 2 or 3: 1/2, 1/4, 1/8) that gives the largest
// image of at most maxPixels from w x h, or 3 when even 1/8 is larger (the caller resizes).
func scaleShift(w, h, maxPixels int) uint {
	for s := uint(1); s < 3; s++ {
		if ceilShift(w, s)*ceilShift(h, s) <= maxPixels {
			return s
		}
	}
	return 3
}

func ceilShift(n int, s uint) int { return (n + 1<<s - 1) >> s }

// decode decodes data, a w x h baseline JPEG, at 1/(1<<shift) of its size (shift 1, 2 or 3),
// into the decoder's own image, valid until the next call: an *image.YCbCr for colour, an
// *image.Gray for one component. Errors wrap errNoFastPath for what image/jpeg should decode
// instead, ErrBadFrame for a corrupt stream or one whose size is not w x h.
func (d *jpegDecoder) decode(data []byte, w, h int, shift uint) (image.Image, error) {
	if shift < 1 || shift > 3 {
		panic("BUG: camera: jpegDecoder.decode shift out of range")
	}
	d.ncomp, d.restart, d.adobe = 0, 0, -1
	d.haveQuant = [4]bool{}
	for i := range d.huff {
		for j := range d.huff[i] {
			d.huff[i][j].ok = false
		}
	}
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, errJPEG("no start-of-image marker")
	}
	pos := 2
	for {
		// Markers may be preceded by any number of 0xFF fill bytes (T.81 B.1.1.2).
		for pos < len(data) && data[pos] == 0xFF && pos+1 < len(data) && data[pos+1] == 0xFF {
			pos++
		}
		if pos+4 > len(data) || data[pos] != 0xFF {
			return nil, errJPEG("no marker where one must be")
		}
		m := data[pos+1]
		n := int(data[pos+2])<<8 | int(data[pos+3])
		if n < 2 || pos+2+n > len(data) {
			return nil, errJPEG("segment runs past the end")
		}
		seg := data[pos+4 : pos+2+n]
		pos += 2 + n
		var err error
		switch {
		case m == 0xC0 || m == 0xC1: // baseline, extended sequential (Huffman)
			err = d.sof(seg, w, h)
		case m == 0xC2:
			return nil, errProgressive
		case m >= 0xC3 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return nil, fmt.Errorf("%w: SOF%d (lossless, hierarchical or arithmetic-coded)", errNoFastPath, m-0xC0)
		case m == 0xC4:
			err = d.dht(seg)
		case m == 0xCC:
			return nil, fmt.Errorf("%w: arithmetic coding", errNoFastPath)
		case m == 0xDB:
			err = d.dqt(seg)
		case m == 0xDD:
			if len(seg) != 2 {
				return nil, errJPEG("bad DRI segment")
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xEE: // APP14: Adobe's colour transform, 0 means RGB (or CMYK)
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe = int(seg[11])
			}
		case m == 0xDA:
			if err := d.sos(seg); err != nil {
				return nil, err
			}
			if err := d.scan(data[pos:], shift); err != nil {
				return nil, err
			}
			return d.image(shift), nil
		case m == 0xD8 || m == 0xD9 || m >= 0xD0 && m <= 0xD7 || m == 0x01:
			return nil, errJPEG("unexpected marker before the scan")
		}
		// APPn, COM and the rest carry nothing the decoder needs.
		if err != nil {
			return nil, err
		}
	}
}

// sof reads a start-of-frame segment and sizes the output planes.
func (d *jpegDecoder) sof(seg []byte, w, h int) error {
	if d.ncomp != 0 {
		return errJPEG("two frame headers")
	}
	if len(seg) < 6 {
		return errJPEG("short frame header")
	}
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples", errNoFastPath, seg[0])
	}
	d.height = int(seg[1])<<8 | int(seg[2])
	d.width = int(seg[3])<<8 | int(seg[4])
	n := int(seg[5])
	if d.width != w || d.height != h {
		return errJPEG("header size differs from the frame's")
	}
	if w < 1 || h < 1 || w > maxSide || h > maxSide {
		return errJPEG("image size out of range") // the planes are sized from it
	}
	if n != 1 && n != 3 {
		return fmt.Errorf("%w: %d components", errNoFastPath, n)
	}
	if len(seg) != 6+3*n {
		return errJPEG("bad frame header length")
	}
	d.hmax, d.vmax = 1, 1
	for i := range n {
		c := &d.comps[i]
		c.id, c.h, c.v, c.tq = seg[6+3*i], int(seg[7+3*i]>>4), int(seg[7+3*i]&15), int(seg[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return errJPEG("bad component in frame header")
		}
		if n == 1 { // one component: a non-interleaved scan of 8x8 blocks whatever the factors
			c.h, c.v = 1, 1
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	if n == 3 {
		y, cb, cr := &d.comps[0], &d.comps[1], &d.comps[2]
		if cb.h != 1 || cb.v != 1 || cr.h != 1 || cr.v != 1 || y.h > 2 || y.v > 2 {
			return fmt.Errorf("%w: sampling %dx%d,%dx%d,%dx%d", errNoFastPath, y.h, y.v, cb.h, cb.v, cr.h, cr.v)
		}
		if y.id == 'R' && cb.id == 'G' && cr.id == 'B' {
			return fmt.Errorf("%w: RGB JPEG", errNoFastPath)
		}
	}
	d.ncomp = n
	mx := (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	my := (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range n {
		c := &d.comps[i]
		c.bw, c.bh = mx*c.h, my*c.v
	}
	return nil
}

// dqt reads quantization tables (8- or 16-bit entries).
func (d *jpegDecoder) dqt(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 || pq > 1 {
			return errJPEG("bad quantization table")
		}
		size := 64 << pq
		if len(seg) < 1+size {
			return errJPEG("short quantization table")
		}
		for k := range 64 {
			if pq == 0 {
				d.quant[tq][k] = int32(seg[1+k])
			} else {
				d.quant[tq][k] = int32(seg[1+2*k])<<8 | int32(seg[2+2*k])
			}
		}
		d.haveQuant[tq] = true
		seg = seg[1+size:]
	}
	return nil
}

// dht reads Huffman tables.
func (d *jpegDecoder) dht(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return errJPEG("short Huffman table")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return errJPEG("bad Huffman table class or id")
		}
		var counts [maxCodeLen]int
		total := 0
		for i := range counts {
			counts[i] = int(seg[1+i])
			total += counts[i]
		}
		if total == 0 || total > 256 || len(seg) < 17+total {
			return errJPEG("bad Huffman table size")
		}
		if err := d.huff[tc][th].build(counts, seg[17:17+total]); err != nil {
			return err
		}
		seg = seg[17+total:]
	}
	return nil
}

// build makes the decoding table of T.81 Annex C from the code counts per length and the
// symbols, refusing a table whose codes do not fit their lengths.
func (t *huffTable) build(counts [maxCodeLen]int, vals []byte) error {
	t.ok = false
	clear(t.lut[:])
	clear(t.fast[:])
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= maxCodeLen; l++ {
		n := int32(counts[l-1])
		if code+n > 1<<l {
			return errJPEG("Huffman table has more codes than fit")
		}
		if n == 0 {
			t.maxCode[l] = -1
		} else {
			t.valPtr[l] = k - code
			t.maxCode[l] = code + n - 1
			if l <= lutBits {
				for c := code; c < code+n; c++ {
					e := uint16(l)<<8 | uint16(vals[k+c-code])
					base := c << (lutBits - l)
					for j := int32(0); j < 1<<(lutBits-l); j++ {
						t.lut[base+j] = e
					}
				}
			}
		}
		k += n
		code = (code + n) << 1
	}
	for b, e := range t.lut {
		l, rs := uint(e>>8), e&0xFF
		r, sz := int32(rs>>4), uint(rs&15)
		if e == 0 || l+sz > lutBits {
			continue
		}
		if sz == 0 { // ZRL, or end-of-block (as block reads any other run of size 0)
			if r != 15 {
				r = fastEOB
			}
			t.fast[b] = r<<8 | int32(l)
			continue
		}
		v := int32(b>>(lutBits-l-sz)) & (1<<sz - 1)
		if v < 1<<(sz-1) {
			v += -1<<sz + 1
		}
		t.fast[b] = v<<16 | r<<8 | int32(l+sz)
	}
	t.ok = true
	return nil
}

// sos reads a start-of-scan header. Only a single scan holding every component (interleaved,
// or the one component of a grey image) is decoded here.
func (d *jpegDecoder) sos(seg []byte) error {
	if d.ncomp == 0 {
		return errJPEG("scan before frame header")
	}
	if len(seg) < 1 {
		return errJPEG("short scan header")
	}
	ns := int(seg[0])
	if len(seg) != 4+2*ns {
		return errJPEG("bad scan header length")
	}
	if ns != d.ncomp {
		return fmt.Errorf("%w: non-interleaved scans", errNoFastPath)
	}
	if d.ncomp == 3 && d.adobe == 0 {
		return fmt.Errorf("%w: Adobe RGB JPEG", errNoFastPath)
	}
	for i := range ns {
		c := &d.comps[i]
		if seg[1+2*i] != c.id {
			return errJPEG("scan components differ from the frame's")
		}
		c.td, c.ta = int(seg[2+2*i]>>4), int(seg[2+2*i]&15)
		if c.td > 3 || c.ta > 3 {
			return errJPEG("bad Huffman table id in scan")
		}
		if !d.huff[0][c.td].ok || !d.huff[1][c.ta].ok {
			d.defaultHuffman() // Motion-JPEG from USB cameras often leaves out the tables
			if !d.huff[0][c.td].ok || !d.huff[1][c.ta].ok {
				return errJPEG("scan uses an undefined Huffman table")
			}
		}
		if !d.haveQuant[c.tq] {
			return errJPEG("component uses an undefined quantization table")
		}
	}
	ss, se, ahl := seg[1+2*ns], seg[2+2*ns], seg[3+2*ns]
	if ss != 0 || se != 63 || ahl != 0 {
		return errJPEG("spectral selection in a sequential scan")
	}
	return nil
}

// defaultHuffman installs the tables of T.81 K.3 (and of the AVI1 Motion-JPEG format, which
// omits DHT segments) for any table id 0 or 1 the stream did not define.
func (d *jpegDecoder) defaultHuffman() {
	for i, s := range &stdHuffman {
		t := &d.huff[i/2][i%2]
		if !t.ok {
			_ = t.build(s.counts, s.vals) // known good
		}
	}
}

// stdHuffman holds the tables of T.81 K.3: DC luminance, DC chrominance, AC luminance,
// AC chrominance (classes 0 and 1, ids 0 and 1).
var stdHuffman = [4]struct {
	counts [maxCodeLen]int
	vals   []byte
}{
	{[maxCodeLen]int{0, 1, 5, 1, 1, 1, 1, 1, 1}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	{[maxCodeLen]int{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	{[maxCodeLen]int{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d}, []byte{
		0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
		0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
		0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
		0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
		0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
		0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
		0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
		0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
		0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
		0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
		0xf9, 0xfa,
	}},
	{[maxCodeLen]int{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77}, []byte{
		0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
		0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
		0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
		0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
		0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
		0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
		0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
		0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
		0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
		0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
		0xf9, 0xfa,
	}},
}

// scan decodes the entropy-coded data that follows the scan header, block by block, into the
// components' planes at 1/(1<<shift) scale.
func (d *jpegDecoder) scan(data []byte, shift uint) error {
	n := blockSide >> shift // output samples per block side: 4, 2 or 1
	for i := range d.ncomp {
		c := &d.comps[i]
		c.stride = c.bw * n
		if need := c.stride * c.bh * n; cap(c.pix) < need {
			c.pix = make([]byte, need)
		} else {
			c.pix = c.pix[:need]
		}
		c.pred = 0
		q := &d.quant[c.tq]
		for k := range 64 {
			r, col := int(zigzag[k]/8), int(zigzag[k]%8)
			c.coefMask[k] = coefDump
			if r < n && col < n {
				c.coefMask[k] = uint8(r*n + col)
				c.qsmall[r*n+col] = q[k]
			}
		}
	}
	d.data, d.pos, d.acc, d.nbits, d.pad, d.marker = data, 0, 0, 0, 0, false
	mx, my := d.comps[0].bw/d.comps[0].h, d.comps[0].bh/d.comps[0].v
	var coef [32]int32
	nextRST := 0
	left := d.restart
	for y := range my {
		for x := range mx {
			if d.restart > 0 {
				if left == 0 {
					if err := d.restartMarker(nextRST); err != nil {
						return err
					}
					nextRST = (nextRST + 1) & 7
					left = d.restart
				}
				left--
			}
			for i := range d.ncomp {
				c := &d.comps[i]
				for v := range c.v {
					for h := range c.h {
						if err := d.block(c, &coef, n); err != nil {
							return err
						}
						off := (y*c.v+v)*n*c.stride + (x*c.h+h)*n
						idct(c.pix[off:], c.stride, (*[16]int32)(coef[:16]), n)
					}
				}
			}
			if d.nbits < d.pad {
				return errTruncated
			}
		}
	}
	return nil
}

// restartMarker expects RSTn (n = want) where the bit reader stopped, skips it and resets the
// reader and the DC predictions (T.81 F.2.1.3.1).
func (d *jpegDecoder) restartMarker(want int) error {
	if d.nbits < d.pad {
		return errTruncated
	}
	// The reader may have stopped at the marker or, if the segment ended on a byte boundary
	// without it being reached yet, just before it.
	p := d.pos
	if p+1 >= len(d.data) || d.data[p] != 0xFF || d.data[p+1] != 0xD0+byte(want) {
		return errBadRestart
	}
	d.pos, d.acc, d.nbits, d.pad, d.marker = p+2, 0, 0, 0, false
	for i := range d.ncomp {
		d.comps[i].pred = 0
	}
	return nil
}

// fill tops up the bit accumulator to more than 56 bits. At a marker (or the end of the data)
// it feeds zero bits and counts them in pad.
// Most of the time the next 8 bytes hold no 0xFF (no stuffing, no marker): it takes as many
// of them as fit in one go (block's AC loop has this path written out, to save the call).
func (d *jpegDecoder) fill() {
	if p := d.pos; p+8 <= len(d.data) && noFF(binary.BigEndian.Uint64(d.data[p:])) {
		w := binary.BigEndian.Uint64(d.data[p:])
		k := (64 - d.nbits) >> 3 // at least 1: the caller holds at most 56 bits
		d.acc |= w >> (64 - 8*k) << (64 - d.nbits - 8*k)
		d.pos = p + int(k)
		d.nbits += 8 * k
		return
	}
	d.fillBytes()
}

// noFF reports whether none of the 8 bytes in w is 0xFF: ^w then has no zero byte (the
// classic test: subtracting 1 from each byte borrows into the top bit only from a zero byte).
func noFF(w uint64) bool {
	x := ^w
	return (x-0x0101010101010101)&^x&0x8080808080808080 == 0
}

// fillBytes is fill byte by byte, through stuffed bytes and up to a marker.
func (d *jpegDecoder) fillBytes() {
	for d.nbits <= 56 {
		var b byte
		if !d.marker && d.pos < len(d.data) {
			b = d.data[d.pos]
			if b != 0xFF {
				d.pos++
			} else if d.pos+1 < len(d.data) && d.data[d.pos+1] == 0 {
				d.pos += 2 // a stuffed 0xFF data byte
			} else {
				d.marker, b = true, 0 // a marker: the segment ends here
				d.pad += 8
			}
		} else {
			d.marker = true
			d.pad += 8
		}
		d.acc |= uint64(b) << (56 - d.nbits)
		d.nbits += 8
	}
}

// decodeHuff returns the next Huffman-coded symbol. The caller has filled at least
// maxCodeLen bits.
func (d *jpegDecoder) decodeHuff(t *huffTable) (byte, error) {
	if e := t.lut[d.acc>>(64-lutBits)]; e != 0 {
		l := uint(e >> 8)
		d.acc <<= l
		d.nbits -= l
		return byte(e), nil
	}
	for l := uint(lutBits + 1); l <= maxCodeLen; l++ {
		code := int32(d.acc >> (64 - l))
		if code <= t.maxCode[l] {
			d.acc <<= l
			d.nbits -= l
			return t.vals[(t.valPtr[l]+code)&0xFF], nil
		}
	}
	return 0, errBadHuffman
}

// receive reads an s-bit magnitude and extends its sign (T.81 F.2.2.1). s <= 16.
func (d *jpegDecoder) receive(s uint) int32 {
	if s == 0 {
		return 0
	}
	v := int32(d.acc >> (64 - s))
	d.acc <<= s
	d.nbits -= s
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// block decodes one 8x8 block of c, keeping the dequantized coefficients of the top-left
// n x n corner in coef (row-major). While decoding, coef holds levels; the others land in
// coef[coefDump], which saves a branch per coefficient that the CPU would often mispredict
// (coef has 32 entries so that masking the index with 31 proves it in range); the n x n kept
// are dequantized at the end. It does not allocate.
func (d *jpegDecoder) block(c *jpegComp, coef *[32]int32, n int) error {
	clear(coef[:n*n])
	if d.nbits < 32 {
		d.fill()
	}
	s, err := d.decodeHuff(&d.huff[0][c.td])
	if err != nil {
		return err
	}
	if s > 11 {
		return errBadCategory
	}
	c.pred += d.receive(uint(s))
	if c.pred > 2047 || c.pred < -2048 { // corrupt DC differences wander off
		c.pred = min(max(c.pred, -2048), 2047)
	}
	coef[0] = c.pred
	// The AC loop works on the bit accumulator in locals, written back around the calls of
	// the rare paths: the fields would go through memory on every coefficient.
	ac := &d.huff[1][c.ta]
	acc, nbits := d.acc, d.nbits
	for k := 1; k < 64; k++ {
		if nbits < 32 { // fill, its fast path inlined
			if p := d.pos; p+8 <= len(d.data) && noFF(binary.BigEndian.Uint64(d.data[p:])) {
				w := binary.BigEndian.Uint64(d.data[p:])
				n := (64 - nbits) >> 3
				acc |= w >> (64 - 8*n) << (64 - nbits - 8*n)
				d.pos = p + int(n)
				nbits += 8 * n
			} else {
				d.acc, d.nbits = acc, nbits
				d.fillBytes()
				acc, nbits = d.acc, d.nbits
			}
		}
		if e := ac.fast[acc>>(64-lutBits)]; e != 0 {
			l := uint(e & 0xFF)
			acc <<= l
			nbits -= l
			k += int(e >> 8 & 0xFF)
			if k > 63 {
				if e>>8&0xFF == fastEOB {
					break
				}
				return errBadCoef
			}
			coef[c.coefMask[k]&31] = e >> 16
			continue
		}
		d.acc, d.nbits = acc, nbits
		rs, err := d.decodeHuff(ac)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			acc, nbits = d.acc, d.nbits
			if r != 15 {
				break // end of block
			}
			k += 15
			continue
		}
		k += r
		if k > 63 {
			return errBadCoef
		}
		if s > 10 {
			return errBadCategory
		}
		coef[c.coefMask[k]&31] = d.receive(s)
		acc, nbits = d.acc, d.nbits
	}
	d.acc, d.nbits = acc, nbits
	// Dequantize the n x n levels kept: |level| < 2^11 and quantizers < 2^16, so the products
	// fit before the clamp.
	for i, q := range c.qsmall[:n*n] {
		coef[i] = clampCoef(coef[i] * q)
	}
	return nil
}

func clampCoef(v int32) int32 { return min(max(v, -maxCoef), maxCoef) }

// idctScale is the fixed-point scale of the reduced IDCT's tables: 12 bits, so that with
// coefficients clamped to maxCoef no sum of products leaves int32 (see idct).
const idctScale = 12

// idct4 and idct2 are the 4- and 2-point inverse DCTs that turn the low n x n coefficients of
// an 8-point JPEG block into an n x n image of the block's 8/n x 8/n averages:
// c[i][u] = 1/2 * C(u) * cos((2i+1) u pi / 2n), C(0) = 1/sqrt(2), C(u) = 1 otherwise. With n = 8
// this is T.81's IDCT; with fewer points it keeps each frequency's amplitude, so the DC term
// still gives the block's mean (F00/8).
var idct4, idct2 = idctTable(4), idctTable(2)

func idctTable(n int) (t [4][4]int32) {
	for i := range n {
		for u := range n {
			c := 0.5 * math.Cos(float64((2*i+1)*u)*math.Pi/float64(2*n))
			if u == 0 {
				c /= math.Sqrt2
			}
			t[i][u] = int32(math.Round(c * (1 << idctScale)))
		}
	}
	return t
}

// idct writes the n x n samples of one block at dst (rows stride apart) from its n x n
// dequantized coefficients. Rows then columns: the row pass keeps 2 fractional bits, so its
// values stay below 2^17 for |coef| <= 4096 and the column pass's sums below 2^31.
func idct(dst []byte, stride int, coef *[16]int32, n int) {
	if n == 1 {
		dst[0] = clampByte((coef[0] + 4) >> 3)
		return
	}
	ac := int32(0)
	for _, v := range coef[1 : n*n] {
		ac |= v
	}
	if ac == 0 { // a flat block, as most are after quantization
		v := clampByte((coef[0] + 4) >> 3)
		for y := range n {
			row := dst[y*stride : y*stride+n]
			for x := range row {
				row[x] = v
			}
		}
		return
	}
	if n == 4 {
		idct4x4(dst, stride, coef)
		return
	}
	t := &idct2
	var tmp [16]int32 // tmp[v*n+x]: the row pass over coefficient row v, output column x
	for v := range n {
		for x := range n {
			var s int32
			for u := range n {
				s += t[x][u] * coef[v*n+u]
			}
			tmp[v*n+x] = (s + 1<<(idctRowShift-1)) >> idctRowShift
		}
	}
	for y := range n {
		row := dst[y*stride : y*stride+n]
		for x := range n {
			var s int32
			for v := range n {
				s += t[y][v] * tmp[v*n+x]
			}
			row[x] = clampByte((s + 1<<(idctColShift-1)) >> idctColShift)
		}
	}
}

// The reduced IDCT's passes: the row pass keeps 2 fractional bits, the column pass drops them
// with the table's scale.
const (
	idctRowShift = idctScale - 2
	idctColShift = idctScale + 2
)

// The 4-point IDCT's distinct table entries (idct4): 1/2 C(0) = 1/2 cos(2pi/8) and
// 1/2 cos(pi/8), 1/2 cos(3pi/8). idct4x4 computes the same sums of products as the table
// loop, grouped as butterflies: six multiplications per 4 points instead of sixteen.
var (
	idctA  = idct4[0][0]
	idctB1 = idct4[0][1]
	idctB3 = idct4[0][3]
)

// idct4x4 is idct for n = 4: out[i] = a(X0 +- X2) + (b1 X1 + b3 X3 | b3 X1 - b1 X3) with the
// signs of the 4-point cosine table, rows then columns, rounding as idct does.
func idct4x4(dst []byte, stride int, coef *[16]int32) {
	a, b1, b3 := idctA, idctB1, idctB3
	var tmp [16]int32 // tmp[v*4+x]: the row pass over coefficient row v, output column x
	for v := 0; v < 16; v += 4 {
		c := (*[4]int32)(coef[v:])
		r := (*[4]int32)(tmp[v:])
		if c[1]|c[2]|c[3] == 0 {
			e := (a*c[0] + 1<<(idctRowShift-1)) >> idctRowShift
			r[0], r[1], r[2], r[3] = e, e, e, e
			continue
		}
		e0, e1 := a*(c[0]+c[2]), a*(c[0]-c[2])
		o0, o1 := b1*c[1]+b3*c[3], b3*c[1]-b1*c[3]
		const h = 1 << (idctRowShift - 1)
		r[0], r[3] = (e0+o0+h)>>idctRowShift, (e0-o0+h)>>idctRowShift
		r[1], r[2] = (e1+o1+h)>>idctRowShift, (e1-o1+h)>>idctRowShift
	}
	const h = 1 << (idctColShift - 1)
	r0, r1, r2, r3 := dst[:4:4], dst[stride:stride+4:stride+4], dst[2*stride:2*stride+4:2*stride+4], dst[3*stride:3*stride+4:3*stride+4]
	for x := range 4 {
		e0, e1 := a*(tmp[x]+tmp[8+x]), a*(tmp[x]-tmp[8+x])
		o0, o1 := b1*tmp[4+x]+b3*tmp[12+x], b3*tmp[4+x]-b1*tmp[12+x]
		r0[x] = clampByte((e0 + o0 + h) >> idctColShift)
		r3[x] = clampByte((e0 - o0 + h) >> idctColShift)
		r1[x] = clampByte((e1 + o1 + h) >> idctColShift)
		r2[x] = clampByte((e1 - o1 + h) >> idctColShift)
	}
}

// clampByte adds the level shift (128) and clamps to a sample.
func clampByte(v int32) byte {
	v += 128
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return byte(v)
}

// image returns the decoded planes as an image of the reduced size, without copying them.
func (d *jpegDecoder) image(shift uint) image.Image {
	r := image.Rect(0, 0, ceilShift(d.width, shift), ceilShift(d.height, shift))
	y := &d.comps[0]
	if d.ncomp == 1 {
		d.gray = image.Gray{Pix: y.pix, Stride: y.stride, Rect: r}
		return &d.gray
	}
	ratio := image.YCbCrSubsampleRatio444
	switch {
	case y.h == 2 && y.v == 2:
		ratio = image.YCbCrSubsampleRatio420
	case y.h == 2:
		ratio = image.YCbCrSubsampleRatio422
	case y.v == 2:
		ratio = image.YCbCrSubsampleRatio440
	}
	d.ycc = image.YCbCr{Y: y.pix, Cb: d.comps[1].pix, Cr: d.comps[2].pix,
		YStride: y.stride, CStride: d.comps[1].stride, SubsampleRatio: ratio, Rect: r}
	return &d.ycc
}
