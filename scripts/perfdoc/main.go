// Command perfdoc turns the output of `make bench` (Go benchmark lines, with -count N, and the
// lines of scripts/daemon-bench.sh and the gpsd agreement test in the same format) into
// docs/PERFORMANCE.md and the goals table of README.md, so that both always show the latest
// measurement and nothing else.
//
//	go run ./scripts/perfdoc -readme README.md -o docs/PERFORMANCE.md bench.txt
//
// Each goal names the benchmark lines it reads and how one run's figure is computed; with
// -count N every goal has N figures, reported as median and range. A goal whose benchmark is
// missing from the input is reported as "not measured", never guessed.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// results maps a benchmark name (without the -GOMAXPROCS suffix) and a unit to the values of
// its runs, in input order.
type results map[string]map[string][]float64

// gpsdTotal matches the closing line of gnss's TestGpsdPositions.
var gpsdTotal = regexp.MustCompile(`TOTAL: \d+ of gpsd's \d+ distinct positions = ([0-9.]+)%`)

// benchLine matches "BenchmarkName-2   	 1000	 123 ns/op	 4.5 unit ...".
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader, res results) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := gpsdTotal.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			if res["BenchmarkGpsdAgreement"] == nil {
				res["BenchmarkGpsdAgreement"] = map[string][]float64{}
			}
			res["BenchmarkGpsdAgreement"]["%"] = append(res["BenchmarkGpsdAgreement"]["%"], v)
			continue
		}
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if res[m[1]] == nil {
				res[m[1]] = map[string][]float64{}
			}
			res[m[1]][f[i+1]] = append(res[m[1]][f[i+1]], v)
		}
	}
	return sc.Err()
}

// values returns the values of one benchmark and unit.
func (r results) values(name, unit string) []float64 { return r[name][unit] }

// goal is one row of the goals table.
type goal struct {
	What   string
	Method string // how it is measured: the benchmark and what one figure is
	Ref    string // the reference it is compared with, if any
	Target string // the goal as text
	Unit   string // printed after figures
	Prec   int    // decimals printed
	// Figures computes one figure per run from the results.
	Figures func(r results) []float64
	// Met reports whether one figure meets the goal.
	Met func(v float64) bool
}

// pairRatio divides run i of (a, unit) by run i of (b, unit).
func pairRatio(r results, a, b, unit string) []float64 {
	x, y := r.values(a, unit), r.values(b, unit)
	n := min(len(x), len(y))
	out := make([]float64, 0, n)
	for i := range n {
		if y[i] != 0 {
			out = append(out, x[i]/y[i])
		}
	}
	return out
}

// minOver returns, per run, the smallest value of unit over the benchmarks matching prefix.
func minOver(r results, prefix, unit string) []float64 {
	var out []float64
	for name, units := range r {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for i, v := range units[unit] {
			if i == len(out) {
				out = append(out, v)
			} else {
				out[i] = min(out[i], v)
			}
		}
	}
	return out
}

// maxPair returns, per run, the larger of (a, unit) and (b, unit).
func maxPair(r results, a, b, unit string) []float64 {
	x, y := r.values(a, unit), r.values(b, unit)
	out := make([]float64, min(len(x), len(y)))
	for i := range out {
		out[i] = max(x[i], y[i])
	}
	return out
}

func scaled(vs []float64, k float64) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = v * k
	}
	return out
}

