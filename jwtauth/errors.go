package jwtauth

import (
	"errors"

	"github.com/portico-gw/portico"
)

// Reason is a short, client-safe word that says why a token was refused,
// for the gateway's 401 body (for example {"error": "...", "reason":
// "token_expired"}). It travels in the chain of the *portico.Error that
// Verify returns: ReasonOf reads it, and so does errors.As with an
// interface{ Reason() string } target, for a caller that does not import
// this package.
type Reason string

// Reasons a token is refused. Every one comes with code
// portico.EUnauthorized except KeysUnavailable (portico.EUnavailable).
const (
	Malformed         Reason = "malformed"           // not a compact JWS of at most MaxTokenBytes, bad base64 or JSON, duplicate names
	AlgNotAllowed     Reason = "alg_not_allowed"     // "none", or an algorithm the issuer does not pin
	UnsupportedHeader Reason = "unsupported_header"  // a "crit" or "b64" header: extensions Portico does not implement
	UnknownIssuer     Reason = "unknown_issuer"      // no "iss", or one the Verifier does not trust
	UnknownKID        Reason = "unknown_kid"         // no key of the issuer has the token's "kid" (after a refresh, when one was allowed)
	BadSignature      Reason = "bad_signature"       // the signature does not verify with the issuer's key
	TokenExpired      Reason = "token_expired"       // "exp" is more than the leeway in the past
	NotYetValid       Reason = "token_not_yet_valid" // "nbf", or "iat", more than the leeway in the future
	BadAudience       Reason = "bad_audience"        // the issuer names audiences and "aud" has none of them
	MissingClaim      Reason = "missing_claim"       // no "exp", or no application claim
	BadClaim          Reason = "bad_claim"           // a registered or application claim of the wrong type, or an empty application
	KeysUnavailable   Reason = "keys_unavailable"    // the issuer's JWKS has never been fetched: a 503, try again
)

// reasonError carries a Reason below a *portico.Error; err is the cause,
// for logs only.
type reasonError struct {
	reason Reason
	err    error
}

func (e *reasonError) Error() string {
	if e.err == nil {
		return string(e.reason)
	}
	return string(e.reason) + ": " + e.err.Error()
}

func (e *reasonError) Unwrap() error { return e.err }

// Reason returns the reason as a string, so that a caller can read it
// through errors.As with an interface{ Reason() string } target.
func (e *reasonError) Reason() string { return string(e.reason) }

// ReasonOf returns the Reason in err's chain, "" when there is none.
func ReasonOf(err error) Reason {
	var r *reasonError
	if errors.As(err, &r) {
		return r.reason
	}
	return ""
}

// refuse returns the error Verify answers with: a *portico.Error whose
// Message is client-safe, and whose chain holds the reason and the cause.
func refuse(reason Reason, msg string, cause error) error {
	code := portico.EUnauthorized
	if reason == KeysUnavailable {
		code = portico.EUnavailable
	}
	return &portico.Error{Code: code, Message: msg, Err: &reasonError{reason: reason, err: cause}}
}
