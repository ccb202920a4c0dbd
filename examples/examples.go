// Package examples embeds the sample policy bundle in policy/ (policy.toml and its zone
// files), which `geogate run -dev` and a configuration without policy.dir use. Its format is
// docs/POLICY.md; load it with github.com/geogate/geogate/policy. The Go file lives here, not in
// policy/, because a bundle is signed whole: every file of its directory is in its manifest.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed policy/policy.toml policy/*.geojson policy/*.json
var files embed.FS

// SamplePolicy returns the sample bundle as a file system rooted at the bundle directory.
func SamplePolicy() fs.FS {
	sub, err := fs.Sub(files, "policy")
	if err != nil {
		panic("BUG: examples: " + err.Error())
	}
	return sub
}
