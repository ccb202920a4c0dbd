package gnss

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// withSum appends the checksum to a sentence written without one.
func withSum(s string) string {
	var sum byte
	for i := 1; i < len(s); i++ {
		sum ^= s[i]
	}
	return fmt.Sprintf("%s*%02X", s, sum)
}

// frameAll runs the framer over in, fed in pieces of chunk bytes, and returns the sentences.
func frameAll(in []byte, chunk int, noChecksumOK bool) ([]string, Stats) {
	var st Stats
	f := framer{stats: &st, noChecksumOK: noChecksumOK}
	var out []string
	for len(in) > 0 {
		p := in[:min(chunk, len(in))]
		for len(p) > 0 {
			n, body := f.scan(p)
			p = p[n:]
			if body != nil {
				out = append(out, string(body))
			}
		}
		in = in[min(chunk, len(in)):]
	}
	f.flush()
	return out, st
}

func TestFramer(t *testing.T) {
	gga := withSum("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
	ggaBody := gga[:len(gga)-3]
	long := withSum("$GPTXT," + strings.Repeat("x", MaxSentence))
	over := withSum("$GPTXT," + strings.Repeat("y", MaxNMEA)) // 80 < len <= MaxSentence
	tests := []struct {
		name     string
		in       string
		noSum    bool
		want     []string
		rejected map[Reason]uint64
		check    func(t *testing.T, s Stats)
	}{
		{name: "CRLF", in: gga + "\r\n", want: []string{ggaBody}},
		{name: "LF", in: gga + "\n" + gga + "\n", want: []string{ggaBody, ggaBody}},
		{name: "CR", in: gga + "\r" + gga + "\r", want: []string{ggaBody, ggaBody}},
		{name: "LFCR", in: gga + "\n\r" + gga + "\n\r", want: []string{ggaBody, ggaBody}},
		{name: "garbage before", in: "\x00\xff junk #comment\n" + gga + "\r\n", want: []string{ggaBody},
			check: func(t *testing.T, s Stats) {
				if s.Garbage != 16 {
					t.Errorf("Garbage = %d, want 16", s.Garbage)
				}
			}},
		{name: "partial line then resync", in: "$GPGGA,1235" + gga + "\r\n", want: []string{ggaBody},
			rejected: map[Reason]uint64{ReasonTruncated: 1}},
		{name: "NUL inside", in: "$GPGGA,12\x0035\r\n" + gga + "\r\n", want: []string{ggaBody},
			rejected: map[Reason]uint64{ReasonBadByte: 1}},
		{name: "escape code inside", in: "$GPGGA,\x1b[2J,1\r\n" + gga + "\n", want: []string{ggaBody},
			rejected: map[Reason]uint64{ReasonBadByte: 1}},
		{name: "binary UBX frame between", in: gga + "\r\n\xb5\x62\x01\x07\x5c\x00$\x00\x24\xfe" + gga + "\r\n",
			want: []string{ggaBody, ggaBody}, rejected: map[Reason]uint64{ReasonBadByte: 2}}, // "$\x00" and "\x24\xfe"
		{name: "bad checksum", in: gga[:len(gga)-2] + "00\r\n", rejected: map[Reason]uint64{ReasonChecksum: 1}},
		{name: "lower-case checksum", in: strings.ToLower(gga[len(gga)-3:]) + "\n" + gga[:len(gga)-2] + strings.ToLower(gga[len(gga)-2:]) + "\n",
			want: []string{ggaBody}},
		{name: "checksum one digit", in: gga[:len(gga)-1] + "\r\n", rejected: map[Reason]uint64{ReasonChecksum: 1}},
		{name: "trailing spaces after checksum", in: gga + "  \r\n", want: []string{ggaBody}},
		{name: "no checksum rejected", in: ggaBody + "\r\n", rejected: map[Reason]uint64{ReasonNoChecksum: 1}},
		{name: "no checksum allowed", in: ggaBody + "\r\n", noSum: true, want: []string{ggaBody},
			check: func(t *testing.T, s Stats) {
				if s.NoChecksum != 1 {
					t.Errorf("NoChecksum = %d, want 1", s.NoChecksum)
				}
			}},
		{name: "too long", in: long + "\r\n" + gga + "\r\n", want: []string{ggaBody},
			rejected: map[Reason]uint64{ReasonTooLong: 1}},
		{name: "over NMEA length tolerated", in: over + "\r\n", want: []string{over[:len(over)-3]},
			check: func(t *testing.T, s Stats) {
				if s.LongLines != 1 {
					t.Errorf("LongLines = %d, want 1", s.LongLines)
				}
			}},
		{name: "lone dollar", in: "$\r\n", rejected: map[Reason]uint64{ReasonTruncated: 1}},
		{name: "cut at end of stream", in: gga + "\r\n$GPGGA,12", want: []string{ggaBody},
			rejected: map[Reason]uint64{ReasonTruncated: 1}},
		{name: "AIS", in: "!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26\r\n",
			want: []string{"!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, 7, 4096} {
				got, st := frameAll([]byte(tt.in), chunk, tt.noSum)
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Fatalf("chunk %d: got %q, want %q", chunk, got, tt.want)
				}
				for r := Reason(1); r < NumReasons; r++ {
					if st.Rejected[r] != tt.rejected[r] {
						t.Errorf("chunk %d: Rejected[%v] = %d, want %d", chunk, r, st.Rejected[r], tt.rejected[r])
					}
				}
				if st.Sentences != uint64(len(tt.want)) {
					t.Errorf("chunk %d: Sentences = %d, want %d", chunk, st.Sentences, len(tt.want))
				}
				if tt.check != nil {
					tt.check(t, st)
				}
			}
		})
	}
}