// goals is the project's table of goals, in README order.
var goals = []goal{
	{
		What: "NMEA decoding against go-nmea", Target: ">= 10x", Unit: "x", Prec: 1,
		Method: "BenchmarkDecodeRatio (gnss): framer, decoder and epoch merger over three real captures, both decoders timed in the same iteration; a run's figure is the smallest of the three ratios (BenchmarkDecodeStages splits geogate's time into framer, sentence decoder and merger)",
		Ref:    "github.com/adrianmo/go-nmea nmea.Parse",
		Figures: func(r results) []float64 {
			return minOver(r, "BenchmarkDecodeRatio/", "x-go-nmea")
		},
		Met: func(v float64) bool { return v >= 10 },
	},
	{
		What: "gpsd agreement, 70 real captures", Target: ">= 98%", Unit: "%", Prec: 2,
		Method: "TestGpsdPositions (gnss, run by make bench with -v): share of gpsd's distinct TPV positions that geogate reproduces, counting only fixes it calls valid",
		Ref:    "gpsd's expected output shipped with each capture",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkGpsdAgreement", "%")
		},
		Met: func(v float64) bool { return v >= 98 },
	},
	{
		What: "Decide, 3,000 polygons / 1 M vertices, p50", Target: "< 100 ns", Unit: "ns", Prec: 0,
		Method: "BenchmarkDecide/c-gen3000x1M/geogate-licensed (policy): median of 64-decision batches over a mix of uniform fixes and fixes within 2 km of a boundary",
		Ref:    "rtree+orb and orb brute force, same fixes (BenchmarkDecide/c-gen3000x1M/*)",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkDecide/c-gen3000x1M/geogate-licensed", "p50-ns")
		},
		Met: func(v float64) bool { return v < 100 },
	},
	{
		What: "Policy compile, 1 M vertices", Target: "< 2 s", Unit: "ms", Prec: 0,
		Method: "BenchmarkCompile/c-gen3000x1M (policy): policy.Compile of the generated 1 M-vertex bundle",
		Figures: func(r results) []float64 {
			return scaled(r.values("BenchmarkCompile/c-gen3000x1M", "ns/op"), 1e-6)
		},
		Met: func(v float64) bool { return v < 2000 },
	},
	{
		What: "Policy bundle of 1 MB verified and swapped in", Target: "< 50 ms", Unit: "ms", Prec: 0,
		Method: "BenchmarkInstall1MB (update): copy, fsync, verify, parse, compile, commit and swap of a signed bundle, the larger of its two shapes (4000 small zones; a few 4000-vertex outlines)",
		Figures: func(r results) []float64 {
			return scaled(maxPair(r, "BenchmarkInstall1MB/4000-small-zones", "BenchmarkInstall1MB/outlines", "ns/op"), 1e-6)
		},
		Met: func(v float64) bool { return v < 50 },
	},
	{
		What: "Encrypted append, 64 B records, against plain", Target: ">= 0.9x", Unit: "x", Prec: 2,
		Method: "BenchmarkAppend/64B (storage): plain ns/op over AES-256-GCM ns/op of the same run, same records and sync policy",
		Ref:    "plain writes of the same records (BenchmarkAppend/64B/plain)",
		Figures: func(r results) []float64 {
			return pairRatio(r, "BenchmarkAppend/64B/plain", "BenchmarkAppend/64B/aes-gcm", "ns/op")
		},
		Met: func(v float64) bool { return v >= 0.9 },
	},
	{
		What: "Encrypted append, 64 B records, rate", Target: ">= 50,000/s", Unit: "records/s", Prec: 0,
		Method: "BenchmarkAppend/64B/aes-gcm (storage), records/s",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkAppend/64B/aes-gcm", "records/s")
		},
		Met: func(v float64) bool { return v >= 50000 },
	},
	{
		What: "Encrypted append, 200 KB frames, against plain", Target: ">= 0.9x", Unit: "x", Prec: 2,
		Method: "BenchmarkAppend/200KB (storage): plain ns/op over AES-256-GCM ns/op of the same run",
		Ref:    "plain writes of the same records",
		Figures: func(r results) []float64 {
			return pairRatio(r, "BenchmarkAppend/200KB/plain", "BenchmarkAppend/200KB/aes-gcm", "ns/op")
		},
		Met: func(v float64) bool { return v >= 0.9 },
	},
	{
		What: "Gate, allocations per fix and per 1080p frame", Target: "0", Unit: "allocs", Prec: 0,
		Method: "BenchmarkGate/fix and BenchmarkGate/frame-1080p (gate): allocs/op, the larger of the two",
		Figures: func(r results) []float64 {
			return maxPair(r, "BenchmarkGate/fix", "BenchmarkGate/frame-1080p", "allocs/op")
		},
		Met: func(v float64) bool { return v == 0 },
	},
	{
		What: "Camera pass-through, 1080p MJPEG at 30 fps", Target: "< 10% of a core", Unit: "% of a core", Prec: 2,
		Method: "BenchmarkPassThrough1080p (camera): capture, ring and consumer per frame, times 30",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkPassThrough1080p", "core%@30fps")
		},
		Met: func(v float64) bool { return v < 10 },
	},
	{
		What: "MJPEG 1080p to <= 1.2 MP, against the standard library", Target: ">= 5x", Unit: "x", Prec: 1,
		Method: "BenchmarkScaleMJPEGRatio1080p (camera): the Scaler's DCT-domain decode at reduced scale and own baseline encoder, and the path before them (image/jpeg's decode, box filter and encode), in the same iterations, each timed by its thread's CPU time (cpu-speedup: wall time on a shared machine charges the 10 ms path with other processes' time slices; the garbage collector's background work for the reference's allocations is left out, in its favour); the wall-time ratio is in the benchmark output as speedup",
		Ref:    "image/jpeg decode + scale + encode of the same frame",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkScaleMJPEGRatio1080p", "cpu-speedup")
		},
		Met: func(v float64) bool { return v >= 5 },
	},
	{
		What: "Daemon, public tier at 1080p30 with a 5 fps image rate", Target: "< 10% of a core", Unit: "% of a core", Prec: 1,
		Method: "scripts/daemon-bench.sh, public tier: (utime+stime) over wall time after the first 5 s",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkDaemon/public", "cpu%")
		},
		Met: func(v float64) bool { return v < 10 },
	},
	{
		What: "Upload of a 64 MB export against the store's own PutObject", Target: ">= 0.8x", Unit: "x", Prec: 2,
		Method: "BenchmarkPushRatio (upload): PutObject's time over Push's (multipart in 16 MiB parts, MD5 checked per part, confirmation, sidecars, manifest, audit entry), both of the same sealed bytes to versitygw on loopback with minio-go, timed in the same iterations, order turned each time",
		Ref:    "minio-go PutObject of the same file in one request (BenchmarkPushRatio also reports the store's bare multipart upload: multipart-x-putobject)",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkPushRatio", "x-putobject")
		},
		Met: func(v float64) bool { return v >= 0.8 },
	},
	{
		What: "Audit log consistency proof, 1 M entries", Target: "< 10 ms", Unit: "us", Prec: 1,
		Method: "BenchmarkConsistency1M/verify (audit): checking a consistency proof between two checkpoints of a 1,048,576-entry tree",
		Figures: func(r results) []float64 {
			return scaled(r.values("BenchmarkConsistency1M/verify", "ns/op"), 1e-3)
		},
		Met: func(v float64) bool { return v < 10000 },
	},
	{
		What: "Device key unsealed by a TPM 2.0", Target: "< 100 ms", Unit: "ms", Prec: 2,
		Method: "BenchmarkStart/key=tpm (daemon): what the unseal adds to READY=1, as the started daemon logs it (device key unsealed took=), against swtpm on loopback (a discrete TPM is slower: measure on the unit); BenchmarkUnseal (board) times the unseal alone",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkStart/key=tpm", "unseal-ms")
		},
		Met: func(v float64) bool { return v < 100 },
	},
	{
		What: "Daemon READY=1 after start", Target: "< 200 ms", Unit: "ms", Prec: 0,
		Method: "scripts/daemon-bench.sh, licensed tier, camera 1080p30: process start to the READY=1 datagram on $NOTIFY_SOCKET",
		Figures: func(r results) []float64 {
			return r.values("BenchmarkDaemon/licensed", "ready-ms")
		},
		Met: func(v float64) bool { return v < 200 },
	},
	{
		What: "Daemon memory, camera 1080p30", Target: "< 40 MiB RSS", Unit: "MiB", Prec: 1,
		Method: "scripts/daemon-bench.sh: median VmRSS after the first 5 s, the larger of the two tiers",
		Figures: func(r results) []float64 {
			return maxPair(r, "BenchmarkDaemon/licensed", "BenchmarkDaemon/public", "rss-MiB")
		},
		Met: func(v float64) bool { return v < 40 },
	},
	{
		What: "Daemon stop after SIGTERM", Target: "< 2 s", Unit: "ms", Prec: 0,
		Method: "scripts/daemon-bench.sh: SIGTERM to exit, the larger of the two tiers",
		Figures: func(r results) []float64 {
			return maxPair(r, "BenchmarkDaemon/licensed", "BenchmarkDaemon/public", "stop-ms")
		},
		Met: func(v float64) bool { return v < 2000 },
	},
}

