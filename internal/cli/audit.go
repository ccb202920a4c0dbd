package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/upload"
)

// auditUsage is the usage line for the dispatch table.
const auditUsage = "audit verify|cat|prove|check|chain: check the unit's audit log and its signed checkpoints (docs/AUDIT.md)"

func auditMain(args []string, stdout, stderr io.Writer) error {
	subs := map[string]func(fl *flag.FlagSet, stdout io.Writer) (func() error, string){
		"verify": auditVerify, "cat": auditCat, "prove": auditProve, "check": auditCheck, "chain": auditChain,
	}
	var mk func(fl *flag.FlagSet, stdout io.Writer) (func() error, string)
	if len(args) > 0 {
		mk = subs[args[0]]
	}
	if mk == nil {
		fmt.Fprintln(stderr, "usage: geogate "+auditUsage)
		fmt.Fprintln(stderr, "  verify  -dir DIR [-pub KEY] [-since CHECKPOINT]...: the whole log against its checkpoint (and earlier ones)")
		fmt.Fprintln(stderr, "  cat     -dir DIR: every entry, one JSON line each")
		fmt.Fprintln(stderr, "  prove   -dir DIR [-pub KEY] -entry N | -old CHECKPOINT: an inclusion or consistency proof to stdout")
		fmt.Fprintln(stderr, "  check   -pub KEY -checkpoint CHECKPOINT -proof FILE [-old CHECKPOINT]: check a proof without the log")
		fmt.Fprintln(stderr, "  chain   -pub KEY [-since CHECKPOINT] DIR: the .checkpoint and .consistency files uploaded with exports form one append-only log")
		return groupUsage(args)
	}
	fl := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	fl.SetOutput(stderr)
	run, usage := mk(fl, stdout)
	fl.Usage = func() {
		fmt.Fprintf(stderr, "usage: geogate audit %s %s\n", args[0], usage)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	if fl.NArg() > 0 && args[0] != "chain" { // chain takes a directory
		fl.Usage()
		return errUsage
	}
	err := run()
	if errors.Is(err, errUsage) {
		fl.Usage()
	}
	return err
}

// auditVerifier reads -pub, or returns nil (Verify then uses the log directory's key.pub).
func auditVerifier(pub string) (note.Verifier, error) {
	if pub == "" {
		return nil, nil
	}
	return audit.ReadVerifier(pub)
}

func auditVerify(fl *flag.FlagSet, stdout io.Writer) (func() error, string) {
	dir := fl.String("dir", "", "audit log `DIR`ectory (the unit's <data_dir>/audit, or a copy)")
	pub := fl.String("pub", "", "the unit's verifier key `FILE`; without it the directory's own key.pub, which proves integrity only")
	var since []string
	fl.Func("since", "a `CHECKPOINT` file seen before (e.g. sent with an earlier export); repeatable", func(s string) error {
		since = append(since, s)
		return nil
	})
	return func() error {
		if *dir == "" {
			return errUsage
		}
		v, err := auditVerifier(*pub)
		if err != nil {
			return err
		}
		var trusted []audit.Checkpoint
		for _, s := range since {
			if v == nil {
				if v, err = audit.ReadVerifier(filepath.Join(*dir, "key.pub")); err != nil {
					return err
				}
			}
			cp, err := audit.ReadCheckpoint(s, v)
			if err != nil {
				return err
			}
			trusted = append(trusted, cp)
		}
		if *pub == "" {
			v = nil
		}
		rep, err := audit.Verify(*dir, v, trusted...)
		if err != nil {
			return err
		}
		cp := rep.Checkpoint
		fmt.Fprintf(stdout, "ok: %s: %d entries, all covered by the checkpoint of %s (root %s)", *dir, rep.Entries, cp.Origin, cp.Root)
		if len(trusted) > 0 {
			fmt.Fprintf(stdout, ", extending %d earlier checkpoints", len(trusted))
		}
		fmt.Fprintln(stdout)
		if rep.KeyFromDir {
			fmt.Fprintln(stdout, "note: signature checked with the directory's own key.pub: this proves the log is intact, not that the unit wrote it; pass -pub")
		}
		return nil
	}, "-dir DIR [-pub KEY] [-since CHECKPOINT]..."
}

func auditCat(fl *flag.FlagSet, stdout io.Writer) (func() error, string) {
	dir := fl.String("dir", "", "audit log `DIR`ectory")
	return func() error {
		if *dir == "" {
			return errUsage
		}
		entries, err := audit.ReadEntries(*dir)
		for _, e := range entries {
			fmt.Fprintf(stdout, "%s\n", e)
		}
		return err
	}, "-dir DIR"
}

func auditProve(fl *flag.FlagSet, stdout io.Writer) (func() error, string) {
	dir := fl.String("dir", "", "audit log `DIR`ectory")
	pub := fl.String("pub", "", "the unit's verifier key `FILE` (default: the directory's key.pub)")
	entry := fl.Int64("entry", -1, "prove that entry `N` (0-based) is in the log's checkpoint")
	old := fl.String("old", "", "prove that the log's checkpoint extends this earlier `CHECKPOINT` file")
	return func() error {
		if *dir == "" || (*entry < 0) == (*old == "") {
			return errUsage
		}
		v, err := auditVerifier(*pub)
		if err != nil {
			return err
		}
		rep, err := audit.Verify(*dir, v)
		if err != nil {
			return err
		}
		cp := rep.Checkpoint
		var text []byte
		if *entry >= 0 {
			entries, err := audit.ReadEntries(*dir)
			if err != nil {
				return err
			}
			if *entry >= cp.Size {
				return fmt.Errorf("entry %d: the checkpoint covers %d entries", *entry, cp.Size)
			}
			p, err := rep.Tree.ProveInclusion(*entry, cp.Size, entries[*entry])
			if err != nil {
				return err
			}
			text, _ = p.MarshalText()
		} else {
			if v == nil {
				if v, err = audit.ReadVerifier(filepath.Join(*dir, "key.pub")); err != nil {
					return err
				}
			}
			oc, err := audit.ReadCheckpoint(*old, v)
			if err != nil {
				return err
			}
			if oc.Size > cp.Size {
				return fmt.Errorf("%w: %s covers %d entries, the log's checkpoint %d", audit.ErrRollback, *old, oc.Size, cp.Size)
			}
			p, err := rep.Tree.ProveConsistency(oc.Size, cp.Size)
			if err != nil {
				return err
			}
			text, _ = p.MarshalText()
		}
		_, err = stdout.Write(text)
		return err
	}, "-dir DIR [-pub KEY] -entry N | -old CHECKPOINT"
}

func auditCheck(fl *flag.FlagSet, stdout io.Writer) (func() error, string) {
	pub := fl.String("pub", "", "the unit's verifier key `FILE` (required)")
	cpFile := fl.String("checkpoint", "", "the (newer) `CHECKPOINT` file the proof is for (required)")
	proofFile := fl.String("proof", "", "the proof `FILE` from audit prove (required)")
	old := fl.String("old", "", "the earlier `CHECKPOINT` file, for a consistency proof")
	return func() error {
		if *pub == "" || *cpFile == "" || *proofFile == "" {
			return errUsage
		}
		v, err := audit.ReadVerifier(*pub)
		if err != nil {
			return err
		}
		cp, err := audit.ReadCheckpoint(*cpFile, v)
		if err != nil {
			return err
		}
		text, err := os.ReadFile(*proofFile)
		if err != nil {
			return err
		}
		if *old != "" {
			oc, err := audit.ReadCheckpoint(*old, v)
			if err != nil {
				return err
			}
			var p audit.ConsistencyProof
			if err := p.UnmarshalText(text); err != nil {
				return fmt.Errorf("%s: %w", *proofFile, err)
			}
			if err := oc.Consistent(cp, &p); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "ok: the log of %d entries extends the log of %d (%s)\n", cp.Size, oc.Size, cp.Origin)
			return nil
		}
		var p audit.InclusionProof
		if err := p.UnmarshalText(text); err != nil {
			return fmt.Errorf("%s: %w", *proofFile, err)
		}
		if err := cp.Includes(&p); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ok: entry %d of %d is in the log (%s):\n%s\n", p.Index, cp.Size, cp.Origin, p.Entry)
		return nil
	}, "-pub KEY -checkpoint CHECKPOINT -proof FILE [-old CHECKPOINT]"
}