func TestFramerFields(t *testing.T) {
	var st Stats
	f := framer{stats: &st}
	line := withSum("$GPGLL,4916.45,N,,W,,A") + "\r\n"
	_, body := f.scan([]byte(line))
	if body == nil {
		t.Fatal("no sentence")
	}
	var got []string
	for i := 0; i < f.fields.n; i++ {
		got = append(got, string(f.fields.get(i)))
	}
	want := []string{"GPGLL", "4916.45", "N", "", "W", "", "A"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fields %q, want %q", got, want)
	}
	if f.fields.get(99) != nil {
		t.Error("field past the end is not empty")
	}
}

func TestFramerManyFields(t *testing.T) {
	// More commas than maxFields: the extra fields fold into the last one, nothing breaks.
	line := withSum("$GPXXX"+strings.Repeat(",1", 2*maxFields)) + "\n"
	got, st := frameAll([]byte(line), 5, false)
	if len(got) != 1 || st.Sentences != 1 {
		t.Fatalf("got %q", got)
	}
	if !bytes.HasPrefix([]byte(got[0]), []byte("$GPXXX,1,1")) {
		t.Errorf("body %q", got[0])
	}
}

// FuzzFramer checks the word-at-a-time loop of scan against its byte loop: fed one byte at a
// time, scan never has eight bytes to test at once, so any other chunk size must give the
// same sentences, the same fields and the same counts. Every field must also be what
// splitting the sentence at its commas gives.
func FuzzFramer(f *testing.F) {
	gga := withSum("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
	for _, s := range []string{gga + "\r\n", gga + "  \r\n" + gga[:40] + "\n",
		withSum("$GPGSV,3,1,12,01,05,040,,02,17,259,43,03,-2,100,,04,55,011,48,1") + "\n",
		withSum("$GPXXX"+strings.Repeat(",1", 2*maxFields)) + "\n", withSum("$GPTXT,a*b,c") + "\r\n",
		"$GPGGA,\x1b[2J,1\r\n" + gga + "\n", withSum("$GPTXT,"+strings.Repeat("x", MaxSentence)) + "\n"} {
		f.Add([]byte(s))
	}
	type frame struct {
		body   string
		fields []string
	}
	run := func(in []byte, chunk int) ([]frame, Stats) {
		var st Stats
		fr := framer{stats: &st}
		var out []frame
		for p := in; len(p) > 0; {
			q := p[:min(chunk, len(p))]
			p = p[len(q):]
			for len(q) > 0 {
				n, body := fr.scan(q)
				q = q[n:]
				if body != nil {
					fs := make([]string, fr.fields.n)
					for i := range fs {
						fs[i] = string(fr.fields.get(i))
					}
					out = append(out, frame{string(body), fs})
				}
			}
		}
		fr.flush()
		return out, st
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want, wantStats := run(in, 1)
		for _, fr := range want {
			split := strings.SplitN(fr.body[1:], ",", maxFields)
			if strings.Join(split, "|") != strings.Join(fr.fields, "|") {
				t.Fatalf("%q: fields %q, split %q", fr.body, fr.fields, split)
			}
		}
		for _, chunk := range []int{3, 8, 9, 17, len(in)} {
			got, st := run(in, max(chunk, 1))
			if fmt.Sprint(got) != fmt.Sprint(want) || st != wantStats {
				t.Fatalf("chunk %d: %q, %+v; byte at a time: %q, %+v", chunk, got, st, want, wantStats)
			}
		}
	})
}
