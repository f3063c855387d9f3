package portico

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAuthMethodsJSON: a list reads as a list, a single string (as stored
// before lists) as a list of one; anything else is an error.
func TestAuthMethodsJSON(t *testing.T) {
	for in, want := range map[string]AuthMethods{
		`"api_key"`:           {AuthAPIKey},
		`"none"`:              {AuthNone},
		`["jwt", "api_key"]`:  {AuthJWT, AuthAPIKey},
		` [ "basic" ] `:       {AuthBasic},
		`[]`:                  {},
		`null`:                nil,
		`"\u0061pi_key"`:      {AuthAPIKey},
		`["oauth2","oauth2"]`: {AuthOAuth2, AuthOAuth2}, // read as sent; Validate refuses it
	} {
		var m AuthMethods
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !slices.Equal(m, want) {
			t.Errorf("%s read as %q, want %q", in, m, want)
		}
	}
	for _, in := range []string{`1`, `{"a":1}`, `[1]`, `"unterminated`, `[["api_key"]]`} {
		var m AuthMethods
		if err := json.Unmarshal([]byte(in), &m); err == nil {
			t.Errorf("%s read as %q, want an error", in, m)
		}
	}
	b, _ := json.Marshal(API{Auth: AuthMethods{AuthAPIKey, AuthJWT}})
	if !strings.Contains(string(b), `"auth":["api_key","jwt"]`) {
		t.Errorf("API marshals auth as %s", b)
	}
}

// TestAuthMethodsMeaning: only ["none"] is open; an empty list is the
// default, api_key, never open.
func TestAuthMethodsMeaning(t *testing.T) {
	if (AuthMethods{}).Open() || AuthMethods(nil).Open() || !(AuthMethods{AuthNone}).Open() ||
		(AuthMethods{AuthNone, AuthJWT}).Open() {
		t.Error("Open")
	}
	if !AuthMethods(nil).Has(AuthAPIKey) || AuthMethods(nil).Has(AuthJWT) || !(AuthMethods{AuthJWT}).Has(AuthJWT) ||
		(AuthMethods{AuthJWT}).Has(AuthAPIKey) {
		t.Error("Has")
	}
}

func TestValidateAuth(t *testing.T) {
	iss := JWTIssuer{Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks.json", Algorithms: []string{RS256}}
	secret := JWTIssuer{Issuer: "https://hs.example", Key: strings.Repeat("s", 32), Algorithms: []string{HS256}}
	for _, c := range []struct {
		name  string
		api   API
		field string // "" for valid
	}{
		{"api_key", API{Auth: AuthMethods{AuthAPIKey}}, ""},
		{"every method", API{Auth: AuthMethods{AuthAPIKey, AuthBasic, AuthJWT, AuthOAuth2}, JWTIssuers: []JWTIssuer{iss, secret}}, ""},
		{"none", API{Auth: AuthMethods{AuthNone}}, ""},
		{"empty", API{Auth: AuthMethods{}}, "auth"},
		{"unknown", API{Auth: AuthMethods{AuthAPIKey, "digest"}}, "auth[1]"},
		{"none with another", API{Auth: AuthMethods{AuthAPIKey, AuthNone}}, "auth[1]"},
		{"twice", API{Auth: AuthMethods{AuthBasic, AuthBasic}}, "auth[1]"},
		{"jwt without issuers", API{Auth: AuthMethods{AuthJWT}}, "jwt_issuers"},
		{"issuers without jwt", API{Auth: AuthMethods{AuthAPIKey}, JWTIssuers: []JWTIssuer{iss}}, "jwt_issuers"},
		{"bad issuer", API{Auth: AuthMethods{AuthJWT}, JWTIssuers: []JWTIssuer{iss, {Issuer: "x", Algorithms: []string{"none"}, Key: "k"}}}, "jwt_issuers[1].algorithms"},
		{"issuer twice", API{Auth: AuthMethods{AuthJWT}, JWTIssuers: []JWTIssuer{secret, iss, iss}}, "jwt_issuers[2].issuer"},
		{"open API forwarding credentials", API{Auth: AuthMethods{AuthNone}, ForwardCredentials: true}, "auth"},
		{"open API naming the application", API{Auth: AuthMethods{AuthNone}, IdentityHeaders: true}, "auth"},
	} {
		err := c.api.ValidateAuth()
		if got := ErrorFieldOf(err); got != c.field || (c.field != "" && ErrorCodeOf(err) != EInvalid) {
			t.Errorf("%s: error %v names %q, want %q", c.name, err, got, c.field)
		}
	}
}

func TestPoliciesValidate(t *testing.T) {
	for _, c := range []struct {
		name  string
		p     Policies
		field string
	}{
		{"empty", Policies{}, ""},
		{"all", Policies{
			IPRules: &IPRules{Allow: []string{"10.0.0.0/8"}}, CORS: &CORS{AllowedOrigins: []string{"https://a.example"}},
			ThreatProtection: &ThreatProtection{MaxBodyBytes: 1000}, Headers: &HeaderRules{Request: []HeaderOp{{Op: HeaderSet, Name: "X-App", Value: "$(application)"}}},
			Conversion: &Conversion{Request: ConvertJSONToXML},
			Resources:  []ResourcePolicies{{Pattern: "POST /orders/*", Conversion: &Conversion{}}},
		}, ""},
		{"bad cidr", Policies{IPRules: &IPRules{Deny: []string{"10.0.0.0/8", "nonsense"}}}, "policies.ip_rules.deny[1]"},
		{"bad origin", Policies{CORS: &CORS{AllowedOrigins: []string{"null"}}}, "policies.cors.allowed_origins[0]"},
		{"reserved header", Policies{Headers: &HeaderRules{Response: []HeaderOp{{Op: HeaderRemove, Name: "X-Request-Id"}}}}, "policies.headers.response[0].name"},
		{"bad conversion", Policies{Conversion: &Conversion{Request: "yaml"}}, "policies.conversion.request"},
		{"max age in milliseconds", Policies{CORS: &CORS{AllowedOrigins: []string{"https://a.example"}, MaxAge: Duration(600 * time.Millisecond)}}, "policies.cors.max_age"},
		{"bad pattern", Policies{Resources: []ResourcePolicies{{Pattern: "orders", Conversion: &Conversion{}}}}, "policies.resources[0].pattern"},
		{"pattern twice", Policies{Resources: []ResourcePolicies{{Pattern: "/a", Conversion: &Conversion{}}, {Pattern: "/a", Headers: &HeaderRules{}}}}, "policies.resources[1].pattern"},
		{"resource without policy", Policies{Resources: []ResourcePolicies{{Pattern: "/a"}}}, "policies.resources[0].pattern"},
		{"bad resource threat", Policies{Resources: []ResourcePolicies{{Pattern: "/a", ThreatProtection: &ThreatProtection{MaxBodyBytes: -1}}}}, "policies.resources[0].threat_protection.max_body_bytes"},
	} {
		err := c.p.Validate()
		if got := ErrorFieldOf(err); got != c.field {
			t.Errorf("%s: error %v names %q, want %q", c.name, err, got, c.field)
		}
	}
}

// TestAPIRedacted: an HS256 secret never shows; the API itself is left
// as it was.
func TestAPIRedacted(t *testing.T) {
	secret := strings.Repeat("s", 32)
	a := &API{Auth: AuthMethods{AuthJWT}, JWTIssuers: []JWTIssuer{{Issuer: "i", Key: secret, Algorithms: []string{HS256}}}}
	r := a.Redacted()
	if b, _ := json.Marshal(r); strings.Contains(string(b), secret) {
		t.Fatalf("redacted API shows the secret: %s", b)
	}
	if a.JWTIssuers[0].Key != secret {
		t.Fatal("Redacted changed the API")
	}
	if plain := (&API{}); plain.Redacted() != plain {
		t.Fatal("an API without issuers is copied for nothing")
	}
}
