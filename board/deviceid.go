package board

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"
)

// appID is geogate's systemd application ID. The device ID is derived from the machine ID
// with it, as sd_id128_get_machine_app_specific(3) does, because the machine ID is
// confidential (machine-id(5)): it must not leave the device, and an ID derived per
// application cannot be correlated with other software's IDs.
// "systemd-id128 machine-id --app-specific=5a1c0e3b9f7d4e2a8c6b1d0f3e5a7c9b" prints the same.
var appID = [16]byte{0x5a, 0x1c, 0x0e, 0x3b, 0x9f, 0x7d, 0x4e, 0x2a, 0x8c, 0x6b, 0x1d, 0x0f, 0x3e, 0x5a, 0x7c, 0x9b}

// Where DeviceID looks, relative to the root file system.
const (
	machineIDFile   = "etc/machine-id"                // machine-id(5): 32 hex digits and a newline
	productUUIDFile = "sys/class/dmi/id/product_uuid" // SMBIOS system UUID (x86; mode 0400, root only)
)

// DeviceID returns the device's identity: configured when it is not empty (1 to 64
// printable ASCII characters, no spaces), else the geogate-specific ID derived from
// /etc/machine-id, else from the DMI product UUID, as 32 lower-case hex digits. fsys is the
// root file system (os.DirFS("/")). With none of them the error is ErrAbsent.
func DeviceID(fsys fs.FS, configured string) (string, error) {
	if configured != "" {
		if len(configured) > 64 {
			return "", fmt.Errorf("board: device id %q: longer than 64 characters", configured[:64])
		}
		for i := 0; i < len(configured); i++ {
			if c := configured[i]; c <= ' ' || c > '~' {
				return "", fmt.Errorf("board: device id %q: want printable ASCII without spaces", configured)
			}
		}
		return configured, nil
	}
	for _, name := range []string{machineIDFile, productUUIDFile} {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			continue
		}
		if id, ok := parseID128(string(b)); ok {
			return appSpecific(id), nil
		}
	}
	return "", fmt.Errorf("board: device id: %w: no usable /%s or /%s; set device_id in the config", ErrAbsent, machineIDFile, productUUIDFile)
}

// parseID128 parses 32 hex digits, optionally with UUID dashes and a trailing newline.
// "uninitialized" (first boot), all zeros and all ones are not IDs.
func parseID128(s string) ([16]byte, bool) {
	var id [16]byte
	s = strings.ReplaceAll(strings.TrimSpace(s), "-", "")
	if len(s) != 32 {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, false
	}
	if id == [16]byte{} || id == [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
		return id, false
	}
	return id, true
}

// appSpecific derives the application-specific ID: HMAC-SHA256 keyed with the machine ID
// over appID, the first 16 bytes, marked as a random (version 4, variant 1) UUID.
func appSpecific(machine [16]byte) string {
	m := hmac.New(sha256.New, machine[:])
	m.Write(appID[:])
	sum := m.Sum(nil)
	sum[6] = sum[6]&0x0f | 0x40
	sum[8] = sum[8]&0x3f | 0x80
	return hex.EncodeToString(sum[:16])
}
