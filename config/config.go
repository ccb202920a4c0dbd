// Package config reads geogate's daemon configuration: one TOML file, read once at start-up into
// a typed struct. Every field documents what its zero value means; Load fails with the file, the
// key and the reason when a value is wrong, so a unit never starts on a half-understood config.
//
// # Example
//
//	cfg, err := config.Load("/etc/geogate/geogate.toml")
//	if err != nil {
//		log.Fatal(err) // config: /etc/geogate/geogate.toml: gnss.baud: must be positive, got -1
//	}
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole daemon configuration.
type Config struct {
	// DataDir holds the encrypted segment log. Zero: /var/lib/geogate (systemd's StateDirectory).
	DataDir string `toml:"data_dir"`
	// StatusInterval is how often the periodic counters line is logged. Zero: 1m.
	StatusInterval Duration `toml:"status_interval"`
	// MemoryLimitMB is the Go runtime's soft memory limit (GOMEMLIMIT, which overrides it):
	// the garbage collector works harder near it instead of letting the heap double. Zero: 32.
	MemoryLimitMB int64 `toml:"memory_limit_mb"`
	// DeviceID names the unit (1 to 64 printable ASCII characters without spaces, e.g. the
	// VIN); it is logged at start. Zero: derived from /etc/machine-id (or the DMI product
	// UUID) as board.DeviceID does, so the raw machine ID never leaves the unit.
	DeviceID string `toml:"device_id"`

	GNSS    GNSS    `toml:"gnss"`
	Camera  Camera  `toml:"camera"`
	Policy  Policy  `toml:"policy"`
	Storage Storage `toml:"storage"`
	Board   Board   `toml:"board"`
	Log     Log     `toml:"log"`
	Control Control `toml:"control"`
	Console Console `toml:"console"`
	Upload  Upload  `toml:"upload"`
	Update  Update  `toml:"update"`
}

// GNSS configures the position source.
type GNSS struct {
	// Source is "serial" (a UART or USB receiver), "replay" (a capture file) or "sim" (a
	// pseudo-terminal simulator playing File, or the built-in drive past Beidaihe when File is
	// empty, through the real serial code path). Zero: "serial".
	Source string `toml:"source"`
	// Device is the serial device. Zero: /dev/ttyS1.
	Device string `toml:"device"`
	// Baud is the serial line speed. Zero: 9600, the NMEA 0183 default.
	Baud int `toml:"baud"`
	// File is the capture replayed by "replay" and "sim". Zero: required for "replay"; for "sim",
	// the built-in drive.
	File string `toml:"file"`
	// Speedup plays "replay" and "sim" faster than real time by this factor. Zero: 1 (real time).
	Speedup float64 `toml:"speedup"`
	// AllowNoChecksum accepts sentences without a checksum (some old receivers). Zero: rejected.
	AllowNoChecksum bool `toml:"allow_no_checksum"`
}

// Camera configures the frame source.
type Camera struct {
	// Source is "v4l2", "synthetic" or "off". Zero: "off" (positions only).
	Source string `toml:"source"`
	// Device is the V4L2 device. Zero: /dev/video0.
	Device string `toml:"device"`
	// Width and Height request a resolution. Zero: 1920x1080.
	Width  int `toml:"width"`
	Height int `toml:"height"`
	// FPS requests a frame rate. Zero: 30.
	FPS int `toml:"fps"`
	// Format is "mjpeg", "yuyv" or "nv12". Zero: "mjpeg", passed through without re-encoding.
	Format string `toml:"format"`
	// Buffers is how many frames may wait for the fix after their capture time (plus those
	// the camera queues): fps / receiver rate + 3 is enough, 6 at 30 fps with a 10 Hz
	// receiver, 33 with a 1 Hz one. Each costs one frame of memory. Zero: 12.
	Buffers int `toml:"buffers"`
	// Detector is the Unix socket of the face and plate detector (docs/ANONYMIZE.md) that
	// masks frames for a policy tier with anonymize = true. Zero: none, so every frame of
	// such a tier is dropped (fail closed); tiers without anonymize never use it.
	Detector string `toml:"detector"`
	// DetectorDeadline bounds one detection round trip; a frame without an answer in time
	// is dropped. Zero: 500ms.
	DetectorDeadline Duration `toml:"detector_deadline"`
}

