package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/geogate/geogate/audit"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/daemon"
	"github.com/geogate/geogate/storage"
	"github.com/geogate/geogate/upload"
)

// uploadUsage is the usage line for the dispatch table.
const uploadUsage = "upload [-config FILE] [-network unmetered-only|any] [-spool-only]: seal the log's segments for the licensed processor and send them to its object store"

// uploadMain implements "geogate upload": what the daemon's uploader does once, by hand,
// while the daemon is stopped (both write the audit log and the spool).
func uploadMain(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("upload", stderr,
		"usage: geogate "+uploadUsage,
		"  Each sealed segment not yet confirmed becomes one age export to [upload] recipients,",
		"  recorded in the audit log, named <sha256>.age in the bucket, with its audit checkpoint.",
		"  An interrupted upload resumes where it stopped. Stop the daemon first.",
	)
	cfgPath := fl.String("config", "/etc/geogate/geogate.toml", "daemon configuration `FILE` ([upload], data_dir, and the [storage] key provider)")
	network := fl.String("network", "", "override [upload] network for this run: `unmetered-only` or any")
	spoolOnly := fl.Bool("spool-only", false, "seal the pending segments into the spool, send nothing")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	uc, err := daemon.UploadConfig(cfg)
	if err != nil {
		return err
	}
	if *network != "" {
		uc.Network = upload.Network(*network)
	}
	release, err := upload.LockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer release()
	keys, err := storeKeys(cfg.Storage)
	if err != nil {
		return err
	}
	r, err := storage.NewReader(cfg.DataDir, keys.Current, keys.Old...)
	keys.Clear()
	if err != nil {
		return err
	}
	origin := "geogate-audit"
	if cfg.DeviceID != "" {
		origin = "geogate/" + strings.ReplaceAll(cfg.DeviceID, "+", "-") + "/audit"
	}
	al, err := audit.Open(filepath.Join(cfg.DataDir, "audit"), audit.Options{KeyFile: filepath.Join(cfg.DataDir, "audit.key"), Origin: origin})
	if err != nil {
		return fmt.Errorf("%w: %w", upload.ErrNoAudit, err)
	}
	defer al.Close()
	uc.Audit = al
	if isTerminal(stderr) {
		uc.Progress = func(p upload.Progress) {
			fmt.Fprintf(stderr, "\r%s %3d%% %d/%d bytes", p.Object, 100*p.Sent/max(p.Total, 1), p.Sent, p.Total)
		}
	}
	u, err := upload.New(uc)
	if err != nil {
		return err
	}
	n, err := u.Spool(r)
	fmt.Fprintf(stdout, "spooled %d exports\n", n)
	if err != nil || *spoolOnly {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := u.Push(ctx)
	if uc.Progress != nil {
		fmt.Fprintln(stderr)
	}
	fmt.Fprintf(stdout, "uploaded %d exports (%d bytes; %d bytes sent) to %s/%s; %d pending\n", rep.Uploaded, rep.Bytes, rep.Sent, uc.Endpoint, uc.Bucket, rep.Pending)
	return err
}
