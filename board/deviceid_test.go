package board_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/geogate/geogate/board"
)

func TestDeviceIDMatchesSystemd(t *testing.T) {
	mid, err := os.ReadFile("testdata/deviceid/machine-id")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/deviceid/app-specific.golden")
	if err != nil {
		t.Fatal(err)
	}
	got, err := board.DeviceID(fstest.MapFS{"etc/machine-id": {Data: mid}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(golden)); got != want {
		t.Errorf("DeviceID = %s, systemd-id128 says %s", got, want)
	}
	if strings.Contains(got, strings.TrimSpace(string(mid))) {
		t.Error("device id reveals the machine id")
	}
}

func TestDeviceID(t *testing.T) {
	const uuid = "4c4c4544-0042-3610-8051-b4c04f565931\n"
	for _, tt := range []struct {
		name       string
		fs         fstest.MapFS
		configured string
		want       string // "" with err
		err        error
		anyErr     bool
	}{
		{name: "configured wins", fs: fstest.MapFS{"etc/machine-id": {Data: []byte("3d1219c7c4c5404aaa1f6d2a48adfda4\n")}}, configured: "VIN-LSVAU2180N2183294", want: "VIN-LSVAU2180N2183294"},
		{name: "configured with space", configured: "car 1", anyErr: true},
		{name: "configured too long", configured: strings.Repeat("x", 65), anyErr: true},
		{name: "uninitialized machine-id falls back to DMI", fs: fstest.MapFS{
			"etc/machine-id":                {Data: []byte("uninitialized\n")},
			"sys/class/dmi/id/product_uuid": {Data: []byte(uuid)},
		}},
		{name: "all-zero DMI UUID", fs: fstest.MapFS{"sys/class/dmi/id/product_uuid": {Data: []byte("00000000-0000-0000-0000-000000000000\n")}}, err: board.ErrAbsent},
		{name: "empty machine-id", fs: fstest.MapFS{"etc/machine-id": {Data: nil}}, err: board.ErrAbsent},
		{name: "nothing", fs: fstest.MapFS{}, err: board.ErrAbsent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := board.DeviceID(tt.fs, tt.configured)
			switch {
			case tt.anyErr:
				if err == nil {
					t.Fatalf("DeviceID = %q, want an error", got)
				}
				return
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("DeviceID = %q, want %q", got, tt.want)
			}
			if len(got) != 32 && tt.configured == "" {
				t.Errorf("DeviceID = %q, want 32 hex digits", got)
			}
		})
	}
}