// Policy configures where rules come from.
type Policy struct {
	// Dir is the policy bundle directory; it must be owned by root or the service user and
	// not writable by others. Zero: the built-in sample bundle (examples/policy), meant for
	// development only.
	Dir string `toml:"dir"`
	// Tier is the policy tier stored data belongs to: its precision grid, datum and image
	// size limit. A tier the policy lacks drops everything (fail closed). Zero: "public",
	// the strictest tier of the sample bundle.
	Tier string `toml:"tier"`
	// TrustedKeys are files each holding the base64 of an ed25519 public key (as "geogate
	// policy signkey" writes PREFIX.pub). When set, a bundle must carry a manifest signed by
	// one of them (see docs/POLICY.md) or it is rejected; the keys are read at every (re)load,
	// and an unreadable or malformed key file, or one owned by another user than root or the
	// service user or writable by group or others, rejects the bundle (fail closed). Zero:
	// unsigned bundles are accepted (development only; licensed deployments must set it), with
	// a WARN at every (re)load and "policy unsigned" in the status.
	TrustedKeys []string `toml:"trusted_keys"`
}

// Storage configures the encrypted segment log.
type Storage struct {
	// KeyProvider says where the device key comes from: "file" (KeyFile, a plain file:
	// development), "systemd-creds" (the credential geogate-key that systemd decrypted with
	// LoadCredentialEncrypted=, sealed by the host key or the TPM; see docs/OPERATIONS.md) or
	// "tpm" (keys sealed to the unit's TPM 2.0 in TPMKeyring, provisioned at first start).
	// Whatever the provider, without a key nothing is stored (fail closed). Zero: "file".
	KeyProvider string `toml:"key_provider"`
	// Production refuses the development shortcuts: the "file" provider and a software TPM
	// ("tcp:" tpm_device) are configuration errors, and "systemd-creds" fails closed unless
	// systemd passed the credential. Zero: false (development; "geogate run -dev" always is).
	Production bool `toml:"production"`
	// KeyFile is the device key file of the "file" provider (64 hex digits, mode 0600; see
	// "geogate keygen"). Zero: $CREDENTIALS_DIRECTORY/geogate-key when systemd passes
	// credentials, else /etc/geogate/key. Other providers must leave it unset.
	KeyFile string `toml:"key_file"`
	// TPMDevice is the TPM of the "tpm" provider: a device node, or "tcp:HOST:PORT" for a
	// software TPM (swtpm, development only). Zero: /dev/tpmrm0, the kernel's resource manager.
	TPMDevice string `toml:"tpm_device"`
	// TPMKeyring is the file of keys sealed to the TPM (no key in clear: only this unit's TPM
	// opens it). Zero: keyring.tpm in DataDir.
	TPMKeyring string `toml:"tpm_keyring"`
	// TPMPolicyAuthority is the PEM public key (ECDSA P-256) of whoever signs PCR policies
	// ("geogate key authority"). When set, new keys are sealed so that only a PCR policy it
	// signed unseals them, and TPMPolicies must be set. Zero: keys are bound to the TPM, not
	// to the boot state.
	TPMPolicyAuthority string `toml:"tpm_policy_authority"`
	// TPMPolicies are signed PCR policy files ("geogate key sign-policy"), tried in order at
	// start: after an update that changes the measured boot, ship the policy for the new
	// image next to the old one. Zero: none.
	TPMPolicies []string `toml:"tpm_policies"`
	// QuotaMB caps the log's size on disk; the oldest segments are erased first. Zero: 1024.
	QuotaMB int64 `toml:"quota_mb"`
	// SegmentMB is the size at which a segment is closed and a new one begun, and the space
	// preallocated for it. Recovery and the tools read a segment whole, so it bounds their
	// memory. Zero: 16. The quota must hold at least two segments.
	SegmentMB int64 `toml:"segment_mb"`
	// SyncWindow is the group-commit budget: records become durable within it. Zero: 100ms.
	SyncWindow Duration `toml:"sync_window"`
	// MaxAgeFix and MaxAgeFrame delete records older than this. Zero: 168h (7 days).
	MaxAgeFix   Duration `toml:"max_age_fix"`
	MaxAgeFrame Duration `toml:"max_age_frame"`
	// Cipher is "aes-256-gcm" or "xchacha20-poly1305". Zero: "aes-256-gcm".
	Cipher string `toml:"cipher"`
}

