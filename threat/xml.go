package threat

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/portico-gw/portico"
)

// xmlScanner checks that an XML 1.0 document in UTF-8, fed to it in
// pieces of any size, is well-formed (without namespaces: prefixes are
// not resolved), has no DTD and no processing instruction but the XML
// declaration, references no entity but the five predefined ones, and
// keeps to the limits. It keeps no byte of the input but the XML
// declaration (at most declMax bytes): an element's name is kept as a
// hash, to match its end tag.
type xmlScanner struct {
	lim   portico.ThreatXMLLimits // with defaults
	off   int64                   // offset in the body of the next byte
	state xState

	u8     [utf8.UTFMax]byte // a UTF-8 sequence in progress
	u8n    int
	u8want int // its length; 0 between characters

	bom    int64    // 3 after a byte order mark: where the XML declaration may start
	declOK bool     // the '<' just read may start the XML declaration
	decl   []byte   // the XML declaration so far
	stage  int      // 0 before the root element, 1 in it, 2 after it
	stack  []uint64 // hashes of the names of the open elements, innermost last

	hash    nameHash  // of the name being read
	nameLen int       // its characters so far
	colon   int       // its character after which a ':' came; 0 for none
	names   nameSet   // the attribute names of the start tag being read
	attrs   nameScope // its scope
	nattrs  int       // its attributes so far

	text      int    // characters of the current text in an element
	val       int    // characters of the attribute value being read
	cmt       int    // characters of the comment being read
	brackets  int    // ']' just read, in text or a CDATA section
	quote     rune   // the attribute value's delimiter
	expect    string // the rest of a fixed string to come, then next
	next      xState
	ret       xState // where a reference returns: xText or xAttrValue
	ent       [4]byte
	entN      int
	ref       rune // a character reference's value so far
	refBase   rune // 10 or 16; 0 before its first character
	refDigits int

	// Room for the stack and the attribute names of small documents,
	// and for the XML declaration, saving allocations
	// (BenchmarkXMLReader).
	stackBuf [16]uint64
	namesBuf [16]uint64
	declBuf  [declMax]byte
}

type xState uint8

const (
	xMisc        xState = iota // outside the root element: white space and comments
	xText                      // in an element's content
	xLt                        // after '<'
	xBang                      // after "<!"
	xExpect                    // in a fixed string (expect), then next
	xComment                   // in a comment
	xCommentDash               // after '-' in a comment
	xCommentEnd                // after "--" in a comment: '>'
	xCData                     // in a CDATA section
	xDecl                      // in the XML declaration
	xStartName                 // in a start tag's name
	xTag                       // after a start tag's name or an attribute
	xTagSpace                  // after white space in a start tag
	xAttrName                  // in an attribute's name
	xAttrEq                    // after an attribute's name: '='
	xAttrQuote                 // after '=': the quote
	xAttrValue                 // in an attribute value
	xEmptyEnd                  // after '/' in a start tag: '>'
	xEndName                   // in an end tag's name
	xEndTail                   // after an end tag's name: '>'
	xRef                       // after '&'
	xEntity                    // in an entity reference's name
	xCharRef                   // in a character reference, after "&#"
)

// declMax bounds the XML declaration, the only part of the document kept.
const declMax = 256

func newXMLScanner(lim portico.ThreatXMLLimits) *xmlScanner {
	s := &xmlScanner{lim: lim}
	s.stack, s.names.seen, s.decl = s.stackBuf[:0], s.namesBuf[:0], s.declBuf[:0]
	return s
}

func (s *xmlScanner) syntax(at int, format string, args ...any) error {
	return portico.Errorf(portico.EInvalid, "request body is not well-formed XML: %s at byte %d", fmt.Sprintf(format, args...), s.off+int64(at))
}

func (s *xmlScanner) refuse(at int, format string, args ...any) error {
	return portico.Errorf(portico.EInvalid, "request body: XML %s at byte %d", fmt.Sprintf(format, args...), s.off+int64(at))
}

