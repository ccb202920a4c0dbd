// Package svgtest parses the SVG documents mapsvg writes, generically, for tests that check
// their structure: which elements of which class, with which attributes and text.
package svgtest

import (
	"encoding/xml"
	"strings"
	"testing"
)

// Node is any SVG element.
type Node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []Node     `xml:",any"`
	Chars   string     `xml:",chardata"`
}

// Parse parses svg, failing t unless it is well-formed XML with an SVG root element.
func Parse(t testing.TB, svg []byte) *Node {
	t.Helper()
	var root Node
	if err := xml.Unmarshal(svg, &root); err != nil {
		t.Fatalf("SVG does not parse: %v", err)
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element %v", root.XMLName)
	}
	return &root
}

// Attr returns the value of n's attribute name, or "".
func (n *Node) Attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// HasClass reports whether c is one of the names in n's class attribute.
func (n *Node) HasClass(c string) bool {
	for _, f := range strings.Fields(n.Attr("class")) {
		if f == c {
			return true
		}
	}
	return false
}

// Find returns every element below n (n included) for which ok is true, in document order.
func (n *Node) Find(ok func(*Node) bool) []*Node {
	var out []*Node
	if ok(n) {
		out = append(out, n)
	}
	for i := range n.Nodes {
		out = append(out, n.Nodes[i].Find(ok)...)
	}
	return out
}

// Text is the concatenated character data of n and its descendants.
func (n *Node) Text() string {
	s := n.Chars
	for i := range n.Nodes {
		s += n.Nodes[i].Text()
	}
	return s
}
