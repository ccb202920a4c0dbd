// Package control is the daemon's local control socket: a Unix stream socket (never TCP),
// mode 0660, whose peers are checked with SO_PEERCRED, speaking one small versioned
// request/response protocol. `geogate status`, `geogate health`, the serial console and the
// tests use it; nothing else of the daemon is reachable from outside the process.
//
// # Protocol, version 1
//
// A connection carries any number of exchanges. The client writes one request as a JSON
// object on one line, at most MaxRequest bytes; the server answers with one JSON object on
// one line and waits for the next request:
//
//	{"v":1,"cmd":"status"}
//	{"v":1,"ok":true,"data":{...}}
//
//	{"v":1,"cmd":"frob"}
//	{"v":1,"ok":false,"error":"control: unknown command \"frob\""}
//
// "args" carries a command's arguments as a JSON value. A request of another version, a
// line that is not a JSON object, or one longer than MaxRequest gets an error answer and the
// connection is closed. An idle connection is closed after Server.IdleTimeout.
//
// # Who may connect
//
// The socket file is created with mode 0660 and the group Server.Group, so the kernel lets
// only the daemon's user and that group's members connect. The server also reads each peer's
// credentials (SO_PEERCRED) and refuses a peer that is not root, not the daemon's own user
// and not in Server.Group (primary or supplementary group), in case the file's mode or
// group was changed behind its back; every refusal is logged with the peer's uid and pid.
package control
