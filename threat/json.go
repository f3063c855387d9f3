package threat

import (
	"fmt"
	"unicode/utf8"

	"github.com/portico-gw/portico"
)

// jsonScanner checks a JSON text (RFC 8259, held to I-JSON, RFC 7493: no
// duplicate keys, no lone surrogates) fed to it in pieces of any size. It
// keeps no byte of the input: a string is checked and counted as it goes
// by, a key is kept only as a hash (and its first bytes, for the error
// message).
type jsonScanner struct {
	lim   portico.ThreatJSONLimits // with defaults
	off   int64                    // offset in the body of the next byte
	state jsState
	stack []jsonFrame // open arrays and objects, innermost last
	names nameSet     // keys of the open objects

	// The string being read.
	key    bool // it is a key
	strLen int  // characters so far
	strMax int  // the limit on strLen
	hash   nameHash
	keyBuf [keyQuote]byte // the key's first bytes, for the duplicate key message
	keyN   int

	hex      rune // the \u escape so far
	hexN     int  // its hex digits so far
	high     rune // a high surrogate escape waiting for its low half
	utf8Need int  // continuation bytes still to come
	utf8Lo   byte // range of the next continuation byte
	utf8Hi   byte

	lit    literal // the literal (true, false, null) being read
	litPos int     // its bytes read

	// Room for the stack and the keys of small documents, saving
	// allocations (BenchmarkJSONReader).
	stackBuf [8]jsonFrame
	namesBuf [32]uint64
}

type literal uint8

const (
	litTrue literal = iota
	litFalse
	litNull
)

var literals = [...]string{litTrue: "true", litFalse: "false", litNull: "null"}

type jsonFrame struct {
	obj   bool
	n     int       // keys or elements so far
	scope nameScope // of an object's keys
}

type jsState uint8

const (
	jsValue      jsState = iota // a value must come (document start, after ':', after ',' in an array)
	jsValueOrEnd                // after '[': a value or ']'
	jsKeyOrEnd                  // after '{': a key or '}'
	jsKey                       // after ',' in an object: a key
	jsColon                     // after a key
	jsNext                      // after a value in an array or object: ',' or its end
	jsDone                      // after the document's value: white space only
	jsString                    // in a string
	jsEsc                       // after '\' in a string
	jsHex                       // in the hex digits of \u
	jsLowEsc                    // after a high surrogate escape: '\' of its low half
	jsLowU                      // 'u' of the low half
	jsUTF8                      // in a UTF-8 sequence in a string
	jsLit                       // in true, false or null
	jsMinus                     // after a number's '-'
	jsZero                      // after a number's leading 0
	jsInt                       // in a number's integer digits
	jsDot                       // after a number's '.'
	jsFrac                      // in a number's fraction digits
	jsE                         // after a number's 'e'
	jsESign                     // after the exponent's sign
	jsExp                       // in the exponent's digits
)

// keyQuote is how many bytes of a key a duplicate key message quotes.
const keyQuote = 40

func newJSONScanner(lim portico.ThreatJSONLimits) *jsonScanner {
	s := &jsonScanner{lim: lim}
	s.stack, s.names.seen = s.stackBuf[:0], s.namesBuf[:0]
	return s
}

func (s *jsonScanner) syntax(at int, format string, args ...any) error {
	return portico.Errorf(portico.EInvalid, "request body is not valid JSON: %s at byte %d", fmt.Sprintf(format, args...), s.off+int64(at))
}

func (s *jsonScanner) unexpected(at int, c byte, want string) error {
	return s.syntax(at, "%s where %s should be", quoteByte(c), want)
}

// limit returns the error for a limit crossed; what says how, with %d
// for the limit.
func (s *jsonScanner) limit(at int, what string, n int, field string) error {
	return portico.Errorf(portico.EInvalid, "request body: JSON %s (threat_protection.json.%s) at byte %d",
		fmt.Sprintf(what, n), field, s.off+int64(at))
}

