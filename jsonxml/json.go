package jsonxml

import (
	"fmt"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/portico-gw/portico"
)

// jsonDoc is a parsed JSON text as a tape: one token per value and per
// member name, in document order, each 16 bytes (a tree of Go values would
// take several times that per value, and a JSON body of two-byte values
// is many values). Strings are not copied: a token points into the input.
type jsonDoc struct {
	s    string
	toks []jtok
}

// jtok is one token of a jsonDoc. An object is followed by its members,
// each a name token (a string) and its value's tokens; an array by its
// items' tokens.
type jtok struct {
	kind  kind
	esc   bool   // a string with an escape: decode s[start:end] before use
	start uint32 // where the value starts in the input (for a string, after the quote)
	end   uint32 // scalars: where it ends (for a string, at the closing quote); objects, arrays: the index of the token after their last one
	n     uint32 // objects: members; arrays: items
}

// next returns the index of the token after the value at i.
func (d *jsonDoc) next(i uint32) uint32 {
	if k := d.toks[i].kind; k == kindObject || k == kindArray {
		return d.toks[i].end
	}
	return i + 1
}

// raw returns the input text of scalar i (a string without its quotes).
func (d *jsonDoc) raw(i uint32) string {
	return d.s[d.toks[i].start:d.toks[i].end]
}

// str returns string i decoded; without escapes it shares the input's
// memory.
func (d *jsonDoc) str(i uint32) string {
	if !d.toks[i].esc {
		return d.raw(i)
	}
	return string(decodeString(nil, d.raw(i)))
}

// jsonParser parses one JSON text (RFC 8259) into a jsonDoc. Beyond the
// grammar it refuses what the mapping cannot carry: a member name used
// twice in one object, an escaped lone surrogate, and, in a string value,
// a character XML 1.0 has no place for (U+0000–U+001F but tab, LF and CR;
// U+FFFE, U+FFFF).
type jsonParser struct {
	jsonDoc
	pos      int
	maxDepth int
	keys     []string // the member names of one object, to find one used twice
}

func parseJSON(s string, maxDepth int) (*jsonDoc, error) {
	p := new(jsonParser)
	if err := p.parse(s, maxDepth); err != nil {
		return nil, err
	}
	return &p.jsonDoc, nil
}

// jsonParsers keep parsers, with the memory of their tapes, for the next
// conversion (unless a large document grew the tape).
var jsonParsers = sync.Pool{New: func() any { return new(jsonParser) }}

func (p *jsonParser) release() {
	if cap(p.toks) > maxPoolSize/16 {
		return
	}
	p.s, p.toks, p.keys = "", p.toks[:0], p.keys[:0]
	jsonParsers.Put(p)
}

// parse parses s into p.jsonDoc.
func (p *jsonParser) parse(s string, maxDepth int) error {
	p.s, p.toks, p.pos, p.maxDepth = s, p.toks[:0], 0, maxDepth
	if err := p.value(0); err != nil {
		return err
	}
	p.space()
	if p.pos < len(p.s) {
		return p.errorf("text after the JSON value")
	}
	return nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return portico.Errorf(portico.EInvalid, "malformed JSON at byte %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) push(k kind, start, end int) {
	p.toks = append(p.toks, jtok{kind: k, start: uint32(start), end: uint32(end)})
}

// value parses the value at p.pos, inside depth open arrays and objects.
func (p *jsonParser) value(depth int) error {
	p.space()
	if p.pos >= len(p.s) {
		return p.errorf("unexpected end, want a value")
	}
	switch c := p.s[p.pos]; c {
	case '{', '[':
		if depth >= p.maxDepth {
			return p.errorf("arrays and objects nested deeper than %d", p.maxDepth)
		}
		if c == '{' {
			return p.object(depth + 1)
		}
		return p.array(depth + 1)
	case '"':
		return p.string(true)
	case 't':
		return p.literal("true", kindTrue)
	case 'f':
		return p.literal("false", kindFalse)
	case 'n':
		return p.literal("null", kindNull)
	}
	// A number keeps its literal text: numbers never pass through a
	// float64, so 1.0, 1e2 and 12345678901234567890 come back as written.
	n := numberLen(p.s[p.pos:])
	if n == 0 {
		return p.errorf("invalid character %q, want a value", p.s[p.pos])
	}
	p.push(kindNumber, p.pos, p.pos+n)
	p.pos += n
	return nil
}

func (p *jsonParser) literal(word string, k kind) error {
	if len(p.s)-p.pos < len(word) || p.s[p.pos:p.pos+len(word)] != word {
		return p.errorf("invalid literal, want %s", word)
	}
	p.push(k, p.pos, p.pos+len(word))
	p.pos += len(word)
	return nil
}

// numberLen returns the length of the JSON number at the start of s, 0
// when there is none: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func numberLen[T string | []byte](s T) int {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return 0
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return 0
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return 0
		}
	}
	return i
}

// validNumber reports whether s is a JSON number.
func validNumber[T string | []byte](s T) bool {
	return len(s) > 0 && numberLen(s) == len(s)
}