// limit returns the error for a limit crossed; what says how, with %d
// for the limit.
func (s *xmlScanner) limit(at int, what string, n int, field string) error {
	return s.refuse(at, "%s (threat_protection.xml.%s)", fmt.Sprintf(what, n), field)
}

// Bytes that only count as a character in a state, for the fast path of
// write: printable ASCII and white space but for what ends or changes the
// state.
var (
	textPlain    = asciiPlain("<&]>")
	attrPlain    = asciiPlain(`<&"'`)
	commentPlain = asciiPlain("-")
	cdataPlain   = asciiPlain("]")
	namePlain    = func() (t [utf8.RuneSelf]bool) {
		for c := range t {
			t[c] = isNameChar(rune(c)) && c != ':'
		}
		return t
	}()
)

func asciiPlain(special string) (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = (c >= 0x20 && c < 0x7F || c == '\t' || c == '\n' || c == '\r') && !strings.ContainsRune(special, rune(c))
	}
	return t
}

// write checks the next piece of the body.
func (s *xmlScanner) write(p []byte) error {
	for i := 0; i < len(p); {
		c := p[i]
		if s.u8want == 0 {
			if c < utf8.RuneSelf {
				if runStates[s.state] {
					n, err := s.run(i, p[i:])
					if err != nil {
						return err
					}
					if n > 0 {
						i += n
						continue
					}
				}
				if err := s.step(i, rune(c)); err != nil {
					return err
				}
				i++
				continue
			}
			switch {
			case 0xC2 <= c && c <= 0xDF:
				s.u8want = 2
			case 0xE0 <= c && c <= 0xEF:
				s.u8want = 3
			case 0xF0 <= c && c <= 0xF4:
				s.u8want = 4
			default:
				return s.syntax(i, "invalid UTF-8")
			}
			s.u8[0], s.u8n = c, 1
			i++
			continue
		}
		if c&0xC0 != 0x80 {
			return s.syntax(i, "invalid UTF-8")
		}
		s.u8[s.u8n] = c
		if s.u8n++; s.u8n == s.u8want {
			s.u8want = 0
			r, size := utf8.DecodeRune(s.u8[:s.u8n])
			if size != s.u8n { // overlong, a surrogate, over U+10FFFF
				return s.syntax(i, "invalid UTF-8")
			}
			if err := s.step(i, r); err != nil {
				return err
			}
		}
		i++
	}
	s.off += int64(len(p))
	return nil
}

// runStates are the states that run may take bytes in (xCharRef, the
// last state, sizes the array), so that write calls it only there.
var runStates = [...]bool{xText: true, xAttrValue: true, xComment: true, xCData: true,
	xStartName: true, xAttrName: true, xEndName: true, xCharRef: false}

// run takes a run of ASCII bytes at the start of p that the state only
// counts, and returns its length: the hot path through text, attribute
// values and names.
func (s *xmlScanner) run(at int, p []byte) (int, error) {
	var plain *[utf8.RuneSelf]bool
	switch s.state {
	case xText:
		plain = &textPlain
	case xAttrValue:
		plain = &attrPlain
	case xComment:
		plain = &commentPlain
	case xCData:
		if s.brackets > 0 {
			return 0, nil
		}
		plain = &cdataPlain
	case xStartName, xAttrName, xEndName:
		if s.nameLen == 0 {
			return 0, nil // the first character is checked by step
		}
		plain = &namePlain
	default:
		return 0, nil
	}
	n := 0
	for n < len(p) && p[n] < utf8.RuneSelf && plain[p[n]] {
		n++
	}
	if n == 0 {
		return 0, nil
	}
	switch s.state {
	case xText, xCData:
		s.brackets = 0
		return n, s.countN(at, n, &s.text)
	case xAttrValue:
		return n, s.countN(at, n, &s.val)
	case xComment:
		return n, s.countN(at, n, &s.cmt)
	}
	if s.nameLen+n > s.lim.MaxNameLength {
		return 0, s.limit(at+s.lim.MaxNameLength-s.nameLen, "name longer than %d characters", s.lim.MaxNameLength, "max_name_length")
	}
	s.nameLen += n
	s.hash.write(p[:n])
	return n, nil
}

