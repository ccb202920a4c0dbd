// Package update installs signed policy bundles over the air, never rolls them back, and
// keeps a notion of the time that a clock set back or a spoofed receiver cannot rewind.
//
// # State
//
// An Installer owns a state directory (config update.state_dir):
//
//	state.json              the floor, the installed bundle, the last signed time, the trust set
//	bundles/v7-1a2b3c4d5e6f the installed bundle: a verified copy, fsynced
//
// state.json is the one commit point. It is replaced atomically (temporary file, fsync,
// rename, fsync of the directory) only after the bundle it names is durable, so a power cut
// at any step leaves either the old bundle in force or the new one, never a floor above the
// bundle that is there. Open removes what an interrupted install left behind.
//
// # Anti-rollback
//
// The floor is the highest version ever put in force, raised at every load and install. A
// bundle below it (or at it with other content) is refused with both versions in the
// error, at start too: an old signed bundle that still allows a place that is now forbidden
// never loads again.
//
// # Freeze attacks and the time
//
// A bundle may carry signed "issued" and "expires" times (policy.toml). Now, the Installer's
// clock, is the latest of the system clock (internal/clock), the latest "issued" time of a
// verified bundle (persisted in state.json) and the build time linked into the binary:
// setting the system clock back cannot revive an expired bundle, and GNSS time is not used
// at all, so a spoofed receiver cannot either. Past "expires" the policy is expired
// (policy.Policy.Expire): every fix is dropped as "policy-expired" until a fresh bundle
// arrives.
//
// # Key rotation
//
// The bundles an Installer accepts must be signed by Threshold of its trusted keys (k of
// n). A bundle may name next_keys and next_threshold; once it is installed, they replace the
// trust set (persisted in state.json), so a compromised key is retired over the air by a
// bundle the current keys sign without it.
//
// # Incoming directory
//
// An OTA client drops a bundle into the incoming directory by renaming a complete
// directory named NAME.bundle into it (write it elsewhere on the same file system first).
// Watch reports it (inotify on Linux), Take installs it and removes it, or moves it to
// rejected/NAME.bundle with the reason in rejected/NAME.bundle.reason.
//
//	in, err := update.Open(update.Config{Dir: "/var/lib/geogate/policy-state", Keys: keys, Threshold: 1}, &holder)
//	go update.Watch(ctx, "/var/lib/geogate/incoming", func(name string) {
//		if _, err := in.Take("/var/lib/geogate/incoming", name); err != nil {
//			log.Error("bundle rejected", "bundle", name, "err", err)
//		}
//	})
package update
