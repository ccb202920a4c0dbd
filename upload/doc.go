// Package upload delivers the unit's data to the licensed processor: it seals each sealed
// storage segment into an age export to the processor's X25519 recipients (Spool), and
// sends the exports to the processor's S3-compatible object store (Push) with
// github.com/minio/minio-go/v7. Nothing else ever leaves: Push refuses a file that is not
// an age file with X25519 stanzas only, or whose manifest names a recipient that is not
// configured.
//
// # Objects
//
// Each export is the object <Prefix><sha256>.age, named by the SHA-256 of its sealed bytes,
// with metadata geogate-sha256, geogate-segments and geogate-checkpoint (the signed audit
// checkpoint that covers the export's own entry in the audit log, base64), and beside it
// <object>.checkpoint, the checkpoint as is, and <object>.consistency, the audit consistency
// proof from the checkpoint of the export confirmed before (audit.CheckChain checks them;
// "geogate audit chain" on the processor's side). The plaintext is JSON lines, one Line per
// record, as "geogate store export" writes; "geogate store cat|verify -identity" reads it.
//
// # Resume, retries, confirmation
//
// Large exports go in parts of Config.PartSize; the multipart upload's id is saved
// atomically (<sha256>.parts in the spool) and a resumed upload lists the parts the object
// store holds, keeping each whose ETag is the MD5 of the spooled bytes at that part, so a
// cut connection, a killed server or a power cut re-sends at most the part in flight. Each request is tried Config.Attempts times, waiting Backoff, doubling up to
// MaxBackoff; refused credentials fail at once (ErrCredentials). An object counts as
// delivered only when the store's ETag equals the one computed from the bytes as they were
// sent (the MD5, or for parts the MD5 of the parts' MD5s), its size and digest match: then
// its segments go into the manifest (ReadManifest, Manifest.Released), the audit log gets an
// Upload entry and the spool forgets it.
//
// # Metered networks
//
// With Network UnmeteredOnly (the default) nothing is sent unless Config.NetworkFile holds
// "unmetered"; it is read before every part, so an upload pauses when the car leaves the
// depot's Wi-Fi and resumes later (ErrMetered).
//
// # Usage
//
//	u, err := upload.New(upload.Config{Endpoint: "s3.processor.example:443", Bucket: "fleet",
//		Prefix: "geogate/VIN123/", AccessKey: id, SecretKey: secret,
//		Recipients: []string{"age1..."}, Dir: "/var/lib/geogate/upload", Audit: auditLog})
//	if err != nil {
//		return err
//	}
//	r, _ := storage.NewReader("/var/lib/geogate", deviceKey)
//	if _, err := u.Spool(r); err != nil {
//		return err
//	}
//	rep, err := u.Push(ctx) // errors.Is(err, upload.ErrMetered): try again later
//
// docs/OPERATIONS.md ("Uploads") says how to set a unit up; docs/FLEET.md sizes a fleet.
package upload
