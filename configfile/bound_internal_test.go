package configfile

import (
	"bytes"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// nodes counts the nodes of the YAML documents of b as the parser makes
// them, or -1 when b does not parse.
func nodes(b []byte) int {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	total := 0
	for range 2 { // Decode reads two documents at most
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if total == 0 && err.Error() != "EOF" {
				return -1
			}
			break
		}
		stack := []*yaml.Node{&doc}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n.Kind != yaml.DocumentNode {
				total++
			}
			stack = append(stack, n.Content...)
		}
	}
	return total
}

// TestValueBound: valueBound counts at least the nodes the parser makes,
// for each construct that makes them, repeated as a hostile file would;
// and not much more for the lines of an exported file.
func TestValueBound(t *testing.T) {
	for _, tc := range []struct {
		name, item string
	}{
		{"block mapping", "a: 1\n"},
		{"block mapping, empty values", "a:\n"},
		{"block sequence", "- 1\n"},
		{"block sequence, empty items", "-\n"},
		{"nested block sequences", "- - - 1\n"},
		{"explicit keys", "? a\n"},
		{"flow sequence", "- [1, 2]\n"},
		{"flow sequences of keys alone", "- [?a, ?b]\n"},
		{"flow mappings of keys alone", "- {a, b}\n"},
		{"one-key flow mappings", "- {a}\n"},
		{"single-pair mappings in a flow sequence", "- [a: 1, b: 2]\n"},
		{"JSON", `- {"a":1,"b":[1,2,{}],"c":{"d":null}}` + "\n"},
		{"empty collections", "- [[], {}, [{}]]\n"},
	} {
		for _, n := range []int{1, 50} {
			b := []byte(strings.Repeat(tc.item, n))
			got, want := valueBound(b), nodes(b)
			if want < 0 {
				t.Fatalf("%s: %q does not parse", tc.name, b)
			}
			if got < want {
				t.Errorf("%s ×%d: bound %d, the parser makes %d nodes", tc.name, n, got, want)
			}
		}
	}
	// An exported file's lines count what they hold.
	line := "  - name: weather\n    version: \"1.0\"\n    context: /weather/v1\n    tags: [team-a]\n"
	if got, want := valueBound([]byte(line)), nodes([]byte(line)); got > want+4 {
		t.Errorf("an API's lines: bound %d, %d nodes", got, want)
	}
}

// FuzzValueBound: valueBound never counts fewer nodes than the parser
// makes of a file it takes.
func FuzzValueBound(f *testing.F) {
	for _, s := range []string{"a: 1\n", "[{a},{b}]", "- [a: 1, b: 2]", "{a, b, c}", "? a\n: b\n", "[?a, ?b]", `{"a":[1,{"b":2}]}`, "a: |\n  x: 1\n", "---\na\n---\nb\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<12 {
			return
		}
		if n := nodes(b); n >= 0 && valueBound(b) < n {
			t.Fatalf("bound %d < %d nodes of %q", valueBound(b), n, b)
		}
	})
}
