package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/consoletest"
)

// hsSecret and newSecret are HS256 secrets no page may ever show.
const (
	hsSecret  = "console-HS256-secret-0123456789-abcdefgh"
	newSecret = "console-HS256-rotated-0123456789-ABCDEFG"
)

// secretFree fails the test if a page shows either secret.
func secretFree(t *testing.T, what, body string) string {
	t.Helper()
	for _, s := range []string{hsSecret, newSecret, "console-HS256"} {
		if strings.Contains(body, s) {
			t.Fatalf("%s shows an HS256 secret:\n%s", what, body)
		}
	}
	return body
}

// storedAPI returns the API id as the embedded store holds it.
func storedAPI(t *testing.T, c *consoletest.Console, id string) *portico.API {
	t.Helper()
	cfg, err := c.DB.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.APIs.Get(id)
	if a == nil {
		t.Fatalf("API %s is not stored", id)
	}
	return a
}

// fieldErrorAfter reports whether the page shows a field error right after
// the form control with the id.
func fieldErrorAfter(body, id string) bool {
	re := regexp.MustCompile(`(?s)id="` + regexp.QuoteMeta(id) + `"[^>]*>(?:[^<]*</textarea>|<legend>[^<]*</legend>)?(?:<span class="notice"[^>]*>[^<]*</span>)?<span class="field-error" role="alert">`)
	return re.MatchString(body)
}

