package cli

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/internal/atomicfile"
)

// keyUsage is the usage line for the dispatch table and -h.
const keyUsage = "key rotate -config FILE | key authority -o PREFIX | key sign-policy -authority PRIV.pem -pcrs 7,... (-tpm DEV | -values HEX,...) -o FILE: TPM device keys"

// keyMain implements "geogate key": rotate the TPM-sealed device key (the daemon uses the
// new key from its next start and retires the old one once retention erased its data),
// make a PCR policy authority key pair, and sign a PCR policy with it.
func keyMain(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: geogate "+keyUsage)
		return errUsage
	}
	fl := newFlags("key "+args[0], stderr, "usage: geogate "+keyUsage)
	switch args[0] {
	case "rotate":
		cfgFile := fl.String("config", "/etc/geogate/geogate.toml", "the daemon's config `FILE` (storage.key_provider must be \"tpm\")")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		cfg, err := config.Load(*cfgFile)
		if err != nil {
			return err
		}
		s := cfg.Storage
		if s.KeyProvider != "tpm" {
			return fmt.Errorf("key rotate: storage.key_provider is %q: only \"tpm\" keyrings rotate here (for systemd-creds, see docs/OPERATIONS.md)", s.KeyProvider)
		}
		ring := board.NewTPMKeyring(board.TPMConfig{Device: s.TPMDevice, Keyring: s.TPMKeyring, Authority: s.TPMPolicyAuthority, Policies: s.TPMPolicies})
		if err := ring.Rotate(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sealed a new device key into %s; geogate uses it from its next start and keeps the old one until nothing stored under it remains\n", s.TPMKeyring)
		return nil
	case "authority":
		out := fl.String("o", "", "write `PREFIX`.pem (private: keep it off the unit) and PREFIX.pub.pem (public: storage.tpm_policy_authority)")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" {
			fl.Usage()
			return errUsage
		}
		priv, pub, err := board.NewPolicyAuthority()
		if err != nil {
			return err
		}
		defer clear(priv)
		if err := atomicfile.Write(*out+".pem", priv, 0o600, false); err != nil {
			return fmt.Errorf("key authority: %w", err)
		}
		if err := atomicfile.Write(*out+".pub.pem", pub, 0o644, false); err != nil {
			return fmt.Errorf("key authority: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %[1]s.pem (private, mode 0600) and %[1]s.pub.pem (public)\n", *out)
		return nil
	case "sign-policy":
		authority := fl.String("authority", "", "the authority's private key `PRIV.pem`")
		pcrList := fl.String("pcrs", "7", "comma-separated SHA-256 PCR `indexes`")
		dev := fl.String("tpm", "", "read the expected values from this TPM `DEVICE` (the unit's current boot)")
		values := fl.String("values", "", "the expected values, comma-separated `HEX` digests in -pcrs order (an image's precomputed PCRs)")
		out := fl.String("o", "", "write the signed policy to `FILE` (storage.tpm_policies)")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		if *authority == "" || *out == "" || (*dev == "") == (*values == "") {
			fl.Usage()
			return fmt.Errorf("key sign-policy: want -authority, -o and one of -tpm or -values: %w", errUsage)
		}
		var pcrs []uint
		for _, f := range strings.Split(*pcrList, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 8)
			if err != nil {
				return fmt.Errorf("key sign-policy: -pcrs %q: %w", *pcrList, err)
			}
			pcrs = append(pcrs, uint(n))
		}
		var vals [][]byte
		if *dev != "" {
			var err error
			if vals, err = board.ReadPCRs(*dev, pcrs); err != nil {
				return err
			}
		} else {
			for _, h := range strings.Split(*values, ",") {
				v, err := hex.DecodeString(strings.TrimSpace(h))
				if err != nil || len(v) != 32 {
					return fmt.Errorf("key sign-policy: -values: %q is not a 64-digit hex SHA-256 digest", h)
				}
				vals = append(vals, v)
			}
		}
		priv, err := os.ReadFile(*authority)
		if err != nil {
			return fmt.Errorf("key sign-policy: %w", err)
		}
		defer clear(priv)
		p, err := board.SignPolicy(priv, pcrs, vals)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(*out, p.Marshal(), 0o644, true); err != nil {
			return fmt.Errorf("key sign-policy: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s: PCRs %v\n", *out, pcrs)
		return nil
	}
	fmt.Fprintln(stderr, "usage: geogate "+keyUsage)
	return errUsage
}
