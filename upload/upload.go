package upload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/geogate/geogate/audit"
)

// Errors. Callers branch on these with errors.Is.
var (
	// ErrConfig means the Config cannot work (no endpoint, bucket, recipient, credentials).
	ErrConfig = errors.New("upload: bad configuration")
	// ErrNotSealed means a file is not an age file sealed only to X25519 recipients: it is
	// never sent.
	ErrNotSealed = errors.New("upload: not an age-sealed export")
	// ErrRecipient means a sealed export names a recipient that is not (or no longer) one of
	// the configured licensed recipients: it is never sent.
	ErrRecipient = errors.New("upload: sealed to a recipient that is not configured")
	// ErrMetered means the policy allows only unmetered networks and the network is metered
	// (or its state is unknown). What was sent is kept; the next Push resumes.
	ErrMetered = errors.New("upload: network is metered; waiting for an unmetered one")
	// ErrCredentials means the object store refused the credentials or the request's
	// signature. Retrying does not help.
	ErrCredentials = errors.New("upload: object store refused the credentials")
	// ErrConfirm means the object store's object does not match what was sent (size, ETag
	// or digest): the local data is not released and the object is sent again.
	ErrConfirm = errors.New("upload: object not confirmed")
	// ErrNoAudit means there is no audit trail to record the export in: nothing is spooled
	// without one, so no data leaves the unit unaccounted for.
	ErrNoAudit = errors.New("upload: no audit trail")
	// ErrLocked means another process (the daemon) holds the data directory.
	ErrLocked = errors.New("upload: data directory in use (is the daemon running? it uploads by itself when [upload] enabled = true)")
)

// Network is the policy on which networks may carry uploads.
type Network string

// Networks.
const (
	// UnmeteredOnly uploads only while the network state file says "unmetered".
	UnmeteredOnly Network = "unmetered-only"
	// AnyNetwork uploads on any network, metered ones included.
	AnyNetwork Network = "any"
)

// MinPartSize is the smallest part S3 accepts except for the last one (5 MiB).
const MinPartSize = 5 << 20

// DefaultPartSize is the part size when Config.PartSize is zero: 16 MiB, the segment size, so
// that a cut connection costs at most 16 MiB of metered traffic, and a part fits the
// unit's memory budget twice.
const DefaultPartSize = 16 << 20

// Config configures an Uploader.
type Config struct {
	// Endpoint is the object store's host:port. Required.
	Endpoint string
	// Insecure uses plain HTTP instead of HTTPS (loopback tests only: the sealed data is
	// encrypted either way, but the credentials' signatures and object names are not).
	Insecure bool
	// Region is the bucket's region for SigV4. Zero: "us-east-1".
	Region string
	// Bucket receives the objects. Required.
	Bucket string
	// Prefix starts every object name, e.g. "geogate/VIN123/". Zero: none.
	Prefix string
	// AccessKey and SecretKey sign requests (SigV4). Required; never logged.
	AccessKey, SecretKey string
	// Recipients are the licensed processor's age X25519 recipients (age1...). Exports are
	// sealed to all of them, and only exports sealed to a subset of them are sent. Required.
	Recipients []string
	// PartSize is the multipart part size, at least MinPartSize. Zero: DefaultPartSize.
	PartSize int64
	// Network is the metered policy. Zero: UnmeteredOnly.
	Network Network
	// NetworkFile is the file the connectivity manager keeps up to date, holding "metered"
	// or "unmetered" (docs/OPERATIONS.md, "Uploads"). Missing or anything else counts as
	// metered. Zero: DefaultNetworkFile.
	NetworkFile string
	// Dir holds the spool (sealed exports waiting), the multipart state and the manifest
	// of confirmed segments. Required.
	Dir string
	// Attempts bounds the tries of each request; the waits between them double from
	// Backoff up to MaxBackoff. Zero: 6 tries, 1 s, 1 min.
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Audit records exports and uploads and signs the checkpoint that travels with each
	// export. Required: without an audit trail nothing is spooled (ErrNoAudit).
	Audit Auditor
	// Progress, if not nil, is called as bytes are sent.
	Progress func(Progress)
	// Logger receives state changes (spooled, uploaded, retries). Nil discards.
	Logger *slog.Logger
	// Transport is the HTTP transport. Nil: a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// Sleep waits between attempts. Nil: a timer honouring ctx. Tests count instead.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultNetworkFile is where the connectivity manager writes "metered" or "unmetered".
const DefaultNetworkFile = "/run/geogate/network"

// Auditor is what the uploader needs of the audit log (*audit.Log implements it): Append
// writes an entry durably and returns the signed checkpoint that covers it;
// ProveConsistency proves that the log of oldSize entries is a prefix of the log of
// newSize (both signed before), for the processor to check that the checkpoints it
// receives describe one append-only log.
type Auditor interface {
	Append(e audit.Entry) (audit.Checkpoint, error)
	ProveConsistency(oldSize, newSize int64) (*audit.ConsistencyProof, error)
}

var _ Auditor = (*audit.Log)(nil)

// Progress reports an object's upload.
type Progress struct {
	// Object is the object's name; Sent and Total count its bytes (Sent includes parts
	// sent by an earlier, interrupted run).
	Object      string
	Sent, Total int64
}

// check validates c and fills its defaults.
func (c *Config) check() error {
	var miss []string
	if c.Endpoint == "" {
		miss = append(miss, "endpoint")
	}
	if c.Bucket == "" {
		miss = append(miss, "bucket")
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		miss = append(miss, "credentials")
	}
	if len(c.Recipients) == 0 {
		miss = append(miss, "recipients")
	}
	if c.Dir == "" {
		miss = append(miss, "state directory")
	}
	if len(miss) > 0 {
		return fmt.Errorf("%w: missing %s", ErrConfig, strings.Join(miss, ", "))
	}
	for _, r := range c.Recipients {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return fmt.Errorf("%w: recipient %q: %w", ErrConfig, r, err)
		}
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < MinPartSize {
		return fmt.Errorf("%w: part size %d below the S3 minimum %d", ErrConfig, c.PartSize, MinPartSize)
	}
	switch c.Network {
	case "":
		c.Network = UnmeteredOnly
	case UnmeteredOnly, AnyNetwork:
	default:
		return fmt.Errorf("%w: network %q: want %q or %q", ErrConfig, c.Network, UnmeteredOnly, AnyNetwork)
	}
	if c.NetworkFile == "" {
		c.NetworkFile = DefaultNetworkFile
	}
	if c.Attempts <= 0 {
		c.Attempts = 6
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
