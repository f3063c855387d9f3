package openapi

import (
	"strconv"
	"strings"

	yaml "github.com/pb33f/go-yaml"
)

// This file bounds the node tree the parser made of a document before
// anything else reads it: its depth, what its YAML aliases add, keys
// that are not strings or appear twice. It also collects the $refs, and
// expands aliases and merge keys into a plain tree when there are any.

// Limits on a document.
const (
	// MaxDocumentBytes bounds a document's size.
	MaxDocumentBytes = 16 << 20
	// MaxDepth bounds the nesting of mappings and sequences. Large real
	// documents nest 25 levels (Stripe's); JSON Schema inlined without
	// end is the usual reason for more.
	MaxDepth = 100
	// MaxNodes bounds the values, keys and items of a document, its
	// aliases expanded. The parser's model costs about 1 KB a node (a
	// 411-byte document whose aliases expand to 531,441 nodes took 530 MB),
	// so the bound is on nodes rather than bytes alone; real documents
	// hold one node in 20 to 35 bytes (a 16 MiB one about 800,000 at the
	// densest), 10 MB of "1," 2.5 million.
	MaxNodes = 750_000
	// maxAliasNodes and maxAliasBytes bound what YAML aliases add to a
	// document once expanded, which no legitimate reuse of an anchor comes
	// near and a "billion laughs" document exceeds at once.
	maxAliasNodes = 1 << 17
	maxAliasBytes = 4 << 20
)

// scanner walks a document's tree as it reads once its aliases are
// expanded, within the limits, and notes what the later steps need.
type scanner struct {
	p          path
	aliasDepth int // > 0 while inside an alias's expansion
	nodes      int // scanned so far, aliases expanded
	aliasNodes int
	aliasBytes int
	expand     bool                // the tree holds an alias or a merge key
	active     map[*yaml.Node]bool // alias targets being expanded, for cycles
	refs       []ref
}

// ref is one $ref met in the document.
type ref struct {
	p      path
	holder *yaml.Node // the mapping holding "$ref"
	value  *yaml.Node // its value
}

func (s *scanner) scan(n *yaml.Node, depth int) *Error {
	s.nodes++
	if s.nodes > MaxNodes {
		return errorAt(s.p, n, "the document holds more than %d values, keys and items (its aliases expanded); Portico imports documents up to that", MaxNodes)
	}
	if s.aliasDepth > 0 {
		s.aliasNodes++
		s.aliasBytes += len(n.Value)
		if s.aliasNodes > maxAliasNodes || s.aliasBytes > maxAliasBytes {
			return errorAt(s.p, n, "YAML aliases expand the document beyond %d nodes or %d bytes; write the repeated parts out, or use $ref", maxAliasNodes, maxAliasBytes)
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		s.expand = true
		if n.Alias == nil {
			return errorAt(s.p, n, "YAML alias *%s has no anchor", truncate(n.Value, 100))
		}
		if s.active[n.Alias] {
			return errorAt(s.p, n, "YAML alias *%s refers to a node that contains it", truncate(n.Value, 100))
		}
		if s.active == nil {
			s.active = map[*yaml.Node]bool{}
		}
		s.active[n.Alias] = true
		s.aliasDepth++
		err := s.scan(n.Alias, depth)
		s.aliasDepth--
		delete(s.active, n.Alias)
		return err
	case yaml.ScalarNode:
		return nil
	case yaml.SequenceNode, yaml.MappingNode:
	default:
		return errorAt(s.p, n, "unexpected YAML node")
	}
	if depth >= MaxDepth {
		return errorAt(s.p, n, "the document nests deeper than %d levels", MaxDepth)
	}
	if n.Kind == yaml.SequenceNode {
		for i, c := range n.Content {
			s.p = append(s.p, strconv.Itoa(i))
			if err := s.scan(c, depth+1); err != nil {
				return err
			}
			s.p = s.p[:len(s.p)-1]
		}
		return nil
	}
	if len(n.Content)%2 != 0 {
		return errorAt(s.p, n, "malformed YAML mapping")
	}
	var seen map[string]*yaml.Node
	if len(n.Content) > 16 {
		seen = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			s.expand = true
			if err := s.scanMerge(v, depth); err != nil {
				return err
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return errorAt(s.p, k, "a mapping key must be a string, not a YAML %s", kindName(k))
		}
		if prev := dupKey(n, i, k.Value, seen); prev != nil {
			return errorAt(s.p.with(k.Value), k, "key %q appears twice in the mapping, first at line %d", truncate(k.Value, 100), prev.Line)
		}
		s.p = append(s.p, k.Value)
		if k.Value == "$ref" {
			s.refs = append(s.refs, ref{p: s.p.with(), holder: n, value: v})
		}
		if err := s.scan(v, depth+1); err != nil {
			return err
		}
		s.p = s.p[:len(s.p)-1]
	}
	return nil
}

// countNodes returns an upper bound of the nodes the parser will make of
// doc, in one pass without allocating, so that a document too dense for
// MaxNodes is refused before the parser spends memory on it: for JSON,
// the values and keys (strings, numbers, literals, objects and arrays);
// for YAML, the lines with content twice (a key and its value) and the
// flow collections' items (commas and brackets).
func countNodes(doc []byte, isJSON bool) int {
	n := 0
	if isJSON {
		inString, escaped, inValue := false, false, false
		for _, c := range doc {
			switch {
			case inString:
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				}
			case c == '"':
				inString, inValue = true, false
				n++
			case c == '{' || c == '[':
				inValue = false
				n++
			case c == ',' || c == ':' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t':
				inValue = false
			case !inValue: // a number or literal starts
				inValue = true
				n++
			}
		}
		return n
	}
	lineHasContent := false
	for _, c := range doc {
		switch c {
		case '\n':
			if lineHasContent {
				n += 2
			}
			lineHasContent = false
		case ' ', '\t', '\r':
		case ',', '[', '{':
			n++
			lineHasContent = true
		default:
			lineHasContent = true
		}
	}
	if lineHasContent {
		n += 2
	}
	return n
}

