package admin_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// hsSecret is the HS256 secret of the tests' issuer: 40 bytes, over
// portico.MinJWTSecretBytes, and a text no answer may ever show.
const hsSecret = "s3cr3t-HS256-0123456789-abcdefghijklmnop"

// jwtAPI is weatherAPI with jwt and basic auth, an HS256 issuer and every
// kind of policy.
func jwtAPI(context string, plans ...string) map[string]any {
	a := weatherAPI(context, plans...)
	a["auth"] = []any{"jwt", "basic"}
	a["jwt_issuers"] = []any{map[string]any{
		"issuer": "https://idp.example", "algorithms": []any{"HS256"}, "key": hsSecret,
		"audience": []any{"weather"}, "leeway": "30s", "claim": "client_id",
	}}
	a["identity_headers"] = true
	a["policies"] = map[string]any{
		"ip_rules": map[string]any{"allow": []any{"10.0.0.0/8", "192.0.2.7"}, "deny": []any{"10.1.0.0/16"}},
		"cors": map[string]any{"allowed_origins": []any{"https://app.example.com"}, "allowed_methods": []any{"PUT"},
			"allowed_headers": []any{"Authorization"}, "exposed_headers": []any{"X-Total"}, "allow_credentials": true, "max_age": "10m"},
		"threat_protection": map[string]any{"max_body_bytes": 4096, "json": map[string]any{"max_depth": 8}},
		"headers":           map[string]any{"request": []any{map[string]any{"op": "set", "name": "X-App", "value": "$(application)"}}},
		"conversion":        map[string]any{"response": "xml_to_json"},
		"resources": []any{map[string]any{"pattern": "POST /orders/**",
			"headers": map[string]any{"response": []any{map[string]any{"op": "remove", "name": "Server"}}}}},
	}
	return a
}

