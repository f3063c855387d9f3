package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/portico-gw/portico"
)

// This file converts between JSON and YAML node trees, in the order
// written: Encode writes a File's JSON as YAML, Decode reads a
// document's YAML as JSON, and CanonicalJSON is the JSON both give.

// CanonicalJSON returns the canonical form of the JSON value doc: no
// insignificant space, keys in the order written, numbers as written,
// strings with only the escapes JSON requires (plus U+2028 and U+2029).
// A JSON document written as YAML by Encode reads back, in Decode, as
// its canonical form, so two documents are the same in a file exactly
// when their canonical forms are equal. It refuses a key twice in an
// object and nesting deeper than MaxDepth.
func CanonicalJSON(doc []byte) ([]byte, error) {
	n, err := jsonToNode(doc)
	if err != nil {
		return nil, err
	}
	return appendNodeJSON(nil, n)
}

// jsonToNode reads the JSON value doc into a YAML node tree: objects as
// mappings (empty ones in flow style, "{}"), arrays as sequences,
// strings tagged !!str, numbers !!int or !!float as written.
func jsonToNode(doc []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	n, err := readJSONValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Code: portico.EInvalid, Message: "the JSON holds more than one value"}
	}
	return n, nil
}

func readJSONValue(dec *json.Decoder, depth int) (*yaml.Node, error) {
	if depth > MaxDepth {
		return nil, &Error{Code: portico.EInvalid, Message: "the JSON nests deeper than " + strconv.Itoa(MaxDepth) + " levels"}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, &Error{Code: portico.EInvalid, Message: "the JSON does not parse: " + jsonErrorText(err)}
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, &Error{Code: portico.EInvalid, Message: "the JSON does not parse: " + jsonErrorText(err)}
				}
				k := kt.(string) // json.Decoder gives object keys as strings
				if seen[k] {
					return nil, &Error{Code: portico.EInvalid, Message: "the JSON has the key " + strconv.Quote(truncate(k, 100)) + " twice in an object"}
				}
				seen[k] = true
				v, err := readJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m.Content = append(m.Content, strNode(k), v)
			}
			dec.Token() // the closing brace
			if len(m.Content) == 0 {
				m.Style = yaml.FlowStyle
			}
			return m, nil
		case '[':
			s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				v, err := readJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				s.Content = append(s.Content, v)
			}
			dec.Token()
			if len(s.Content) == 0 {
				s.Style = yaml.FlowStyle
			}
			return s, nil
		}
	case string:
		return strNode(t), nil
	case json.Number:
		tag := "!!float"
		if _, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			tag = "!!int"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, &Error{Code: portico.EInvalid, Message: "the JSON does not parse"}
}

func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syn.Error() + " (at byte " + strconv.FormatInt(syn.Offset, 10) + ")"
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "it ends early"
	}
	return err.Error()
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// appendNodeJSON appends the node tree n, checked by checkTree, as
// canonical JSON.
func appendNodeJSON(b []byte, n *yaml.Node) ([]byte, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, errorf(n.Line, "", "an empty document")
		}
		return appendNodeJSON(b, n.Content[0])
	case yaml.MappingNode:
		b = append(b, '{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, n.Content[i].Value)
			b = append(b, ':')
			var err error
			if b, err = appendNodeJSON(b, n.Content[i+1]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case yaml.SequenceNode:
		b = append(b, '[')
		for i, c := range n.Content {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendNodeJSON(b, c); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return append(b, "null"...), nil
		case "!!bool":
			var v bool
			if err := n.Decode(&v); err != nil {
				return nil, errorf(n.Line, "", "%s is not true or false", quoteValue(n.Value))
			}
			return strconv.AppendBool(b, v), nil
		case "!!int":
			if isJSONNumber(n.Value) {
				return append(b, n.Value...), nil
			}
			var i int64
			if err := n.Decode(&i); err == nil {
				return strconv.AppendInt(b, i, 10), nil
			}
			var u uint64
			if err := n.Decode(&u); err == nil {
				return strconv.AppendUint(b, u, 10), nil
			}
			return nil, errorf(n.Line, "", "the number %s is out of range", quoteValue(n.Value))
		case "!!float":
			if isJSONNumber(n.Value) {
				return append(b, n.Value...), nil
			}
			var f float64
			if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, errorf(n.Line, "", "%s is not a number JSON can hold", quoteValue(n.Value))
			}
			return strconv.AppendFloat(b, f, 'g', -1, 64), nil
		}
		return appendJSONString(b, n.Value), nil
	}
	return nil, errorf(n.Line, "", "aliases are not taken")
}

func quoteValue(s string) string { return strconv.Quote(truncate(s, 60)) }

// isJSONNumber reports whether s is a number as JSON writes it.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, and U+2028 and U+2029 (which end lines in
// JavaScript); invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
