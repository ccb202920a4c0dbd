package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkDecide/c-gen3000x1M/geogate-licensed-2   	 1000	 90000 ns/op	 76.5 p50-ns	 0 B/op	 0 allocs/op
BenchmarkDecide/c-gen3000x1M/geogate-licensed-2   	 1000	 90000 ns/op	 104.0 p50-ns	 0 B/op	 0 allocs/op
BenchmarkDecide/c-gen3000x1M/geogate-licensed-2   	 1000	 90000 ns/op	 80.0 p50-ns	 0 B/op	 0 allocs/op
BenchmarkAppend/64B/plain-2     	 5000000	 157 ns/op
BenchmarkAppend/64B/aes-gcm-2   	 5000000	 203 ns/op	 4900000 records/s
BenchmarkDecodeRatio/m9n-2   	 100	 1 ns/op	 13.1 x-go-nmea
BenchmarkDecodeRatio/rtk-2   	 100	 1 ns/op	 9.5 x-go-nmea
BenchmarkStart/key=tpm-2    	 10	 485886486 ns/op	 178.8 ready-ms	 47.41 unseal-ms
BenchmarkStart/key=tpm-2    	 10	 426006199 ns/op	 165.8 ready-ms	 125.0 unseal-ms
BenchmarkPushRatio-2   	       6	 879788393 ns/op	  72.92 MB/s	         0.5680 multipart-x-putobject	         1.081 x-multipart	         0.6138 x-putobject
    decode_gpsd_test.go:250: TOTAL: 748 of gpsd's 758 distinct positions = 98.68% (valid fixes only)
`

func TestSummary(t *testing.T) {
	res := results{}
	if err := parse(strings.NewReader(sample), res); err != nil {
		t.Fatal(err)
	}
	rows := map[string]row{}
	for _, w := range summarize(res) {
		rows[w.What] = w
	}
	tests := []struct {
		what, latest, span, verdict string
	}{
		{"Decide, 3,000 polygons / 1 M vertices, p50", "80 ns", "76-104 ns over 3 runs", "met in 2 of 3 runs"},
		{"Encrypted append, 64 B records, against plain", "0.77 x", "0.77-0.77 x over 1 runs", "**not met**"},
		{"Encrypted append, 64 B records, rate", "4,900,000 records/s", "4,900,000-4,900,000 records/s over 1 runs", "met"},
		{"NMEA decoding against go-nmea", "9.5 x", "9.5-9.5 x over 1 runs", "**not met**"},
		{"gpsd agreement, 70 real captures", "98.68 %", "98.68-98.68 % over 1 runs", "met"},
		{"Device key unsealed by a TPM 2.0", "86.20 ms", "47.41-125.00 ms over 2 runs", "met in 1 of 2 runs"},
		{"Policy compile, 1 M vertices", "not measured", "-", "not measured"},
		{"Upload of a 64 MB export against the store's own PutObject", "0.61 x", "0.61-0.61 x over 1 runs", "**not met**"},
	}
	for _, tt := range tests {
		w, ok := rows[tt.what]
		if !ok {
			t.Fatalf("no goal %q", tt.what)
		}
		if w.latest() != tt.latest || w.span() != tt.span || w.verdict() != tt.verdict {
			t.Errorf("%s: %q, %q, %q; want %q, %q, %q", tt.what, w.latest(), w.span(), w.verdict(), tt.latest, tt.span, tt.verdict)
		}
	}
}

func TestReplaceTable(t *testing.T) {
	readme := "# x\n\n" + beginMark + "old\n" + endMark + "after\n"
	got, err := replaceTable([]byte(readme), "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# x\n\n" + beginMark + "new\n" + endMark + "after\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := replaceTable([]byte("# no marks\n"), "t"); err == nil {
		t.Error("a README without the marks was accepted")
	}
}
