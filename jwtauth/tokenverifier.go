package jwtauth

import (
	"context"
	"log/slog"
	"time"

	"github.com/portico-gw/portico"
)

// This file adapts a Verifier to portico.TokenVerifier, the interface
// the gateway (package proxy) checks bearer tokens through.

// New returns a Verifier with the default settings that trusts issuers:
// Update's validation and errors, and the same goroutines to Close.
func New(issuers []portico.JWTIssuer) (*Verifier, error) {
	v := &Verifier{}
	if err := v.Update(issuers); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// NewTokenVerifier returns New(issuers) as a portico.TokenVerifier, with
// the signature of proxy.Gateway.NewJWTVerifier.
func NewTokenVerifier(issuers []portico.JWTIssuer) (portico.TokenVerifier, error) {
	return TokenVerifierFactory(nil)(issuers)
}

// TokenVerifierFactory returns a NewTokenVerifier whose verifiers log
// their failed key fetches to logger.
func TokenVerifierFactory(logger *slog.Logger) func([]portico.JWTIssuer) (portico.TokenVerifier, error) {
	return func(issuers []portico.JWTIssuer) (portico.TokenVerifier, error) {
		v := &Verifier{Logger: logger}
		if err := v.Update(issuers); err != nil {
			v.Close()
			return nil, err
		}
		return v.TokenVerifier(), nil
	}
}

// VerifyToken is Verify with the answer as a portico.TokenIdentity (its
// KeyID and Plans are empty: they belong to the gateway's own tokens).
func (v *Verifier) VerifyToken(ctx context.Context, token string, now time.Time) (portico.TokenIdentity, error) {
	r, err := v.Verify(ctx, token, now)
	if err != nil {
		return portico.TokenIdentity{}, err
	}
	return portico.TokenIdentity{Issuer: r.Issuer, Application: r.Application, Expires: r.Expires}, nil
}

// TokenVerifier returns v as a portico.TokenVerifier: v itself but for
// Close, which the interface wants without a result.
func (v *Verifier) TokenVerifier() portico.TokenVerifier { return tokenVerifier{v} }

type tokenVerifier struct{ *Verifier }

func (t tokenVerifier) Close() { t.Verifier.Close() }

var _ portico.TokenVerifier = tokenVerifier{}