// row is a goal with its figures summarized.
type row struct {
	goal
	n           int
	med, lo, hi float64
	met         int
	measured    bool
}

func summarize(r results) []row {
	rows := make([]row, 0, len(goals))
	for _, g := range goals {
		vs := g.Figures(r)
		w := row{goal: g, n: len(vs), measured: len(vs) > 0}
		if w.measured {
			s := slices.Clone(vs)
			slices.Sort(s)
			w.lo, w.hi = s[0], s[len(s)-1]
			if len(s)%2 == 1 {
				w.med = s[len(s)/2]
			} else {
				w.med = (s[len(s)/2-1] + s[len(s)/2]) / 2
			}
			for _, v := range vs {
				if g.Met(v) {
					w.met++
				}
			}
		}
		rows = append(rows, w)
	}
	return rows
}

// num formats v with prec decimals and thousands separators.
func num(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

func (w row) latest() string {
	if !w.measured {
		return "not measured"
	}
	return num(w.med, w.Prec) + " " + w.Unit
}

func (w row) span() string {
	if !w.measured {
		return "-"
	}
	return fmt.Sprintf("%s-%s %s over %d runs", num(w.lo, w.Prec), num(w.hi, w.Prec), w.Unit, w.n)
}

func (w row) verdict() string {
	switch {
	case !w.measured:
		return "not measured"
	case w.met == w.n:
		return "met"
	case w.met == 0:
		return "**not met**"
	}
	return fmt.Sprintf("met in %d of %d runs", w.met, w.n)
}

// readmeTable is the goals table of README.md.
func readmeTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| goal | target | latest (median) | status |\n|---|---|---|---|\n")
	for _, w := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", w.What, w.Target, w.latest(), w.verdict())
	}
	return b.String()
}

