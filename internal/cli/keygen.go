package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/geogate/geogate/board"
)

// keygenUsage is the usage line for the dispatch table and -h.
const keygenUsage = "keygen [-o FILE] [-force]: new 256-bit device key, to FILE (mode 0600) or stdout"

// keygenMain implements "geogate keygen [-o FILE] [-force]". With -o it writes a new random
// device key to FILE atomically with mode 0600 and refuses to replace an existing key
// unless -force is given (everything stored under the old key becomes unreadable).
// Without -o it prints the key file content to stdout, for example to seal it with
// "systemd-creds encrypt" instead of keeping it in a plain file.
func keygenMain(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("keygen", stderr, "usage: geogate "+keygenUsage)
	out := fl.String("o", "", "write the key to `FILE` (mode 0600) instead of stdout")
	force := fl.Bool("force", false, "replace an existing key file (data stored under the old key becomes unreadable)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return errUsage
	}
	if *out == "" {
		if *force {
			fl.Usage()
			return fmt.Errorf("-force needs -o FILE: %w", errUsage)
		}
		key := board.NewKey()
		_, err := stdout.Write(key)
		clear(key)
		return err
	}
	if *force {
		_, statErr := os.Stat(*out)
		if err := board.ReplaceKeyFile(*out); err != nil {
			return err
		}
		if statErr == nil {
			fmt.Fprintf(stderr, "geogate keygen: replaced %s; data stored under the old key can no longer be read\n", *out)
		}
	} else if err := board.GenerateKeyFile(*out); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; keeping it (use -force to replace it and lose access to data stored under it)", *out)
		}
		return err
	}
	fmt.Fprintf(stdout, "wrote a new device key to %s (mode 0600)\n", *out)
	return nil
}
