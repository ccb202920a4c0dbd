// Package daemon is "geogate run": it builds the parts a config names (GNSS source, camera,
// policy, storage, board), joins them with the gate loop, and keeps them running through the
// car's electrical life until it is told to stop.
//
// # Life cycle
//
//   - Start: the audit trail is opened, the device key unsealed, the log opened, the GNSS
//     source and the control socket opened. Each of these may fail: the daemon then fails
//     closed (stores nothing, or nothing the policy has not allowed), says so loudly in the
//     log and the status line, and keeps running.
//   - Ready: once the loop runs, READY=1 goes to systemd and the health supervisor starts
//     kicking the watchdogs, only while the loop beats and storage accepts writes. Then the
//     policy is loaded and verified (until it is in force the loop drops everything) and the
//     camera starts; the garbage collector, off during the start, is back on.
//   - SIGHUP reloads the policy bundle; a bad bundle, one not signed by a key in
//     policy.trusted_keys (when set), or a lower version keeps the running one.
//   - Power-fail: storage is flushed and fsynced at once and nothing new is accepted.
//   - SIGTERM/SIGINT: sources stop, storage is flushed and fsynced, a summary is printed.
//
// # Clock
//
// Every date and time of day the daemon uses (the simulated drive's start, fixes' Received,
// frames' Captured, the policy's time windows, record ages for retention) comes from one
// clock, internal/clock, which the parts' default clocks read: the system clock in release
// builds, a chosen instant in the daemon tests' binary (linked in with -X).
//
// # Example
//
//	cfg, _ := config.Load("/etc/geogate/geogate.toml")
//	sum, err := daemon.Run(ctx, daemon.Options{Config: cfg, Log: logger})
package daemon
