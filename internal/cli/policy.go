package cli

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/internal/atomicfile"
	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/policy"
)

// policyStdin is where "geogate policy eval ... -" reads; tests replace it.
var policyStdin io.Reader = os.Stdin

// policyUsage is the usage line for the dispatch table.
const policyUsage = "policy check [-trusted FILE.pub,...] DIR | policy eval -policy DIR [-tier NAME] [FILE|-] | policy sign -key FILE.key[,...] DIR | policy signkey -o PREFIX | policy install [-config FILE | -socket PATH] DIR: validate, decide fixes, sign and install bundles"

// policyUsageText is what "geogate policy" without a known subcommand prints.
const policyUsageText = `usage: geogate policy check [-trusted FILE.pub,...] DIR
       geogate policy eval -policy DIR [-tier NAME] [FILE.nmea|-]
       geogate policy sign -key FILE.key[,FILE.key...] DIR
       geogate policy signkey -o PREFIX
       geogate policy install [-config FILE | -socket PATH] DIR`

// policyMain implements "geogate policy": check (validate a bundle, with -trusted also its
// signature, and print a summary), eval (decide every fix of an NMEA stream), sign (write a
// bundle's signed manifest) and signkey (make a signing key pair).
func policyMain(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, policyUsageText)
		return errUsage
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], stdout, stderr)
	case "eval":
		return policyEval(args[1:], stdout, stderr)
	case "sign":
		return policySign(args[1:], stdout, stderr)
	case "signkey":
		return policySignKey(args[1:], stdout, stderr)
	case "install":
		return policyInstall(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, policyUsageText)
	return groupUsage(args)
}

// fileList is a flag.Value collecting file names from repeated flags and comma lists.
type fileList []string

func (l *fileList) String() string { return strings.Join(*l, ",") }

func (l *fileList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			return errors.New("empty file name")
		}
		*l = append(*l, f)
	}
	return nil
}

func policyCheck(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("policy check", stderr,
		"usage: geogate policy check [-trusted FILE.pub,...] DIR",
		"Validates the policy bundle in DIR and prints a summary, or the file, feature and fault.",
		"With -trusted the bundle must also carry a manifest signed by one of the keys, as a",
		"daemon with policy.trusted_keys demands.",
	)
	var trusted fileList
	fl.Var(&trusted, "trusted", "public key `FILE` (PREFIX.pub of \"geogate policy signkey\") the bundle must be signed with; repeat the flag or separate files by commas")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return errUsage
	}
	dir := fl.Arg(0)
	fsys := os.DirFS(dir)
	var opts *policy.LoadOptions
	var keys []ed25519.PublicKey
	if len(trusted) > 0 {
		var err error
		if keys, err = policy.ReadTrustedKeys(trusted); err != nil {
			return fmt.Errorf("check %s: %w", dir, err)
		}
		opts = &policy.LoadOptions{Verify: policy.SignedBy(keys...)}
	}
	start := time.Now()
	p, err := policy.Load(fsys, opts)
	if err != nil {
		if len(trusted) > 0 {
			return fmt.Errorf("check %s (trusted keys %s): %w", dir, strings.Join(trusted, ", "), explainUnverified(dir, err))
		}
		return fmt.Errorf("check %s: %w", dir, err)
	}
	elapsed := time.Since(start)
	signed := "no (a daemon with policy.trusted_keys rejects this bundle)"
	switch {
	case len(trusted) > 0:
		signed = "yes, verified"
		for i, k := range keys {
			if _, err := policy.SignedBy(k)(fsys); err == nil {
				signed += " with " + trusted[i]
				break
			}
		}
	case fileExists(filepath.Join(dir, policy.ManifestHashes)):
		signed = "not checked (no -trusted key)"
	}
	w := bufio.NewWriter(stdout)
	printSummary(w, p.Summary(), elapsed)
	fmt.Fprintf(w, "signed:   %s\n", signed)
	return w.Flush()
}