// Board configures the unit's hardware.
type Board struct {
	// Watchdog is the hardware watchdog device. Zero: none (systemd's watchdog still applies).
	Watchdog string `toml:"watchdog"`
	// WatchdogTimeout is programmed into the hardware watchdog. Zero: 30s.
	WatchdogTimeout Duration `toml:"watchdog_timeout"`
	// PowerFail names the power-fail / ignition input: "gpiochip0:17" (a line of a GPIO
	// character device, with edge events), "sysfs:/sys/class/gpio/gpio17/value" (a legacy
	// sysfs GPIO, polled), or "file:/run/power-good" (any file holding 0 or 1, polled).
	// Zero: none (only the storage format's crash safety protects the last records).
	PowerFail string `toml:"power_fail"`
	// PowerSignal says what the input means: "power-good" (inactive = power failing) or
	// "ignition" (inactive = ignition off). Zero: "power-good".
	PowerSignal string `toml:"power_signal"`
	// PowerActiveLow inverts the input: it is active when it reads 0. Zero: active high.
	PowerActiveLow bool `toml:"power_active_low"`
}

// Control configures the local control socket that `geogate status`, `geogate health` and
// the serial console use (package control: a Unix socket, never TCP).
type Control struct {
	// Socket is the control socket's path; "off" disables it. Zero: /run/geogate/control.sock
	// (systemd's RuntimeDirectory=geogate).
	Socket string `toml:"socket"`
	// Group names the group whose members may connect besides root and the service user
	// (the socket is mode 0660 with this group). Zero: nobody else.
	Group string `toml:"group"`
}

// Console configures the serial-console diagnostics shell (geogate console), which runs as
// its own process and reaches the daemon over the control socket.
type Console struct {
	// TokenKeys are files each holding the base64 of an ed25519 public key (as "geogate
	// policy signkey" writes PREFIX.pub) whose signed tokens unlock the console; read like
	// policy.trusted_keys (owned by root or the service user, not writable by others). Zero:
	// the console cannot be unlocked (it only offers help and its local checks need a token
	// too), which is the safe default for a unit leaving the factory.
	TokenKeys []string `toml:"token_keys"`
	// IdleTimeout locks an unlocked console after this long without input. Zero: 5m.
	IdleTimeout Duration `toml:"idle_timeout"`
}

// Update configures over-the-air policy updates (package update, docs/OTA.md). The
// directories' defaults follow DataDir wherever it is set (StateDirOrDefault, IncomingOrDefault).
type Update struct {
	// StateDir holds the installed bundle and state.json: the anti-rollback floor, the last
	// verified signed time and the rotated trust set. It must survive updates of the root
	// file system (a data partition). Zero: policy-state in DataDir.
	StateDir string `toml:"state_dir"`
	// Incoming is where an OTA client drops bundles: a complete directory renamed to
	// NAME.bundle in it. The daemon installs each (it needs policy.trusted_keys) and removes
	// it, or moves it to rejected/ with a .reason file. "off": no incoming directory
	// (geogate policy install still works). Zero: incoming in DataDir.
	Incoming string `toml:"incoming"`
	// KeyThreshold is how many distinct policy.trusted_keys must sign a bundle (k of n),
	// until an installed bundle rotates the keys. Zero: 1.
	KeyThreshold int `toml:"key_threshold"`
}

// StateDirOrDefault returns StateDir, or its default in dataDir.
func (u Update) StateDirOrDefault(dataDir string) string {
	if u.StateDir != "" {
		return u.StateDir
	}
	return filepath.Join(dataDir, "policy-state")
}

// IncomingOrDefault returns Incoming, or its default in dataDir.
func (u Update) IncomingOrDefault(dataDir string) string {
	if u.Incoming != "" {
		return u.Incoming
	}
	return filepath.Join(dataDir, "incoming")
}

// Log configures logging.
type Log struct {
	// Level is "debug", "info", "warn" or "error". Zero: "info".
	Level string `toml:"level"`
	// Format is "text", "json" or "auto" (text on a terminal, journald-friendly text otherwise).
	// Zero: "auto".
	Format string `toml:"format"`
}

