package jwtauth

import "github.com/portico-gw/portico"

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

// ReasonOf returns the Reason in err's chain, "" when there is none.
func ReasonOf(err error) Reason { return Reason(portico.ErrorReasonOf(err)) }

// refuse returns the error Verify answers with: a *portico.Error whose
// Message is client-safe, and whose chain holds the reason and the cause.
func refuse(reason Reason, msg string, cause error) error {
	code := portico.EUnauthorized
	if reason == KeysUnavailable {
		code = portico.EUnavailable
	}
	return &portico.Error{Code: code, Message: msg, Err: &portico.ReasonError{Why: string(reason), Err: cause}}
}
