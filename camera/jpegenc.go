package camera

import (
	"encoding/binary"
	"fmt"
	"image"
	"math/bits"
)

// baseQuant holds the quantization tables of T.81 K.1 (luminance, chrominance) in natural
// (row-major) order: the tables libjpeg and image/jpeg scale by quality.
var baseQuant = [2][64]uint16{
	{
		16, 11, 10, 16, 24, 40, 51, 61,
		12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56,
		14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77,
		24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101,
		72, 92, 95, 98, 112, 100, 103, 99,
	},
	{
		17, 18, 24, 47, 99, 99, 99, 99,
		18, 21, 26, 66, 99, 99, 99, 99,
		24, 26, 56, 99, 99, 99, 99, 99,
		47, 66, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
	},
}

// aanScale[k] is cos(k pi/16) * sqrt(2) (1 for k = 0) in 14-bit fixed point: the factor by
// which the AAN forward DCT's output k along one axis exceeds T.81's FDCT (libjpeg's
// aanscales, before their product is rounded). Integers, so the quantization divisors are
// the same on every architecture.
var aanScale = [8]uint64{16384, 22725, 21407, 19266, 16384, 12873, 8867, 4520}

// Fixed-point constants of the AAN forward DCT (Arai, Agui and Nakajima 1988; the flow graph
// of libjpeg's jfdctfst.c), with fdctBits fractional bits, on samples scaled by 1<<fdctIn so
// that the passes' roundings cost a quarter of a unit (as libjpeg's PASS1_BITS). The largest
// intermediate value of the column pass is below 2^18 (the samples 0 to 255, not level-
// shifted, times 4, summed over rows and columns, times at most 1.31 per odd stage), and its
// products with the 13-bit constants below 2^31; TestFDCTQuantize runs the worst-case blocks.
const (
	fdctIn    = 2
	fdctBits  = 13
	fix0_3827 = 3135  // cos(3pi/8) * 2^13
	fix0_5412 = 4433  // (cos(pi/8) - cos(3pi/8)) * 2^13
	fix0_7071 = 5793  // cos(pi/4) * 2^13
	fix1_3066 = 10703 // (cos(pi/8) + cos(3pi/8)) * 2^13
	// recipBits is the fixed point of the quantization reciprocals: with 24 bits the largest
	// divisor (quality 1, 255 * 8 * 1.92) still has a reciprocal of 4,000 (error below 0.02%),
	// and the smallest coefficient-times-reciprocal product stays below 2^40.
	recipBits = 24
	// maxACLevel is the largest quantized AC magnitude baseline Huffman tables code (10 bits).
	maxACLevel = 1023
)

// jpegEncoder writes baseline JPEGs (sequential, Huffman-coded with the tables of T.81 K.3,
// 8-bit) from the planes of an *image.YCbCr (4:2:0, 4:2:2, 4:4:0 or 4:4:4, written in that
// sampling) or an *image.Gray, reading the planes in place: no conversion, no copy. The forward
// DCT is the integer AAN transform, its scale factors folded into the quantization
// reciprocals; the quantization tables are T.81 K.1's scaled by quality as libjpeg does. It
// reuses its tables and does not allocate. It is not safe for concurrent use.
type jpegEncoder struct {
	quality int            // the quality dqt and recip are for; 0: not built yet
	dqt     [2][64]byte    // quantization tables in zig-zag order, as DQT carries them
	recip   [2][64]uint32  // per zig-zag index: 2^recipBits / (AAN scale * quantizer)
	codes   [4][256]uint32 // per stdHuffman table and symbol: code length<<16 | code
	blk     [blockSide * blockSide]int32

	// The output: dst[:n] written so far; acc holds nbits not yet written, right-aligned.
	dst   []byte
	n     int
	acc   uint64
	nbits uint
	full  bool
}

// encPlane is one component's samples: (x, y) is pix[y*stride+x], for x < w, y < h.
type encPlane struct {
	pix    []byte
	stride int
	w, h   int
	hs, vs int   // sampling factors: blocks per MCU across and down
	table  int   // 0: luminance tables, 1: chrominance
	id     byte  // component id in SOF and SOS
	prev   int32 // DC prediction
}

