package jwtauth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jwtauth"
)

// A Verifier trusting one issuer that signs with a shared secret; the
// token is made the way the README's openssl recipe makes it.
func ExampleVerifier() {
	const key = "change-me-to-a-secret-of-32-bytes-or-more"
	v := &jwtauth.Verifier{}
	defer v.Close()
	err := v.Update([]portico.JWTIssuer{{
		Issuer:     "https://id.example.com",
		Key:        key,
		Algorithms: []string{"HS256"},
		Claim:      "client_id",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}

	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc([]byte(`{"iss":"https://id.example.com","client_id":"mobile-app","exp":1800003600}`))
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(input))
	token := input + "." + enc(mac.Sum(nil))

	now := time.Unix(1_800_000_000, 0)
	r, err := v.Verify(context.Background(), token, now)
	fmt.Println(r.Application, r.Issuer, r.Expires.UTC().Format(time.RFC3339), err)

	_, err = v.Verify(context.Background(), token, now.Add(2*time.Hour))
	fmt.Println(portico.ErrorCodeOf(err), jwtauth.ReasonOf(err), portico.ErrorMessageOf(err))
	// Output:
	// mobile-app https://id.example.com 2027-01-15T09:00:00Z <nil>
	// unauthorized token_expired the token has expired
}