// TestAPIAuthAndPoliciesForm: a publisher sets JWT and Basic auth with an
// HS256 issuer, CORS, IP rules and other policies through the API form;
// no page ever shows the secret, saving the form unchanged keeps the
// secret and the policies, a new secret typed in replaces it, and each
// refusal is shown at its control with what was typed kept.
func TestAPIAuthAndPoliciesForm(t *testing.T) {
	c := consoletest.New(t)
	addUser(t, c, "pat", "publisher")
	plan := mustAPI(t, c, "pat", "pat-password-1", "POST", "/plans",
		`{"name":"gold","rate_limit":{"limit":10,"per":"second"}}`, http.StatusCreated)["id"].(string)
	cl := c.SignIn(t, "pat", "pat-password-1")
	get := func(path string) string {
		t.Helper()
		st, body := cl.Get(path)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d", path, st)
		}
		return secretFree(t, "GET "+path, body)
	}
	post := func(path string, form url.Values) (int, string, string) {
		t.Helper()
		st, body, loc := cl.Post(path, form)
		secretFree(t, "POST "+path, body)
		return st, body, loc
	}

	page := get("/console/apis/new")
	for _, want := range []string{`id="auth_api_key"`, `id="auth_basic"`, `id="auth_jwt"`, `id="auth_oauth2"`, `id="auth_none"`,
		"application ID", "/oauth2/token", `id="forward_credentials"`, "Forward credentials to the backend",
		"X-Portico-Application / X-Portico-Subscriber", `id="jwt_issuers"`, `id="cors_origins"`, `id="cors_methods"`,
		`id="cors_headers"`, `id="cors_exposed"`, `id="cors_credentials"`, `id="cors_max_age"`, `id="ip_allow"`, `id="ip_deny"`,
		`id="policies_other"`, "Other policies (JSON)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the new API form lacks %s", want)
		}
	}
	issuers := `[{"issuer": "https://idp.example", "algorithms": ["HS256"], "key": "` + hsSecret + `", "audience": ["weather"], "claim": "client_id"}]`
	other := `{"threat_protection": {"max_body_bytes": 65536}, "resources": [{"pattern": "POST /orders/**", "conversion": {"request": "json_to_xml"}}]}`
	form := url.Values{"name": {"weather"}, "version": {"v1"}, "context": {"/weather"}, "visibility": {"public"},
		"auth": {"jwt", "basic"}, "identity_headers": {"1"}, "jwt_issuers": {issuers},
		"cors_origins": {"https://app.example.com\r\nhttps://*.example.org\r\n"}, "cors_methods": {"PUT, DELETE"},
		"cors_headers": {"Authorization\nContent-Type"}, "cors_exposed": {"X-Total"}, "cors_credentials": {"1"}, "cors_max_age": {"600"},
		"ip_allow": {"10.0.0.0/8\r\n192.0.2.7"}, "ip_deny": {"10.1.0.0/16"}, "policies_other": {other},
		"endpoint_type": {"single"}, "targets": {"http://127.0.0.1:9001"}, "plans": {plan}, "tags": {" forecasts, géo ,, <b>"}}
	st, body, _ := post("/console/apis/new", form)
	if st != http.StatusBadRequest || !strings.Contains(body, "a tag is letters, digits") || !strings.Contains(body, "forecasts, géo, &lt;b&gt;") {
		t.Fatalf("a bad tag: %d, want 400 at the tags with the input kept\n%s", st, body)
	}
	form.Set("tags", " forecasts, géo ,, ")
	st, body, loc := post("/console/apis/new", form)
	if st != http.StatusSeeOther {
		t.Fatalf("creating the API: %d\n%s", st, body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/console/apis/"), "?saved=1")

	want := &portico.Policies{
		IPRules: &portico.IPRules{Allow: []string{"10.0.0.0/8", "192.0.2.7"}, Deny: []string{"10.1.0.0/16"}},
		CORS: &portico.CORS{AllowedOrigins: []string{"https://app.example.com", "https://*.example.org"}, AllowedMethods: []string{"PUT", "DELETE"},
			AllowedHeaders: []string{"Authorization", "Content-Type"}, ExposedHeaders: []string{"X-Total"}, AllowCredentials: true, MaxAge: portico.Duration(600e9)},
		ThreatProtection: &portico.ThreatProtection{MaxBodyBytes: 65536},
		Resources:        []portico.ResourcePolicies{{Pattern: "POST /orders/**", Conversion: &portico.Conversion{Request: portico.ConvertJSONToXML}}},
	}
	wantJSON, _ := json.Marshal(want)
	check := func(when, key string) *portico.API {
		t.Helper()
		a := storedAPI(t, c, id)
		got, _ := json.Marshal(a.Policies)
		if string(got) != string(wantJSON) {
			t.Fatalf("%s: stored policies\n%s\nwant\n%s", when, got, wantJSON)
		}
		if strings.Join(toStrings(a.Auth), ",") != "jwt,basic" || a.ForwardCredentials || !a.IdentityHeaders {
			t.Fatalf("%s: stored auth %v, forward %v, identity %v", when, a.Auth, a.ForwardCredentials, a.IdentityHeaders)
		}
		if len(a.JWTIssuers) != 1 || a.JWTIssuers[0].Key != key || a.JWTIssuers[0].Claim != "client_id" {
			t.Fatalf("%s: stored issuers %+v, want the key %q", when, a.JWTIssuers, key)
		}
		return a
	}
	if a := check("after create", hsSecret); strings.Join(a.Tags, "|") != "forecasts|géo" {
		t.Fatalf("stored tags %q", a.Tags)
	}

	page = get(loc)
	for _, want := range []string{`id="auth_jwt" name="auth" value="jwt" aria-describedby="auth_jwt_hint" checked`,
		`id="auth_basic" name="auth" value="basic" aria-describedby="auth_basic_hint" checked`,
		"https://idp.example", "https://*.example.org", "192.0.2.7", "10.1.0.0/16", "POST /orders/**", `value="600"`, `value="PUT, DELETE"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the API page lacks %s", want)
		}
	}
	if strings.Contains(page, `value="api_key" aria-describedby="auth_api_key_hint" checked`) {
		t.Error("the API page ticks api_key")
	}

	// Saved unchanged: the secret and every policy stay as they are.
	before := storedAPI(t, c, id)
	saved := formValues(page)
	if saved.Get("jwt_issuers") == "" || saved.Get("cors_origins") == "" || len(saved["auth"]) != 2 {
		t.Fatalf("the form read from the page: %v", saved)
	}
	if st, body, _ := post("/console/apis/"+id, saved); st != http.StatusSeeOther {
		t.Fatalf("saving the form unchanged: %d\n%s", st, body)
	}
	after := check("after saving unchanged", hsSecret)
	after.UpdatedAt = before.UpdatedAt
	if b, a := mustJSON(before), mustJSON(after); b != a {
		t.Fatalf("saving the form unchanged changed the API:\n%s\n%s", b, a)
	}
	page = get("/console/apis/" + id + "?saved=1")

	// A new secret typed in replaces the stored one.
	rotated := formValues(page)
	rotated.Set("jwt_issuers", strings.Replace(issuers, hsSecret, newSecret, 1))
	if st, body, _ := post("/console/apis/"+id, rotated); st != http.StatusSeeOther {
		t.Fatalf("saving a new secret: %d\n%s", st, body)
	}
	check("after a new secret", newSecret)
	page = get("/console/apis/" + id)

	// Refusals, each at its control, with what was typed kept and the
	// stored API unchanged.
	stored := mustJSON(storedAPI(t, c, id))
	for _, tc := range []struct {
		name, field, value string
		control            string // the id the error follows
		kept               string // typed text the page shows again
	}{
		{"bad CIDR", "ip_deny", "10.1.0.0/16\n10.0.0.1/8", "ip_deny", "10.0.0.1/8"},
		{"bad allow", "ip_allow", "example.com", "ip_allow", "example.com"},
		{"origin with a path", "cors_origins", "https://app.example.com/x", "cors_origins", "https://app.example.com/x"},
		{"null origin", "cors_origins", "null", "cors_origins", "null"},
		{"max age", "cors_max_age", "soon", "cors_max_age", `value="soon"`},
		{"long max age", "cors_max_age", "90000", "cors_max_age", `value="90000"`},
		{"method", "cors_methods", "PUT, GET POST;", "cors_methods", "GET POST;"},
		{"other not JSON", "policies_other", `{"threat_protection": {"max_body_bytes": 10,}`, "policies_other", `{&#34;threat_protection&#34;: {&#34;max_body_bytes&#34;: 10,}`},
		{"other unknown key", "policies_other", `{"cors": {}}`, "policies_other", `{&#34;cors&#34;: {}}`},
		{"other refused", "policies_other", `{"headers": {"request": [{"op": "set", "name": "Host", "value": "x"}]}}`, "policies_other", "Host"},
		{"resource refused", "policies_other", `{"resources": [{"pattern": "orders", "conversion": {"request": "json_to_xml"}}]}`, "policies_other", "orders"},
		{"issuers not JSON", "jwt_issuers", `[{"issuer": "a",`, "jwt_issuers", `[{&#34;issuer&#34;: &#34;a&#34;,`},
		{"issuer secret too short", "jwt_issuers", `[{"issuer": "https://idp.example", "algorithms": ["HS256"], "key": "short"}]`, "jwt_issuers", "https://idp.example"},
		{"issuer without key", "jwt_issuers", `[{"issuer": "https://new.example", "algorithms": ["HS256"]}]`, "jwt_issuers", "https://new.example"},
		{"no issuers", "jwt_issuers", "", "jwt_issuers", `id="auth_jwt"`},
		{"no method", "auth", "", "auth", `id="auth_jwt"`},
		{"reserved context", "context", "/oauth2/token", "context", `value="/oauth2/token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := formValues(page)
			f.Del(tc.field)
			if tc.value != "" {
				f.Set(tc.field, tc.value)
			}
			st, body, _ := cl.For(t).Post("/console/apis/"+id, f)
			secretFree(t, tc.name, body)
			if st != http.StatusBadRequest || !fieldErrorAfter(body, tc.control) || !strings.Contains(body, tc.kept) {
				t.Fatalf("%d, want 400 with the error after #%s and %q kept\n%s", st, tc.control, tc.kept, body)
			}
			if got := mustJSON(storedAPI(t, c, id)); got != stored {
				t.Fatalf("a refused form changed the API")
			}
		})
	}

	// A secret typed into a form refused for another reason is not shown
	// again: the page says to type it again.
	f := formValues(page)
	f.Set("jwt_issuers", strings.Replace(issuers, hsSecret, hsSecret+"-typed", 1))
	f.Set("ip_allow", "not-an-address")
	st, body, _ = post("/console/apis/"+id, f)
	if st != http.StatusBadRequest || !strings.Contains(body, "type the key of &#34;https://idp.example&#34; again") {
		t.Fatalf("a typed secret on a refused form: %d\n%s", st, body)
	}

	// Cross-site posts of the form are refused and change nothing.
	for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}} {
		f := formValues(page)
		f.Set("cors_origins", "https://evil.example")
		req, _ := http.NewRequest("POST", c.URL+"/console/apis/"+id, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		if st, _, _ := cl.Do(req); st != http.StatusForbidden {
			t.Errorf("a cross-site post with %v: %d, want 403", h, st)
		}
	}
	f = formValues(page)
	f.Set("cors_origins", "https://evil.example")
	f.Set("csrf", "")
	if st, _, _ := cl.Post("/console/apis/"+id, f); st != http.StatusForbidden {
		t.Errorf("a post without the CSRF token: %d, want 403", st)
	}
	if got := mustJSON(storedAPI(t, c, id)); got != stored {
		t.Fatalf("a cross-site post changed the API")
	}

	// The admin API never shows the secret either, and the admin's view
	// of the page is as secret-free as the owner's.
	_, b := c.API(t, "pat", "pat-password-1", "GET", "/apis/"+id, "")
	secretFree(t, "GET /api/v1/apis/"+id, b)
	admin := c.SignIn(t, admin, adminPW)
	_, body = admin.Get("/console/apis/" + id)
	secretFree(t, "the admin's API page", body)

	// Another publisher sees the published API's auth methods, and
	// neither its issuers nor its policies.
	mustAPI(t, c, "pat", "pat-password-1", "POST", "/apis/"+id+"/publish", "", http.StatusOK)
	addUser(t, c, "pia", "publisher")
	st, body = c.SignIn(t, "pia", "pia-password-1").Get("/console/apis/" + id)
	if st != http.StatusOK || !strings.Contains(body, "<dd>jwt, basic</dd>") {
		t.Fatalf("another publisher's view: %d\n%s", st, body)
	}
	for _, hidden := range []string{"idp.example", "app.example.com", "10.1.0.0/16", "orders", `name="jwt_issuers"`, "forwarded to the backend"} {
		if strings.Contains(body, hidden) {
			t.Errorf("another publisher's view shows %s", hidden)
		}
	}
	// An API whose backend gets the callers' credentials (set by an
	// admin) says so to those who may call it.
	fwd := mustAPI(t, c, "admin", adminPW, "POST", "/apis", `{"name":"fwd","version":"1","context":"/fwd","auth":["api_key"],
		"forward_credentials":true,"endpoint":{"type":"single","targets":[{"url":"http://127.0.0.1:1"}]},"plans":["`+plan+`"]}`, http.StatusCreated)
	mustAPI(t, c, "admin", adminPW, "POST", "/apis/"+fwd["id"].(string)+"/publish", "", http.StatusOK)
	st, body = c.SignIn(t, "pia", "pia-password-1").Get("/console/apis/" + fwd["id"].(string))
	if st != http.StatusOK || !strings.Contains(body, "forwarded to the backend") {
		t.Fatalf("the view of an API that forwards credentials: %d\n%s", st, body)
	}
}

// TestAPIFormOldAuth: an API stored with the auth "api_key", as before
// lists, shows api_key ticked and saves unchanged.
func TestAPIFormOldAuth(t *testing.T) {
	c := consoletest.New(t)
	a := mustAPI(t, c, admin, adminPW, "POST", "/apis", `{"name":"old","version":"1","context":"/old","auth":"api_key",
		"endpoint":{"type":"single","targets":[{"url":"http://127.0.0.1:1"}]}}`, http.StatusCreated)
	id := a["id"].(string)
	cl := c.SignIn(t, admin, adminPW)
	_, page := cl.Get("/console/apis/" + id)
	if !strings.Contains(page, `value="api_key" aria-describedby="auth_api_key_hint" checked`) {
		t.Fatalf("api_key is not ticked:\n%s", page)
	}
	before := mustJSON(storedAPI(t, c, id))
	if st, body, _ := cl.Post("/console/apis/"+id, formValues(page)); st != http.StatusSeeOther {
		t.Fatalf("saving unchanged: %d\n%s", st, body)
	}
	after := storedAPI(t, c, id)
	after.UpdatedAt = storedAPIAt(t, before).UpdatedAt
	if got := mustJSON(after); got != before {
		t.Fatalf("saving unchanged changed the API:\n%s\n%s", before, got)
	}
}

func storedAPIAt(t *testing.T, js string) (a portico.API) {
	t.Helper()
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func toStrings(m portico.AuthMethods) []string {
	s := make([]string, len(m))
	for i, t := range m {
		s[i] = string(t)
	}
	return s
}