// privatePEM is a PKCS #8 EC private key, which an issuer's key must never be.
func privatePEM(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestValidateAPIAuthAndPolicies: each auth, issuer and policy field that
// is refused is named, from the API's root, in error.field.
func TestValidateAPIAuthAndPolicies(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	base := jwtAPI("/jwt")
	var a portico.API
	adm.do("POST", "/api/v1/apis", base).want(http.StatusCreated).decode(&a)
	if !slices.Equal(a.Auth, portico.AuthMethods{portico.AuthJWT, portico.AuthBasic}) || len(a.JWTIssuers) != 1 ||
		a.ForwardCredentials || !a.IdentityHeaders || a.Policies == nil || a.Policies.CORS == nil || len(a.Policies.Resources) != 1 {
		t.Fatalf("created %+v", a)
	}
	// Accepted: each method alone, an open API, a JWKS issuer, "*" origins.
	for i, edits := range []map[string]any{
		{"auth": []any{"oauth2"}, "jwt_issuers": nil, "policies": nil},
		{"auth": []any{"basic", "api_key", "oauth2"}, "jwt_issuers": nil},
		{"auth": []any{"none"}, "jwt_issuers": nil, "forward_credentials": nil, "identity_headers": nil},
		{"auth": "none", "jwt_issuers": nil, "forward_credentials": nil, "identity_headers": nil},
		{"jwt_issuers.0.algorithms": []any{"RS256", "ES256"}, "jwt_issuers.0.key": nil, "jwt_issuers.0.jwks_url": "https://idp.example/jwks.json"},
		{"policies.cors.allowed_origins": []any{"*"}, "policies.cors.allow_credentials": false},
		{"context": "/oauth2x"},
		{"context": "/api/oauth2"},
	} {
		if _, ok := edits["context"]; !ok {
			edits["context"] = "/ok/" + string(rune('a'+i))
		}
		edits["version"] = "v" + strconv.Itoa(i+2) // a name of its own
		adm.do("POST", "/api/v1/apis", edit(t, base, edits)).want(http.StatusCreated)
	}

	for _, c := range []struct {
		name  string
		edits map[string]any
		field string
	}{
		{"reserved context", map[string]any{"context": "/oauth2"}, "context"},
		{"under reserved context", map[string]any{"context": "/oauth2/token"}, "context"},
		{"under reserved context, deep", map[string]any{"context": "/oauth2/jwks.json/v1"}, "context"},
		{"reserved context in another case", map[string]any{"context": "/OAuth2"}, "context"},
		{"under reserved context in another case", map[string]any{"context": "/OAUTH2/token"}, "context"},

		{"empty auth", map[string]any{"auth": []any{}}, "auth"},
		{"unknown auth", map[string]any{"auth": []any{"jwt", "kerberos"}}, "auth[1]"},
		{"unknown auth string", map[string]any{"auth": "oauth"}, "auth[0]"},
		{"auth twice", map[string]any{"auth": []any{"jwt", "basic", "jwt"}}, "auth[2]"},
		{"none with another", map[string]any{"auth": []any{"api_key", "none"}, "jwt_issuers": nil}, "auth[1]"},
		{"auth null entry", map[string]any{"auth": []any{nil}}, "auth[0]"},
		{"auth object", map[string]any{"auth": map[string]any{"jwt": true}}, "auth"},
		{"open API forwarding", map[string]any{"auth": []any{"none"}, "jwt_issuers": nil, "identity_headers": nil, "forward_credentials": true}, "auth"},
		{"open API naming", map[string]any{"auth": []any{"none"}, "jwt_issuers": nil, "forward_credentials": nil}, "auth"},
		{"jwt without issuers", map[string]any{"jwt_issuers": nil}, "jwt_issuers"},
		{"jwt with no issuers", map[string]any{"jwt_issuers": []any{}}, "jwt_issuers"},
		{"issuers without jwt", map[string]any{"auth": []any{"basic"}}, "jwt_issuers"},
		{"issuers not a list", map[string]any{"jwt_issuers": "https://idp.example"}, "jwt_issuers"},
		{"forward not a bool", map[string]any{"forward_credentials": "yes"}, "forward_credentials"},

		{"no issuer", map[string]any{"jwt_issuers.0.issuer": ""}, "jwt_issuers[0].issuer"},
		{"no algorithms", map[string]any{"jwt_issuers.0.algorithms": []any{}}, "jwt_issuers[0].algorithms"},
		{"alg none", map[string]any{"jwt_issuers.0.algorithms": []any{"none"}}, "jwt_issuers[0].algorithms"},
		{"unknown alg", map[string]any{"jwt_issuers.0.algorithms": []any{"HS512"}}, "jwt_issuers[0].algorithms"},
		{"HS256 mixed", map[string]any{"jwt_issuers.0.algorithms": []any{"HS256", "RS256"}}, "jwt_issuers[0].algorithms"},
		{"secret too short", map[string]any{"jwt_issuers.0.key": strings.Repeat("k", portico.MinJWTSecretBytes-1)}, "jwt_issuers[0].key"},
		{"PEM as secret", map[string]any{"jwt_issuers.0.key": "-----BEGIN PUBLIC KEY-----" + strings.Repeat("x", 40)}, "jwt_issuers[0].key"},
		{"no key nor JWKS", map[string]any{"jwt_issuers.0.key": nil}, "jwt_issuers[0].jwks_url"},
		{"empty key on create", map[string]any{"jwt_issuers.0.key": ""}, "jwt_issuers[0].jwks_url"},
		{"key and JWKS", map[string]any{"jwt_issuers.0.jwks_url": "https://idp.example/jwks"}, "jwt_issuers[0].key"},
		{"HS256 from a JWKS", map[string]any{"jwt_issuers.0.key": nil, "jwt_issuers.0.jwks_url": "https://idp.example/jwks"}, "jwt_issuers[0].jwks_url"},
		{"JWKS over ftp", map[string]any{"jwt_issuers.0.algorithms": []any{"RS256"}, "jwt_issuers.0.key": nil, "jwt_issuers.0.jwks_url": "ftp://idp.example/jwks"}, "jwt_issuers[0].jwks_url"},
		{"JWKS with password", map[string]any{"jwt_issuers.0.algorithms": []any{"RS256"}, "jwt_issuers.0.key": nil, "jwt_issuers.0.jwks_url": "https://u:p@idp.example/jwks"}, "jwt_issuers[0].jwks_url"},
		{"private key", map[string]any{"jwt_issuers.0.algorithms": []any{"ES256"}, "jwt_issuers.0.key": privatePEM(t)}, "jwt_issuers[0].key"},
		{"not PEM", map[string]any{"jwt_issuers.0.algorithms": []any{"RS256"}, "jwt_issuers.0.key": "not a key"}, "jwt_issuers[0].key"},
		{"empty audience", map[string]any{"jwt_issuers.0.audience": []any{""}}, "jwt_issuers[0].audience"},
		{"long leeway", map[string]any{"jwt_issuers.0.leeway": "10m"}, "jwt_issuers[0].leeway"},
		{"bad claim", map[string]any{"jwt_issuers.0.claim": "client id"}, "jwt_issuers[0].claim"},
		{"unknown issuer field", map[string]any{"jwt_issuers.0.secret": "x"}, "secret"},
		{"second issuer bad", map[string]any{"jwt_issuers": []any{
			map[string]any{"issuer": "a", "algorithms": []any{"HS256"}, "key": hsSecret},
			map[string]any{"issuer": "b", "algorithms": []any{"RS256"}}}}, "jwt_issuers[1].jwks_url"},
		{"issuer twice", map[string]any{"jwt_issuers": []any{
			map[string]any{"issuer": "a", "algorithms": []any{"HS256"}, "key": hsSecret},
			map[string]any{"issuer": "a", "algorithms": []any{"HS256"}, "key": hsSecret}}}, "jwt_issuers[1].issuer"},

		{"allow host bits", map[string]any{"policies.ip_rules.allow": []any{"10.0.0.1/8"}}, "policies.ip_rules.allow[0]"},
		{"deny not an address", map[string]any{"policies.ip_rules.deny": []any{"10.1.0.0/16", "example.com"}}, "policies.ip_rules.deny[1]"},
		{"deny zone", map[string]any{"policies.ip_rules.deny": []any{"fe80::1%eth0"}}, "policies.ip_rules.deny[0]"},
		{"ip rules not lists", map[string]any{"policies.ip_rules.allow": "10.0.0.0/8"}, "policies.ip_rules.allow"},
		{"no origins", map[string]any{"policies.cors.allowed_origins": nil}, "policies.cors.allowed_origins"},
		{"origin null", map[string]any{"policies.cors.allowed_origins": []any{"null"}}, "policies.cors.allowed_origins[0]"},
		{"origin with path", map[string]any{"policies.cors.allowed_origins": []any{"https://a.example", "https://b.example/"}}, "policies.cors.allowed_origins[1]"},
		{"star with credentials", map[string]any{"policies.cors.allowed_origins": []any{"*"}}, "policies.cors.allowed_origins[0]"},
		{"method star", map[string]any{"policies.cors.allowed_methods": []any{"*"}}, "policies.cors.allowed_methods[0]"},
		{"bad header", map[string]any{"policies.cors.allowed_headers": []any{"X Y"}}, "policies.cors.allowed_headers[0]"},
		{"expose star with credentials", map[string]any{"policies.cors.exposed_headers": []any{"*"}}, "policies.cors.exposed_headers[0]"},
		{"long max age", map[string]any{"policies.cors.max_age": "25h"}, "policies.cors.max_age"},
		{"negative body", map[string]any{"policies.threat_protection.max_body_bytes": -1}, "policies.threat_protection.max_body_bytes"},
		{"deep JSON", map[string]any{"policies.threat_protection.json.max_depth": 5000}, "policies.threat_protection.json.max_depth"},
		{"content type", map[string]any{"policies.threat_protection.allowed_content_types": []any{"json"}}, "policies.threat_protection.allowed_content_types"},
		{"header rule on Host", map[string]any{"policies.headers.request.0.name": "Host"}, "policies.headers.request[0].name"},
		{"header rule variable", map[string]any{"policies.headers.request.0.value": "$(password)"}, "policies.headers.request[0].value"},
		{"header rule op", map[string]any{"policies.headers.request.0.op": "append"}, "policies.headers.request[0].op"},
		{"conversion direction", map[string]any{"policies.conversion.request": "json_to_yaml"}, "policies.conversion.request"},
		{"conversion root", map[string]any{"policies.conversion.root": "1x"}, "policies.conversion.root"},
		{"resource pattern", map[string]any{"policies.resources.0.pattern": "orders"}, "policies.resources[0].pattern"},
		{"resource without policy", map[string]any{"policies.resources.0.headers": nil}, "policies.resources[0].pattern"},
		{"resource twice", map[string]any{"policies.resources": []any{
			map[string]any{"pattern": "/a", "conversion": map[string]any{"request": "json_to_xml"}},
			map[string]any{"pattern": "/a", "conversion": map[string]any{"request": "json_to_xml"}}}}, "policies.resources[1].pattern"},
		{"resource header rule", map[string]any{"policies.resources.0.headers.response.0.name": "Access-Control-Allow-Origin"}, "policies.resources[0].headers.response[0].name"},
		{"resource threat", map[string]any{"policies.resources.0.threat_protection": map[string]any{"xml": map[string]any{"max_attributes": -2}}}, "policies.resources[0].threat_protection.xml.max_attributes"},
		{"unknown policy", map[string]any{"policies.rate": 1}, "rate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			edits := clone(c.edits)
			if _, ok := edits["context"]; !ok {
				edits["context"] = "/other"
			}
			e.in(t).admin().do("POST", "/api/v1/apis", edit(t, base, edits)).wantErr(http.StatusBadRequest, c.field)
		})
	}
}

