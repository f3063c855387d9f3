package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	yaml "github.com/pb33f/go-yaml"
)

// This file converts between plain node trees (no aliases, no merge
// keys) and JSON, keeping the order of keys as written.

// appendJSON appends n as JSON to b. Scalars keep the type YAML gives
// them where JSON writes them alike (numbers written as JSON writes
// them, booleans, null); anything else (0x1F, 1_000, +1, 007, .inf,
// timestamps, binary, other tags) is the string it was in the document,
// as the parser's model reads it too. indent "" writes compact JSON.
func appendJSON(b []byte, n *yaml.Node, indent string, level int) []byte {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return append(b, "null"...)
		}
		return appendJSON(b, n.Content[0], indent, level)
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, c := range n.Content {
			if i > 0 {
				b = append(b, ',')
			}
			b = newline(b, indent, level+1)
			b = appendJSON(b, c, indent, level+1)
		}
		b = newline(b, indent, level)
		return append(b, ']')
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return append(b, "{}"...)
		}
		b = append(b, '{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = newline(b, indent, level+1)
			b = appendString(b, n.Content[i].Value)
			b = append(b, ':')
			if indent != "" {
				b = append(b, ' ')
			}
			b = appendJSON(b, n.Content[i+1], indent, level+1)
		}
		b = newline(b, indent, level)
		return append(b, '}')
	}
	return appendScalar(b, n)
}

func newline(b []byte, indent string, level int) []byte {
	if indent == "" {
		return b
	}
	b = append(b, '\n')
	for range level {
		b = append(b, indent...)
	}
	return b
}

func appendScalar(b []byte, n *yaml.Node) []byte {
	v := n.Value
	switch n.Tag {
	case "!!null":
		return append(b, "null"...)
	case "!!bool":
		switch v {
		case "true", "True", "TRUE":
			return append(b, "true"...)
		case "false", "False", "FALSE":
			return append(b, "false"...)
		}
	case "!!int", "!!float":
		if isJSONNumber(v) {
			return append(b, v...)
		}
	}
	return appendString(b, v)
}

// isJSONNumber reports whether s is a number as JSON writes one.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // cannot fail for a string
	return append(b, q...)
}

// readJSON reads a JSON document into a plain node tree, keeping the
// order of keys. It is for documents this package wrote (Spec.Document);
// it refuses what is not one JSON value and nests deeper than MaxDepth.
func readJSON(doc []byte) (*yaml.Node, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	n, err := readValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return n, nil
}

func readValue(d *json.Decoder, depth int) (*yaml.Node, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		if depth >= MaxDepth {
			return nil, fmt.Errorf("JSON nests deeper than %d levels", MaxDepth)
		}
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		}
		for d.More() {
			if n.Kind == yaml.MappingNode {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, str(k.(string)))
			}
			v, err := readValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := d.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return str(t), nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", t)
}

// Node constructors for the trees Export builds.

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func boolean(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

// mapping builds a mapping from alternating string keys and nodes.
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		set(m, kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return m
}

// set sets key in mapping m to v, in place if the key is there, else at
// the end.
func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, str(key), v)
}

// del removes key from mapping m and returns its value, or nil.
func del(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
			return v
		}
	}
	return nil
}
