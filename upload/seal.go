package upload

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
)

// ageMagic is the first line of every age file (age-encryption.org/v1).
const ageMagic = "age-encryption.org/v1\n"

// maxHeader bounds the age header read by CheckSealed: a stanza of an X25519 recipient is
// about 100 bytes, so 64 KiB holds hundreds of them.
const maxHeader = 64 << 10

// CheckSealed reports whether r starts with an age header whose recipient stanzas are all
// X25519 and number exactly n: an export geogate sealed to n recipients. A plaintext file, a
// passphrase (scrypt) file, a plugin or other stanza, or a different count fails with
// ErrNotSealed. It reads the header only; age authenticates the rest when it is decrypted.
//
// Which recipients an X25519 stanza is for cannot be seen without their identities: the
// spool's manifest names them (written when geogate sealed the file), and Push refuses a
// manifest naming one that is not configured.
func CheckSealed(r io.Reader, n int) error {
	br := bufio.NewReaderSize(io.LimitReader(r, maxHeader), 4096)
	line, err := br.ReadString('\n')
	if err != nil || line != ageMagic {
		return fmt.Errorf("%w: no age header", ErrNotSealed)
	}
	stanzas := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("%w: header cut or longer than %d bytes", ErrNotSealed, maxHeader)
		}
		switch {
		case len(line) > 4 && line[:4] == "--- ":
			if stanzas != n {
				return fmt.Errorf("%w: %d recipient stanzas, want %d", ErrNotSealed, stanzas, n)
			}
			return nil
		case len(line) > 3 && line[:3] == "-> ":
			args := bytes.Fields([]byte(line[3:]))
			if len(args) != 2 || string(args[0]) != "X25519" {
				return fmt.Errorf("%w: a %q stanza (only X25519 recipients are allowed)", ErrNotSealed, firstField(args))
			}
			stanzas++
		}
		// Other lines are stanza bodies (base64).
	}
}

func firstField(f [][]byte) string {
	if len(f) == 0 {
		return ""
	}
	return string(f[0])
}

// checkFile opens name and checks it as CheckSealed does, then that every recipient the
// manifest names is configured.
func (u *Uploader) checkFile(name string, m *exportMeta) error {
	for _, r := range m.Recipients {
		if !slices.Contains(u.cfg.Recipients, r) {
			return fmt.Errorf("%w: %s is sealed to %s", ErrRecipient, name, r)
		}
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := CheckSealed(f, len(m.Recipients)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
