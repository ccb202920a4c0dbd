package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/console"
	"github.com/geogate/geogate/control"
	"github.com/geogate/geogate/internal/clock"
	"github.com/geogate/geogate/policy"
)

const consoleUsage = "console [-tty DEV] [-config FILE | -dev DIR] | console token -key K -device ID -nonce N -scope S -ttl D: the serial-console diagnostics shell (locked; unlock with a signed token)"

// devConsoleKey is the development token key pair's prefix in the -dev data directory:
// "geogate run -dev" creates DIR/dev-console.key and .pub beside dev.key, and "geogate
// console -dev DIR" trusts DIR/dev-console.pub.
const devConsoleKey = "dev-console"

// consoleMain implements "geogate console".
func consoleMain(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return consoleToken(args[1:], stdout, stderr)
	}
	fl := newFlags("console", stderr, "usage: geogate "+consoleUsage)
	tty := fl.String("tty", "", "serve the console on terminal `DEV` (e.g. /dev/ttyS1); default: stdin/stdout")
	baud := fl.Int("baud", 115200, "with -tty: the line speed")
	cfgFile := fl.String("config", "/etc/geogate/geogate.toml", "the daemon's configuration `FILE` (socket, device id, console.token_keys)")
	dev := fl.String("dev", "", "the console of \"geogate run -dev -data `DIR`\": its socket, and its development token key")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return errUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var cfg *config.Config
	var cfgErr error
	if *dev != "" {
		cfg = config.Default()
		cfg.Control.Socket = filepath.Join(*dev, "control.sock")
		cfg.Storage.KeyFile = filepath.Join(*dev, "dev.key")
		cfg.Console.TokenKeys = []string{filepath.Join(*dev, devConsoleKey+".pub")}
	} else if cfg, cfgErr = config.Load(*cfgFile); cfgErr != nil {
		// The console still runs: locked, it offers help; its local checks say what is wrong.
		logger.Error("console: config unreadable; the console stays locked", "err", cfgErr)
		cfg = config.Default()
		cfg.Console.TokenKeys = nil
	}
	id, err := board.DeviceID(os.DirFS("/"), cfg.DeviceID)
	if err != nil {
		return fmt.Errorf("console: device id: %w", err)
	}
	ver := &console.Verifier{Device: id}
	if len(cfg.Console.TokenKeys) > 0 {
		if ver.Keys, err = policy.ReadTrustedKeys(cfg.Console.TokenKeys); err != nil {
			logger.Error("console: token keys unusable; the console cannot be unlocked", "err", err)
		}
	}
	var rw io.ReadWriter = stdio{os.Stdin, stdout}
	fd := int(os.Stdin.Fd())
	if *tty != "" {
		f, err := openTTY(*tty, *baud)
		if err != nil {
			return err
		}
		defer f.Close()
		rw, fd = f, int(f.Fd())
	}
	if term.IsTerminal(fd) {
		old, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("console: raw mode: %w", err)
		}
		defer term.Restore(fd, old)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	be := &dialBackend{path: cfg.Control.Socket}
	defer be.close()
	sh := &console.Shell{
		Backend: be, Verifier: ver, Now: clock.Now, IdleTimeout: cfg.Console.IdleTimeout.Duration, Log: logger,
		LocalChecks: func(w io.Writer) { localChecks(w, cfg, *cfgFile, cfgErr, *dev != "") },
	}
	logger.Info("console started", "tty", *tty, "id", id, "token_keys", len(ver.Keys))
	err = sh.Run(ctx, rw)
	logger.Info("console ended")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// stdio joins stdin and stdout into the console's terminal.
type stdio struct {
	io.Reader
	io.Writer
}

// dialBackend calls the daemon over its control socket, dialling on first use and again
// after a failure: the console outlives a daemon restart.
type dialBackend struct {
	path string
	c    *control.Client
}

// Call implements console.Backend.
func (d *dialBackend) Call(cmd string, args, out any) error {
	if d.path == "off" {
		return fmt.Errorf("the control socket is off (control.socket = \"off\"): %w", control.ErrNotRunning)
	}
	if d.c == nil {
		c, err := control.Dial(d.path, controlTimeout)
		if err != nil {
			return err
		}
		d.c = c
	}
	err := d.c.Call(cmd, args, out)
	if err != nil && !isAnswer(err) {
		d.close()
	}
	return err
}

