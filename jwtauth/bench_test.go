package jwtauth_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jwtauth"
)

// benchClaims are the claims of a typical access token (about 800 bytes
// signed with RS256).
func benchClaims(iss string) map[string]any {
	return map[string]any{
		"iss": iss, "sub": "5f1c2a7e-93d4-4b8e-a1f0-6c2d9e8b7a31", "aud": []string{"portico", "https://api.example.com"},
		"client_id": "mobile-app", "scope": "orders:read orders:write profile", "jti": "b6f0e3d2-1c4a-4f5e-9a8b-7c6d5e4f3a2b",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func benchVerifier(b *testing.B, cacheSize int) (*jwtauth.Verifier, *jwksServer) {
	genKeys(b)
	srv := newJWKSServer(b, jwk(&rsaKey.PublicKey, "r1", "RS256"), jwk(&p256Key.PublicKey, "e1", "ES256"), jwk(edKey.Public(), "d1", "EdDSA"))
	v := &jwtauth.Verifier{CacheSize: cacheSize}
	b.Cleanup(func() { v.Close() })
	err := v.Update([]portico.JWTIssuer{
		{Issuer: issA, JWKSURL: srv.URL, Algorithms: []string{"RS256", "ES256", "EdDSA"}, Audience: []string{"portico"}, Claim: "client_id"},
		{Issuer: issHS, Key: secret, Algorithms: []string{"HS256"}, Audience: []string{"portico"}, Claim: "client_id"},
	})
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, "the JWKS", func() bool { return v.Status()[0].Keys > 0 })
	return v, srv
}

// BenchmarkVerifyCached: a token seen before: SHA-256 of the token and a
// map lookup, no parsing. The goal is at most 1 µs.
func BenchmarkVerifyCached(b *testing.B) {
	v, _ := benchVerifier(b, 0)
	tok := sign(b, "RS256", "r1", rsaKey, benchClaims(issA))
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok, now); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCachedParallel: the same on every core, 1,000 tokens
// spread over the cache's shards.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	v, _ := benchVerifier(b, 0)
	ctx := context.Background()
	toks := make([]string, 1000)
	for i := range toks {
		toks[i] = sign(b, "HS256", "", []byte(secret), with(benchClaims(issHS), "jti", strconv.Itoa(i)))
		if _, err := v.Verify(ctx, toks[i], now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(ctx, toks[i%len(toks)], now); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkVerifyRS256FirstSight: a token never seen before (the cache is
// off, so every iteration parses, looks up the kid, verifies an RSA-2048
// signature and checks the claims).
func BenchmarkVerifyRS256FirstSight(b *testing.B) {
	genKeys(b)
	benchFirstSight(b, "RS256", "r1", rsaKey, issA)
}

// BenchmarkVerifyFirstSight: the same for the other algorithm families.
func BenchmarkVerifyFirstSight(b *testing.B) {
	genKeys(b)
	b.Run("ES256", func(b *testing.B) { benchFirstSight(b, "ES256", "e1", p256Key, issA) })
	b.Run("EdDSA", func(b *testing.B) { benchFirstSight(b, "EdDSA", "d1", edKey, issA) })
	b.Run("HS256", func(b *testing.B) { benchFirstSight(b, "HS256", "", []byte(secret), issHS) })
}

func benchFirstSight(b *testing.B, alg, kid string, priv any, iss string) {
	v, _ := benchVerifier(b, -1)
	tok := sign(b, alg, kid, priv, benchClaims(iss))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
