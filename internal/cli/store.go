package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/record"
	"github.com/geogate/geogate/storage"
)

// storeUsage is the usage line for the dispatch table.
const storeUsage = "store ls|verify|cat|stats|export (-dir DIR -key KEYFILE | -config FILE): list, verify, print (JSON lines), count, or export (age) the encrypted log; store verify|cat -identity AGEKEY EXPORT: the processor's side"

// storeType names a record type for "store cat" and "store export" and optionally decodes
// its payload into a JSON value.
type storeType struct {
	// Name is printed as "type_name".
	Name string
	// Decode, if not nil, turns a payload into a value printed as "record" instead of the
	// base64 "payload". An error prints the payload as base64 with "decode_error".
	Decode func(payload []byte) (any, error)
}

// storeTypes holds the record types the store tools know: storage gives types no meaning,
// the gate picks the numbers and the payload layouts (docs/FORMAT.md, "Gate records").
var storeTypes = map[storage.Type]storeType{
	record.TypeFix: {Name: "fix", Decode: func(b []byte) (any, error) {
		r, err := record.DecodeFix(b)
		if err != nil {
			return nil, err
		}
		return fixJSON(&r), nil
	}},
	record.TypeFrame: {Name: "frame", Decode: func(b []byte) (any, error) {
		h, img, err := record.DecodeFrame(b)
		if err != nil {
			return nil, err
		}
		return frameJSON{
			Action: h.Action.String(), Datum: h.Datum.String(), Policy: h.Policy, Time: h.Time,
			Lat: h.Lat, Lon: h.Lon, PrecisionM: h.PrecisionM,
			Width: h.Width, Height: h.Height, Format: h.Format.String(), Bytes: len(img),
		}, nil
	}},
}

// fixRecordJSON is a stored fix as "store cat" prints it.
type fixRecordJSON struct {
	Action     string    `json:"action"`
	Datum      string    `json:"datum"`
	Policy     uint32    `json:"policy"`
	Time       time.Time `json:"time"`
	TimeSource string    `json:"time_source"`
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	PrecisionM float32   `json:"precision_m"`
	Speed      *float32  `json:"speed,omitempty"`
	Track      *float32  `json:"track,omitempty"`
	Alt        *float32  `json:"alt,omitempty"`
}

func fixJSON(r *record.Fix) fixRecordJSON {
	j := fixRecordJSON{Action: r.Action.String(), Datum: r.Datum.String(), Policy: r.Policy, Time: r.Time,
		TimeSource: "unit", Lat: r.Lat, Lon: r.Lon, PrecisionM: r.PrecisionM}
	if r.HasTime {
		j.TimeSource = "gnss"
	}
	if r.HasSpeed {
		j.Speed, j.Track = &r.Speed, &r.Track
	}
	if r.HasAlt {
		j.Alt = &r.Alt
	}
	return j
}

// frameJSON is a stored frame's header as "store cat" prints it; the image is not printed.
type frameJSON struct {
	Action     string    `json:"action"`
	Datum      string    `json:"datum"`
	Policy     uint32    `json:"policy"`
	Time       time.Time `json:"time"`
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	PrecisionM float32   `json:"precision_m"`
	Width      uint16    `json:"width"`
	Height     uint16    `json:"height"`
	Format     string    `json:"format"`
	Bytes      int       `json:"bytes"`
}

