package soap

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/portico-gw/portico"
)

// Error is ParseWSDL's refusal of a document, or BodyElement's of an
// envelope: what is wrong and where. It unwraps to a *portico.Error
// (Code, Field "document", and this error's text as the message), so
// portico.ErrorCodeOf and ErrorMessageOf read it as they read any domain
// error.
type Error struct {
	// Code is portico.EInvalid, or portico.ETooLarge for a document over
	// MaxDocumentBytes.
	Code portico.ErrorCode
	// Path names the offending element from the root, with the prefixes
	// the document writes and the names it gives, such as
	// `/wsdl:definitions/wsdl:binding[@name="CalcSoap"]/wsdl:operation[@name="Add"]`;
	// "" for the document as a whole.
	Path string
	// Line and Column (from 1; the column in characters) place the start
	// of the offending element, or the point where the XML stopped
	// parsing; 0 when unknown. In an envelope they are where the reader
	// was (the end of the offending start tag), the column in bytes.
	Line, Column int
	// Message says what is wrong, in words for the document's author.
	Message string
}

// Error implements the error interface: "at PATH (line L, column C):
// MESSAGE", with the parts that are known.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		fmt.Fprintf(&b, "at %s", truncate(e.Path, 300))
	}
	if e.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "(line %d, column %d)", e.Line, e.Column)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the *portico.Error the admin API maps to a status.
func (e *Error) Unwrap() error {
	return &portico.Error{Code: e.Code, Field: "document", Message: e.Error()}
}

// position returns the line and column (from 1, in characters) of byte
// offset off in doc.
func position(doc []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(doc)))
	before := doc[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + len([]rune(string(before[lineStart:])))
}

// truncate cuts s to at most n bytes, marking the cut, so that a message
// quoting the document stays readable.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}

// quote quotes a name or value of the document for a message: in Go's
// syntax (control characters escaped), cut to 200 bytes.
func quote(s string) string { return fmt.Sprintf("%q", truncate(s, 200)) }
