package configfile

import (
	"fmt"
	"strings"

	"github.com/portico-gw/portico"
)

// Error is a refusal of a file: what is wrong and where. It unwraps to a
// *portico.Error (Code, Field and this error's text as the message), so
// that portico.ErrorCodeOf and ErrorMessageOf read it as any domain
// error.
type Error struct {
	// Code is portico.EInvalid, or portico.ETooLarge for a file over a
	// size bound.
	Code portico.ErrorCode
	// Line (from 1) is where the offending value starts in the file; 0
	// when unknown.
	Line int
	// Field is the path of the offending value from the file's root, such
	// as "apis[2].endpoint.targets[0].url"; "" for the file as a whole.
	Field string
	// Message says what is wrong, for the file's author.
	Message string
}

// Error implements the error interface: "line L: FIELD: MESSAGE", with
// the parts that are known.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the *portico.Error the admin API maps to a status.
func (e *Error) Unwrap() error {
	return &portico.Error{Code: e.Code, Field: e.Field, Message: e.Error()}
}

func errorf(line int, field, format string, args ...any) *Error {
	return &Error{Code: portico.EInvalid, Line: line, Field: field, Message: fmt.Sprintf(format, args...)}
}

// truncate cuts s to at most n bytes on a character boundary, marking
// the cut, so that a message quoting the file stays readable.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