// encode writes img as a JPEG of the given quality (1 to 100) into dst, which the caller
// owns, and returns its length. ErrShortBuffer means dst cannot hold it. img is an
// *image.YCbCr of ratio 4:2:0, 4:2:2, 4:4:0 or 4:4:4, or an *image.Gray. It does not allocate.
func (e *jpegEncoder) encode(dst []byte, img image.Image, quality int) (int, error) {
	var p [maxComps]encPlane
	nc := 0
	switch m := img.(type) {
	case *image.YCbCr:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		hs, vs := 0, 0
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
			hs, vs = 2, 2
		case image.YCbCrSubsampleRatio422:
			hs, vs = 2, 1
		case image.YCbCrSubsampleRatio440:
			hs, vs = 1, 2
		case image.YCbCrSubsampleRatio444:
			hs, vs = 1, 1
		default:
			return 0, fmt.Errorf("%w: no JPEG encoding for YCbCr %v", ErrFormat, m.SubsampleRatio)
		}
		cw, ch := chromaSize(m.SubsampleRatio, w, h)
		y0, c0 := m.YOffset(m.Rect.Min.X, m.Rect.Min.Y), m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
		p[0] = encPlane{pix: m.Y[y0:], stride: m.YStride, w: w, h: h, hs: hs, vs: vs, id: 1}
		p[1] = encPlane{pix: m.Cb[c0:], stride: m.CStride, w: cw, h: ch, hs: 1, vs: 1, table: 1, id: 2}
		p[2] = encPlane{pix: m.Cr[c0:], stride: m.CStride, w: cw, h: ch, hs: 1, vs: 1, table: 1, id: 3}
		nc = 3
	case *image.Gray:
		p[0] = encPlane{pix: m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], stride: m.Stride,
			w: m.Rect.Dx(), h: m.Rect.Dy(), hs: 1, vs: 1, id: 1}
		nc = 1
	default:
		return 0, fmt.Errorf("%w: no JPEG encoding for %T", ErrFormat, img)
	}
	if p[0].w < 1 || p[0].h < 1 || p[0].w > 0xFFFF || p[0].h > 0xFFFF {
		return 0, fmt.Errorf("%w: %dx%d image", ErrBadFrame, p[0].w, p[0].h)
	}
	e.tables(quality)
	e.dst, e.n, e.acc, e.nbits, e.full = dst, 0, 0, 0, false
	e.header(p[:nc])
	if e.full {
		return 0, ErrShortBuffer
	}
	mcuW, mcuH := blockSide*p[0].hs, blockSide*p[0].vs
	mx, my := (p[0].w+mcuW-1)/mcuW, (p[0].h+mcuH-1)/mcuH
	for y := range my {
		for x := range mx {
			for i := range nc {
				c := &p[i]
				for v := range c.vs {
					for h := range c.hs {
						e.load(c, (x*c.hs+h)*blockSide, (y*c.vs+v)*blockSide)
						c.prev = e.writeBlock(c.table, c.prev)
					}
				}
			}
		}
		if e.full {
			return 0, ErrShortBuffer
		}
	}
	e.finish()
	if e.full {
		return 0, ErrShortBuffer
	}
	return e.n, nil
}

// tables builds the quantization tables and reciprocals for quality (clamped to 1..100, with
// libjpeg's scaling: 5000/q percent below 50, 200-2q percent above) and the Huffman codes, once
// per quality.
func (e *jpegEncoder) tables(quality int) {
	quality = min(max(quality, 1), 100)
	if e.quality == quality {
		return
	}
	scale := 200 - 2*quality
	if quality < 50 {
		scale = 5000 / quality
	}
	for t := range baseQuant {
		for k, nat := range zigzag {
			q := (int(baseQuant[t][nat])*scale + 50) / 100
			q = min(max(q, 1), 255)
			e.dqt[t][k] = byte(q)
			// The AAN transform's output (u, v) is 8 * aan(u) * aan(v) times T.81's FDCT of
			// samples scaled by 1<<fdctIn, so the divisor is q * 8 * 4 * aan(u) * aan(v);
			// aanScale carries 2^14 each, and 2^(recipBits+28-3-fdctIn) / (q * aanScale[u] *
			// aanScale[v]) is its reciprocal.
			den := uint64(q) * aanScale[nat/8] * aanScale[nat%8]
			e.recip[t][k] = uint32((1<<(recipBits+25-fdctIn) + den/2) / den)
		}
	}
	for i, s := range &stdHuffman {
		code, k := uint32(0), 0
		for l := 1; l <= maxCodeLen; l++ {
			for range s.counts[l-1] {
				e.codes[i][s.vals[k]] = uint32(l)<<16 | code
				code++
				k++
			}
			code <<= 1
		}
	}
	e.quality = quality
}