// explainUnverified adds what to do to the two load errors of a signed check whose policy
// messages alone mislead: a bundle without a manifest, and a file the policy reads that
// exists in dir but is not listed in the signed manifest (Load then sees no such file).
func explainUnverified(dir string, err error) error {
	var be *policy.BundleError
	switch {
	case !errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, policy.ErrUnverified):
		for _, name := range []string{policy.ManifestHashes, policy.ManifestSignature} {
			if !fileExists(filepath.Join(dir, name)) {
				return fmt.Errorf("bundle is not signed (no %s; \"geogate policy sign -key FILE.key %s\" writes it): %w", name, dir, err)
			}
		}
	case errors.As(err, &be) && be.File != "" && fileExists(filepath.Join(dir, be.File)):
		return fmt.Errorf("%w: %s is not signed: the policy reads it but %s does not list it (sign the bundle again): %w",
			policy.ErrUnverified, be.File, policy.ManifestHashes, err)
	}
	return err
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// printSummary writes the summary of a loaded policy that "policy check" prints.
func printSummary(w io.Writer, s policy.Summary, elapsed time.Duration) {
	fmt.Fprintf(w, "policy %q version %d: OK (compiled in %v)\n", s.ID, s.Version, elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "zones:    %d (deny %d, coarsen %d, allow %d), %d vertices\n",
		s.Zones, s.ZonesByRule["deny"], s.ZonesByRule["coarsen"], s.ZonesByRule["allow"], s.Vertices)
	fmt.Fprintf(w, "gcj02:    %d region features, %d vertices\n", s.Regions, s.RegionVertices)
	for _, t := range s.Tiers {
		prec, px, datum := "full precision", "frames unlimited", "WGS-84"
		if t.PrecisionM > 0 {
			prec = "grid " + strconv.FormatFloat(t.PrecisionM, 'g', -1, 64) + " m"
		}
		if t.MaxImagePixels > 0 {
			px = "frames <= " + strconv.Itoa(t.MaxImagePixels) + " px"
		}
		if t.GCJ02 {
			datum = "GCJ-02 inside the region"
		}
		fmt.Fprintf(w, "tier:     %s: %s, %s, %s\n", t.Name, prec, px, datum)
	}
	def := "drop"
	if s.DefaultKeep {
		def = "keep"
	}
	fmt.Fprintf(w, "rules:    default %s, max_age %v, hysteresis %g m, %d time windows\n", def, s.MaxAge, s.HysteresisM, s.Windows)
	fmt.Fprintf(w, "index:    %.1f MiB\n", float64(s.IndexBytes)/(1<<20))
}

func policySign(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("policy sign", stderr,
		"usage: geogate policy sign -key FILE.key[,FILE.key...] DIR",
		"Checks that the bundle in DIR loads, writes DIR/manifest.sha256 (the SHA-256 of every",
		"file in DIR) and DIR/manifest.sig (one ed25519 signature a key), then verifies the result",
		"with the keys' public halves. Sign after the last change to any file of the bundle.",
	)
	var keyFiles fileList
	fl.Var(&keyFiles, "key", "private key `FILE` (PREFIX.key of \"geogate policy signkey\"); required; repeat it (or separate files by commas) to sign with several keys, for a k-of-n trust set")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if len(keyFiles) == 0 || fl.NArg() != 1 {
		fl.Usage()
		return errUsage
	}
	dir := fl.Arg(0)
	var keys []ed25519.PrivateKey
	var pubs []ed25519.PublicKey
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	for _, f := range keyFiles {
		key, perm, err := policy.ReadSigningKey(f)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		if perm&0o077 != 0 {
			fmt.Fprintf(stderr, "geogate policy sign: warning: private key %s is accessible to others (mode %04o); chmod 600 %s\n", f, perm, f)
		}
		keys, pubs = append(keys, key), append(pubs, key.Public().(ed25519.PublicKey))
	}
	fsys := os.DirFS(dir)
	// A signature vouches for the bundle: never sign one that does not load. Load and Sign
	// refuse symbolic links and other irregular files by the same rule.
	if _, err := policy.Load(fsys, nil); err != nil {
		return fmt.Errorf("sign %s: not signing a bundle that does not load: %w", dir, err)
	}
	var man, sigs []byte
	for _, key := range keys {
		m, sig, err := policy.Sign(fsys, key)
		if err != nil {
			return fmt.Errorf("sign %s: %w", dir, err)
		}
		man, sigs = m, append(sigs, sig...)
	}
	// The manifest first: a crash between the two leaves a signature that does not match,
	// which a daemon rejects; run sign again.
	for _, f := range []struct {
		name string
		data []byte
	}{{policy.ManifestHashes, man}, {policy.ManifestSignature, sigs}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data, 0o644, true); err != nil {
			return fmt.Errorf("sign %s: %w", dir, err)
		}
	}
	start := time.Now()
	p, err := policy.Load(fsys, &policy.LoadOptions{Verify: policy.SignedByThreshold(len(pubs), pubs...)})
	if err != nil {
		return fmt.Errorf("sign %s: the signed bundle does not verify: %w", dir, explainUnverified(dir, err))
	}
	s := p.Summary()
	for _, pub := range pubs {
		fmt.Fprintf(stdout, "signed %d files in %s with key %s\n", bytes.Count(man, []byte("\n")), dir, base64.StdEncoding.EncodeToString(pub))
	}
	fmt.Fprintf(stdout, "policy %q version %d: OK, signature verified (compiled in %v)\n", s.ID, s.Version, time.Since(start).Round(time.Millisecond))
	return nil
}