// countN counts n characters, the first at offset at, into the text,
// attribute value or comment counter c.
func (s *xmlScanner) countN(at, n int, c *int) error {
	if *c+n <= s.lim.MaxTextLength {
		*c += n
		return nil
	}
	at += s.lim.MaxTextLength - *c
	what := "text longer than %d characters"
	switch c {
	case &s.val:
		what = "attribute value longer than %d characters"
	case &s.cmt:
		what = "comment longer than %d characters"
	}
	return s.limit(at, what, s.lim.MaxTextLength, "max_text_length")
}

// step takes the character r, whose last byte is at offset at.
func (s *xmlScanner) step(at int, r rune) error {
	if !isChar(r) {
		return s.syntax(at, "character %U not allowed in XML", r)
	}
	switch s.state {
	case xMisc:
		switch {
		case r == '<':
			s.declOK = s.off+int64(at) == s.bom
			s.state = xLt
		case isSpace(r):
		case r == 0xFEFF && s.off+int64(at) == 2:
			s.bom = 3
		case s.stage == 0:
			return s.syntax(at, "text before the root element")
		default:
			return s.syntax(at, "text after the root element")
		}
	case xText:
		switch {
		case r == '<':
			s.brackets, s.state = 0, xLt
		case r == '&':
			s.brackets, s.ret, s.state = 0, xText, xRef
		case r == '>' && s.brackets >= 2:
			return s.syntax(at, `"]]>" in text`)
		default:
			if r == ']' {
				s.brackets++
			} else {
				s.brackets = 0
			}
			return s.countN(at, 1, &s.text)
		}
	case xLt:
		return s.markup(at, r)
	case xBang:
		switch {
		case r == '-':
			s.expect, s.next, s.state, s.cmt = "-", xComment, xExpect, 0
		case r == '[' && s.stage == 1:
			s.expect, s.next, s.state, s.brackets = "CDATA[", xCData, xExpect, 0
		case r == '[':
			return s.syntax(at, "CDATA section outside the root element")
		case 'A' <= r && r <= 'Z':
			return s.refuse(at, "document type declaration (<!DOCTYPE) or markup declaration refused "+
				"(DTDs, and with them entity definitions and external entities, are never accepted)")
		default:
			return s.syntax(at, `"<!" not followed by "--" or "[CDATA["`)
		}
	case xExpect:
		if r != rune(s.expect[0]) {
			return s.syntax(at, "%s where %q should be", quoteRune(r), s.expect[:1])
		}
		if s.expect = s.expect[1:]; s.expect == "" {
			s.state = s.next
		}
	case xComment:
		if r == '-' {
			s.state = xCommentDash
			return nil
		}
		return s.countN(at, 1, &s.cmt)
	case xCommentDash:
		if r == '-' {
			s.state = xCommentEnd
			return nil
		}
		s.state = xComment
		if err := s.countN(at-utf8.RuneLen(r), 1, &s.cmt); err != nil { // the '-'
			return err
		}
		return s.countN(at, 1, &s.cmt)
	case xCommentEnd:
		if r != '>' {
			return s.syntax(at, `"--" inside a comment`)
		}
		s.state = xMisc
		if s.stage == 1 {
			s.state = xText
		}
	case xCData:
		// Of the ']' read, only the last two may end the section: the
		// one before them is text.
		switch {
		case r == ']' && s.brackets == 2:
			return s.countN(at-2, 1, &s.text)
		case r == ']':
			s.brackets++
		case r == '>' && s.brackets == 2:
			s.brackets, s.state = 0, xText
		default:
			n := s.brackets
			s.brackets = 0
			if err := s.countN(at-utf8.RuneLen(r)+1-n, n, &s.text); err != nil {
				return err
			}
			return s.countN(at, 1, &s.text)
		}
	case xDecl:
		if r == '>' && len(s.decl) > 0 && s.decl[len(s.decl)-1] == '?' {
			s.state = xMisc
			return s.declaration(at, s.decl[:len(s.decl)-1])
		}
		if r >= utf8.RuneSelf || len(s.decl) >= declMax {
			return s.syntax(at, "malformed XML declaration")
		}
		s.decl = append(s.decl, byte(r))
	case xStartName:
		if isNameChar(r) {
			return s.nameChar(at, r)
		}
		if err := s.endName(at); err != nil {
			return err
		}
		s.stack = append(s.stack, s.hash.sum(0))
		s.attrs, s.nattrs, s.state = s.names.open(), 0, xTag
		return s.step(at, r)
	case xTag, xTagSpace:
		switch {
		case isSpace(r):
			s.state = xTagSpace
		case r == '/':
			s.state = xEmptyEnd
		case r == '>':
			s.openElement()
		case s.state == xTagSpace && isNameStart(r):
			if s.nattrs++; s.nattrs > s.lim.MaxAttributes {
				return s.limit(at, "element with more than %d attributes", s.lim.MaxAttributes, "max_attributes")
			}
			s.beginName()
			s.state = xAttrName
			return s.nameChar(at, r)
		case s.state == xTagSpace:
			return s.syntax(at, "%s in a start tag", quoteRune(r))
		default:
			return s.syntax(at, "%s where white space, '/' or '>' should be", quoteRune(r))
		}
	case xAttrName:
		if isNameChar(r) {
			return s.nameChar(at, r)
		}
		if err := s.endName(at); err != nil {
			return err
		}
		if !s.names.add(&s.attrs, s.hash.sum(0)) {
			return s.syntax(at, "an attribute given twice in one start tag")
		}
		s.state = xAttrEq
		return s.step(at, r)
	case xAttrEq:
		switch {
		case r == '=':
			s.state = xAttrQuote
		case !isSpace(r):
			return s.syntax(at, "%s where '=' should be", quoteRune(r))
		}
	case xAttrQuote:
		switch {
		case r == '"' || r == '\'':
			s.quote, s.val, s.state = r, 0, xAttrValue
		case !isSpace(r):
			return s.syntax(at, "%s where a quoted attribute value should be", quoteRune(r))
		}
	case xAttrValue:
		switch r {
		case s.quote:
			s.state = xTag
		case '<':
			return s.syntax(at, "'<' in an attribute value")
		case '&':
			s.ret, s.state = xAttrValue, xRef
		default:
			return s.countN(at, 1, &s.val)
		}
	case xEmptyEnd:
		if r != '>' {
			return s.syntax(at, "%s where '>' should be", quoteRune(r))
		}
		s.openElement()
		s.closeElement()
	case xEndName:
		if s.nameLen == 0 && !isNameStart(r) {
			return s.syntax(at, "%s where a name should be", quoteRune(r))
		}
		if isNameChar(r) {
			return s.nameChar(at, r)
		}
		if s.hash.sum(0) != s.stack[len(s.stack)-1] {
			return s.syntax(at, "end tag does not match its start tag")
		}
		s.state = xEndTail
		return s.step(at, r)
	case xEndTail:
		switch {
		case r == '>':
			s.closeElement()
		case !isSpace(r):
			return s.syntax(at, "%s where '>' should be", quoteRune(r))
		}
	case xRef:
		switch {
		case r == '#':
			s.ref, s.refBase, s.refDigits, s.state = 0, 0, 0, xCharRef
		case isNameStart(r):
			s.entN, s.state = 0, xEntity
			return s.step(at, r)
		default:
			return s.syntax(at, "'&' not starting a reference (write &amp;)")
		}
	case xEntity:
		if r == ';' {
			switch string(s.ent[:s.entN]) {
			case "lt", "gt", "amp", "apos", "quot":
				return s.endRef(at)
			}
		} else if r < utf8.RuneSelf && isNameChar(r) && s.entN < len(s.ent) {
			s.ent[s.entN] = byte(r)
			s.entN++
			return nil
		}
		return s.refuse(at, "entity reference refused (only &lt; &gt; &amp; &apos; &quot; and character references are accepted)")
	case xCharRef:
		return s.charRef(at, r)
	}
	return nil
}

