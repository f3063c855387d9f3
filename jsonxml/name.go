package jsonxml

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Member names and element names (doc.go, "Names"). A JSON member name
// that is not an XML name is written with each character that may not
// stand where it is as _xHHHH_ (or _xHHHHHHHH_ above U+FFFF), the
// convention of SQL/XML and .NET's XmlConvert.EncodeName; an underscore
// that would otherwise be read as the start of such an escape is written
// as _x005F_, and the empty name as _x_. decodeName undoes it.

// isNameStartChar reports whether r may start an NCName (an XML name
// without a colon).
func isNameStartChar(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_'
	}
	return unicode.Is(nameStart, r)
}

// isNameChar reports whether r may stand after the first character of an
// NCName.
func isNameChar(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			r == '_' || r == '-' || r == '.'
	}
	return unicode.Is(nameStart, r) || unicode.Is(nameMore, r)
}

// isNCName reports whether s is a non-empty XML name without a colon.
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return false
		}
		if i == 0 && !isNameStartChar(r) || i > 0 && !isNameChar(r) {
			return false
		}
	}
	return true
}

// appendNCName appends s written as an NCName: s itself when it is one
// and holds nothing decodeName would read as an escape.
func appendNCName(b []byte, s string) []byte {
	switch s {
	case "":
		return append(b, "_x_"...)
	case "_x_":
		return append(b, "_x005F_x_"...)
	}
	for i, r := range s {
		ok := r != ':' && (i == 0 && isNameStartChar(r) || i > 0 && isNameChar(r))
		if r == '_' && escapeUnderscore(s, i) {
			ok = false
		}
		if ok {
			b = utf8.AppendRune(b, r)
			continue
		}
		b = appendEscape(b, r)
	}
	return b
}

const hexDigits = "0123456789ABCDEF"

// appendEscape appends _xHHHH_ for r in the BMP, _xHHHHHHHH_ above.
func appendEscape(b []byte, r rune) []byte {
	n := 4
	if r > 0xFFFF {
		n = 8
	}
	b = append(b, '_', 'x')
	for shift := 4 * (n - 1); shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(r>>shift)&0xF])
	}
	return append(b, '_')
}

// escapeUnderscore reports whether the '_' at s[i] must be escaped: it is
// followed by x and four (or eight) hex digits of a Unicode scalar value
// and then by a character whose written form starts with '_' (an
// underscore, or a character that is escaped). Written raw, decodeName
// would read it as an escape.
func escapeUnderscore(s string, i int) bool {
	if i+1 >= len(s) || s[i+1] != 'x' {
		return false
	}
	for _, n := range [2]int{4, 8} {
		end := i + 2 + n
		if end >= len(s) {
			return false
		}
		if _, ok := hexScalar(s[i+2 : end]); !ok {
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[end:])
		if r == '_' || r == ':' || !isNameChar(r) {
			return true
		}
	}
	return false
}

// hexScalar parses h, all hex digits, as a Unicode scalar value (no
// surrogate, at most U+10FFFF).
func hexScalar(h string) (rune, bool) {
	var r rune
	for i := 0; i < len(h); i++ {
		c := h[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	if r > unicode.MaxRune || 0xD800 <= r && r <= 0xDFFF {
		return 0, false
	}
	return r, true
}

// appendDecodedName appends local name s with appendNCName undone: each
// _xHHHH_ or _xHHHHHHHH_ naming a Unicode scalar value becomes that
// character, and the name _x_ the empty name. Anything else stays as it
// is.
func appendDecodedName(b []byte, s string) []byte {
	if s == "_x_" {
		return b
	}
	last := 0
	for i := 0; ; {
		j := strings.Index(s[i:], "_x")
		if j < 0 {
			break
		}
		i += j
		r, n := escapeAt(s, i)
		if n == 0 {
			i++
			continue
		}
		b = append(b, s[last:i]...)
		b = utf8.AppendRune(b, r)
		i += n
		last = i
	}
	return append(b, s[last:]...)
}

// escapeAt reads an escape at s[i:] (which starts with "_x"), returning
// the character and the escape's length, or 0 when there is none.
func escapeAt(s string, i int) (rune, int) {
	for _, n := range [2]int{4, 8} {
		end := i + 2 + n
		if end >= len(s) || s[end] != '_' {
			continue
		}
		if r, ok := hexScalar(s[i+2 : end]); ok {
			return r, n + 3
		}
	}
	return 0, 0
}