func (p *jsonParser) object(depth int) error {
	at := len(p.toks)
	p.push(kindObject, p.pos, 0)
	p.pos++ // {
	n := 0
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
	} else {
		for {
			p.space()
			if p.pos >= len(p.s) || p.s[p.pos] != '"' {
				return p.errorf("want a member name in quotes")
			}
			if err := p.string(false); err != nil {
				return err
			}
			p.space()
			if p.pos >= len(p.s) || p.s[p.pos] != ':' {
				return p.errorf("want ':' after a member name")
			}
			p.pos++
			if err := p.value(depth); err != nil {
				return err
			}
			n++
			p.space()
			if p.pos >= len(p.s) {
				return p.errorf("unexpected end in an object")
			}
			if c := p.s[p.pos]; c == '}' {
				p.pos++
				break
			} else if c != ',' {
				return p.errorf("want ',' or '}' after a member")
			}
			p.pos++
		}
	}
	p.toks[at].end, p.toks[at].n = uint32(len(p.toks)), uint32(n)
	return p.uniqueKeys(uint32(at))
}

func (p *jsonParser) array(depth int) error {
	at := len(p.toks)
	p.push(kindArray, p.pos, 0)
	p.pos++ // [
	n := 0
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
	} else {
		for {
			if err := p.value(depth); err != nil {
				return err
			}
			n++
			p.space()
			if p.pos >= len(p.s) {
				return p.errorf("unexpected end in an array")
			}
			if c := p.s[p.pos]; c == ']' {
				p.pos++
				break
			} else if c != ',' {
				return p.errorf("want ',' or ']' after an item")
			}
			p.pos++
		}
	}
	p.toks[at].end, p.toks[at].n = uint32(len(p.toks)), uint32(n)
	return nil
}

// uniqueKeys refuses object at when a member name comes twice: an XML
// element cannot tell two members of one name from one member whose value
// is an array.
func (p *jsonParser) uniqueKeys(at uint32) error {
	if p.toks[at].n < 2 {
		return nil
	}
	keys := p.keys[:0]
	for i := at + 1; i < p.toks[at].end; i = p.next(i + 1) {
		keys = append(keys, p.str(i))
	}
	dup, found := "", false
	if len(keys) <= 16 {
		for i := 1; i < len(keys) && !found; i++ {
			for j := 0; j < i; j++ {
				if keys[i] == keys[j] {
					dup, found = keys[i], true
					break
				}
			}
		}
	} else {
		seen := make(map[string]struct{}, len(keys))
		for _, k := range keys {
			if _, ok := seen[k]; ok {
				dup, found = k, true
				break
			}
			seen[k] = struct{}{}
		}
	}
	clear(keys)
	p.keys = keys[:0]
	if found {
		return portico.Errorf(portico.EInvalid, "malformed JSON before byte %d: member name %.60q used twice in one object", p.pos, dup)
	}
	return nil
}

// string checks the string at p.pos and adds its token. A string value
// (isValue) must hold only characters XML 1.0 can carry; a member name
// may hold any, since names are escaped.
func (p *jsonParser) string(isValue bool) error {
	p.pos++ // "
	start, esc := p.pos, false
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.toks = append(p.toks, jtok{kind: kindString, esc: esc, start: uint32(start), end: uint32(p.pos)})
			p.pos++
			return nil
		case c < 0x20:
			return p.errorf("control character U+%04X in a string (escape it)", c)
		case c == '\\':
			esc = true
			if err := p.escape(isValue); err != nil {
				return err
			}
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, n := utf8.DecodeRuneInString(p.s[p.pos:])
			if r == utf8.RuneError && n == 1 {
				return p.errorf("invalid UTF-8")
			}
			if isValue && !isXMLChar(r) {
				return p.errorf("string holds U+%04X, which XML 1.0 cannot carry", r)
			}
			p.pos += n
		}
	}
	return p.errorf("unexpected end in a string")
}

// escape checks the escape at p.pos and steps over it.
func (p *jsonParser) escape(isValue bool) error {
	if p.pos+1 >= len(p.s) {
		return p.errorf("unexpected end in a string")
	}
	var r rune
	switch e := p.s[p.pos+1]; e {
	case '"', '\\', '/', 'n', 'r', 't':
		p.pos += 2
		return nil
	case 'b', 'f':
		r = '\b'
		if e == 'f' {
			r = '\f'
		}
	case 'u':
		var n int
		if r, n = unicodeEscape(p.s[p.pos:]); n == 0 {
			return p.errorf("invalid \\u escape or lone surrogate")
		}
		if !isValue || isXMLChar(r) {
			p.pos += n
			return nil
		}
	default:
		return p.errorf("invalid escape \\%c", e)
	}
	if isValue {
		return p.errorf("string holds U+%04X, which XML 1.0 cannot carry", r)
	}
	p.pos += 2
	return nil
}

// unicodeEscape reads \uXXXX at the start of s, and a second \uXXXX when
// the first is a high surrogate, returning the character and the length
// read; 0 for a malformed escape or a lone surrogate.
func unicodeEscape(s string) (rune, int) {
	r, ok := hex4(s[2:])
	if !ok {
		return 0, 0
	}
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if r >= 0xDC00 || len(s) < 12 || s[6] != '\\' || s[7] != 'u' {
		return 0, 0
	}
	r2, ok := hex4(s[8:])
	if !ok {
		return 0, 0
	}
	if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
		return c, 12
	}
	return 0, 0
}

// hex4 reads four hex digits at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// decodeString appends string s, as found between quotes in a checked
// JSON text, with its escapes decoded.
func decodeString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		switch e := s[i+1]; e {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, n := unicodeEscape(s[i:])
			b = utf8.AppendRune(b, r)
			i += n
			continue
		default: // " \ /
			b = append(b, e)
		}
		i += 2
	}
	return b
}

// isXMLChar reports whether r is a Char of XML 1.0.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || 0x20 <= r && r <= 0xD7FF ||
		0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0x10FFFF
}