// markup takes the character after '<'.
func (s *xmlScanner) markup(at int, r rune) error {
	switch {
	case r == '/':
		if s.stage != 1 {
			return s.syntax(at, "end tag without a start tag")
		}
		s.beginName()
		s.state = xEndName
	case r == '!':
		s.state = xBang
	case r == '?':
		if !s.declOK || s.stage != 0 {
			return s.refuse(at, "processing instruction refused (only the XML declaration, at the very start, is accepted)")
		}
		s.decl, s.state = s.decl[:0], xDecl
	case isNameStart(r):
		if s.stage == 2 {
			return s.syntax(at, "a second root element")
		}
		if len(s.stack) >= s.lim.MaxDepth {
			return s.limit(at, "nested deeper than %d levels", s.lim.MaxDepth, "max_depth")
		}
		s.stage = 1
		s.beginName()
		s.state = xStartName
		return s.nameChar(at, r)
	default:
		return s.syntax(at, "%s after '<'", quoteRune(r))
	}
	return nil
}

func (s *xmlScanner) nameChar(at int, r rune) error {
	if r == ':' {
		if s.nameLen == 0 || s.colon > 0 {
			return s.syntax(at, "a name that is not a qualified name (one ':' at most, not first or last)")
		}
		s.colon = s.nameLen
	}
	if s.nameLen++; s.nameLen > s.lim.MaxNameLength {
		return s.limit(at, "name longer than %d characters", s.lim.MaxNameLength, "max_name_length")
	}
	if r < utf8.RuneSelf {
		s.hash.writeByte(byte(r))
	} else {
		var b [utf8.UTFMax]byte
		s.hash.write(b[:utf8.EncodeRune(b[:], r)])
	}
	return nil
}