// Upload configures delivery of sealed exports to the licensed processor's S3-compatible
// object store (package upload; docs/OPERATIONS.md, "Uploads"). The systemd unit as shipped
// allows no network at all: enabling uploads also needs the unit changes described there.
type Upload struct {
	// Enabled runs the uploader in the daemon. Zero: false (nothing leaves the unit;
	// "geogate upload" still works by hand).
	Enabled bool `toml:"enabled"`
	// Endpoint is the object store's host:port. Zero: required when enabled.
	Endpoint string `toml:"endpoint"`
	// Insecure speaks plain HTTP instead of HTTPS. Zero: HTTPS (the exports are sealed either
	// way; the request signatures, object names and sizes are not).
	Insecure bool `toml:"insecure"`
	// Region is the bucket's region, for request signing. Zero: "us-east-1".
	Region string `toml:"region"`
	// Bucket receives the exports. Zero: required when enabled.
	Bucket string `toml:"bucket"`
	// Prefix starts every object name. Zero: "geogate/<device_id>/".
	Prefix string `toml:"prefix"`
	// CredentialsFile holds the access key id and the secret key, one per line, mode 0600.
	// Zero: $CREDENTIALS_DIRECTORY/geogate-upload under systemd, else
	// /etc/geogate/upload-credentials.
	CredentialsFile string `toml:"credentials_file"`
	// Recipients are the licensed processor's age X25519 recipients (age1...): exports are
	// sealed to all of them and nothing else is sent. Zero: required when enabled.
	Recipients []string `toml:"recipients"`
	// Network is "unmetered-only" (send only while NetworkFile says "unmetered") or "any".
	// Zero: "unmetered-only".
	Network string `toml:"network"`
	// NetworkFile is where the connectivity manager writes "metered" or "unmetered"; missing
	// or anything else counts as metered. Zero: /run/geogate/network.
	NetworkFile string `toml:"network_file"`
	// PartMB is the multipart part size: a cut connection sends at most this much again.
	// At least 5 (the S3 minimum). Zero: 16.
	PartMB int64 `toml:"part_mb"`
	// Interval is how often the daemon's uploader spools sealed segments and pushes. Zero: 15m.
	Interval Duration `toml:"interval"`
}

// Duration is a time.Duration written as a Go duration string ("100ms", "7d" is not accepted).
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("config: invalid")

// Error names the file and key of a bad value.
type Error struct {
	File, Key, Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("config: %s: %s: %s", e.File, e.Key, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Load reads and validates the file at path and applies the defaults. An unknown key is an
// error: a typo must not silently fall back to a default.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b)
}

// Parse is Load on bytes already read; name is used in errors.
func Parse(name string, b []byte) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Key: fmt.Sprintf("line %d", pe.Position.Line), Reason: pe.Message}
		}
		return nil, &Error{File: name, Key: "(document)", Reason: err.Error()}
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, &Error{File: name, Key: und[0].String(), Reason: "unknown key"}
	}
	c.setDefaults()
	if err := c.validate(name); err != nil {
		return nil, err
	}
	return &c, nil
}

// Default returns the configuration with every zero value replaced by its default.
func Default() *Config {
	var c Config
	c.setDefaults()
	return &c
}

