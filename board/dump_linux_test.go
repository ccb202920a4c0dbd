package board

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/geogate/geogate/internal/testtool"
)

// TestNoCoreDumps runs NoCoreDumps in a child process (a non-dumpable test binary could no
// longer read its own /proc files as a non-root user) and checks the flag went from set to
// clear there.
func TestNoCoreDumps(t *testing.T) {
	if os.Getenv("GEOGATE_DUMP_CHILD") == "1" {
		before, err := dumpable()
		if err != nil {
			t.Fatal(err)
		}
		if err := NoCoreDumps(); err != nil {
			t.Fatal(err)
		}
		after, err := dumpable()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("dumpable before=%v after=%v\n", before, after)
		return
	}
	cmd := testtool.SelfCommand("-test.run=^TestNoCoreDumps$", "-test.v")
	cmd.Env = append(os.Environ(), "GEOGATE_DUMP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "dumpable before=true after=false") {
		t.Fatalf("child output:\n%s", out)
	}
}
