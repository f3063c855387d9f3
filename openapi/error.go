package openapi

import (
	"fmt"
	"strings"

	yaml "github.com/pb33f/go-yaml"

	"github.com/portico-gw/portico"
)

// Error is Parse's refusal of a document: what is wrong and where. It
// unwraps to a *portico.Error (Code, Field "document", and this error's
// text as the message), so portico.ErrorCodeOf and ErrorMessageOf read
// it as they read any domain error.
type Error struct {
	// Code is portico.EInvalid, or portico.ETooLarge for a document over
	// MaxDocumentBytes.
	Code portico.ErrorCode
	// Pointer is a JSON pointer (RFC 6901) to the offending value, such
	// as "/paths/~1pets~1{id}/get/operationId"; "" for the document as a
	// whole.
	Pointer string
	// Line and Column (from 1) place the offending value in the document
	// as it was given; 0 when unknown.
	Line, Column int
	// Message says what is wrong, in words for the document's author.
	Message string
}

// Error implements the error interface: "at POINTER (line L, column C):
// MESSAGE", with the parts that are known.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Pointer != "" {
		fmt.Fprintf(&b, "at %s", truncate(e.Pointer, 300))
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

// errorAt returns an EInvalid Error about node n, reached by path p.
func errorAt(p path, n *yaml.Node, format string, args ...any) *Error {
	e := &Error{Code: portico.EInvalid, Pointer: p.String(), Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// path is the way from the document's root to a node: mapping keys and
// sequence indexes (as decimal strings). It is kept as a stack while a
// walk descends and rendered as a JSON pointer only for an error.
type path []string

// String renders p as a JSON pointer.
func (p path) String() string {
	if len(p) == 0 {
		return ""
	}
	var b strings.Builder
	for _, s := range p {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
	}
	return b.String()
}

// with returns a copy of p with more elements: a path that outlives the
// walk's stack.
func (p path) with(more ...string) path {
	q := make(path, 0, len(p)+len(more))
	return append(append(q, p...), more...)
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
