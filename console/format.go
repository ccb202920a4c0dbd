package console

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// statusAnswer is the part of the daemon's status answer (daemon.Status) the console shows:
// health, whether it stores, the policy version, and how many fixes and frames came in since
// start. Not the status line, nor kept, coarsened or dropped counts: those rise or stall
// with the zones the car drives through, which a technician watching them live would see.
type statusAnswer struct {
	Health         string `json:"health"`
	Storing        bool   `json:"storing"`
	PolicyVersion  uint64 `json:"PolicyVersion"`
	PolicyUnsigned bool   `json:"policy_unsigned"`
	Fixes          uint64 `json:"Fixes"`
	Frames         uint64 `json:"Frames"`
}

func (s *Shell) status(w io.Writer, _ []string) error {
	var st statusAnswer
	if err := s.Backend.Call("status", nil, &st); err != nil {
		return err
	}
	storing := "yes"
	if !st.Storing {
		storing = "NO (type storage)"
	}
	pol := "NONE in force: nothing is stored"
	if st.PolicyVersion > 0 {
		pol = fmt.Sprintf("v%d", st.PolicyVersion)
		if st.PolicyUnsigned {
			pol += " UNSIGNED"
		}
	}
	fmt.Fprintf(w, "health: %s\r\nstoring: %s\r\npolicy: %s\r\nsince start: %d fixes, %d frames received\r\n",
		printable(st.Health, 200), storing, pol, st.Fixes, st.Frames)
	return nil
}

// tenths prints a value times ten as "12.3".
func tenths(v int) string { return fmt.Sprintf("%d.%d", v/10, v%10) }

// counts prints a map of counts sorted by name: "checksum 3, truncated 1", or "none".
func counts(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", printable(n, 20), m[n])
	}
	return strings.Join(parts, ", ")
}

func (s *Shell) gnss(w io.Writer, _ []string) error {
	var g GNSS
	if err := s.Backend.Call(CmdGNSS, nil, &g); err != nil {
		return err
	}
	fmt.Fprintf(w, "state: %s\r\nfix: quality %d (%s), mode %s, satellites %d, hdop %s\r\n",
		printable(g.State, 40), g.Quality, printable(g.QualityName, 20), printable(g.Mode, 10), g.Satellites, tenths(g.HDOPx10))
	fmt.Fprintf(w, "since start: %d fixes (%s/s), %d sentences (%s/s), %d bytes, %d fixes dropped (loop busy), %d reconnects\r\n",
		g.Fixes, tenths(g.FixesPerSecX10), g.Sentences, tenths(g.SentencesPerSecX10), g.Bytes, g.Dropped, g.Reconnects)
	age := "none yet"
	if g.AgeX10 >= 0 {
		age = tenths(g.AgeX10) + " s"
	}
	fmt.Fprintf(w, "latest fix age: %s\r\nrejected sentences: %s\r\nposition: not shown on the console\r\n", age, counts(g.Rejected))
	return nil
}

func (s *Shell) camera(w io.Writer, _ []string) error {
	var c Camera
	if err := s.Backend.Call(CmdCamera, nil, &c); err != nil {
		return err
	}
	if c.Source == "off" {
		fmt.Fprint(w, "camera: off (camera.source)\r\n")
		return nil
	}
	up := "up"
	if !c.Up {
		up = "DOWN"
	}
	fmt.Fprintf(w, "camera: %s %s %dx%d at %d fps configured; %s\r\nframes: %d since start (%s/s)\r\nlost before the policy: %s\r\ntrouble: %d read errors, %d open failures, %d reconnects\r\n",
		printable(c.Source, 12), printable(c.Format, 8), c.Width, c.Height, c.FPS, up, c.Frames, tenths(c.FramesPerSecX10),
		counts(c.Drops), c.ReadErrors, c.OpenFailures, c.Reconnects)
	return nil
}

func (s *Shell) policy(w io.Writer, _ []string) error {
	var p Policy
	if err := s.Backend.Call(CmdPolicy, nil, &p); err != nil {
		return err
	}
	if !p.Loaded {
		fmt.Fprintf(w, "NO POLICY in force: nothing is stored (tier %s)\r\n", printable(p.Tier, 20))
		return nil
	}
	fmt.Fprintf(w, "policy %s v%d\r\nsignature: %s\r\nexpiry: %s\r\nzones: %d\r\ntier: %s\r\n",
		printable(p.ID, 64), p.Version, printable(p.Signature, 80), printable(p.Expiry, 40), p.Zones, printable(p.Tier, 20))
	return nil
}

