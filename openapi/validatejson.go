package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads request bodies (and the document itself) into the
// values the JSON Schema validator takes: map[string]any, []any, string,
// json.Number, bool and nil. It is stricter than encoding/json where a
// body could mean one thing to the validator and another to the
// backend, or cost the validator more than its size: a key twice in an
// object (parsers disagree on which one counts), nesting deeper than a
// bound, and numbers whose exact value is costly (the validator
// compares numbers as big.Rat, and "1e1000000" alone takes 30 ms to
// read as one).

// Bounds on the numbers of a body or a parameter value.
const (
	maxNumberLength   = 1000 // characters of one number
	maxNumberExponent = 1000 // the magnitude of its exponent
)

// jsonError is a syntax or bound error in a JSON value, at a byte
// offset.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.off) }

type jsonReader struct {
	b        []byte
	i        int
	maxDepth int
}

// byteOrderMark is UTF-8's: JSON text has none (RFC 8259 section 8.1).
var byteOrderMark = []byte{0xEF, 0xBB, 0xBF}

// decodeJSON reads b, which must hold one JSON value and nothing but
// white space around it, nesting at most maxDepth arrays and objects.
func decodeJSON(b []byte, maxDepth int) (any, error) {
	d := &jsonReader{b: b, maxDepth: maxDepth}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i < len(d.b) {
		return nil, d.errorf("more than one JSON value")
	}
	return v, nil
}

func (d *jsonReader) errorf(format string, args ...any) error {
	return &jsonError{off: d.i, msg: fmt.Sprintf(format, args...)}
}

func (d *jsonReader) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonReader) value(depth int) (any, error) {
	d.space()
	if d.i >= len(d.b) {
		return nil, d.errorf("unexpected end of JSON")
	}
	switch c := d.b[d.i]; {
	case c == '{':
		if depth >= d.maxDepth {
			return nil, d.errorf("JSON nests deeper than %d levels", d.maxDepth)
		}
		return d.object(depth + 1)
	case c == '[':
		if depth >= d.maxDepth {
			return nil, d.errorf("JSON nests deeper than %d levels", d.maxDepth)
		}
		return d.array(depth + 1)
	case c == '"':
		return d.str()
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	switch c := d.b[d.i]; {
	case bytes.HasPrefix(d.b[d.i:], byteOrderMark):
		return nil, d.errorf("a byte order mark (EF BB BF) where a JSON value begins")
	case c >= utf8.RuneSelf:
		return nil, d.errorf("invalid byte 0x%02X where a JSON value begins", c)
	}
	return nil, d.errorf("invalid character %q", d.b[d.i])
}

func (d *jsonReader) literal(s string) error {
	if len(d.b)-d.i < len(s) || string(d.b[d.i:d.i+len(s)]) != s {
		return d.errorf("invalid literal")
	}
	d.i += len(s)
	return nil
}

func (d *jsonReader) object(depth int) (any, error) {
	d.i++ // {
	m := map[string]any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m, nil
	}
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, d.errorf("an object key must be a string")
		}
		at := d.i
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, &jsonError{off: at, msg: fmt.Sprintf("key %.100q given twice in an object", k)}
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, d.errorf("missing \":\" after an object key")
		}
		d.i++
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.space()
		if d.i >= len(d.b) {
			return nil, d.errorf("unexpected end of JSON")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, nil
		default:
			return nil, d.errorf("missing \",\" or \"}\" in an object")
		}
	}
}

func (d *jsonReader) array(depth int) (any, error) {
	d.i++ // [
	a := []any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.space()
		if d.i >= len(d.b) {
			return nil, d.errorf("unexpected end of JSON")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, nil
		default:
			return nil, d.errorf("missing \",\" or \"]\" in an array")
		}
	}
}

// str reads a string; plain ones (no escape, valid UTF-8) are copied as
// they are, the others decoded by encoding/json.
func (d *jsonReader) str() (string, error) {
	start := d.i
	d.i++ // "
	plain := true
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			if plain {
				return string(d.b[start+1 : d.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(d.b[start:d.i], &s); err != nil {
				return "", &jsonError{off: start, msg: "invalid string"}
			}
			if strings.ContainsRune(s, utf8.RuneError) && !givesReplacement(d.b[start:d.i]) {
				// encoding/json made a lone surrogate (\ud800) into
				// U+FFFD; a backend may read it otherwise.
				return "", &jsonError{off: start, msg: "a string holds a lone UTF-16 surrogate escape"}
			}
			return s, nil
		case c == '\\':
			plain = false
			d.i += 2
		case c < 0x20:
			return "", d.errorf("control character in a string")
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && n == 1 {
				// encoding/json would make it U+FFFD, and a backend
				// that drops bad bytes would read another string.
				return "", d.errorf("a string holds bytes that are not UTF-8")
			}
			d.i += n
		default:
			d.i++
		}
	}
	return "", &jsonError{off: start, msg: "unterminated string"}
}

func (d *jsonReader) number() (any, error) {
	start := d.i
	n, ok := numberEnd(d.b[d.i:])
	if !ok {
		return nil, d.errorf("invalid number")
	}
	d.i += n
	if err := checkNumber(d.b[start:d.i]); err != nil {
		return nil, &jsonError{off: start, msg: err.Error()}
	}
	return json.Number(d.b[start:d.i]), nil
}

// numberEnd returns the length of the JSON number at the start of b.
func numberEnd(b []byte) (int, bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	return i, true
}

var errNumberBound = errors.New("a number over " + strconv.Itoa(maxNumberLength) +
	" characters or with an exponent over " + strconv.Itoa(maxNumberExponent))

// checkNumber bounds a number's length and exponent.
func checkNumber(num []byte) error {
	if len(num) > maxNumberLength {
		return errNumberBound
	}
	for i, c := range num {
		if c == 'e' || c == 'E' {
			exp := num[i+1:]
			if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
				exp = exp[1:]
			}
			for len(exp) > 1 && exp[0] == '0' {
				exp = exp[1:]
			}
			if len(exp) > 4 {
				return errNumberBound
			}
			if e, _ := strconv.Atoi(string(exp)); e > maxNumberExponent {
				return errNumberBound
			}
		}
	}
	return nil
}

// asNumber returns s as a json.Number when it is a JSON number within
// the bounds.
func asNumber(s string) (json.Number, bool) {
	n, ok := numberEnd([]byte(s))
	if !ok || n != len(s) || checkNumber([]byte(s)) != nil {
		return "", false
	}
	return json.Number(s), true
}

// givesReplacement reports whether JSON string q holds U+FFFD itself, as
// UTF-8 or as the escape \ufffd.
func givesReplacement(q []byte) bool {
	return bytes.Contains(bytes.ToLower(q), []byte(`\ufffd`)) || bytes.Contains(q, []byte(string(utf8.RuneError)))
}
