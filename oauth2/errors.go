package oauth2

import "github.com/portico-gw/portico"

// Reason is a short, client-safe word that says why the Verifier refused a
// token, for the gateway's 401 body and its logs. It travels in the chain
// of the *portico.Error VerifyToken returns: ReasonOf reads it, and so
// does errors.As with an interface{ Reason() string } target, for a
// caller that does not import this package.
type Reason string

// Reasons a token is refused. Every one comes with code
// portico.EUnauthorized except StoreUnavailable (portico.EUnavailable).
const (
	Malformed        Reason = "malformed"         // not Prefix and 43 canonical base64url characters: no store was read
	UnknownToken     Reason = "unknown_token"     // well-formed, but the store has no such token (never issued, or dropped after its expiry)
	TokenExpired     Reason = "token_expired"     // the token's lifetime has passed
	StoreUnavailable Reason = "store_unavailable" // the token store could not be read: a 503, try again
)

// ReasonOf returns the Reason in err's chain, "" when there is none.
func ReasonOf(err error) Reason { return Reason(portico.ErrorReasonOf(err)) }

// Refusals that carry no cause are made once: the hot path of a refused
// token allocates nothing.
var (
	errMalformed    = refuse(Malformed, "malformed access token", nil)
	errUnknownToken = refuse(UnknownToken, "invalid access token", nil)
	errTokenExpired = refuse(TokenExpired, "the access token has expired", nil)
)

// refuse returns the error VerifyToken answers with: a *portico.Error whose
// Message is client-safe, and whose chain holds the reason and the cause.
func refuse(reason Reason, msg string, cause error) error {
	code := portico.EUnauthorized
	if reason == StoreUnavailable {
		code = portico.EUnavailable
	}
	return &portico.Error{Code: code, Message: msg, Err: &portico.ReasonError{Why: string(reason), Err: cause}}
}
