package portico

import (
	"context"
	"time"
)

// TokenVerifier checks bearer tokens for the gateway: JWTs of the issuers
// an API trusts (package jwtauth) and the gateway's own OAuth2 access
// tokens (package oauth2). cmd/portico passes the implementations in.
type TokenVerifier interface {
	// VerifyToken returns whom token identifies. A refusal is an *Error:
	// EUnauthorized with a short client-safe message, or EUnavailable when
	// the keys to check it cannot be had; errors.As with
	// interface{ Reason() string } gives a machine-readable reason.
	VerifyToken(ctx context.Context, token string, now time.Time) (TokenIdentity, error)
	// Close stops the verifier's background work.
	Close()
}

// OAuth2Path is where the gateway serves its own OAuth2 endpoints; no
// API may take it or a path under it (in any case).
const OAuth2Path = "/oauth2"

// TokenEndpointPath is the gateway's token endpoint (package oauth2).
const TokenEndpointPath = OAuth2Path + "/token"

// AccessTokenPrefix starts every access token of the gateway's own token
// endpoint (package oauth2), so that the gateway can tell one from any
// other bearer token without a lookup, and keep it from every backend.
const AccessTokenPrefix = "pto_"

// TokenIdentity is what a verified bearer token says.
type TokenIdentity struct {
	Issuer      string
	Application string // the application's ID
	Expires     time.Time

	// Only in the gateway's own OAuth2 tokens:

	// KeyID is the ID of the application key the token was issued
	// against: the token is refused once the key is revoked or gone.
	KeyID string
	// Plans lists the plan IDs the token was issued for (its scope): it
	// is good only for subscriptions under one of them. Empty: any.
	Plans []string
}