// header writes SOI, a JFIF APP0, the quantization and Huffman tables, SOF0 and SOS.
func (e *jpegEncoder) header(p []encPlane) {
	nt := 1 // tables: luminance only for grey
	if len(p) > 1 {
		nt = 2
	}
	e.put(0xFF, 0xD8)
	// JFIF 1.01, no density, no thumbnail: tells readers the components are YCbCr.
	e.put(0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	e.put(0xFF, 0xDB)
	e.put16(2 + 65*nt)
	for t := range nt {
		e.put(byte(t))
		e.put(e.dqt[t][:]...)
	}
	e.put(0xFF, 0xC0)
	e.put16(8 + 3*len(p))
	e.put(8)
	e.put16(p[0].h)
	e.put16(p[0].w)
	e.put(byte(len(p)))
	for _, c := range p {
		e.put(c.id, byte(c.hs<<4|c.vs), byte(c.table))
	}
	e.put(0xFF, 0xC4)
	n := 2
	for i := range 2 * nt {
		n += 17 + len(stdHuffman[dhtOrder[i]].vals)
	}
	e.put16(n)
	for i := range 2 * nt {
		j := dhtOrder[i]
		s := &stdHuffman[j]
		e.put(byte(j/2<<4 | j%2)) // class (0: DC, 1: AC), id
		for _, c := range s.counts {
			e.put(byte(c))
		}
		e.put(s.vals...)
	}
	e.put(0xFF, 0xDA)
	e.put16(6 + 2*len(p))
	e.put(byte(len(p)))
	for _, c := range p {
		e.put(c.id, byte(c.table<<4|c.table))
	}
	e.put(0, 63, 0) // spectral selection 0..63, no successive approximation
}

// dhtOrder lists the stdHuffman tables as DHT writes them: the luminance pair (DC, AC) first,
// so that a grey image, which needs only those, writes a prefix.
var dhtOrder = [4]int{0, 2, 1, 3}

// put appends header bytes to the output.
func (e *jpegEncoder) put(b ...byte) {
	if e.n+len(b) > len(e.dst) {
		e.full = true
		return
	}
	e.n += copy(e.dst[e.n:], b)
}

func (e *jpegEncoder) put16(v int) { e.put(byte(v>>8), byte(v)) }

// load copies the 8x8 block of c at (x0, y0) into e.blk; samples past the plane's right or
// bottom edge repeat the last column or row (T.81 A.2.4 leaves the padding to the encoder;
// replication keeps edge blocks smooth), times 1<<fdctIn. The level shift (-128) is left to
// writeBlock.
func (e *jpegEncoder) load(c *encPlane, x0, y0 int) {
	if x0+blockSide <= c.w && y0+blockSide <= c.h {
		o := y0*c.stride + x0
		_ = c.pix[o+(blockSide-1)*c.stride+blockSide-1] // one bounds check for the block
		for y := range blockSide {
			row := c.pix[o : o+blockSide : o+blockSide]
			b := (*[blockSide]int32)(e.blk[y*blockSide:])
			b[0], b[1], b[2], b[3] = int32(row[0])<<fdctIn, int32(row[1])<<fdctIn, int32(row[2])<<fdctIn, int32(row[3])<<fdctIn
			b[4], b[5], b[6], b[7] = int32(row[4])<<fdctIn, int32(row[5])<<fdctIn, int32(row[6])<<fdctIn, int32(row[7])<<fdctIn
			o += c.stride
		}
		return
	}
	for y := range blockSide {
		row := c.pix[min(y0+y, c.h-1)*c.stride:][:c.w]
		b := (*[blockSide]int32)(e.blk[y*blockSide:])
		for x := range b {
			b[x] = int32(row[min(x0+x, c.w-1)]) << fdctIn
		}
	}
}

// fdct transforms b in place with the AAN flow graph, rows then columns. The result (u, v) is
// 8 * aanScale(u) * aanScale(v) times T.81's FDCT of b; quantization divides that out.
func fdct(b *[blockSide * blockSide]int32) {
	for i := 0; i < len(b); i += blockSide {
		r := (*[blockSide]int32)(b[i:])
		r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] = fdct8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
	}
	for i := range blockSide {
		b[i], b[i+8], b[i+16], b[i+24], b[i+32], b[i+40], b[i+48], b[i+56] =
			fdct8(b[i], b[i+8], b[i+16], b[i+24], b[i+32], b[i+40], b[i+48], b[i+56])
	}
}

// fdct8 is one 8-point AAN transform: the outputs 0 to 7 of the inputs d0 to d7.
func fdct8(d0, d1, d2, d3, d4, d5, d6, d7 int32) (o0, o1, o2, o3, o4, o5, o6, o7 int32) {
	tmp0, tmp7 := d0+d7, d0-d7
	tmp1, tmp6 := d1+d6, d1-d6
	tmp2, tmp5 := d2+d5, d2-d5
	tmp3, tmp4 := d3+d4, d3-d4

	// Even part.
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
	o0, o4 = tmp10+tmp11, tmp10-tmp11
	z1 := fmul(tmp12+tmp13, fix0_7071)
	o2, o6 = tmp13+z1, tmp13-z1

	// Odd part.
	tmp10, tmp11, tmp12 = tmp4+tmp5, tmp5+tmp6, tmp6+tmp7
	z5 := fmul(tmp10-tmp12, fix0_3827)
	z2 := fmul(tmp10, fix0_5412) + z5
	z4 := fmul(tmp12, fix1_3066) + z5
	z3 := fmul(tmp11, fix0_7071)
	z11, z13 := tmp7+z3, tmp7-z3
	o5, o3 = z13+z2, z13-z2
	o1, o7 = z11+z4, z11-z4
	return
}