// write checks the next piece of the body.
func (s *jsonScanner) write(p []byte) error {
	for i := 0; i < len(p); {
		c := p[i]
		switch s.state {
		case jsString:
			// The hot loop: a run of plain ASCII.
			j := i
			for j < len(p) && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\' {
				j++
			}
			if j > i {
				if s.strLen+(j-i) > s.strMax {
					return s.tooLong(i + s.strMax - s.strLen)
				}
				s.strLen += j - i
				if s.key {
					s.hash.write(p[i:j])
					s.quoteKey(p[i:j])
				}
				i = j
				continue
			}
			switch {
			case c == '"':
				if err := s.endString(i); err != nil {
					return err
				}
			case c == '\\':
				s.state = jsEsc
			case c < 0x20:
				return s.syntax(i, "control character %s in a string", quoteByte(c))
			default:
				if err := s.utf8Start(i, c); err != nil {
					return err
				}
			}
		case jsUTF8:
			if c < s.utf8Lo || c > s.utf8Hi {
				return s.syntax(i, "invalid UTF-8")
			}
			if s.key {
				s.hash.writeByte(c)
				s.quoteKey(p[i : i+1])
			}
			s.utf8Lo, s.utf8Hi = 0x80, 0xBF
			if s.utf8Need--; s.utf8Need == 0 {
				s.state = jsString
			}
		case jsEsc:
			var d byte
			switch c {
			case '"', '\\', '/':
				d = c
			case 'b':
				d = '\b'
			case 'f':
				d = '\f'
			case 'n':
				d = '\n'
			case 'r':
				d = '\r'
			case 't':
				d = '\t'
			case 'u':
				s.hex, s.hexN, s.state = 0, 0, jsHex
				i++
				continue
			default:
				return s.syntax(i, "invalid escape \\%s in a string", quoteByte(c))
			}
			if err := s.char(i, rune(d)); err != nil {
				return err
			}
			s.state = jsString
		case jsHex:
			var v byte
			switch {
			case '0' <= c && c <= '9':
				v = c - '0'
			case 'a' <= c && c <= 'f':
				v = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				v = c - 'A' + 10
			default:
				return s.syntax(i, "%s in a \\u escape", quoteByte(c))
			}
			s.hex = s.hex<<4 | rune(v)
			if s.hexN++; s.hexN == 4 {
				if err := s.escaped(i, s.hex); err != nil {
					return err
				}
			}
		case jsLowEsc:
			if c != '\\' {
				return s.syntax(i, "lone surrogate \\u%04X", s.high)
			}
			s.state = jsLowU
		case jsLowU:
			if c != 'u' {
				return s.syntax(i, "lone surrogate \\u%04X", s.high)
			}
			s.hex, s.hexN, s.state = 0, 0, jsHex
		case jsLit:
			lit := literals[s.lit]
			if c != lit[s.litPos] {
				return s.syntax(i, "%s in a literal", quoteByte(c))
			}
			if s.litPos++; s.litPos == len(lit) {
				s.endValue()
			}
		case jsMinus:
			switch {
			case c == '0':
				s.state = jsZero
			case '1' <= c && c <= '9':
				s.state = jsInt
			default:
				return s.unexpected(i, c, "a digit")
			}
		case jsZero, jsInt, jsFrac, jsExp:
			switch {
			case '0' <= c && c <= '9' && s.state != jsZero:
			case c == '.' && (s.state == jsZero || s.state == jsInt):
				s.state = jsDot
			case (c == 'e' || c == 'E') && s.state != jsExp:
				s.state = jsE
			default:
				// The number ended: c belongs to what follows.
				s.endValue()
				continue
			}
		case jsDot:
			if c < '0' || c > '9' {
				return s.unexpected(i, c, "a digit")
			}
			s.state = jsFrac
		case jsE:
			switch {
			case c == '+' || c == '-':
				s.state = jsESign
			case '0' <= c && c <= '9':
				s.state = jsExp
			default:
				return s.unexpected(i, c, "an exponent")
			}
		case jsESign:
			if c < '0' || c > '9' {
				return s.unexpected(i, c, "a digit")
			}
			s.state = jsExp
		default:
			if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				break
			}
			if err := s.structural(i, c); err != nil {
				return err
			}
		}
		i++
	}
	s.off += int64(len(p))
	return nil
}