// beginName starts reading a name.
func (s *xmlScanner) beginName() {
	s.hash.reset()
	s.nameLen, s.colon = 0, 0
}

// endName ends a name at the character at offset at, which follows it.
func (s *xmlScanner) endName(at int) error {
	if s.colon > 0 && s.colon == s.nameLen-1 {
		return s.syntax(at, "a name that is not a qualified name (one ':' at most, not first or last)")
	}
	return nil
}

// openElement ends a start tag.
func (s *xmlScanner) openElement() {
	s.names.close(s.attrs)
	s.text, s.brackets, s.state = 0, 0, xText
}

// closeElement ends the innermost element.
func (s *xmlScanner) closeElement() {
	s.stack = s.stack[:len(s.stack)-1]
	s.text, s.brackets, s.state = 0, 0, xText
	if len(s.stack) == 0 {
		s.stage, s.state = 2, xMisc
	}
}

func (s *xmlScanner) charRef(at int, r rune) error {
	if r == 'x' && s.refBase == 0 {
		s.refBase = 16
		return nil
	}
	if r == ';' && s.refDigits > 0 {
		if !isChar(s.ref) {
			return s.syntax(at, "character reference to %U, not an XML character", s.ref)
		}
		return s.endRef(at)
	}
	if s.refBase == 0 {
		s.refBase = 10
	}
	d := rune(-1)
	switch {
	case '0' <= r && r <= '9':
		d = r - '0'
	case s.refBase == 16 && 'a' <= r && r <= 'f':
		d = r - 'a' + 10
	case s.refBase == 16 && 'A' <= r && r <= 'F':
		d = r - 'A' + 10
	default:
		return s.syntax(at, "%s in a character reference", quoteRune(r))
	}
	s.refDigits++
	if s.ref = s.ref*s.refBase + d; s.ref > utf8.MaxRune {
		return s.syntax(at, "character reference beyond U+10FFFF")
	}
	return nil
}

