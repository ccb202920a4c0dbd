package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestExampleIsDefaults checks what examples/geogate.toml claims: the keys it sets hold their
// defaults (installing it changes nothing), and every key of Config appears in it, set or
// commented out with a typical value.
func TestExampleIsDefaults(t *testing.T) {
	const path = "../examples/geogate.toml"
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := Default(); !reflect.DeepEqual(d, c) {
		t.Errorf("%s and the defaults disagree:\nexample %+v\ndefault %+v", path, c, d)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range tomlKeys(reflect.TypeFor[Config](), "") {
		section, name, ok := strings.Cut(key, ".")
		if !ok {
			section, name = "", key
		}
		if !exampleHasKey(string(text), section, name) {
			t.Errorf("%s does not list %s", path, key)
		}
	}
}

// tomlKeys lists the dotted TOML keys of a config struct type.
func tomlKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for f := range typ.Fields() {
		tag := f.Tag.Get("toml")
		if tag == "" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
			keys = append(keys, tomlKeys(f.Type, prefix+tag+".")...)
			continue
		}
		keys = append(keys, prefix+tag)
	}
	return keys
}

// exampleHasKey reports whether text has "name =" (or "# name =") in [section], or before
// any section when section is empty.
func exampleHasKey(text, section, name string) bool {
	current := ""
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			current = strings.Trim(line, "[]")
			continue
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		if k, _, ok := strings.Cut(line, "="); ok && current == section && strings.TrimSpace(k) == name {
			return true
		}
	}
	return false
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
		{"key provider", "[storage]\nkey_provider = \"usb-stick\"\n", "storage.key_provider: must be one of"},
		{"production with a key file", "[storage]\nproduction = true\n", "storage.production: a plain key file is refused in production"},
		{"production with key_provider file", "[storage]\nproduction = true\nkey_provider = \"file\"\nkey_file = \"/etc/geogate/key\"\n", "storage.production"},
		{"production with swtpm", "[storage]\nproduction = true\nkey_provider = \"tpm\"\ntpm_device = \"tcp:127.0.0.1:2321\"\n", "storage.tpm_device: a software TPM"},
		{"key file with tpm", "[storage]\nkey_provider = \"tpm\"\nkey_file = \"/etc/geogate/key\"\n", "storage.key_file: applies to key_provider \"file\" only"},
		{"authority without policies", "[storage]\nkey_provider = \"tpm\"\ntpm_policy_authority = \"/etc/geogate/a.pem\"\n", "storage.tpm_policies"},
		{"policies without authority", "[storage]\nkey_provider = \"tpm\"\ntpm_policies = [\"/etc/geogate/p\"]\n", "storage.tpm_policies"},
		{"upload network", "[upload]\nnetwork = \"cheap\"\n", "upload.network: must be one of"},
		{"upload part", "[upload]\npart_mb = 1\n", "upload.part_mb"},
		{"upload enabled alone", "[upload]\nenabled = true\n", "upload.enabled: needs"},
		{"upload recipient", "[upload]\nrecipients = [\"hunter2\"]\n", "upload.recipients[0]"},
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

// TestProductionProviders: the providers production accepts, and the keyring's default.
func TestProductionProviders(t *testing.T) {
	for _, doc := range []string{
		"[storage]\nproduction = true\nkey_provider = \"tpm\"\n",
		"[storage]\nproduction = true\nkey_provider = \"systemd-creds\"\n",
		"data_dir = \"/data/gg\"\n[storage]\nproduction = true\nkey_provider = \"tpm\"\ntpm_policy_authority = \"/etc/geogate/a.pem\"\ntpm_policies = [\"/etc/geogate/v1.policy\"]\n",
	} {
		c, err := Parse("ok.toml", []byte(doc))
		if err != nil {
			t.Errorf("%q: %v", doc, err)
			continue
		}
		if want := filepath.Join(c.DataDir, "keyring.tpm"); c.Storage.TPMKeyring != want {
			t.Errorf("tpm_keyring %q, want %q", c.Storage.TPMKeyring, want)
		}
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
