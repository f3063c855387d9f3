package portico

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an Error. The admin API and the gateway map codes to
// HTTP status codes at the edge; the rest of Portico only sees codes.
type ErrorCode string

// Error codes used across Portico.
const (
	EInvalid        ErrorCode = "invalid"            // 400: the input is malformed or breaks a rule
	EUnauthorized   ErrorCode = "unauthorized"       // 401: missing or bad credentials or API key
	EForbidden      ErrorCode = "forbidden"          // 403: authenticated but not allowed
	ENotFound       ErrorCode = "not_found"          // 404: no such resource or API
	EConflict       ErrorCode = "conflict"           // 409: clashes with existing state
	ETooLarge       ErrorCode = "too_large"          // 413: request body over the limit
	EUnsupported    ErrorCode = "unsupported"        // 415: a request body in a format not taken
	ERateLimited    ErrorCode = "rate_limited"       // 429: rate limit exceeded
	EQuotaExceeded  ErrorCode = "quota_exceeded"     // 429: hard quota used up
	EInternal       ErrorCode = "internal"           // 500: a bug or an unexpected failure
	EBadGateway     ErrorCode = "bad_gateway"        // 502: the backend could not be reached
	EUnavailable    ErrorCode = "unavailable"        // 503: a dependency (data store) is down
	EGatewayTimeout ErrorCode = "gateway_timeout"    // 504: the backend did not answer in time
	ERequestTimeout ErrorCode = "request_timeout"    // 408: the client sent its request body too slowly
	ENotAllowed     ErrorCode = "method_not_allowed" // 405: a method the gateway never forwards
	ELoopDetected   ErrorCode = "loop_detected"      // 508: the request came back through its own backend
)

// Error is Portico's domain error. Message is safe to show to a client;
// Err, when set, is the underlying cause and is never shown to a client.
type Error struct {
	Code    ErrorCode
	Message string
	Field   string // the offending input field, for EInvalid and EConflict
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an Error about one input field.
func FieldErrorf(code ErrorCode, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error and "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessageOf returns the client-safe message of err: the message of the
// first *Error in its chain, or a generic text for internal errors.
func ErrorMessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "internal error"
}

// ErrorFieldOf returns the offending field of the first *Error in err's chain.
func ErrorFieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ReasonError, below an *Error, says in one client-safe word why a
// credential was refused ("token_expired", "bad_signature"): the gateway
// puts it in its 401 answers. Err is the underlying cause, for logs only.
// jwtauth and oauth2 refuse tokens with it.
type ReasonError struct {
	Why string
	Err error
}

func (e *ReasonError) Error() string {
	if e.Err == nil {
		return e.Why
	}
	return e.Why + ": " + e.Err.Error()
}

func (e *ReasonError) Unwrap() error { return e.Err }

// Reason returns Why, so that a caller may also read it through errors.As
// with an interface{ Reason() string } target.
func (e *ReasonError) Reason() string { return e.Why }

// ErrorReasonOf returns the reason of the first ReasonError in err's
// chain, "" when there is none.
func ErrorReasonOf(err error) string {
	var r *ReasonError
	if errors.As(err, &r) {
		return r.Why
	}
	return ""
}