// TestAPISecretRedacted: no answer shows an HS256 secret; a PUT of a GET's
// body keeps the stored secret, a PUT with a new secret replaces it, and an
// issuer renamed without its secret is refused.
func TestAPISecretRedacted(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.addUser("pat", portico.RolePublisher)
	sub, _ := e.addUser("sam", portico.RoleSubscriber)
	plan := pub.do("POST", "/api/v1/plans", goldPlan("p")).want(http.StatusCreated).str("id")

	noSecret := func(r *result) *result {
		t.Helper()
		if strings.Contains(string(r.body), hsSecret) || strings.Contains(string(r.body), "s3cr3t") {
			t.Fatalf("%s shows the HS256 secret: %s", r.req, r.body)
		}
		return r
	}
	storedKey := func(id string) string {
		t.Helper()
		a := e.store.snapshot().APIs.Get(id)
		if b := e.cv.Load().APIs.Get(id); a == nil || b == nil || !a.JWTIssuers[0].Equal(&b.JWTIssuers[0]) {
			t.Fatalf("API %s: stored %+v, current config %+v", id, a, b)
		}
		return a.JWTIssuers[0].Key
	}

	created := noSecret(pub.do("POST", "/api/v1/apis", jwtAPI("/jwt", plan)).want(http.StatusCreated))
	id := created.str("id")
	if got := storedKey(id); got != hsSecret {
		t.Fatalf("stored key %q after create", got)
	}
	get := noSecret(pub.do("GET", "/api/v1/apis/"+id, nil).want(http.StatusOK))
	noSecret(e.admin().do("GET", "/api/v1/apis/"+id, nil).want(http.StatusOK))
	noSecret(e.admin().do("GET", "/api/v1/apis?q=weather", nil).want(http.StatusOK))

	// The GET's body, sent back as it is (server fields and all).
	noSecret(pub.do("PUT", "/api/v1/apis/"+id, get.body).want(http.StatusOK))
	if got := storedKey(id); got != hsSecret {
		t.Fatalf("stored key %q after a PUT of the redacted body, want the secret kept", got)
	}
	// The same under a conflict: the retry merges against the reloaded API.
	e.store.set(func(m *memStore) {
		m.conflicts = 1
		m.foreign = []portico.Change{portico.Put(&portico.Plan{ID: "other", Name: "o", Quota: &portico.Quota{Limit: 1, Per: portico.Day, Mode: portico.Hard}})}
	})
	noSecret(pub.do("PUT", "/api/v1/apis/"+id, get.body).want(http.StatusOK))
	if got := storedKey(id); got != hsSecret {
		t.Fatalf("stored key %q after a retried PUT, want the secret kept", got)
	}
	// The key left out entirely counts as empty, too.
	body := get.obj()
	delete(body["jwt_issuers"].([]any)[0].(map[string]any), "key")
	pub.do("PUT", "/api/v1/apis/"+id, body).want(http.StatusOK)
	if got := storedKey(id); got != hsSecret {
		t.Fatalf("stored key %q after a PUT without key", got)
	}
	// A new secret replaces the stored one and is not shown either.
	const newSecret = "n3w-secret-HS256-0123456789-ABCDEFGHIJKLM"
	body = get.obj()
	body["jwt_issuers"].([]any)[0].(map[string]any)["key"] = newSecret
	r := pub.do("PUT", "/api/v1/apis/"+id, body).want(http.StatusOK)
	if strings.Contains(string(r.body), newSecret) {
		t.Fatalf("the PUT's answer shows the new secret: %s", r.body)
	}
	if got := storedKey(id); got != newSecret {
		t.Fatalf("stored key %q after a PUT with a new secret", got)
	}
	// A renamed issuer has no stored secret to keep.
	body = get.obj()
	body["jwt_issuers"].([]any)[0].(map[string]any)["issuer"] = "https://other.example"
	pub.do("PUT", "/api/v1/apis/"+id, body).wantErr(http.StatusBadRequest, "jwt_issuers[0].jwks_url")
	// A second issuer added beside the kept one needs its own key.
	body = get.obj()
	body["jwt_issuers"] = append(body["jwt_issuers"].([]any), map[string]any{"issuer": "https://second.example", "algorithms": []any{"HS256"}, "key": ""})
	pub.do("PUT", "/api/v1/apis/"+id, body).wantErr(http.StatusBadRequest, "jwt_issuers[1].jwks_url")
	if got := storedKey(id); got != newSecret {
		t.Fatalf("stored key %q after refused PUTs", got)
	}

	// Lifecycle answers are redacted too; the subscriber's listing shows
	// neither issuers nor policies nor the credential settings.
	noSecret(pub.do("POST", "/api/v1/apis/"+id+"/publish", nil).want(http.StatusOK))
	for _, r := range []*result{
		sub.do("GET", "/api/v1/apis/"+id, nil).want(http.StatusOK),
		sub.do("GET", "/api/v1/apis", nil).want(http.StatusOK),
	} {
		noSecret(r)
		for _, hidden := range []string{`"jwt_issuers"`, `"policies"`, `"forward_credentials"`, `"identity_headers"`, "idp.example", "app.example.com", "10.0.0.0/8"} {
			if strings.Contains(string(r.body), hidden) {
				t.Errorf("%s as a subscriber shows %s: %s", r.req, hidden, r.body)
			}
		}
		if !strings.Contains(string(r.body), `"auth":["jwt","basic"]`) {
			t.Errorf("%s as a subscriber lacks the auth methods: %s", r.req, r.body)
		}
	}
}

