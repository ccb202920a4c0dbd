package board_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/geogate/geogate/board"
)

func mmcFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range files {
		m["sys/bus/mmc/devices/"+name] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}

func TestReadEMMC(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fs    fstest.MapFS
		want  []string
		worn  bool
		error error
	}{
		{
			name: "new eMMC",
			fs:   mmcFS(map[string]string{"mmc0:0001/life_time": "0x01 0x01\n", "mmc0:0001/pre_eol_info": "0x01\n", "mmc0:0001/name": "DG4008\n"}),
			want: []string{"mmc0:0001 wear A 0-10% used, B 0-10% used, pre-EOL normal"},
		},
		{
			name: "worn eMMC next to an SD card",
			fs: mmcFS(map[string]string{
				"mmc0:0001/life_time": "0x03 0x0a\n", "mmc0:0001/pre_eol_info": "0x02\n",
				"mmc1:aaaa/name": "SC32G\n", // SD card: no life_time
			}),
			want: []string{"mmc0:0001 wear A 20-30% used, B 90-100% used, pre-EOL warning (80% of spare blocks used)"},
			worn: true,
		},
		{
			name: "exceeded, urgent",
			fs:   mmcFS(map[string]string{"mmc2:0001/life_time": "0x0b 0x0b\n", "mmc2:0001/pre_eol_info": "0x03\n"}),
			want: []string{"mmc2:0001 wear A exceeded, B exceeded, pre-EOL urgent (90% of spare blocks used)"},
			worn: true,
		},
		{
			name: "eMMC 4.x reports no estimate",
			fs:   mmcFS(map[string]string{"mmc0:0001/life_time": "0x00 0x00\n"}),
			want: []string{"mmc0:0001 wear A undefined, B undefined, pre-EOL undefined"},
		},
		{name: "SD card only", fs: mmcFS(map[string]string{"mmc1:aaaa/name": "SC32G\n"}), error: board.ErrAbsent},
		{name: "no mmc bus", fs: fstest.MapFS{}, error: board.ErrAbsent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := board.ReadEMMC(tt.fs)
			if !errors.Is(err, tt.error) || (err == nil) != (tt.error == nil) {
				t.Fatalf("err = %v, want %v", err, tt.error)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "not available") {
					t.Errorf("error %q does not say \"not available\"", err)
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d devices %v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i].String() != tt.want[i] {
					t.Errorf("status\n got %q\nwant %q", got[i], tt.want[i])
				}
				if got[i].Worn() != tt.worn {
					t.Errorf("Worn = %v, want %v", got[i].Worn(), tt.worn)
				}
			}
		})
	}
}

func TestReadEMMCMalformed(t *testing.T) {
	for _, lt := range []string{"", "0x01\n", "0x01 0xzz\n", "0x01 0x100\n", "1 2 3\n"} {
		_, err := board.ReadEMMC(mmcFS(map[string]string{"mmc0:0001/life_time": lt}))
		if err == nil || errors.Is(err, board.ErrAbsent) {
			t.Errorf("life_time %q: err = %v, want a parse error", lt, err)
		}
	}
}

func FuzzParseLifeTime(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/emmc/*.life_time")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, bb, err := board.ParseLifeTime(b)
		if err != nil {
			return
		}
		// What parses re-parses from the kernel's format to the same values.
		a2, b2, err := board.ParseLifeTime([]byte(strings.Join([]string{hexByte(uint8(a)), hexByte(uint8(bb))}, " ") + "\n"))
		if err != nil || a2 != a || b2 != bb {
			t.Fatalf("%q: %v %v, re-parsed %v %v %v", b, a, bb, a2, b2, err)
		}
		_ = a.String() + bb.String()
	})
}

func hexByte(v uint8) string {
	const digits = "0123456789abcdef"
	return "0x" + string([]byte{digits[v>>4], digits[v&0xf]})
}
