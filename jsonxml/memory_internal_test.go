package jsonxml

import (
	"runtime"
	"strings"
	"testing"
)

// TestMemoryBound: what a conversion holds while it writes (the tape of a
// JSON document, the nodes and arena of an XML one, and the input) stays
// within the bound doc.go gives, for bodies made of the smallest values.
func TestMemoryBound(t *testing.T) {
	const n = 1 << 20
	const bound = 16 // times the input, live; doc.go says "about 30" with the garbage collector's slack
	tests := []struct {
		name  string
		in    string
		parse func(string) (any, error)
	}{
		{"json zeros", "[" + strings.Repeat("0,", n/2-1) + "0]", parseJSONAny},
		{"json empty arrays", "[" + strings.Repeat("[],", n/3-1) + "[]]", parseJSONAny},
		{"json objects", "[" + strings.Repeat(`{"a":1},`, n/8-1) + "{}]", parseJSONAny},
		{"xml empty elements", "<r>" + strings.Repeat("<a/>", n/4) + "</r>", parseXMLAny},
		{"xml attributes", "<r>" + strings.Repeat(`<a b=""/>`, n/9) + "</r>", parseXMLAny},
		{"xml text", "<r>" + strings.Repeat(`<a>x</a>`, n/8) + "</r>", parseXMLAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			doc, err := tt.parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			held := float64(after.HeapAlloc-before.HeapAlloc+uint64(len(tt.in))) / float64(len(tt.in))
			runtime.KeepAlive(doc)
			t.Logf("%s: %.1f× the input held", tt.name, held)
			if held > bound {
				t.Errorf("holds %.1f× the input, want at most %d×", held, bound)
			}
		})
	}
}

func parseJSONAny(s string) (any, error) { return parseJSON(s, DefaultMaxDepth) }
func parseXMLAny(s string) (any, error)  { return parseXML([]byte(s), DefaultMaxDepth) }