// auditChain checks, on the processor's side, the <object>.checkpoint and
// <object>.consistency files the uploader sent with a unit's exports (downloaded into a
// directory): every checkpoint signed by the unit's key, and each tied to the one before by
// its consistency proof (audit.CheckChain).
func auditChain(fl *flag.FlagSet, stdout io.Writer) (func() error, string) {
	pub := fl.String("pub", "", "the unit's verifier key `FILE` (required)")
	since := fl.String("since", "", "the unit's latest `CHECKPOINT` accepted before these (default: the chain starts at the empty log)")
	return func() error {
		if *pub == "" || fl.NArg() != 1 {
			return errUsage
		}
		dir := fl.Arg(0)
		v, err := audit.ReadVerifier(*pub)
		if err != nil {
			return err
		}
		var start *audit.Checkpoint
		if *since != "" {
			cp, err := audit.ReadCheckpoint(*since, v)
			if err != nil {
				return err
			}
			start = &cp
		}
		cps, err := filepath.Glob(filepath.Join(dir, "*"+upload.CheckpointSuffix))
		if err != nil {
			return err
		}
		if len(cps) == 0 {
			return fmt.Errorf("audit: no *%s file in %s", upload.CheckpointSuffix, dir)
		}
		var links []audit.Link
		for _, name := range cps {
			cp, err := audit.ReadCheckpoint(name, v)
			if err != nil {
				return err
			}
			base := strings.TrimSuffix(name, upload.CheckpointSuffix)
			l := audit.Link{Name: filepath.Base(base), Checkpoint: cp}
			text, err := os.ReadFile(base + upload.ConsistencySuffix)
			switch {
			case errors.Is(err, fs.ErrNotExist): // CheckChain reports the missing proof
			case err != nil:
				return err
			default:
				l.Proof = new(audit.ConsistencyProof)
				if err := l.Proof.UnmarshalText(text); err != nil {
					return fmt.Errorf("%s: %w", base+upload.ConsistencySuffix, err)
				}
			}
			links = append(links, l)
		}
		if err := audit.CheckChain(start, links); err != nil {
			return err
		}
		last := links[0].Checkpoint
		for _, l := range links {
			if l.Checkpoint.Size > last.Size {
				last = l.Checkpoint
			}
		}
		fmt.Fprintf(stdout, "ok: %d checkpoints of %s form one append-only log of %d entries (root %s)\n", len(links), last.Origin, last.Size, last.Root)
		return nil
	}, "-pub KEY [-since CHECKPOINT] DIR"
}
