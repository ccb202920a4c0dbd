package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/storage"
	"github.com/geogate/geogate/upload"
)

// UploadCredential is the systemd credential name (LoadCredential=geogate-upload:...) of
// the object store credentials when [upload] credentials_file is unset.
const UploadCredential = "geogate-upload"

// UploadConfig turns the [upload] section into an upload.Config for the data directory's
// spool (<data_dir>/upload), reading the credentials file. Without a configured prefix the
// objects go under geogate/<device id>/ (board.DeviceID). The Audit field is left for the
// caller.
func UploadConfig(cfg *config.Config) (upload.Config, error) {
	u := cfg.Upload
	cred := u.CredentialsFile
	if cred == "" {
		cred = "/etc/geogate/upload-credentials"
		if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
			cred = filepath.Join(dir, UploadCredential)
		}
	}
	access, secret, err := upload.ReadCredentials(cred)
	if err != nil {
		return upload.Config{}, err
	}
	prefix := u.Prefix
	if prefix == "" {
		prefix = "geogate/" + uploadDeviceID(cfg) + "/"
	}
	return upload.Config{Endpoint: u.Endpoint, Insecure: u.Insecure, Region: u.Region, Bucket: u.Bucket,
		Prefix: prefix, AccessKey: access, SecretKey: secret, Recipients: u.Recipients,
		PartSize: u.PartMB << 20, Network: upload.Network(u.Network), NetworkFile: u.NetworkFile,
		Dir: filepath.Join(cfg.DataDir, "upload")}, nil
}

// StartUploader runs the optional uploader ([upload] enabled = true) until ctx ends: every
// [upload] interval it seals the log's sealed segments that are not yet uploaded into the
// spool (one age export per segment, recorded in the audit log) and pushes the spool to the
// processor's object store. It returns at once, and wait blocks until the uploader stopped.
// With uploads disabled, no audit trail (al nil) or a bad configuration, it logs why and
// runs nothing. key is the device key: StartUploader keeps its own copy.
// openStorage starts it once the log is open (the unit needs network access:
// docs/OPERATIONS.md "Uploads").
func StartUploader(ctx context.Context, cfg *config.Config, key []byte, al *audit.Log, log *slog.Logger) (wait func()) {
	nothing := func() {}
	if !cfg.Upload.Enabled {
		return nothing
	}
	if al == nil {
		log.Error("UPLOADS OFF: no audit trail to record them in", "err", upload.ErrNoAudit)
		return nothing
	}
	uc, err := UploadConfig(cfg)
	if err != nil {
		log.Error("UPLOADS OFF: bad [upload] configuration", "err", err)
		return nothing
	}
	uc.Audit, uc.Logger = al, log
	u, err := upload.New(uc)
	if err != nil {
		log.Error("UPLOADS OFF: bad [upload] configuration", "err", err)
		return nothing
	}
	key = append([]byte(nil), key...)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer clear(key)
		t := time.NewTicker(cfg.Upload.Interval.Duration)
		defer t.Stop()
		for {
			uploadOnce(ctx, u, cfg.DataDir, key, uc.Dir, log)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return wg.Wait
}

// UploadHold is storage.Options.Hold for this config: with uploads enabled, age-based
// retention keeps every segment the processor has not confirmed (upload.Hold on
// <data_dir>/upload); otherwise nil. The quota and a full disk still erase.
func UploadHold(cfg *config.Config) func(segment uint64) bool {
	if !cfg.Upload.Enabled {
		return nil
	}
	return upload.Hold(filepath.Join(cfg.DataDir, "upload"))
}

// uploadOnce spools and pushes once, and forgets released segments retention has erased.
func uploadOnce(ctx context.Context, u *upload.Uploader, dataDir string, key []byte, state string, log *slog.Logger) {
	r, err := storage.NewReader(dataDir, key)
	if err != nil {
		log.Error("upload: read the log", "err", err)
		return
	}
	if _, err := u.Spool(r); err != nil {
		log.Error("upload: spool", "err", err)
	}
	rep, err := u.Push(ctx)
	switch {
	case errors.Is(err, upload.ErrMetered):
		log.Info("upload: waiting for an unmetered network", "pending", rep.Pending)
	case err != nil:
		log.Warn("upload: push failed; retrying at the next interval", "pending", rep.Pending, "err", err)
	case rep.Uploaded > 0:
		log.Info("upload: exports confirmed", "exports", rep.Uploaded, "bytes", rep.Bytes)
	}
	if segs, err := r.Segments(); err == nil {
		ids := make([]uint64, len(segs))
		for i, s := range segs {
			ids[i] = s.ID
		}
		if err := upload.PruneManifest(state, ids); err != nil {
			log.Warn("upload: prune manifest", "err", err)
		}
	}
}

// uploadDeviceID is the object prefix's device id: the configured one, else the derived one
// ("unknown" without either: the daemon logs that at start).
func uploadDeviceID(cfg *config.Config) string {
	id, err := board.DeviceID(os.DirFS("/"), cfg.DeviceID)
	if err != nil {
		return "unknown"
	}
	return strings.ReplaceAll(id, "/", "-")
}