// storeMain implements "geogate store SUBCOMMAND -dir DIR -key KEYFILE".
func storeMain(args []string, stdout, stderr io.Writer) error {
	subs := map[string]func(r *storage.Reader, fl *flag.FlagSet, stdout, stderr io.Writer) error{
		"ls": storeLs, "verify": storeVerify, "cat": storeCat, "stats": storeStats, "export": nil,
	}
	ok := false
	if len(args) > 0 {
		_, ok = subs[args[0]]
	}
	if !ok {
		fmt.Fprintln(stderr, "usage: geogate "+storeUsage)
		fmt.Fprintln(stderr, "  ls      segments: size, records, seq and time range, state")
		fmt.Fprintln(stderr, "  verify  authenticate every record; exit 1 with segment and offset of any damage")
		fmt.Fprintln(stderr, "  cat     every record as a JSON line (seq, type, time; fixes and frame headers decoded, other payloads in base64)")
		fmt.Fprintln(stderr, "  stats   totals per record type")
		fmt.Fprintln(stderr, "  export  -to RECIPIENT -o FILE: records as JSON lines, encrypted to an age X25519 recipient")
		fmt.Fprintln(stderr, "  verify|cat -identity AGEKEY EXPORT: an export (store export, geogate upload) read with the processor's age identity")
		return groupUsage(args)
	}
	sub := args[0]
	fl := flag.NewFlagSet("store "+sub, flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("dir", "", "log `DIR`ectory")
	keyPath := fl.String("key", "", "device key `FILE` (64 hex digits, mode 0600; see geogate keygen)")
	cfgFile := fl.String("config", "", "take the device keys as the daemon does, from its configuration `FILE` (storage.key_provider: file, systemd-creds or tpm), and its data_dir unless -dir is given")
	var identity, pub, checkpoint *string
	if sub == "cat" || sub == "verify" {
		identity = fl.String("identity", "", "read an export `FILE` given as argument with this age identity file (the processor's side) instead of -dir and -key")
	}
	if sub == "verify" {
		pub = fl.String("pub", "", "with -identity: the unit's audit verifier key `FILE`, to check the export's checkpoint")
		checkpoint = fl.String("checkpoint", "", "with -pub: the export's checkpoint `FILE` (the <object>.checkpoint sidecar); default EXPORT.checkpoint")
	}
	fl.Usage = func() {
		fmt.Fprintf(stderr, "usage: geogate store %s (-dir DIR -key KEYFILE | -config FILE [-dir DIR])", sub)
		if sub == "export" {
			fmt.Fprint(stderr, " -to RECIPIENT -o FILE")
		}
		if identity != nil {
			fmt.Fprintf(stderr, "\n       geogate store %s -identity AGEKEY EXPORT", sub)
		}
		if pub != nil {
			fmt.Fprint(stderr, " [-pub UNIT.pub [-checkpoint FILE]]")
		}
		fmt.Fprintln(stderr)
		fl.PrintDefaults()
	}
	run := subs[sub]
	if run == nil {
		run = storeExportFlags(fl)
	}
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	if identity != nil && *identity != "" {
		if *dir != "" || *keyPath != "" || *cfgFile != "" || fl.NArg() != 1 {
			fmt.Fprintf(stderr, "geogate store %s: -identity reads one export file, without -dir, -key and -config\n", sub)
			fl.Usage()
			return errUsage
		}
		var cp, pk string
		if pub != nil {
			cp, pk = *checkpoint, *pub
		}
		return storeReadExport(sub, *identity, fl.Arg(0), pk, cp, stdout, stderr)
	}
	if *cfgFile != "" && *keyPath != "" {
		fmt.Fprintf(stderr, "geogate store %s: -key and -config exclude each other (-config takes the key from storage.key_provider)\n", sub)
		fl.Usage()
		return errUsage
	}
	var cfg *config.Config
	if *cfgFile != "" {
		var err error
		if cfg, err = config.Load(*cfgFile); err != nil {
			return err
		}
		if *dir == "" {
			*dir = cfg.DataDir
		}
	}
	var missing []string
	if *dir == "" {
		missing = append(missing, "-dir DIR (the log directory)")
	}
	if *keyPath == "" && cfg == nil {
		missing = append(missing, "-key KEYFILE (the device key of the unit that wrote the log) or -config FILE (the daemon's configuration)")
	}
	if len(missing) > 0 || fl.NArg() != 0 {
		if len(missing) > 0 {
			fmt.Fprintf(stderr, "geogate store %s: missing %s\n", sub, strings.Join(missing, " and "))
		} else {
			fmt.Fprintf(stderr, "geogate store %s: unexpected arguments %q\n", sub, fl.Args())
		}
		fl.Usage()
		return errUsage
	}
	if _, err := os.Stat(*dir); err != nil {
		return fmt.Errorf("log directory: %w", err)
	}
	var keys board.Keys
	var err error
	if cfg != nil {
		keys, err = storeKeys(cfg.Storage)
	} else {
		keys.Current, err = board.NewKeyFile(*keyPath).DeviceKey()
	}
	if err != nil {
		return err
	}
	r, err := storage.NewReader(*dir, keys.Current, keys.Old...)
	keys.Clear()
	if err != nil {
		return err
	}
	if segs, err := r.Segments(); err == nil && len(segs) == 0 {
		return fmt.Errorf("%s holds no log (no segment files): is -dir the daemon's data directory?", *dir)
	}
	return run(r, fl, stdout, stderr)
}

// storeKeys returns the device keys the daemon with storage config s uses: a key file, the
// systemd credential (run under the unit's LoadCredentialEncrypted=, e.g. with systemd-run),
// or every key of the TPM keyring, the rotated ones too, so segments written under an old key
// read. Unlike the daemon it never seals a new keyring: a missing one is an error.
func storeKeys(s config.Storage) (board.Keys, error) {
	var keys board.Keys
	var err error
	switch s.KeyProvider {
	case "tpm":
		return board.NewTPMKeyring(board.TPMConfig{Device: s.TPMDevice, Keyring: s.TPMKeyring,
			Authority: s.TPMPolicyAuthority, Policies: s.TPMPolicies}).DeviceKeys()
	case "systemd-creds":
		var kf *board.KeyFile
		if kf, err = board.NewCredential(os.Getenv); err == nil {
			keys.Current, err = kf.DeviceKey()
		}
	default:
		path := s.KeyFile
		if path == "" {
			path = board.DefaultKeyFile(os.Getenv)
		}
		keys.Current, err = board.NewKeyFile(path).DeviceKey()
	}
	return keys, err
}

// wrongKeyHint explains ErrWrongKey to the user.
func wrongKeyHint(err error) error {
	if errors.Is(err, storage.ErrWrongKey) {
		return fmt.Errorf("%w; nothing can be read with this key: is -key (or -config's key provider) the key of the unit that wrote this log?", err)
	}
	return err
}

func storeLs(r *storage.Reader, _ *flag.FlagSet, stdout, _ io.Writer) error {
	segs, err := r.Segments()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEGMENT\tBYTES\tRECORDS\tSEQ\tFIRST\tLAST\tCIPHER\tSTATE")
	for _, s := range segs {
		if s.Err != nil {
			fmt.Fprintf(tw, "%016x\t%d\t-\t-\t-\t-\t-\t%v\n", s.ID, s.Size, s.Err)
			continue
		}
		if e := s.Erased; e != nil {
			fmt.Fprintf(tw, "%016x\t%d\t%d\t%s\t%s\t%s\t%v\terased by retention %s\n", s.ID, s.Size, s.Records, seqRange(s.FirstSeq, s.LastSeq, s.Records), fmtTime(e.First), fmtTime(e.Last), s.Cipher, fmtTime(e.At))
			continue
		}
		first, last := timeRange(s.Types)
		state := "sealed"
		if !s.Sealed {
			state = "open (not sealed)"
		}
		fmt.Fprintf(tw, "%016x\t%d\t%d\t%s\t%s\t%s\t%v\t%s\n", s.ID, s.Size, s.Records, seqRange(s.FirstSeq, s.LastSeq, s.Records), fmtTime(first), fmtTime(last), s.Cipher, state)
	}
	return tw.Flush()
}

func timeRange(ts []storage.TypeInfo) (first, last time.Time) {
	for i, t := range ts {
		if i == 0 || t.First.Before(first) {
			first = t.First
		}
		if i == 0 || t.Last.After(last) {
			last = t.Last
		}
	}
	return first, last
}

func seqRange(first, last uint64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d-%d", first, last)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func storeVerify(r *storage.Reader, _ *flag.FlagSet, stdout, _ io.Writer) error {
	segs, err := r.Segments()
	if err != nil {
		return err
	}
	var records, placeholders, problems int
	for _, s := range segs {
		if s.Err != nil {
			fmt.Fprintf(stdout, "segment %016x (%s) offset 0: %v\n", s.ID, s.Path, wrongKeyHint(s.Err))
			problems++
			continue
		}
		if s.Chain != nil {
			fmt.Fprintf(stdout, "segment %016x (%s): %v\n", s.ID, s.Path, s.Chain)
			problems++
		}
		if e := s.Erased; e != nil {
			// Not a problem, but a gap the reader must see.
			fmt.Fprintf(stdout, "segment %016x (%s): erased by retention at %s: %d records, seq %s, %s to %s\n",
				s.ID, s.Path, fmtTime(e.At), s.Records, seqRange(s.FirstSeq, s.LastSeq, s.Records), fmtTime(e.First), fmtTime(e.Last))
			continue
		}
		rep, err := r.Scan(s.ID, func(*storage.Record) error { return nil })
		if err != nil {
			fmt.Fprintf(stdout, "segment %016x (%s): %v\n", s.ID, s.Path, err)
			problems++
			continue
		}
		records += rep.Records
		placeholders += rep.Placeholders
		for _, d := range rep.Damaged {
			fmt.Fprintf(stdout, "segment %016x (%s) offset %d: %d bytes damaged: %s\n", d.Segment, d.Path, d.Offset, d.Length, d.Reason)
			problems++
		}
		if rep.Tail != nil {
			d := rep.Tail
			fmt.Fprintf(stdout, "segment %016x (%s) offset %d: %d bytes torn tail (not sealed; geogate cuts it when it next opens the log)\n", d.Segment, d.Path, d.Offset, d.Length)
			problems++
		}
	}
	fmt.Fprintf(stdout, "%d segments, %d records authenticated, %d problems (and %d placeholders for dropped fixes and frames)\n", len(segs), records, problems, placeholders)
	if problems > 0 {
		return fmt.Errorf("%d problems found", problems)
	}
	return nil
}

// jsonRecord is one line of "store cat" and of the export payload.
type jsonRecord struct {
	Seq         uint64    `json:"seq"`
	Type        uint16    `json:"type"`
	TypeName    string    `json:"type_name,omitempty"`
	Time        time.Time `json:"time"`
	Payload     []byte    `json:"payload,omitempty"`
	Record      any       `json:"record,omitempty"`
	DecodeError string    `json:"decode_error,omitempty"`
}

// writeRecords writes every readable record as JSON lines. With whole set (export) every
// line carries the record's complete payload, decoded or not: a frame's decoded view holds
// only its header, and the recipient must get the image too. Without it (cat) a decoded
// record is printed instead of its payload. Segments that cannot be read (wrong key,
// corrupt header) and damaged records are reported on stderr and make it return an error
// after the rest is written; with the wrong key nothing is written.
func writeRecords(r *storage.Reader, w io.Writer, stderr io.Writer, whole bool) (int, error) {
	segs, err := r.Segments()
	if err != nil {
		return 0, err
	}
	for _, s := range segs {
		if errors.Is(s.Err, storage.ErrWrongKey) {
			return 0, wrongKeyHint(s.Err)
		}
	}
	// A log whose segments were deleted, reordered, duplicated or cut is refused whole:
	// what it would print is not what the unit stored.
	var broken []error
	for _, s := range segs {
		if errors.Is(s.Err, storage.ErrChain) {
			broken = append(broken, s.Err)
		}
		if s.Chain != nil {
			broken = append(broken, s.Chain)
		}
	}
	if len(broken) > 0 {
		for _, e := range broken {
			fmt.Fprintln(stderr, "geogate store:", e)
		}
		return 0, fmt.Errorf("the log's segment chain is broken (%d problems): refusing to print it; run geogate store verify: %w", len(broken), storage.ErrChain)
	}
	enc := json.NewEncoder(w)
	var n int
	var errs []error
	for _, s := range segs {
		if s.Err != nil {
			errs = append(errs, s.Err)
			continue
		}
		rep, err := r.Scan(s.ID, func(rec *storage.Record) error {
			j := jsonRecord{Seq: rec.Seq, Type: uint16(rec.Type), Time: rec.Time.UTC()}
			st, ok := storeTypes[rec.Type]
			j.TypeName = st.Name
			if ok && st.Decode != nil {
				v, err := st.Decode(rec.Payload)
				if err != nil {
					j.DecodeError = err.Error()
				} else {
					j.Record = v
				}
			}
			if whole || j.Record == nil {
				j.Payload = rec.Payload
			}
			n++
			return enc.Encode(&j)
		})
		if err != nil {
			return n, err
		}
		if e := rep.Err(); e != nil {
			errs = append(errs, e)
		}
	}
	for _, e := range errs {
		fmt.Fprintln(stderr, "geogate store:", e)
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("%d segments with problems; run geogate store verify", len(errs))
	}
	return n, nil
}

func storeCat(r *storage.Reader, _ *flag.FlagSet, stdout, stderr io.Writer) error {
	_, err := writeRecords(r, stdout, stderr, false)
	return err
}

func storeStats(r *storage.Reader, _ *flag.FlagSet, stdout, _ io.Writer) error {
	segs, err := r.Segments()
	if err != nil {
		return err
	}
	type tot struct {
		n           int
		first, last time.Time
	}
	per := map[storage.Type]*tot{}
	var bytes int64
	var records, unreadable, open int
	for _, s := range segs {
		bytes += s.Size
		if s.Err != nil {
			unreadable++
			continue
		}
		if !s.Sealed {
			open++
		}
		records += s.Records
		for _, t := range s.Types {
			p := per[t.Type]
			if p == nil {
				p = &tot{first: t.First, last: t.Last}
				per[t.Type] = p
			}
			p.n += t.Records
			if t.First.Before(p.first) {
				p.first = t.First
			}
			if t.Last.After(p.last) {
				p.last = t.Last
			}
		}
	}
	fmt.Fprintf(stdout, "segments   %d (%d not sealed, %d unreadable)\n", len(segs), open, unreadable)
	fmt.Fprintf(stdout, "bytes      %d\n", bytes)
	fmt.Fprintf(stdout, "records    %d\n", records)
	types := make([]storage.Type, 0, len(per))
	for t := range per {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	for _, t := range types {
		p := per[t]
		name := storeTypes[t].Name
		if name == "" {
			name = fmt.Sprintf("type %d", t)
		}
		fmt.Fprintf(stdout, "  %-10s %d records, %s .. %s\n", name, p.n, fmtTime(p.first), fmtTime(p.last))
	}
	if unreadable > 0 {
		return fmt.Errorf("%d segments unreadable; run geogate store verify", unreadable)
	}
	return nil
}

// storeExportFlags adds export's flags and returns the command.
func storeExportFlags(fl *flag.FlagSet) func(*storage.Reader, *flag.FlagSet, io.Writer, io.Writer) error {
	to := fl.String("to", "", "age X25519 `RECIPIENT` (age1...) of the licensed processor")
	out := fl.String("o", "", "output `FILE` (created, mode 0600; must not exist)")
	return func(r *storage.Reader, fl *flag.FlagSet, stdout, stderr io.Writer) error {
		if *to == "" || *out == "" {
			fl.Usage()
			return errUsage
		}
		rcpt, err := age.ParseX25519Recipient(strings.TrimSpace(*to))
		if err != nil {
			return fmt.Errorf("-to: %w", err)
		}
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		aw, err := age.Encrypt(f, rcpt)
		if err != nil {
			f.Close()
			os.Remove(*out)
			return err
		}
		n, werr := writeRecords(r, aw, stderr, true)
		if werr != nil && n == 0 {
			f.Close()
			os.Remove(*out)
			return werr
		}
		if err := aw.Close(); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "exported %d records to %s, readable only with the recipient's identity (age -d -i KEY %s)\n", n, *out, *out)
		return werr
	}
}

// storeReadExport implements "store cat|verify -identity AGEKEY EXPORT": it decrypts an
// export (age authenticates every byte and detects a cut file) and prints its records as
// "store cat" prints a log's, or checks them: one JSON record per line, sequence numbers
// rising (payloads are not interpreted, as "store verify" of a log does not). With pub, verify also checks the export's audit
// checkpoint against the unit's verifier key.
func storeReadExport(sub, identityFile, name, pub, cpFile string, stdout, stderr io.Writer) error {
	idf, err := os.Open(identityFile)
	if err != nil {
		return fmt.Errorf("-identity: %w", err)
	}
	ids, err := age.ParseIdentities(idf)
	idf.Close()
	if err != nil {
		return fmt.Errorf("-identity %s: %w", identityFile, err)
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	ar, err := age.Decrypt(f, ids...)
	if err != nil {
		return fmt.Errorf("%s: %w (is -identity the processor's key the export was sealed to?)", name, err)
	}
	sc := bufio.NewScanner(ar)
	sc.Buffer(nil, 64<<20) // a frame record: a 1080p JPEG in base64 with room to spare
	enc := json.NewEncoder(stdout)
	var n, problems int
	var last uint64
	for sc.Scan() {
		var j jsonRecord
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			return fmt.Errorf("%s: record %d: %w", name, n+1, err)
		}
		if n > 0 && j.Seq <= last {
			fmt.Fprintf(stdout, "record %d: seq %d after %d\n", n+1, j.Seq, last)
			problems++
		}
		last = j.Seq
		n++
		if st, ok := storeTypes[storage.Type(j.Type)]; ok && st.Decode != nil {
			v, err := st.Decode(j.Payload)
			if err != nil {
				j.DecodeError = err.Error()
			} else {
				j.Record, j.Payload = v, nil
			}
		}
		if sub == "cat" {
			if err := enc.Encode(&j); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: after %d records: %w", name, n, err)
	}
	if sub == "cat" {
		return nil
	}
	fmt.Fprintf(stdout, "%s: %d records authenticated, %d problems\n", name, n, problems)
	if pub != "" {
		if cpFile == "" {
			cpFile = name + ".checkpoint"
		}
		v, err := audit.ReadVerifier(pub)
		if err != nil {
			return err
		}
		cp, err := audit.ReadCheckpoint(cpFile, v)
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", cpFile, err)
		}
		fmt.Fprintf(stdout, "checkpoint %s: signed by %s, %d audit entries; check it extends the last one you accepted (geogate audit check)\n", cpFile, cp.Origin, cp.Size)
	}
	if problems > 0 {
		return fmt.Errorf("%d problems found", problems)
	}
	return nil
}
