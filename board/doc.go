// Package board is geogate's hardware edge on the telematics unit: the hardware watchdog,
// the systemd notify protocol, the power-fail and ignition input, the device identity and
// storage key, and eMMC wear. It knows nothing of GNSS, cameras, policy or storage; its
// consumers declare the small interfaces they need, and board/boardtest fakes each part.
//
// # Absent hardware
//
// On a development machine most parts are missing. Every constructor then returns an error
// matching ErrAbsent together with an object whose calls fail with that error (never nil),
// so the daemon logs once and runs without the part:
//
//	wd, err := board.OpenWatchdog(board.WatchdogDevice, board.DefaultWatchdogTimeout)
//	if errors.Is(err, board.ErrAbsent) {
//		log.Info("no hardware watchdog", "err", err)
//	}
//
// # Health and watchdogs
//
// Health kicks the hardware watchdog and systemd's WatchdogSec= only while every
// registered check is OK: heartbeats from the pipeline (Beat.OK on every fix and every
// explicit "no fix" state) and probes (storage writable). A stuck pipeline stops the kicks;
// systemd restarts the daemon after WatchdogSec, and if the restarted daemon does not
// become healthy the hardware watchdog resets the board.
//
//	sd, _ := board.NewNotifier() // no-op outside systemd
//	h := board.NewHealth(board.HealthConfig{Kickers: []board.Kicker{wd, sd}, Logger: log})
//	fixes := h.Beat("gnss", 5*time.Second)
//	h.Probe("storage", store.Writable)
//	go h.Run(ctx)
//	sd.Ready()
//	for fix := range fixes { fixes.OK(); ... }
//
// # Power
//
// OpenPower reads a power-good or ignition signal from a GPIO line (character device, uAPI
// v2 edge events), a legacy sysfs GPIO value file or any file holding 0 or 1, and delivers
// PowerOK, PowerFail and IgnitionOff on a channel. On PowerFail and IgnitionOff the daemon
// flushes and fsyncs at once and accepts no new data until PowerOK.
//
// # Keys
//
// The storage key comes from a KeyProvider. KeyFile reads a 0600 file of 64 hex digits
// (GenerateKeyFile makes one, "geogate keygen" calls it); NewCredential is the KeyFile of the
// systemd credential ($CREDENTIALS_DIRECTORY), which systemd keeps sealed by the host key or
// the TPM. TPMKeyring seals keys to the unit's TPM 2.0 (github.com/google/go-tpm), optionally
// bound to PCRs through policies a SignedPolicy authority signs, and keeps the keys rotations
// replaced until Retire finds nothing stored under them:
//
//	ring := board.NewTPMKeyring(board.TPMConfig{Keyring: "/var/lib/geogate/keyring.tpm", Logger: log})
//	ring.Provision() // first boot: seal a fresh key
//	keys, err := ring.DeviceKeys()
//	if err != nil { /* store nothing: ErrAbsent, ErrSealedElsewhere, ErrPolicy ... */ }
//	defer keys.Clear()
//
// KeyEvents counts and logs sealing, unsealing, rotation, retirement and failures, never a
// key byte. Without a key the daemon stores nothing.
//
// # Linux interfaces
//
// The kernel structures and ioctl numbers mirror <linux/watchdog.h> and <linux/gpio.h>
// under the header's names in Go case (wdiocSetTimeout for WDIOC_SETTIMEOUT); tests check
// them against golang.org/x/sys/unix and the header's sizes. Syscalls sit behind
// unexported seams that tests replace; no unit test opens a /dev node.
package board