func (c *Config) setDefaults() {
	setStr(&c.DataDir, "/var/lib/geogate")
	setDur(&c.StatusInterval, time.Minute)
	setStr(&c.GNSS.Source, "serial")
	setStr(&c.GNSS.Device, "/dev/ttyS1")
	setInt(&c.GNSS.Baud, 9600)
	if c.GNSS.Speedup == 0 {
		c.GNSS.Speedup = 1
	}
	setStr(&c.Policy.Tier, "public")
	setStr(&c.Camera.Source, "off")
	setStr(&c.Camera.Device, "/dev/video0")
	setInt(&c.Camera.Width, 1920)
	setInt(&c.Camera.Height, 1080)
	setInt(&c.Camera.FPS, 30)
	setStr(&c.Camera.Format, "mjpeg")
	setInt(&c.Camera.Buffers, 12)
	setDur(&c.Camera.DetectorDeadline, 500*time.Millisecond)
	if c.MemoryLimitMB == 0 {
		c.MemoryLimitMB = 32
	}
	if c.Storage.QuotaMB == 0 {
		c.Storage.QuotaMB = 1024
	}
	if c.Storage.SegmentMB == 0 {
		c.Storage.SegmentMB = 16
	}
	setDur(&c.Storage.SyncWindow, 100*time.Millisecond)
	setDur(&c.Storage.MaxAgeFix, 7*24*time.Hour)
	setDur(&c.Storage.MaxAgeFrame, 7*24*time.Hour)
	setStr(&c.Storage.Cipher, "aes-256-gcm")
	setStr(&c.Storage.KeyProvider, "file")
	setStr(&c.Storage.TPMDevice, "/dev/tpmrm0")
	setStr(&c.Storage.TPMKeyring, filepath.Join(c.DataDir, "keyring.tpm"))
	setDur(&c.Board.WatchdogTimeout, 30*time.Second)
	setStr(&c.Board.PowerSignal, "power-good")
	setStr(&c.Log.Level, "info")
	setStr(&c.Log.Format, "auto")
	setStr(&c.Control.Socket, "/run/geogate/control.sock")
	setDur(&c.Console.IdleTimeout, 5*time.Minute)
	setStr(&c.Upload.Region, "us-east-1")
	setStr(&c.Upload.Network, "unmetered-only")
	setStr(&c.Upload.NetworkFile, "/run/geogate/network")
	if c.Upload.PartMB == 0 {
		c.Upload.PartMB = 16
	}
	setDur(&c.Upload.Interval, 15*time.Minute)
	setInt(&c.Update.KeyThreshold, 1)
}