// endRef counts the character a reference stands for where it stands.
func (s *xmlScanner) endRef(at int) error {
	s.state = s.ret
	if s.ret == xAttrValue {
		return s.countN(at, 1, &s.val)
	}
	return s.countN(at, 1, &s.text)
}

// xmlDecl is the XML declaration's grammar (XML 1.0 §2.8), version 1.0
// only, as encoding/xml takes; the encoding is checked apart.
var xmlDecl = regexp.MustCompile(`^xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.0"|'1\.0')` +
	`(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?` +
	`(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*$`)

// declaration checks the XML declaration, d being what lies between
// "<?" and "?>".
func (s *xmlScanner) declaration(at int, d []byte) error {
	if !xmlDecl.Match(d) {
		if len(d) >= 3 && string(d[:3]) == "xml" && (len(d) == 3 || isSpace(rune(d[3]))) {
			return s.syntax(at, "malformed XML declaration (or a version other than 1.0)")
		}
		return s.refuse(at, "processing instruction refused (only the XML declaration, at the very start, is accepted)")
	}
	// The grammar matched: "encoding", if there, is followed by spaces,
	// '=', spaces and the quoted name.
	if _, enc, ok := bytes.Cut(d, []byte("encoding")); ok {
		enc = bytes.TrimLeft(enc, " \t\r\n=")
		if end := bytes.IndexByte(enc[1:], enc[0]); end >= 0 && !bytes.EqualFold(enc[1:1+end], []byte("utf-8")) {
			return s.refuse(at, "encoding %q refused (only UTF-8 is checked)", enc[1:1+end])
		}
	}
	return nil
}

// close checks that the body ended where the document may end.
func (s *xmlScanner) close() error {
	if s.off == 0 || s.stage == 2 && s.state == xMisc && s.u8want == 0 {
		return nil
	}
	var where string
	switch s.state {
	case xMisc:
		where = "before the root element"
	case xText:
		where = fmt.Sprintf("with %d elements open", len(s.stack))
	case xComment, xCommentDash, xCommentEnd:
		where = "inside a comment"
	case xCData:
		where = "inside a CDATA section"
	case xRef, xEntity, xCharRef:
		where = "inside a reference"
	case xDecl:
		where = "inside the XML declaration"
	case xLt, xBang, xExpect:
		where = "inside markup"
	default:
		where = "inside a tag"
	}
	if s.u8want != 0 {
		where = "inside a UTF-8 sequence"
	}
	return portico.Errorf(portico.EInvalid, "request body is not well-formed XML: it ends %s at byte %d", where, s.off)
}

// isChar reports whether r is an XML Char (XML 1.0 §2.2).
func isChar(r rune) bool {
	if r < 0x20 {
		return r == '\t' || r == '\n' || r == '\r'
	}
	return r <= 0xD7FF || 0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= utf8.MaxRune
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// isNameStart reports whether r may start a Name (XML 1.0 fifth edition
// §2.3, NameStartChar).
func isNameStart(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_' || r == ':'
	case r < 0xC0:
		return false
	}
	return r <= 0xD6 || 0xD8 <= r && r <= 0xF6 || 0xF8 <= r && r <= 0x2FF ||
		0x370 <= r && r <= 0x37D || 0x37F <= r && r <= 0x1FFF || 0x200C <= r && r <= 0x200D ||
		0x2070 <= r && r <= 0x218F || 0x2C00 <= r && r <= 0x2FEF || 0x3001 <= r && r <= 0xD7FF ||
		0xF900 <= r && r <= 0xFDCF || 0xFDF0 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0xEFFFF
}

// isNameChar reports whether r may follow in a Name (NameChar).
func isNameChar(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == ':' || r == '-' || r == '.'
	}
	return isNameStart(r) || r == 0xB7 || 0x300 <= r && r <= 0x36F || 0x203F <= r && r <= 0x2040
}

// quoteRune shows a character of the body in a message.
func quoteRune(r rune) string {
	if r < utf8.RuneSelf {
		return quoteByte(byte(r))
	}
	return fmt.Sprintf("%U", r)
}
