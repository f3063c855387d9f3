package main

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The auth and policy targets are the portico target with one thing
// changed: how the application proves itself (Basic, a JWT, an OAuth2
// access token in place of the API key), or a policy on a POSTed body.
// Each is opt-in (make bench-auth runs them beside nginx and portico), and
// each is compared with portico: a cached JWT or Basic should cost at most
// 5 % of its throughput (see goals).
//
// A JWT's first sight (its signature checked, then cached) cannot be
// measured with wrk, which sends one fixed header: jwtauth's
// BenchmarkVerifyFirstSight and BenchmarkVerifyRS256FirstSight measure it
// (go test -run '^$' -bench FirstSight ./jwtauth).

// benchIssuer is the "iss" of the JWTs the bench signs.
const benchIssuer = "https://issuer.bench.portico.invalid/"

// benchBodyBytes is the size of the JSON body the policy targets POST.
const benchBodyBytes = 2048

// jwtFirstSightNote says where a JWT's first sight is measured, for the
// report's lines of the JWT targets.
const jwtFirstSightNote = "first sight: go test -run '^$' -bench FirstSight ./jwtauth"

// authTargets returns the auth and policy targets, all opt-in.
func authTargets() []*target {
	ts := []*target{
		porticoAPITarget("portico-basic",
			"wrk → Portico as portico, Basic auth (application ID : API key) → backend",
			func() (benchAPI, error) {
				return benchAPI{fields: map[string]any{"auth": []string{"basic"}}, credential: basicCredential}, nil
			}),
		porticoAPITarget("portico-jwt",
			"wrk → Portico as portico, JWT auth: one HS256 token, the same every request (the cached path; "+jwtFirstSightNote+") → backend",
			hs256API),
		porticoAPITarget("portico-jwt-rs256",
			"wrk → Portico as portico, JWT auth: one RS256 token (2048-bit key), the same every request (cached; "+jwtFirstSightNote+") → backend",
			rs256API),
		porticoAPITarget("portico-oauth2",
			"wrk → Portico as portico, OAuth2: one access token from POST /oauth2/token (client credentials), the same every request → backend",
			func() (benchAPI, error) {
				return benchAPI{fields: map[string]any{"auth": []string{"oauth2"}}, credential: oauth2Credential}, nil
			},
			"--oauth2-token-lifetime", "24h"),
		porticoAPITarget("portico-threat",
			fmt.Sprintf("wrk POST of a %d-byte JSON body → Portico as portico, threat protection at its defaults → backend", benchBodyBytes),
			func() (benchAPI, error) {
				return postAPI(map[string]any{"threat_protection": map[string]any{}}), nil
			}),
		porticoAPITarget("portico-validate",
			fmt.Sprintf("wrk POST of a %d-byte JSON body → Portico as portico, the request validated against the API's OpenAPI document (validate_requests) → backend", benchBodyBytes),
			func() (benchAPI, error) {
				api := postAPI(map[string]any{"validate_requests": true})
				api.document = []byte(benchDocument)
				return api, nil
			}),
		porticoAPITarget("portico-json2xml",
			fmt.Sprintf("wrk POST of a %d-byte JSON body → Portico as portico, converted to XML (conversion request json_to_xml) → backend", benchBodyBytes),
			func() (benchAPI, error) {
				return postAPI(map[string]any{"conversion": map[string]any{"request": "json_to_xml"}}), nil
			}),
	}
	for _, t := range ts {
		t.optIn = true
	}
	return ts
}

// postAPI is the API of key auth with policies whose requests are POSTs
// of benchJSON.
func postAPI(policies map[string]any) benchAPI {
	return benchAPI{
		fields:      map[string]any{"policies": policies},
		body:        benchJSON(benchBodyBytes),
		contentType: "application/json",
	}
}

// basicCredential is the Authorization header of HTTP Basic auth with the
// application's ID as user and its API key as password.
func basicCredential(_ context.Context, _ string, app benchApp) (string, error) {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(app.id+":"+app.key)), nil
}

// hs256API is an API of jwt auth trusting benchIssuer with a fresh HS256
// secret, whose credential is a token signed with it.
func hs256API() (benchAPI, error) {
	secret := []byte(randomHex(32))
	return benchAPI{
		fields: map[string]any{
			"auth":        []string{"jwt"},
			"jwt_issuers": []map[string]any{{"issuer": benchIssuer, "key": string(secret), "algorithms": []string{"HS256"}}},
		},
		credential: func(_ context.Context, _ string, app benchApp) (string, error) {
			tok, err := signJWT("HS256", jwtClaims(app.id, time.Now()), func(in []byte) ([]byte, error) {
				m := hmac.New(sha256.New, secret)
				m.Write(in)
				return m.Sum(nil), nil
			})
			return "Authorization: Bearer " + tok, err
		},
	}, nil
}

