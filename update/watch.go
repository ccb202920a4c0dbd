package update

import (
	"os"
	"sort"
	"strings"
)

// BundleSuffix ends the name of a directory an OTA client renames into the incoming
// directory; anything else there (a temporary directory being filled, rejected/) is ignored.
const BundleSuffix = ".bundle"

// scan returns the bundles in dir, sorted by name.
func scan(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if e.IsDir() && isBundle(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func isBundle(name string) bool {
	return strings.HasSuffix(name, BundleSuffix) && !strings.HasPrefix(name, ".") && len(name) > len(BundleSuffix)
}