func policySignKey(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("policy signkey", stderr,
		"usage: geogate policy signkey -o PREFIX",
		"Makes a new ed25519 key pair for signing policy bundles. PREFIX.key signs (keep it off",
		"the vehicles); PREFIX.pub goes onto the vehicles, named in policy.trusted_keys.",
		"Existing files are never replaced.",
	)
	prefix := fl.String("o", "", "write `PREFIX`.key (private, mode 0600) and PREFIX.pub (public, mode 0644); required")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *prefix == "" || fl.NArg() != 0 {
		fl.Usage()
		return errUsage
	}
	keyFile, pubFile := *prefix+".key", *prefix+".pub"
	pub, err := policy.WriteKeyPair(*prefix)
	if err != nil {
		return fmt.Errorf("signkey: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (private, mode 0600: keep it off the vehicles) and %s (public key %s)\n", keyFile, pubFile, base64.StdEncoding.EncodeToString(pub))
	return nil
}

func policyEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy eval", stderr,
		"usage: geogate policy eval -policy DIR [-tier NAME] [FILE.nmea|-]",
		"Decodes NMEA 0183 and prints one JSON object per fix: time, action, zone, reason,",
		"and for kept or coarsened fixes the output lat, lon and datum. Each fix is judged",
		"fresh at its own UTC time (the local clock when it has none).",
	)
	dir := fs.String("policy", "", "policy bundle directory (required)")
	tier := fs.String("tier", "public", "tier to decide at")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	e, _, err := evalEngine(*dir, *tier)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	in, name := policyStdin, "-"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		name = fs.Arg(0)
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		defer f.Close()
		in = f
	}
	w := bufio.NewWriter(stdout)
	var line []byte
	err = decideNMEA(in, e, func(f *gnss.Fix, d policy.Decision) error {
		line = appendDecision(line[:0], f, d)
		_, err := w.Write(line)
		return err
	})
	if err != nil {
		return fmt.Errorf("eval %s: %w", name, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("eval: write: %w", err)
	}
	return nil
}

// evalEngine loads the bundle in dir and returns an Engine deciding at tier, and the bundle's
// Spec (the zones' geometry, which "geogate map" draws).
func evalEngine(dir, tier string) (*policy.Engine, *policy.Spec, error) {
	spec, err := policy.ReadSpec(os.DirFS(dir), nil)
	if err != nil {
		return nil, nil, err
	}
	p, err := policy.Compile(spec)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := findTier(p, tier); !ok {
		return nil, nil, fmt.Errorf("policy %q has no tier %q", p.ID(), tier)
	}
	var h policy.Holder
	if err := h.Swap(p); err != nil {
		return nil, nil, err
	}
	return h.NewEngine(tier), spec, nil
}

// decideNMEA decodes the NMEA 0183 stream in and calls fn with every fix and what e decides
// for it, as "policy eval" prints them. Each fix is judged fresh at its own UTC time (the
// local clock when it has none), so a recorded drive decides as it did live.
func decideNMEA(in io.Reader, e *policy.Engine, fn func(f *gnss.Fix, d policy.Decision) error) error {
	d := gnss.NewDecoder(gnss.Config{})
	return d.Scan(in, clock.Now, func(f *gnss.Fix) error {
		fix := *f
		now := fix.Received
		if fix.Has&gnss.HasTime != 0 {
			now = fix.Time
		}
		fix.Received = now
		return fn(&fix, e.Decide(&fix, now))
	})
}

func findTier(p *policy.Policy, name string) (policy.Tier, bool) {
	for _, t := range p.Summary().Tiers {
		if t.Name == name {
			return t, true
		}
	}
	return policy.Tier{}, false
}

// appendDecision appends one decision as a JSON line. The raw position never appears: a
// dropped fix has no lat/lon at all, a kept or coarsened one shows only the output.
func appendDecision(b []byte, f *gnss.Fix, d policy.Decision) []byte {
	b = append(b, '{')
	if f.Has&gnss.HasTime != 0 {
		b = append(b, `"time":"`...)
		b = f.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
		b = append(b, `",`...)
	}
	b = append(b, `"action":"`...)
	b = append(b, d.Action.String()...)
	b = append(b, `","zone":`...)
	zone, _ := json.Marshal(d.Zone) // a string always marshals
	b = append(b, zone...)
	b = append(b, `,"reason":"`...)
	b = append(b, d.Reason.String()...)
	b = append(b, '"')
	if d.Action != policy.Drop {
		b = append(b, `,"lat":`...)
		b = strconv.AppendFloat(b, d.Lat, 'f', 7, 64)
		b = append(b, `,"lon":`...)
		b = strconv.AppendFloat(b, d.Lon, 'f', 7, 64)
		b = append(b, `,"datum":"`...)
		b = append(b, d.Datum.String()...)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}
