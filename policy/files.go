package policy

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// MaxFileBytes is the largest bundle file Load, SignedBy and Sign read: 64 MiB. The DataV
// outline of all of China is 0.6 MB, and 64 MiB of GeoJSON holds about 1.5 million
// positions, more than the 1-million-vertex zone set the index is sized for; a larger file
// is a mistake or an attack on the vehicle's memory, refused before it is read.
const MaxFileBytes = 64 << 20

// readBundleFile reads the bundle file name from fsys under the one rule that Load (and so
// "policy check"), SignedBy and Sign share: name is a clean path inside the bundle, no
// component of it is a symbolic link, and it names a regular file of at most MaxFileBytes.
// Everything is checked before the file is opened, so a FIFO, device or socket is never
// read; the open file is checked again, and read no further than the cap, in case it was
// replaced in between. Errors wrap ErrBadFile (or, for a missing file, ErrMalformed and
// fs.ErrNotExist).
func readBundleFile(fsys fs.FS, name string) ([]byte, error) {
	if err := checkBundlePath(name); err != nil {
		return nil, err
	}
	for i := 0; ; {
		part, last := name, true
		if j := strings.IndexByte(name[i:], '/'); j >= 0 {
			part, last = name[:i+j], false
			i += j + 1
		}
		info, err := fs.Lstat(fsys, part)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if !last {
			if !info.IsDir() {
				return nil, fmt.Errorf("%w: %s is %s, not a directory of the bundle", ErrBadFile, part, describeMode(fsys, part, info.Mode()))
			}
			continue
		}
		if err := checkRegular(fsys, name, info); err != nil {
			return nil, err
		}
		break
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := checkRegular(fsys, name, info); err != nil {
		return nil, err
	}
	// Read into a buffer of the size Stat gave, plus one byte to notice growth: io.ReadAll
	// would start small and copy a large file over and over as it grows.
	data := make([]byte, 0, info.Size()+1)
	for len(data) <= MaxFileBytes {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):min(cap(data), MaxFileBytes+1)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: read %s: %w", ErrMalformed, name, err)
		}
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %s grew past %d MiB while being read", ErrBadFile, name, MaxFileBytes>>20)
	}
	return data, nil
}

// checkBundlePath refuses a path that is absent from every bundle: absolute, with ".."
// components, or not in the clean slash-separated form fs.ValidPath demands.
func checkBundlePath(name string) error {
	switch {
	case strings.HasPrefix(name, "/") || name == ".." || strings.HasPrefix(name, "../") ||
		strings.HasSuffix(name, "/..") || strings.Contains(name, "/../"):
		return fmt.Errorf("%w: %q leaves the bundle: name files by their path inside the bundle directory, without \"..\" or a leading \"/\"", ErrBadFile, name)
	case !fs.ValidPath(name) || name == "." || strings.Contains(name, `\`):
		return fmt.Errorf("%w: %q is not a clean path inside the bundle (write it like \"zones/beidaihe.geojson\": no \".\", empty or backslash components)", ErrBadFile, name)
	}
	return nil
}

// checkRegular refuses anything but a regular file of at most MaxFileBytes.
func checkRegular(fsys fs.FS, name string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is %s; bundle files must be regular files inside the bundle (copy the file in)", ErrBadFile, name, describeMode(fsys, name, info.Mode()))
	}
	if info.Size() > MaxFileBytes {
		return fmt.Errorf("%w: %s has %d bytes, more than the %d MiB a bundle file may hold", ErrBadFile, name, info.Size(), MaxFileBytes>>20)
	}
	return nil
}

// describeMode names a file type for an error message: "a symbolic link (to /etc/passwd)".
func describeMode(fsys fs.FS, name string, m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		if target, err := fs.ReadLink(fsys, name); err == nil {
			return fmt.Sprintf("a symbolic link (to %s)", target)
		}
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return fmt.Sprintf("not a regular file (mode %v)", m)
}
