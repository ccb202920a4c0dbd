package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExampleFileLoads(t *testing.T) {
	c, err := Load("../examples/geogate.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Camera.Source != "v4l2" || c.Storage.SyncWindow.Duration != 100*time.Millisecond || c.Board.PowerFail != "gpiochip0:17" {
		t.Errorf("example not decoded: %+v", c)
	}
	// The example lists every default: it must equal Default() apart from the keys that
	// name this unit's devices.
	d := Default()
	d.Camera.Source, d.Policy.Dir, d.Storage.KeyFile = c.Camera.Source, c.Policy.Dir, c.Storage.KeyFile
	d.Board.Watchdog, d.Board.PowerFail = c.Board.Watchdog, c.Board.PowerFail
	if !reflect.DeepEqual(d, c) {
		t.Errorf("example and defaults disagree:\nexample %+v\ndefault %+v", c, d)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("empty.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.GNSS.Baud != 9600 || c.Camera.Source != "off" || c.Storage.QuotaMB != 1024 || c.StatusInterval.Duration != time.Minute {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	for _, tt := range []struct {
		name, doc, want string
	}{
		{"syntax", "data_dir = \n", "bad.toml: line 1"},
		{"unknown key", "[gnss]\nbuad = 9600\n", "bad.toml: gnss.buad: unknown key"},
		{"bad source", "[gnss]\nsource = \"usb\"\n", "gnss.source: must be one of"},
		{"replay needs file", "[gnss]\nsource = \"replay\"\n", "gnss.file: required"},
		{"negative baud", "[gnss]\nbaud = -1\n", "gnss.baud: must be positive"},
		{"bad duration", "[storage]\nsync_window = \"soon\"\n", "bad.toml"},
		{"wrong type", "[camera]\nfps = \"thirty\"\n", "bad.toml"},
		{"fps", "[camera]\nfps = 1000\n", "camera.fps"},
		{"segment over quota", "[storage]\nquota_mb = 10\nsegment_mb = 20\n", "storage.segment_mb"},
		{"quota under two segments", "[storage]\nquota_mb = 30\nsegment_mb = 16\n", "storage.segment_mb"},
		{"cipher", "[storage]\ncipher = \"rot13\"\n", "storage.cipher"},
		{"power input", "[board]\npower_fail = \"gpio17\"\n", "board.power_fail: want gpiochipN:LINE"},
		{"power file not absolute", "[board]\npower_fail = \"file:power\"\n", "board.power_fail"},
		{"power signal", "[board]\npower_signal = \"kl30\"\n", "board.power_signal"},
		{"empty trusted key", "[policy]\ntrusted_keys = [\"/etc/geogate/a.pub\", \"\"]\n", "policy.trusted_keys[1]: must name a public key file"},
		{"trusted key not a list", "[policy]\ntrusted_keys = \"/etc/geogate/a.pub\"\n", "bad.toml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.toml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want errors.Is ErrInvalid", err)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load("does-not-exist.toml"); err == nil || !strings.Contains(err.Error(), "does-not-exist.toml") {
		t.Fatalf("err = %v", err)
	}
}

func TestTrustedKeys(t *testing.T) {
	c, err := Parse("keys.toml", []byte("[policy]\ndir = \"/etc/geogate/policy\"\ntrusted_keys = [\"/etc/geogate/a.pub\", \"/etc/geogate/b.pub\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/etc/geogate/a.pub", "/etc/geogate/b.pub"}; !reflect.DeepEqual(c.Policy.TrustedKeys, want) {
		t.Errorf("trusted_keys = %q, want %q", c.Policy.TrustedKeys, want)
	}
	if d := Default(); d.Policy.TrustedKeys != nil {
		t.Errorf("default trusted_keys = %q, want none (unsigned bundles accepted)", d.Policy.TrustedKeys)
	}
}

// FuzzParse: no document panics the parser, and every accepted one is valid.
func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("../examples/geogate.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("[gnss]\nsource = \"sim\"\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := Parse("fuzz.toml", doc)
		if err != nil {
			return
		}
		if err := c.validate("again"); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
	})
}
