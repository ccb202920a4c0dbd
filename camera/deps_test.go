package camera_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps camera a leaf: it knows nothing of positions, policy or storage, and pulls
// in no third-party module but golang.org/x/sys (pion/mediadevices' camera driver needs cgo,
// which the static binary does not have; see doc.go). Of geogate it may import internal/clock,
// the process's wall clock that SystemClock reads, so frames are stamped on the clock fixes are.
func TestImports(t *testing.T) {
	for _, dir := range []string{".", "cameratest"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				first := strings.SplitN(p, "/", 2)[0]
				switch {
				case p == "github.com/geogate/geogate/camera", p == "github.com/geogate/geogate/internal/clock", p == "golang.org/x/sys/unix":
				case !strings.Contains(first, "."): // standard library
				default:
					t.Errorf("%s imports %s", name, p)
				}
			}
		}
	}
}
