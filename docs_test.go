package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/geogate/geogate/config"
	"github.com/geogate/geogate/policy"
)

// tomlBlock matches a fenced TOML block in Markdown, indented or not.
var tomlBlock = regexp.MustCompile("(?ms)^([ \t]*)```toml\n(.*?)^[ \t]*```")

// TestDocSnippets loads every TOML snippet in README.md and docs/*.md the way a reader would
// use it: a policy.toml snippet with the sample bundle's zone files, every other one as the
// daemon's configuration. An operator who copies a snippet gets a unit that starts.
func TestDocSnippets(t *testing.T) {
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	sample := fstest.MapFS{}
	for _, name := range []string{"zones.geojson", "china_100000_full.json"} {
		b, err := os.ReadFile(filepath.Join("examples/policy", name))
		if err != nil {
			t.Fatal(err)
		}
		sample[name] = &fstest.MapFile{Data: b}
	}
	n := 0
	for _, doc := range append(docs, "README.md") {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tomlBlock.FindAllStringSubmatch(string(text), -1) {
			n++
			indent, body := m[1], m[2]
			var lines []string
			for l := range strings.Lines(body) {
				lines = append(lines, strings.TrimPrefix(l, indent))
			}
			snippet := strings.Join(lines, "")
			name := doc + ": " + strings.SplitN(strings.TrimSpace(snippet), "\n", 2)[0]
			if strings.Contains(snippet, "zone_files") || strings.Contains(snippet, "[tiers.") {
				fsys := fstest.MapFS{policy.ManifestFile: {Data: []byte(snippet)}}
				for k, v := range sample {
					fsys[k] = v
				}
				if _, err := policy.ReadSpec(fsys, nil); err != nil {
					t.Errorf("%s: as policy.toml: %v", name, err)
				}
				continue
			}
			if _, err := config.Parse(doc, []byte(snippet)); err != nil {
				t.Errorf("%s: as the daemon's config: %v", name, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no TOML snippets found: the pattern is wrong")
	}
	t.Logf("%d TOML snippets loaded", n)
}