// rs256API is an API of jwt auth trusting benchIssuer with the public half
// of a fresh 2048-bit RSA key, whose credential is a token signed with it.
func rs256API() (benchAPI, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return benchAPI{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return benchAPI{}, err
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return benchAPI{
		fields: map[string]any{
			"auth":        []string{"jwt"},
			"jwt_issuers": []map[string]any{{"issuer": benchIssuer, "key": pub, "algorithms": []string{"RS256"}}},
		},
		credential: func(_ context.Context, _ string, app benchApp) (string, error) {
			tok, err := signJWT("RS256", jwtClaims(app.id, time.Now()), func(in []byte) ([]byte, error) {
				h := sha256.Sum256(in)
				return rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
			})
			return "Authorization: Bearer " + tok, err
		},
	}, nil
}

// jwtClaims are the claims of the bench's tokens for application app,
// issued at now and valid for a day: longer than any benchmark.
func jwtClaims(app string, now time.Time) map[string]any {
	return map[string]any{
		"iss": benchIssuer,
		"sub": app,
		"iat": now.Unix(),
		"exp": now.Add(24 * time.Hour).Unix(),
	}
}

// signJWT returns the compact JWS of claims with header {"alg":alg,
// "typ":"JWT"}, signed by sign.
func signJWT(alg string, claims map[string]any, sign func([]byte) ([]byte, error)) (string, error) {
	head, err := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	in := enc.EncodeToString(head) + "." + enc.EncodeToString(body)
	sig, err := sign([]byte(in))
	if err != nil {
		return "", err
	}
	return in + "." + enc.EncodeToString(sig), nil
}

// oauth2Credential fetches an access token for app from the gateway's
// token endpoint (client credentials, the application's ID and key as
// Basic credentials), retrying until the gateway knows the application,
// and returns its Authorization header.
func oauth2Credential(ctx context.Context, gw string, app benchApp) (string, error) {
	basic, _ := basicCredential(ctx, gw, app)
	headers := []string{basic, "Content-Type: application/x-www-form-urlencoded"}
	var token string
	decode := func(resp *http.Response, body []byte) error {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s, body %q", resp.Status, clip(body, 500))
		}
		var r struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.AccessToken == "" {
			return fmt.Errorf("no access_token in %q", clip(body, 500))
		}
		token = r.AccessToken
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := checkRequest(ctx, http.MethodPost, "http://"+gw+"/oauth2/token", headers, []byte("grant_type=client_credentials"), decode)
		if err == nil {
			return "Authorization: Bearer " + token, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return "", fmt.Errorf("no OAuth2 token after 10s: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// benchJSON returns a JSON order of exactly size bytes (when size is at
// least the 100 or so bytes of an order without items): a customer,
// items of four members each, and a note that pads it. Every member name
// is an XML name, so that it converts to XML as it is.
func benchJSON(size int) []byte {
	const (
		head = `{"order":{"id":"bench-1","customer":{"name":"Ada Lovelace","email":"ada@example.com"},"items":[`
		mid  = `],"note":"`
		end  = `"}}`
	)
	var items strings.Builder
	for i := 1; ; i++ {
		item := fmt.Sprintf(`{"sku":"SKU-%05d","qty":%d,"price":%d.99,"gift":%t}`, i, i%7+1, i%50, i%3 == 0)
		sep := ""
		if i > 1 {
			sep = ","
		}
		if len(head)+items.Len()+len(sep)+len(item)+len(mid)+len(end) > size {
			break
		}
		items.WriteString(sep + item)
	}
	b := head + items.String() + mid
	return []byte(b + strings.Repeat("n", max(0, size-len(b)-len(end))) + end)
}

// benchDocument is the OpenAPI document of the portico-validate target's
// API: GET /hello (the readiness check) and POST /hello of an order as
// benchJSON writes it, every member checked (patterns, bounds, no
// members beyond those named).
const benchDocument = `{
  "openapi": "3.1.0",
  "info": {"title": "bench", "version": "v1"},
  "paths": {
    "/hello": {
      "get": {"responses": {"200": {"description": "hello"}}},
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}},
        "responses": {"200": {"description": "hello"}}
      }
    }
  },
  "components": {"schemas": {
    "Envelope": {"type": "object", "required": ["order"], "additionalProperties": false,
      "properties": {"order": {"$ref": "#/components/schemas/Order"}}},
    "Order": {"type": "object", "required": ["id", "customer", "items"], "additionalProperties": false, "properties": {
      "id": {"type": "string", "pattern": "^[a-z]+-[0-9]+$"},
      "customer": {"type": "object", "required": ["name", "email"], "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "email": {"type": "string", "pattern": "^[^@]+@[^@]+$"}}},
      "items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"$ref": "#/components/schemas/Item"}},
      "note": {"type": "string", "maxLength": 65536}}},
    "Item": {"type": "object", "required": ["sku", "qty", "price"], "additionalProperties": false, "properties": {
      "sku": {"type": "string", "pattern": "^SKU-[0-9]{5}$"},
      "qty": {"type": "integer", "minimum": 1, "maximum": 1000},
      "price": {"type": "number", "minimum": 0},
      "gift": {"type": "boolean"}}}
  }}
}
`
