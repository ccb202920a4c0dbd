// Package policy decides, for every GNSS fix (and every camera frame taken at it), whether
// the data may be stored at all and at what precision, before anything is stored. It
// enforces China's rules for vehicle geodata on the vehicle: sensitive zones are never
// recorded, positions leaving the licensed chain are coarsened and expressed in GCJ-02,
// and anything uncertain fails closed.
//
// # Bundles
//
// A policy bundle is a directory: policy.toml (id, version, default action, precision
// tiers, freshness limit, hysteresis, time windows, the zone files and the GCJ-02 region)
// and GeoJSON files of zones (deny, coarsen, allow; margins; GCJ-02 sources converted at
// load, their edges densified to within 0.05 m). docs/POLICY.md describes the format;
// examples/policy is a sample. Load reads, verifies (LoadOptions.Verify, the seam for signed
// bundles) and compiles a bundle; every error is a *BundleError naming the file and feature
// and wrapping a sentinel error. Load, SignedBy and Sign read bundle files under one rule:
// regular files inside the bundle, reached through no symbolic link, of at most
// MaxFileBytes. Unknown zone properties, data after a file's JSON value and edges across
// the antimeridian are errors, so that no typo or tampered file weakens a policy silently.
//
// # Deciding
//
// A Holder keeps the running Policy behind an atomic pointer; Reload validates a new bundle
// fully and swaps it in only if it is good and not older. Each stream of fixes gets its own
// Engine (one goroutine), which keeps the hysteresis state:
//
//	var h policy.Holder
//	if _, err := h.Reload(os.DirFS("/etc/geogate/policy"), nil); err != nil {
//		log.Error("policy", "err", err) // h keeps deciding with the old policy (or drops all)
//	}
//	e := h.NewEngine("public")
//	d := e.Decide(&fix, time.Now())
//	if d.Action != policy.Drop {
//		store(d.Lat, d.Lon, d.Datum) // already quantized to d.PrecisionM
//	}
//
// Decide neither allocates nor locks, and writes nothing another goroutine reads: zones are
// compiled into a two-level uniform grid of flat arrays (int32 indices, runs of edges,
// per-cell "fully inside" flags, per-part inside/outside bits for the parts of a leaf no
// edge comes near, vertices in int32 units of 2^-23 degree), so a decision costs one or two
// cell lookups and at most a handful of edge tests whatever the number of zones.
//
// # Geometry
//
// Margins and quantization use a local equirectangular approximation on a sphere of the
// mean Earth radius (6371008.8 m): around latitude phi one degree of latitude is 111195 m
// and one degree of longitude 111195*cos(phi) m. A point is inside a zone with margin m if it
// is inside the polygon (holes excluded) or less than m from its boundary. Over a few
// kilometres the approximation errs by less than 0.5 %; margins should carry 1 % slack.
//
// GCJ-02 uses the published formula (WGS84ToGCJ02) and an iterative inverse exact to 1e-12
// degree (GCJ02ToWGS84). Decide converts output only inside the bundle's GCJ-02 region, an
// outline of China (not the formula's bounding box, which covers Korea and Mongolia too).
package policy