// performance is docs/PERFORMANCE.md.
func performance(rows []row, machine string) string {
	var b strings.Builder
	b.WriteString("# Performance\n\n")
	b.WriteString("Generated by `make bench` (scripts/perfdoc); do not edit. Every figure is the median of the runs in one\n")
	b.WriteString("`make bench`, with their range, on " + machine + ". Rerun `make bench` to refresh this file and the goals\n")
	b.WriteString("table in README.md. Timing goals live here, in benchmarks, never in timed unit tests; allocation goals\n")
	b.WriteString("are also asserted by tests (`testing.AllocsPerRun == 0`).\n\n")
	b.WriteString("| goal | target | latest (median) | range | status |\n|---|---|---|---|---|\n")
	for _, w := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", w.What, w.Target, w.latest(), w.span(), w.verdict())
	}
	b.WriteString("\n## Method\n\n")
	for _, w := range rows {
		fmt.Fprintf(&b, "- **%s**: %s.", w.What, w.Method)
		if w.Ref != "" {
			fmt.Fprintf(&b, " Reference: %s.", w.Ref)
		}
		b.WriteString("\n")
	}
	return b.String()
}

const (
	beginMark = "<!-- goals: generated by make bench (scripts/perfdoc) -->\n"
	endMark   = "<!-- end of goals -->\n"
)

// replaceTable puts table between the marks in readme.
func replaceTable(readme []byte, table string) ([]byte, error) {
	i := bytes.Index(readme, []byte(beginMark))
	j := bytes.Index(readme, []byte(endMark))
	if i < 0 || j < i {
		return nil, fmt.Errorf("perfdoc: README has no %q ... %q block", strings.TrimSpace(beginMark), strings.TrimSpace(endMark))
	}
	var out bytes.Buffer
	out.Write(readme[:i+len(beginMark)])
	out.WriteString(table)
	out.Write(readme[j:])
	return out.Bytes(), nil
}

func main() {
	out := flag.String("o", "docs/PERFORMANCE.md", "write the performance document to `FILE`")
	readme := flag.String("readme", "", "replace the goals table of `README.md` (between its marks)")
	machine := flag.String("machine", "this machine", "describe the machine measured on")
	flag.Parse()
	res := results{}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "perfdoc:", err)
			os.Exit(1)
		}
		err = parse(f, res)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "perfdoc:", name+":", err)
			os.Exit(1)
		}
	}
	if len(res) == 0 {
		fmt.Fprintln(os.Stderr, "perfdoc: no benchmark lines in the input")
		os.Exit(1)
	}
	rows := summarize(res)
	if err := os.WriteFile(*out, []byte(performance(rows, *machine)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "perfdoc:", err)
		os.Exit(1)
	}
	if *readme != "" {
		b, err := os.ReadFile(*readme)
		if err == nil {
			b, err = replaceTable(b, readmeTable(rows))
		}
		if err == nil {
			err = os.WriteFile(*readme, b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "perfdoc:", err)
			os.Exit(1)
		}
	}
	var unmet []string
	for _, w := range rows {
		if w.measured && w.met < w.n {
			unmet = append(unmet, w.What)
		}
	}
	fmt.Printf("perfdoc: %d goals, wrote %s; not met in every run: %s\n", len(rows), *out, strings.Join(unmet, "; "))
}