// structural takes c, not white space, in a state between tokens.
func (s *jsonScanner) structural(i int, c byte) error {
	switch s.state {
	case jsValue:
		return s.value(i, c)
	case jsValueOrEnd:
		if c == ']' {
			s.pop()
			return nil
		}
		return s.value(i, c)
	case jsKeyOrEnd:
		if c == '}' {
			s.pop()
			return nil
		}
		return s.startKey(i, c)
	case jsKey:
		return s.startKey(i, c)
	case jsColon:
		if c != ':' {
			return s.unexpected(i, c, "':'")
		}
		s.state = jsValue
	case jsNext:
		top := &s.stack[len(s.stack)-1]
		switch {
		case c == ',' && top.obj:
			s.state = jsKey
		case c == ',':
			s.state = jsValue
		case c == '}' && top.obj, c == ']' && !top.obj:
			s.pop()
		case top.obj:
			return s.unexpected(i, c, "',' or '}'")
		default:
			return s.unexpected(i, c, "',' or ']'")
		}
	case jsDone:
		return s.syntax(i, "%s after the document", quoteByte(c))
	}
	return nil
}

// value starts a value with c.
func (s *jsonScanner) value(i int, c byte) error {
	if n := len(s.stack); n > 0 && !s.stack[n-1].obj {
		top := &s.stack[n-1]
		if top.n++; top.n > s.lim.MaxArrayLength {
			return s.limit(i, "array with more than %d elements", s.lim.MaxArrayLength, "max_array_length")
		}
	}
	switch {
	case c == '{' || c == '[':
		if len(s.stack) >= s.lim.MaxDepth {
			return s.limit(i, "nested deeper than %d levels", s.lim.MaxDepth, "max_depth")
		}
		f := jsonFrame{obj: c == '{'}
		if f.obj {
			f.scope = s.names.open()
			s.state = jsKeyOrEnd
		} else {
			s.state = jsValueOrEnd
		}
		s.stack = append(s.stack, f)
	case c == '"':
		s.key, s.strLen, s.strMax, s.state = false, 0, s.lim.MaxStringLength, jsString
	case c == '-':
		s.state = jsMinus
	case c == '0':
		s.state = jsZero
	case '1' <= c && c <= '9':
		s.state = jsInt
	case c == 't':
		s.lit, s.litPos, s.state = litTrue, 1, jsLit
	case c == 'f':
		s.lit, s.litPos, s.state = litFalse, 1, jsLit
	case c == 'n':
		s.lit, s.litPos, s.state = litNull, 1, jsLit
	default:
		return s.unexpected(i, c, "a value")
	}
	return nil
}

func (s *jsonScanner) startKey(i int, c byte) error {
	if c != '"' {
		return s.unexpected(i, c, "a key")
	}
	top := &s.stack[len(s.stack)-1]
	if top.n++; top.n > s.lim.MaxKeys {
		return s.limit(i, "object with more than %d keys", s.lim.MaxKeys, "max_keys")
	}
	s.key, s.strLen, s.strMax, s.state = true, 0, s.lim.MaxKeyLength, jsString
	s.hash.reset()
	s.keyN = 0
	return nil
}

// pop ends the innermost array or object.
func (s *jsonScanner) pop() {
	top := s.stack[len(s.stack)-1]
	if top.obj {
		s.names.close(top.scope)
	}
	s.stack = s.stack[:len(s.stack)-1]
	s.endValue()
}

func (s *jsonScanner) endValue() {
	if len(s.stack) == 0 {
		s.state = jsDone
	} else {
		s.state = jsNext
	}
}

func (s *jsonScanner) endString(i int) error {
	if !s.key {
		s.endValue()
		return nil
	}
	top := &s.stack[len(s.stack)-1]
	// The objects open at once have different depths: the depth is the
	// object's serial.
	if !s.names.add(&top.scope, s.hash.sum(uint64(len(s.stack)))) {
		return s.syntax(i, "the key %q twice in one object", s.keyBuf[:s.keyN])
	}
	s.state = jsColon
	return nil
}