// isAnswer reports whether err is the daemon's answer (ok false), not a broken connection.
func isAnswer(err error) bool {
	var ne interface{ Timeout() bool }
	return !errors.As(err, &ne) && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET)
}

func (d *dialBackend) close() {
	if d.c != nil {
		d.c.Close()
		d.c = nil
	}
}

// localChecks prints what can be checked without the daemon: the config, the key files,
// the control socket. It prints presence and problems, never a key.
func localChecks(w io.Writer, cfg *config.Config, cfgFile string, cfgErr error, dev bool) {
	ok := func(good bool, what, detail string) {
		mark := "ok  "
		if !good {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, what, detail)
	}
	switch {
	case dev:
		ok(true, "config", "development (geogate run -dev)")
	case cfgErr != nil:
		ok(false, "config", cfgErr.Error())
	default:
		ok(true, "config", cfgFile+" parses and validates")
	}
	exists := func(what, path string) {
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			ok(false, what, err.Error())
		case !fi.Mode().IsRegular():
			ok(false, what, path+" is not a regular file")
		default:
			ok(true, what, fmt.Sprintf("%s present (mode %04o)", path, fi.Mode().Perm()))
		}
	}
	switch cfg.Storage.KeyProvider {
	case "file":
		kf := cfg.Storage.KeyFile
		if kf == "" {
			kf = board.DefaultKeyFile(os.Getenv)
		}
		exists("device key file", kf)
	case "tpm":
		exists("tpm keyring", cfg.Storage.TPMKeyring)
	default:
		ok(true, "device key", "from "+cfg.Storage.KeyProvider+" (checked by the daemon at start)")
	}
	if len(cfg.Policy.TrustedKeys) > 0 {
		_, err := policy.ReadTrustedKeys(cfg.Policy.TrustedKeys)
		ok(err == nil, "policy trusted keys", errText(err, fmt.Sprintf("%d usable", len(cfg.Policy.TrustedKeys))))
	} else {
		ok(false, "policy trusted keys", "none: bundles are accepted unsigned (development only)")
	}
	fi, err := os.Stat(cfg.Control.Socket)
	switch {
	case err != nil:
		ok(false, "control socket", err.Error()+": is geogate running? (systemctl status geogate)")
	case fi.Mode().Type() != os.ModeSocket:
		ok(false, "control socket", cfg.Control.Socket+" is not a socket")
	default:
		ok(true, "control socket", cfg.Control.Socket+" exists")
	}
}

func errText(err error, good string) string {
	if err != nil {
		return err.Error()
	}
	return good
}

// consoleToken implements "geogate console token": the workshop's signing side, never run
// on a vehicle (the private key stays at the workshop).
func consoleToken(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("console token", stderr,
		"usage: geogate console token -key K -device ID -nonce N [-scope read-only|operate] [-ttl 10m]",
	)
	key := fl.String("key", "", "the private token key `FILE` (PREFIX.key of geogate policy signkey)")
	device := fl.String("device", "", "the unit's device `ID`, as its console prints it")
	nonce := fl.String("nonce", "", "the `NONCE` the locked console prints")
	scope := fl.String("scope", "read-only", "read-only or operate (reload, export)")
	ttl := fl.Duration("ttl", 10*time.Minute, "how long the token is valid, at most 15m")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *key == "" || *device == "" || *nonce == "" || fl.NArg() != 0 {
		fl.Usage()
		return errUsage
	}
	sc, err := console.ParseScope(*scope)
	if err != nil {
		return err
	}
	if *ttl <= 0 || *ttl > console.MaxTokenTTL {
		return fmt.Errorf("-ttl %v: must be positive and at most %v", *ttl, console.MaxTokenTTL)
	}
	priv, perm, err := policy.ReadSigningKey(*key)
	if err != nil {
		return err
	}
	if perm&0o077 != 0 {
		fmt.Fprintf(stderr, "geogate console token: warning: %s is readable by others (mode %04o); chmod 600 it\n", *key, perm)
	}
	tok, err := console.SignToken(priv, console.Token{Device: *device, Nonce: *nonce, Scope: sc, Expires: clock.Now().Add(*ttl)})
	clear(priv)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
