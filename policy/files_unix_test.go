//go:build unix

package policy

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// TestBundleFileRule: Load (what "policy check" runs), SignedBy and Sign refuse, before
// reading it, every bundle file that is not a regular file reached without a symbolic link
// and within MaxFileBytes, with one message per kind.
func TestBundleFileRule(t *testing.T) {
	outside := t.TempDir()
	validOutside := filepath.Join(outside, "zones.geojson")
	if err := os.WriteFile(validOutside, []byte(goodZones), 0o644); err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{'k'}, ed25519.SeedSize))
	tests := []struct {
		name string
		toml string                                // policy.toml; goodTOML if empty
		make func(t *testing.T, dir, zones string) // makes dir/zones.geojson (or what toml names)
		want string
	}{
		{"symlink to /etc/passwd", "", func(t *testing.T, dir, zones string) {
			must(t, os.Symlink("/etc/passwd", zones))
		}, "zones.geojson: refused bundle file: zones.geojson is a symbolic link (to /etc/passwd); bundle files must be regular files inside the bundle"},
		{"symlink to a valid file outside", "", func(t *testing.T, dir, zones string) {
			must(t, os.Symlink(validOutside, zones))
		}, "zones.geojson is a symbolic link (to " + validOutside + ")"},
		{"symlink inside the bundle", "", func(t *testing.T, dir, zones string) {
			must(t, os.WriteFile(filepath.Join(dir, "real.geojson"), []byte(goodZones), 0o644))
			must(t, os.Symlink("real.geojson", zones))
		}, "zones.geojson is a symbolic link (to real.geojson)"},
		{"symlinked directory", strings.Replace(goodTOML, `"zones.geojson"`, `"sub/zones.geojson"`, 1), func(t *testing.T, dir, zones string) {
			must(t, os.Symlink(outside, filepath.Join(dir, "sub")))
		}, "sub/zones.geojson: refused bundle file: sub is a symbolic link (to " + outside + "), not a directory of the bundle"},
		{"FIFO", "", func(t *testing.T, dir, zones string) {
			must(t, syscall.Mkfifo(zones, 0o644))
		}, "zones.geojson: refused bundle file: zones.geojson is a named pipe (FIFO); bundle files must be regular files"},
		{"socket", "", func(t *testing.T, dir, zones string) {
			l, err := net.Listen("unix", zones)
			must(t, err)
			t.Cleanup(func() { l.Close() })
		}, "zones.geojson is a socket; bundle files must be regular files"},
		{"directory", "", func(t *testing.T, dir, zones string) {
			must(t, os.Mkdir(zones, 0o755))
		}, "zones.geojson is a directory"},
		{"larger than MaxFileBytes", "", func(t *testing.T, dir, zones string) {
			must(t, os.WriteFile(zones, []byte(goodZones), 0o644))
			must(t, os.Truncate(zones, MaxFileBytes+1)) // sparse: nothing is written
		}, "zones.geojson: refused bundle file: zones.geojson has 67108865 bytes, more than the 64 MiB a bundle file may hold"},
		{"policy.toml a symlink", "-", func(t *testing.T, dir, zones string) {
			must(t, os.WriteFile(zones, []byte(goodZones), 0o644))
			must(t, os.WriteFile(filepath.Join(outside, "policy.toml"), []byte(goodTOML), 0o644))
			must(t, os.Symlink(filepath.Join(outside, "policy.toml"), filepath.Join(dir, "policy.toml")))
		}, "policy.toml: refused bundle file: policy.toml is a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			toml := tt.toml
			if toml == "" {
				toml = goodTOML
			}
			if toml != "-" {
				must(t, os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(toml), 0o644))
			}
			tt.make(t, dir, filepath.Join(dir, "zones.geojson"))
			fsys := os.DirFS(dir)
			_, err := Load(fsys, nil)
			if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: %v\nwant ErrBadFile and %q", err, tt.want)
			}
			// Sign walks the bundle: a directory is walked into, anything else is refused.
			if _, _, err := Sign(fsys, key); !errors.Is(err, ErrBadFile) && !strings.HasSuffix(tt.want, "is a directory") {
				t.Errorf("Sign: %v, want ErrBadFile", err)
			}
		})
	}

	// A signed bundle whose zone file is then replaced by a FIFO: verification refuses it
	// rather than hang reading the pipe.
	t.Run("signed, then a FIFO", func(t *testing.T) {
		dir := t.TempDir()
		must(t, os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(goodTOML), 0o644))
		zones := filepath.Join(dir, "zones.geojson")
		must(t, os.WriteFile(zones, []byte(goodZones), 0o644))
		man, sig, err := Sign(os.DirFS(dir), key)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, ManifestHashes), man, 0o644))
		must(t, os.WriteFile(filepath.Join(dir, ManifestSignature), sig, 0o644))
		opts := &LoadOptions{Verify: SignedBy(key.Public().(ed25519.PublicKey))}
		if _, err := Load(os.DirFS(dir), opts); err != nil {
			t.Fatal(err)
		}
		must(t, os.Remove(zones))
		must(t, syscall.Mkfifo(zones, 0o644))
		_, err = Load(os.DirFS(dir), opts)
		if !errors.Is(err, ErrUnverified) || !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "zones.geojson is a named pipe") {
			t.Errorf("got %v", err)
		}
	})

	// A device (a fake one: unit tests never open /dev) whose content would load.
	t.Run("device", func(t *testing.T) {
		b := bundle(goodTOML, goodZones)
		b["zones.geojson"].Mode = fs.ModeDevice | fs.ModeCharDevice | 0o666
		_, err := Load(b, nil)
		if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "zones.geojson: refused bundle file: zones.geojson is a device") {
			t.Errorf("Load: %v", err)
		}
		if _, _, err := Sign(b, key); !errors.Is(err, ErrBadFile) {
			t.Errorf("Sign: %v", err)
		}
	})

	// The bundle directory itself may be a symbolic link (OPERATIONS.md switches versions
	// by relinking it), and regular files in subdirectories are fine.
	t.Run("linked bundle directory", func(t *testing.T) {
		dir := t.TempDir()
		real := filepath.Join(dir, "v1")
		must(t, os.MkdirAll(filepath.Join(real, "zones"), 0o755))
		must(t, os.WriteFile(filepath.Join(real, "policy.toml"), []byte(strings.Replace(goodTOML, `"zones.geojson"`, `"zones/a.geojson"`, 1)), 0o644))
		must(t, os.WriteFile(filepath.Join(real, "zones", "a.geojson"), []byte(goodZones), 0o644))
		must(t, os.Symlink(real, filepath.Join(dir, "current")))
		if _, err := Load(os.DirFS(filepath.Join(dir, "current")), nil); err != nil {
			t.Error(err)
		}
		if _, _, err := Sign(os.DirFS(filepath.Join(dir, "current")), key); err != nil {
			t.Error(err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ fs.ReadLinkFS = fstest.MapFS(nil) // the "device" case relies on MapFS reporting modes to fs.Lstat