func (s *jsonScanner) tooLong(at int) error {
	if s.key {
		return s.limit(at, "key longer than %d characters", s.lim.MaxKeyLength, "max_key_length")
	}
	return s.limit(at, "string longer than %d characters", s.lim.MaxStringLength, "max_string_length")
}

func (s *jsonScanner) quoteKey(p []byte) {
	if s.keyN < keyQuote {
		s.keyN += copy(s.keyBuf[s.keyN:], p)
	}
}

// utf8Start takes c ≥ 0x80, the first byte of a character in a string.
func (s *jsonScanner) utf8Start(i int, c byte) error {
	s.utf8Lo, s.utf8Hi = 0x80, 0xBF
	switch {
	case 0xC2 <= c && c <= 0xDF:
		s.utf8Need = 1
	case c == 0xE0:
		s.utf8Need, s.utf8Lo = 2, 0xA0 // no overlong forms
	case c == 0xED:
		s.utf8Need, s.utf8Hi = 2, 0x9F // no surrogates
	case 0xE1 <= c && c <= 0xEF:
		s.utf8Need = 2
	case c == 0xF0:
		s.utf8Need, s.utf8Lo = 3, 0x90
	case c == 0xF4:
		s.utf8Need, s.utf8Hi = 3, 0x8F // up to U+10FFFF
	case 0xF1 <= c && c <= 0xF3:
		s.utf8Need = 3
	default:
		return s.syntax(i, "invalid UTF-8")
	}
	s.strLen++
	if s.strLen > s.strMax {
		return s.tooLong(i)
	}
	if s.key {
		s.hash.writeByte(c)
		s.quoteKey([]byte{c})
	}
	s.state = jsUTF8
	return nil
}

// escaped takes the code unit of a complete \u escape.
func (s *jsonScanner) escaped(i int, u rune) error {
	switch {
	case s.high != 0:
		if u < 0xDC00 || u > 0xDFFF {
			return s.syntax(i, "lone surrogate \\u%04X", s.high)
		}
		u = (s.high-0xD800)<<10 + (u - 0xDC00) + 0x10000
		s.high = 0
	case 0xD800 <= u && u <= 0xDBFF:
		s.high, s.state = u, jsLowEsc
		return nil
	case 0xDC00 <= u && u <= 0xDFFF:
		return s.syntax(i, "lone surrogate \\u%04X", u)
	}
	s.state = jsString
	return s.char(i, u)
}

// char takes one character decoded from an escape.
func (s *jsonScanner) char(i int, r rune) error {
	s.strLen++
	if s.strLen > s.strMax {
		return s.tooLong(i)
	}
	if s.key {
		var b [utf8.UTFMax]byte
		e := utf8.EncodeRune(b[:], r)
		s.hash.write(b[:e])
		s.quoteKey(b[:e])
	}
	return nil
}

// close checks that the body ended where the document may end.
func (s *jsonScanner) close() error {
	switch {
	case s.off == 0, s.state == jsDone:
		return nil
	case len(s.stack) == 0 && (s.state == jsZero || s.state == jsInt || s.state == jsFrac || s.state == jsExp):
		return nil
	}
	var where string
	switch s.state {
	case jsString, jsEsc, jsHex, jsLowEsc, jsLowU, jsUTF8:
		where = "inside a string"
	case jsLit, jsMinus, jsDot, jsE, jsESign:
		where = "inside a value"
	default:
		where = fmt.Sprintf("with %d arrays or objects open", len(s.stack))
		if len(s.stack) == 0 {
			where = "before a value" // white space only
		}
	}
	return portico.Errorf(portico.EInvalid, "request body is not valid JSON: it ends %s at byte %d", where, s.off)
}

// quoteByte shows a byte of the body in a message.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7F && c != '\'' {
		return "'" + string(c) + "'"
	}
	return fmt.Sprintf("byte 0x%02X", c)
}
