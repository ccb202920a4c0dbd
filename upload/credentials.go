package upload

import (
	"fmt"
	"os"
	"strings"
)

// ReadCredentials reads an object store credentials file: the access key id on the first
// line, the secret key on the second. Like the device key it must be mode 0600 or stricter.
// The error never quotes the file's contents.
func ReadCredentials(name string) (access, secret string, err error) {
	f, err := os.Open(name)
	if err != nil {
		return "", "", fmt.Errorf("upload: credentials: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", "", fmt.Errorf("upload: credentials: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", "", fmt.Errorf("%w: credentials file %s is mode %v: chmod 600 it", ErrConfig, name, st.Mode().Perm())
	}
	b := make([]byte, 4096)
	n, _ := f.Read(b)
	lines := strings.Split(strings.TrimSpace(string(b[:n])), "\n")
	if len(lines) != 2 || strings.TrimSpace(lines[0]) == "" || strings.TrimSpace(lines[1]) == "" {
		return "", "", fmt.Errorf("%w: credentials file %s: want two lines, the access key id and the secret key", ErrConfig, name)
	}
	return strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1]), nil
}