// scanMerge scans the value of a merge key: a mapping, or a sequence of
// mappings, or aliases of them.
func (s *scanner) scanMerge(v *yaml.Node, depth int) *Error {
	for _, m := range mergeSources(v) {
		if deref(m).Kind != yaml.MappingNode {
			return errorAt(s.p, m, "a YAML merge key (<<) must take a mapping or a sequence of mappings")
		}
		if err := s.scan(m, depth); err != nil {
			return err
		}
	}
	return nil
}

// dupKey returns the earlier key node of mapping n equal to key, the one
// at index i, if any; seen (nil for small mappings) indexes the keys met
// so far.
func dupKey(n *yaml.Node, i int, key string, seen map[string]*yaml.Node) *yaml.Node {
	if seen == nil {
		for j := 0; j < i; j += 2 {
			if k := n.Content[j]; k.Kind == yaml.ScalarNode && !isMerge(k) && k.Value == key {
				return k
			}
		}
		return nil
	}
	if prev := seen[key]; prev != nil {
		return prev
	}
	seen[key] = n.Content[i]
	return nil
}

func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.Tag == "!!merge" }

func mergeSources(v *yaml.Node) []*yaml.Node {
	if d := deref(v); d.Kind == yaml.SequenceNode {
		return d.Content
	}
	return []*yaml.Node{v}
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}

// expandTree returns a copy of a scanned tree with every alias replaced
// by a copy of its anchor's node and every merge key by the pairs it
// merges (explicit keys win, then earlier sources: YAML's merge rule).
// The copies keep the positions of what they copy. The scan has bounded
// the result's size and refused cycles.
func expandTree(n *yaml.Node) *yaml.Node {
	n = deref(n)
	c := &yaml.Node{Kind: n.Kind, Style: n.Style, Tag: n.Tag, Value: n.Value, Line: n.Line, Column: n.Column}
	switch n.Kind {
	case yaml.SequenceNode:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			c.Content[i] = expandTree(x)
		}
	case yaml.MappingNode:
		has := map[string]bool{}
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				merges = append(merges, mergeSources(v)...)
				continue
			}
			has[k.Value] = true
			c.Content = append(c.Content, expandTree(k), expandTree(v))
		}
		for _, m := range merges {
			e := expandTree(m)
			for i := 0; i+1 < len(e.Content); i += 2 {
				if k := e.Content[i].Value; !has[k] {
					has[k] = true
					c.Content = append(c.Content, e.Content[i], e.Content[i+1])
				}
			}
		}
	}
	return c
}

// pointer returns the node of the tree at root that JSON pointer ptr
// (RFC 6901, such as "/components/schemas/Pet", already percent-decoded)
// names, or nil when it names nothing.
func pointer(root *yaml.Node, ptr string, ix keyIndex) *yaml.Node {
	if !strings.HasPrefix(ptr, "/") {
		return nil
	}
	t := root
	for tok := range strings.SplitSeq(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t.Kind {
		case yaml.MappingNode:
			t = ix.get(t, tok)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t.Content) || tok != strconv.Itoa(i) {
				return nil
			}
			t = t.Content[i]
		default:
			return nil
		}
		if t == nil {
			return nil
		}
	}
	return t
}

// keyIndex finds keys of large mappings by a map made on first use, so
// that resolving many $refs into one mapping of many entries (every
// schema of components/schemas, say) is linear, not quadratic: a probe's
// 5 MB document of 100,000 schemas, each a $ref to the next, took
// minutes of CPU to resolve by scanning. A nil keyIndex scans.
type keyIndex map[*yaml.Node]map[string]*yaml.Node

// indexFrom is the number of entries from which a mapping is indexed.
const indexFrom = 32

// get returns the value of key in mapping m, as the package's get does.
func (ix keyIndex) get(m *yaml.Node, key string) *yaml.Node {
	if ix == nil || m == nil || m.Kind != yaml.MappingNode || len(m.Content) < 2*indexFrom {
		return get(m, key)
	}
	keys, ok := ix[m]
	if !ok {
		keys = make(map[string]*yaml.Node, len(m.Content)/2)
		for i := 0; i+1 < len(m.Content); i += 2 {
			if _, dup := keys[m.Content[i].Value]; !dup { // the first, as get finds
				keys[m.Content[i].Value] = m.Content[i+1]
			}
		}
		ix[m] = keys
	}
	return keys[key]
}

// get returns the value of key in mapping m of a plain tree, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// isString reports whether n is a scalar that reads as a string: YAML
// reads `version: 1.0` as a number, which OpenAPI documents mean as text.
func isString(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null"
}

// text returns a scalar's value, or "" for nil or another kind of node.
func text(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
