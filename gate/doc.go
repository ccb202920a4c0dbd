// Package gate is geogate's hot loop: it joins the receiver's fixes and the camera's frames,
// asks the policy about each, and writes only what the policy allows to the encrypted log.
// It is the one package that knows gnss, camera, policy and storage; each of those knows
// none of the others.
//
// # Fixes
//
// Every fix is decided by a policy.Engine. A dropped fix leaves no record, only a sealed
// placeholder of a fix record's size where the Store takes one; a kept or
// coarsened one becomes a record.TypeFix record holding only the policy's output position (already
// on the tier's grid and in its datum). Speed, course and altitude are kept only at full
// precision.
//
// # Frames
//
// A frame waits (up to Config.FrameWait) for the fix after its capture time, then gets the
// position interpolated between the fixes around it, decided by a second Engine. A frame is
// never treated more leniently than either of those fixes, so interpolation cannot carry a
// frame across a zone edge. Frames the tier allows only at a smaller size are downscaled in
// a separate goroutine, so a slow re-encode never delays fixes; when it is busy the frame is
// dropped and counted. Frames with no trustworthy position are dropped, never stored "just
// in case". A frame dropped for where the car was (a deny zone or its margin, next to a
// coarsened fix) leaves a sealed placeholder of its record's size at the tier's
// image rate, so the sealed stream does not show, without the key, when the car met a zone.
//
// # Anonymization
//
// A tier with anonymize = true stores frames only after an Anonymizer has masked their faces
// and number plates (docs/ANONYMIZE.md). The same worker goroutine does it, after any
// downscale; when it is busy the frame is dropped (Counters.AnonymizeBusy), and a frame that
// cannot be masked (no detector, a crash, a late or malformed answer) is dropped
// (Counters.AnonymizeFailed), never stored as captured.
//
// # Fail closed
//
// No policy, no fix, an invalid or stale fix, no store (no device key), a failing power
// supply, a storage error: nothing is stored, and Counters say why.
//
// # Example
//
//	fixes := make(chan gnss.Fix, 64)
//	reader := &gate.GNSSReader{Source: serial, Decoder: gnss.NewDecoder(gnss.Config{}), Out: fixes}
//	loop := gate.New(gate.Config{Fixes: fixes, Frames: ring, Policy: &holder, Tier: "public", Store: log})
//	go reader.Run(ctx)
//	loop.Run(ctx)
package gate
