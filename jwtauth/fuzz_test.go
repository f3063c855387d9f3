package jwtauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jwtauth"
)

// FuzzVerify: no input makes Verify panic; every refusal is an
// EUnauthorized *portico.Error with a reason; every token accepted carries
// a signature that verifies, checked here with the standard library alone.
func FuzzVerify(f *testing.F) {
	genKeys(f)
	const issES = "https://es.example"
	v := &jwtauth.Verifier{}
	defer v.Close()
	err := v.Update([]portico.JWTIssuer{
		{Issuer: issHS, Key: secret, Algorithms: []string{"HS256"}},
		{Issuer: issES, Key: pemOf(f, &p256Key.PublicKey), Algorithms: []string{"ES256"}, Audience: []string{"portico"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	exp := now.Add(time.Hour).Unix()
	hs := map[string]any{"iss": issHS, "sub": "app-1", "exp": exp}
	es := map[string]any{"iss": issES, "sub": "app-2", "aud": []string{"portico"}, "exp": exp, "nbf": now.Unix()}
	for _, s := range []string{
		sign(f, "HS256", "", []byte(secret), hs),
		sign(f, "HS256", "k", []byte(secret), with(hs, "sub", "ü")),
		sign(f, "ES256", "e", p256Key, es),
		sign(f, "ES256", "", p256Key, with(es, "exp", 1)),
		sign(f, "HS256", "", []byte(pemOf(f, &p256Key.PublicKey)), with(es, "iss", issES)),
		signRaw(f, "none", nil, `{"alg":"none"}`, `{"iss":"`+issHS+`","sub":"x","exp":99999999999}`),
		signRaw(f, "HS256", []byte(secret), `{"alg":"HS256","crit":["b64"],"b64":false}`, `{"iss":"`+issHS+`","sub":"x","exp":99999999999}`),
		signRaw(f, "HS256", []byte(secret), `{"alg":"HS256"}`, `{"iss":"`+issHS+`","sub":"x","sub":"y","exp":99999999999}`),
		"", ".", "..", "a.b.c", "eyJ.eyJ.", strings.Repeat("A", 9000),
	} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		r, err := v.Verify(ctx, token, now)
		if err != nil {
			if portico.ErrorCodeOf(err) != portico.EUnauthorized || jwtauth.ReasonOf(err) == "" || portico.ErrorMessageOf(err) == "" {
				t.Fatalf("refusal %v is not an EUnauthorized error with a reason and a message", err)
			}
			return
		}
		if r.Application == "" || !now.Before(r.Expires.Add(time.Minute)) {
			t.Fatalf("accepted %+v", r)
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d segments", len(parts))
		}
		input := []byte(parts[0] + "." + parts[1])
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatalf("accepted a token whose signature is not base64url: %v", err)
		}
		switch r.Issuer {
		case issHS:
			m := hmac.New(sha256.New, []byte(secret))
			m.Write(input)
			if !hmac.Equal(m.Sum(nil), sig) {
				t.Fatal("accepted an HS256 token whose MAC does not verify")
			}
		case issES:
			d := sha256.Sum256(input)
			if len(sig) != 64 || !ecdsa.Verify(&p256Key.PublicKey, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				t.Fatal("accepted an ES256 token whose signature does not verify")
			}
		default:
			t.Fatalf("accepted a token of issuer %q", r.Issuer)
		}
	})
}