// fmul multiplies x by a fdctBits fixed-point constant, rounding.
func fmul(x, c int32) int32 { return (x*c + 1<<(fdctBits-1)) >> fdctBits }

// quantize divides an AAN-scaled coefficient by its divisor through the reciprocal r, rounding
// half away from zero, as libjpeg does. It returns the magnitude and the sign (0 or -1)
// separately, without branches: signs of noisy coefficients are unpredictable.
func quantize(c int32, r uint32) (mag uint32, sign int32) {
	sign = c >> 31
	a := uint64((c ^ sign) - sign)
	return uint32((a*uint64(r) + 1<<(recipBits-1)) >> recipBits), sign
}

// writeBlock transforms, quantizes and entropy-codes e.blk with table set t (0: luminance, 1:
// chrominance) and the DC prediction pred, and returns the block's DC level, the next
// prediction.
func (e *jpegEncoder) writeBlock(t int, pred int32) int32 {
	fdct(&e.blk)
	// The transform's DC output is the sum of the 64 samples (both passes only add for it):
	// the level shift of T.81 A.3.1 subtracts 64 * 128 there and changes nothing else.
	e.blk[0] -= blockSide * blockSide * 128 << fdctIn
	r := &e.recip[t]
	m, sign := quantize(e.blk[0], r[0])
	dc := min(max((int32(m)^sign)-sign, -1024), 1023) // T.81 F.1.2.1: DC levels fit 11 bits
	s, v := magnitude(dc - pred)
	e.emitSym(&e.codes[t], byte(s), v, s)
	ac := &e.codes[2+t]
	run := 0
	for k := 1; k < len(zigzag); k++ {
		m, sign := quantize(e.blk[zigzag[k]&63], r[k])
		if m == 0 {
			run++
			continue
		}
		m = min(m, maxACLevel)
		for ; run >= 16; run -= 16 {
			e.emitSym(ac, 0xF0, 0, 0) // ZRL: sixteen zeros
		}
		// T.81 F.1.2.2: the size category, then the low bits of the value (of v-1, that is of
		// ^m, for negative v).
		s := uint(bits.Len32(m))
		e.emitSym(ac, byte(run<<4|int(s)), (m^uint32(sign))&(1<<s-1), s)
		run = 0
	}
	if run > 0 {
		e.emitSym(ac, 0x00, 0, 0) // EOB
	}
	return dc
}

// magnitude returns the size category of v and its s low bits as T.81 F.1.2.1 codes them
// (negative values as v-1).
func magnitude(v int32) (s uint, bits32 uint32) {
	a := v
	if v < 0 {
		a = -v
		v--
	}
	s = uint(bits.Len32(uint32(a)))
	return s, uint32(v) & (1<<s - 1)
}

// emitSym writes the Huffman code of sym from codes, then s extra bits v: at most 16 + 11 bits.
func (e *jpegEncoder) emitSym(codes *[256]uint32, sym byte, v uint32, s uint) {
	c := codes[sym]
	l := uint(c>>16) + s
	e.acc = e.acc<<l | uint64(c&0xFFFF)<<s | uint64(v)
	e.nbits += l
	if e.nbits >= 32 {
		e.nbits -= 32
		e.flush32(uint32(e.acc >> e.nbits))
	}
}

// flush32 writes 32 bits of entropy-coded data, stuffing a zero byte after each 0xFF.
func (e *jpegEncoder) flush32(w uint32) {
	if e.n+8 > len(e.dst) { // 4 bytes, 8 if each needs stuffing
		e.full = true
		return
	}
	// A byte of w is 0xFF where ^w has a zero byte.
	if x := ^w; (x-0x01010101)&^x&0x80808080 == 0 {
		binary.BigEndian.PutUint32(e.dst[e.n:], w)
		e.n += 4
		return
	}
	for sh := 24; sh >= 0; sh -= 8 {
		b := byte(w >> sh)
		e.dst[e.n] = b
		e.n++
		if b == 0xFF {
			e.dst[e.n] = 0
			e.n++
		}
	}
}

// finish pads the last byte with one bits (T.81 F.1.2.3), writes what is left and EOI.
func (e *jpegEncoder) finish() {
	if pad := (8 - e.nbits%8) % 8; pad > 0 {
		e.acc = e.acc<<pad | (1<<pad - 1)
		e.nbits += pad
	}
	for e.nbits >= 8 {
		e.nbits -= 8
		b := byte(e.acc >> e.nbits)
		if b == 0xFF {
			e.put(0xFF, 0)
		} else {
			e.put(b)
		}
	}
	e.put(0xFF, 0xD9)
}