func (c *Config) validate(file string) error {
	bad := func(key, format string, a ...any) error {
		return &Error{File: file, Key: key, Reason: fmt.Sprintf(format, a...)}
	}
	oneOf := func(key, v string, allowed ...string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return bad(key, "must be one of %q, got %q", allowed, v)
	}
	for _, err := range []error{
		oneOf("gnss.source", c.GNSS.Source, "serial", "replay", "sim"),
		oneOf("camera.source", c.Camera.Source, "v4l2", "synthetic", "off"),
		oneOf("camera.format", c.Camera.Format, "mjpeg", "yuyv", "nv12"),
		oneOf("storage.cipher", c.Storage.Cipher, "aes-256-gcm", "xchacha20-poly1305"),
		oneOf("storage.key_provider", c.Storage.KeyProvider, "file", "systemd-creds", "tpm"),
		oneOf("board.power_signal", c.Board.PowerSignal, "power-good", "ignition"),
		oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error"),
		oneOf("log.format", c.Log.Format, "auto", "text", "json"),
		oneOf("upload.network", c.Upload.Network, "unmetered-only", "any"),
	} {
		if err != nil {
			return err
		}
	}
	for i, k := range c.Policy.TrustedKeys {
		if k == "" {
			return bad(fmt.Sprintf("policy.trusted_keys[%d]", i), "must name a public key file, got an empty path")
		}
	}
	for i, k := range c.Console.TokenKeys {
		if k == "" {
			return bad(fmt.Sprintf("console.token_keys[%d]", i), "must name a public key file, got an empty path")
		}
	}
	switch {
	case c.Console.IdleTimeout.Duration < 0 || c.Console.IdleTimeout.Duration > time.Hour:
		return bad("console.idle_timeout", "must be between 0 and 1h, got %v", c.Console.IdleTimeout.Duration)
	case c.Update.KeyThreshold < 0 || len(c.Policy.TrustedKeys) > 0 && c.Update.KeyThreshold > len(c.Policy.TrustedKeys):
		return bad("update.key_threshold", "must be 1..%d (the number of policy.trusted_keys), got %d", max(len(c.Policy.TrustedKeys), 1), c.Update.KeyThreshold)
	case c.GNSS.Baud < 0:
		return bad("gnss.baud", "must be positive, got %d", c.GNSS.Baud)
	case c.GNSS.Source == "replay" && c.GNSS.File == "":
		return bad("gnss.file", "required when gnss.source is \"replay\"")
	case c.GNSS.Speedup < 0:
		return bad("gnss.speedup", "must be positive, got %g", c.GNSS.Speedup)
	case c.Camera.Width < 0 || c.Camera.Height < 0:
		return bad("camera.width", "must be positive, got %dx%d", c.Camera.Width, c.Camera.Height)
	case c.Camera.FPS < 0 || c.Camera.FPS > 240:
		return bad("camera.fps", "must be 1..240, got %d", c.Camera.FPS)
	case c.Camera.Buffers < 2 || c.Camera.Buffers > 256:
		return bad("camera.buffers", "must be 2..256, got %d", c.Camera.Buffers)
	case c.Camera.DetectorDeadline.Duration < 0 || c.Camera.DetectorDeadline.Duration > 10*time.Second:
		return bad("camera.detector_deadline", "must be 1ms..10s, got %v", c.Camera.DetectorDeadline.Duration)
	case c.Board.PowerFail != "" && !validPowerInput(c.Board.PowerFail):
		return bad("board.power_fail", "want gpiochipN:LINE, sysfs:/path or file:/path, got %q", c.Board.PowerFail)
	case c.MemoryLimitMB < 0:
		return bad("memory_limit_mb", "must not be negative")
	case c.Storage.QuotaMB < 0:
		return bad("storage.quota_mb", "must be positive, got %d", c.Storage.QuotaMB)
	case c.Storage.SegmentMB < 0 || 2*c.Storage.SegmentMB > c.Storage.QuotaMB:
		return bad("storage.segment_mb", "must be between 1 and half of quota_mb (%d), got %d", c.Storage.QuotaMB, c.Storage.SegmentMB)
	case c.Storage.Production && c.Storage.KeyProvider == "file":
		return bad("storage.production", "a plain key file is refused in production (anyone who copies the eMMC reads everything): set storage.key_provider = \"tpm\" or \"systemd-creds\"")
	case c.Storage.KeyProvider != "file" && c.Storage.KeyFile != "":
		return bad("storage.key_file", "applies to key_provider \"file\" only, not %q", c.Storage.KeyProvider)
	case c.Storage.Production && c.Storage.KeyProvider == "tpm" && strings.HasPrefix(c.Storage.TPMDevice, "tcp:"):
		return bad("storage.tpm_device", "a software TPM (%q) keeps its secrets in a file: refused in production", c.Storage.TPMDevice)
	case (c.Storage.TPMPolicyAuthority == "") != (len(c.Storage.TPMPolicies) == 0):
		return bad("storage.tpm_policies", "tpm_policy_authority and tpm_policies go together: a key bound to an authority unseals only under a policy it signed")
	case c.Storage.SyncWindow.Duration < 0:
		return bad("storage.sync_window", "must not be negative")
	case c.StatusInterval.Duration < 0:
		return bad("status_interval", "must not be negative")
	case c.Upload.PartMB < 5:
		return bad("upload.part_mb", "must be at least 5 (the S3 minimum part size), got %d", c.Upload.PartMB)
	case c.Upload.Interval.Duration < 0:
		return bad("upload.interval", "must not be negative")
	case c.Upload.Enabled && (c.Upload.Endpoint == "" || c.Upload.Bucket == "" || len(c.Upload.Recipients) == 0):
		return bad("upload.enabled", "needs upload.endpoint, upload.bucket and upload.recipients")
	}
	for i, r := range c.Upload.Recipients {
		if !strings.HasPrefix(r, "age1") {
			return bad(fmt.Sprintf("upload.recipients[%d]", i), "must be an age X25519 recipient (age1...), got %q", r)
		}
	}
	return nil
}

// validPowerInput checks the form of Board.PowerFail; whether the device exists is the
// daemon's business at run time (absent hardware is logged, not fatal).
func validPowerInput(s string) bool {
	if kind, path, ok := strings.Cut(s, ":"); ok && (kind == "sysfs" || kind == "file") {
		return strings.HasPrefix(path, "/")
	}
	chip, line, ok := strings.Cut(s, ":")
	_, err := strconv.ParseUint(line, 10, 32)
	return ok && err == nil && strings.HasPrefix(chip, "gpiochip")
}

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *Duration, v time.Duration) {
	if p.Duration == 0 {
		p.Duration = v
	}
}
