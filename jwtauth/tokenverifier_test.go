package jwtauth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jwtauth"
)

func TestNewTokenVerifier(t *testing.T) {
	genKeys(t)
	srv := newJWKSServer(t, jwk(&rsaKey.PublicKey, "r1", "RS256"))
	tv, err := jwtauth.NewTokenVerifier([]portico.JWTIssuer{
		{Issuer: issA, JWKSURL: srv.URL, Algorithms: []string{"RS256"}},
		{Issuer: issHS, Key: secret, Algorithms: []string{"HS256"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tv.Close()
	ctx := context.Background()
	exp := now.Add(time.Hour)
	id, err := tv.VerifyToken(ctx, sign(t, "HS256", "", []byte(secret), map[string]any{"iss": issHS, "sub": "app-1", "exp": exp.Unix()}), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (portico.TokenIdentity{Issuer: issHS, Application: "app-1", Expires: exp}); id.Issuer != want.Issuer || id.Application != want.Application || !id.Expires.Equal(want.Expires) || id.KeyID != "" || id.Plans != nil {
		t.Errorf("identity %+v, want %+v", id, want)
	}
	// The JWKS issuer: the first fetch runs in the background; the token waits for it.
	if id, err := tv.VerifyToken(ctx, sign(t, "RS256", "r1", rsaKey, map[string]any{"iss": issA, "sub": "app-2", "exp": exp.Unix()}), now); err != nil || id.Application != "app-2" {
		t.Fatalf("JWKS token: %+v, %v", id, err)
	}

	_, err = tv.VerifyToken(ctx, sign(t, "HS256", "", []byte(secret), map[string]any{"iss": issHS, "sub": "app-1", "exp": now.Add(-time.Hour).Unix()}), now)
	var pe *portico.Error
	var r interface{ Reason() string }
	if !errors.As(err, &pe) || pe.Code != portico.EUnauthorized || !errors.As(err, &r) || r.Reason() != string(jwtauth.TokenExpired) {
		t.Errorf("expired token: %v, want unauthorized with reason token_expired", err)
	}
}

func TestNewRefusesBadIssuers(t *testing.T) {
	if _, err := jwtauth.New([]portico.JWTIssuer{{Issuer: issHS, Key: "short", Algorithms: []string{"HS256"}}}); err == nil {
		t.Fatal("New took an HS256 secret too short")
	}
	if tv, err := jwtauth.NewTokenVerifier([]portico.JWTIssuer{{Issuer: "", Key: secret}}); err == nil || tv != nil {
		t.Fatalf("NewTokenVerifier took an issuer without a name: %v, %v", tv, err)
	}
}

// BenchmarkVerifyTokenCached: BenchmarkVerifyCached through the
// portico.TokenVerifier adapter the gateway calls.
func BenchmarkVerifyTokenCached(b *testing.B) {
	v, _ := benchVerifier(b, 0)
	tv := v.TokenVerifier()
	tok := sign(b, "RS256", "r1", rsaKey, benchClaims(issA))
	ctx := context.Background()
	if _, err := tv.VerifyToken(ctx, tok, now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tv.VerifyToken(ctx, tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTokenVerifierFactoryLogs: the factory's verifiers log a failed key
// fetch (a probe found them silent: the gateway's made no logger).
func TestTokenVerifierFactoryLogs(t *testing.T) {
	var logs syncBuffer
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer broken.Close()
	tv, err := jwtauth.TokenVerifierFactory(slog.New(slog.NewTextHandler(&logs, nil)))([]portico.JWTIssuer{
		{Issuer: issA, JWKSURL: broken.URL, Algorithms: []string{"RS256"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tv.Close()
	genKeys(t)
	tok := sign(t, "RS256", "r1", rsaKey, map[string]any{"iss": issA, "sub": "app", "exp": now.Add(time.Hour).Unix()})
	if _, err := tv.VerifyToken(context.Background(), tok, now); portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("a token of an issuer whose keys never came: %v, want unavailable", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), broken.URL) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), broken.URL) {
		t.Fatalf("no log line names the failed JWKS URL: %q", logs.String())
	}
}