func (s *Shell) storage(w io.Writer, _ []string) error {
	var st Storage
	if err := s.Backend.Call(CmdStorage, nil, &st); err != nil {
		return err
	}
	if !st.Storing {
		fmt.Fprintf(w, "STORING NOTHING: %s\r\n", printable(st.Why, 120))
	} else {
		fmt.Fprint(w, "storing: yes (segments, sizes and seqs: geogate store ls, with the device key)\r\n")
	}
	full := "no"
	if st.Full {
		full = "FULL: records are lost"
	}
	fmt.Fprintf(w, "quota: %d MiB; disk full: %s; %d records lost to a full disk since start\r\n", st.QuotaBytes>>20, full, st.Dropped)
	for _, e := range st.EMMC {
		fmt.Fprintf(w, "emmc: %s\r\n", printable(e, 120))
	}
	return nil
}

func (s *Shell) logTail(w io.Writer, _ []string) error {
	var t LogTail
	if err := s.Backend.Call(CmdLog, nil, &t); err != nil {
		return err
	}
	for _, l := range t.Lines {
		// Desensitized by the daemon's ring already; again here, so a daemon of another
		// version cannot put a coordinate on the console.
		fmt.Fprintf(w, "%s\r\n", printable(Desensitize(l), maxLogLine+4))
	}
	if len(t.Lines) == 0 {
		fmt.Fprint(w, "(no log lines)\r\n")
	}
	return nil
}

func (s *Shell) reload(w io.Writer, _ []string) error {
	var r Reload
	if err := s.Backend.Call(CmdReload, nil, &r); err != nil {
		return err
	}
	if r.Changed {
		fmt.Fprintf(w, "policy reloaded: v%d in force\r\n", r.Version)
	} else {
		fmt.Fprintf(w, "policy unchanged: v%d in force (a rejected bundle is in the log: type log)\r\n", r.Version)
	}
	return nil
}

// export starts an export ("export AGE1...") or shows the latest one's progress or result
// ("export", "export status"). The export runs in the daemon: the command answers at once.
func (s *Shell) export(w io.Writer, args []string) error {
	var e Export
	switch {
	case len(args) == 0 || len(args) == 1 && args[0] == "status":
		if err := s.Backend.Call(CmdExportStatus, nil, &e); err != nil {
			return err
		}
		exportState(w, e)
	case len(args) == 1 && strings.HasPrefix(args[0], "age1"):
		if err := s.Backend.Call(CmdExport, ExportArgs{To: args[0]}, &e); err != nil {
			return err
		}
		fmt.Fprintf(w, "export %d started: %s, the records stored so far, readable only with the recipient's identity\r\n"+
			"it runs in the daemon: type export for its progress\r\n", e.ID, printable(e.File, 120))
	default:
		return errors.New("usage: export AGE1... (the licensed recipient's age X25519 public key) starts an export; export shows its progress")
	}
	return nil
}

// exportState writes an export's progress or result.
func exportState(w io.Writer, e Export) {
	file := printable(e.File, 120)
	switch {
	case e.ID == 0:
		fmt.Fprint(w, "no export since the daemon started (export AGE1... starts one)\r\n")
	case e.State == ExportDone:
		fmt.Fprintf(w, "export %d done: %d records, %d bytes in %s\r\nsha256 %s\r\n", e.ID, e.Records, e.Bytes, file, printable(e.SHA256, 64))
	case e.State == ExportFailed:
		fmt.Fprintf(w, "export %d FAILED after %d records: %s\r\nnothing is left under %s\r\n", e.ID, e.Records, printable(e.Err, 200), file)
	case e.Total < 0:
		fmt.Fprintf(w, "export %d running: counting the records; %s when complete\r\n", e.ID, file)
	default:
		fmt.Fprintf(w, "export %d running: %d of %d records, %d bytes written; %s when complete\r\n", e.ID, e.Records, e.Total, e.Bytes, file)
	}
}