// TestAPIAuthString: "auth" as one string, as clients before lists sent
// it, still creates and updates an API, and reads back as a list.
func TestAPIAuthString(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	plan := adm.do("POST", "/api/v1/plans", goldPlan("p")).want(http.StatusCreated).str("id")
	body := weatherAPI("/w", plan)
	body["auth"] = "api_key"
	var a portico.API
	adm.do("POST", "/api/v1/apis", body).want(http.StatusCreated).decode(&a)
	if !slices.Equal(a.Auth, portico.AuthMethods{portico.AuthAPIKey}) {
		t.Fatalf("auth %v", a.Auth)
	}
	body["auth"] = "none"
	r := adm.do("PUT", "/api/v1/apis/"+a.ID, body).want(http.StatusOK)
	if !strings.Contains(string(r.body), `"auth":["none"]`) {
		t.Fatalf("auth after PUT: %s", r.body)
	}
	if got := e.cv.Load().APIs.Get(a.ID).Auth; !got.Open() {
		t.Fatalf("stored auth %v", got)
	}
}

// TestForwardCredentialsAdminOnly: only an admin turns forward_credentials
// on (a probe had a publisher's backend collect subscribers' keys and
// tokens, good on every API they subscribe to); the publisher may keep it
// on or turn it off; subscribers see it.
func TestForwardCredentialsAdminOnly(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	pub, pubID := e.addUser("pat", portico.RolePublisher)
	sub, _ := e.addUser("sam", portico.RoleSubscriber)
	plan := pub.do("POST", "/api/v1/plans", goldPlan("p")).want(http.StatusCreated).str("id")
	fwd := weatherAPI("/fwd", plan)
	fwd["forward_credentials"] = true
	pub.do("POST", "/api/v1/apis", fwd).wantErr(http.StatusForbidden, "forward_credentials")
	fwd["owner"] = pubID
	id := adm.do("POST", "/api/v1/apis", fwd).want(http.StatusCreated).str("id")
	delete(fwd, "owner")
	pub.do("PUT", "/api/v1/apis/"+id, fwd).want(http.StatusOK) // kept on
	pub.do("POST", "/api/v1/apis/"+id+"/publish", nil).want(http.StatusOK)
	for _, r := range []*result{sub.do("GET", "/api/v1/apis/"+id, nil), sub.do("GET", "/api/v1/apis", nil)} {
		if !strings.Contains(string(r.body), `"forward_credentials":true`) {
			t.Errorf("%s as a subscriber does not show forward_credentials: %s", r.req, r.body)
		}
	}
	fwd["forward_credentials"] = false
	pub.do("PUT", "/api/v1/apis/"+id, fwd).want(http.StatusOK) // turned off
	fwd["forward_credentials"] = true
	pub.do("PUT", "/api/v1/apis/"+id, fwd).wantErr(http.StatusForbidden, "forward_credentials")
	if a := e.cv.Load().APIs.Get(id); a.ForwardCredentials {
		t.Fatal("the refused PUT turned forward_credentials on")
	}
}
