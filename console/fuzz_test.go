package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-gw/portico/internal/consoletest"
)

// FuzzForms posts hostile form bodies to every form of the console as a
// signed-in admin, straight to the handler: no answer is a 5xx, and every
// answer is a page (or a redirect), never a panic.
func FuzzForms(f *testing.F) {
	for _, s := range []string{
		"name=a&version=v1&context=/a&targets=http://127.0.0.1:1+2%0Ahttp://127.0.0.1:2+x&endpoint_type=load_balancer",
		"name=p&rate_limit=1&rate_limit_limit=9223372036854775808&resources=POST+/o+1+second+rolling+extra",
		"resources=%0A%0A++GET%0A&rate_limit=1&rate_limit_limit=1&quota=1&quota_limit=-1&quota_threshold=999999999999",
		"add=127.0.0.1:8123&address=&remove=x&batch_size=1e9&flush_interval=-1s",
		"datastore=redis://%00@host/0",
		"username=%FF%FE&password=&roles=root&disabled=1&roles_shown=1&disabled_shown=1",
		"from=2026-13-45T99:99&to=&range=custom&api=%3Cscript%3E",
		"timeout_connect=99999999999999999999&timeout_response=1h&current_password=x&password=y",
		"name=j&version=1&context=/j&auth=jwt&auth=basic&auth=none&auth=x&forward_credentials=1&identity_headers=1&endpoint_type=single&targets=http://127.0.0.1:1" +
			"&jwt_issuers=" + url.QueryEscape(`[{"issuer":"i","algorithms":["HS256"]},{"issuer":"i","algorithms":["RS256"],"key":"-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----","leeway":"1e99h"}]`),
		"auth=jwt&jwt_issuers=" + url.QueryEscape(`[{"issuer":"https://idp.example","algorithms":["HS256"],"key":"0123456789abcdef0123456789abcdef"}] trailing`) +
			"&cors_origins=https://a.example%0Anull%0A*&cors_methods=PUT,,+DELETE%0A&cors_headers=*&cors_exposed=*&cors_credentials=1&cors_max_age=-99999999999999999999",
		"cors_max_age=1e3h&cors_origins=&ip_allow=10.0.0.1/8%0A::ffff:10.0.0.0/104%0Afe80::1%25eth0&ip_deny=%0A%0A" +
			"&policies_other=" + url.QueryEscape(`{"threat_protection":{"max_body_bytes":-1,"json":{"max_depth":1e9}},"resources":[{"pattern":"/a"},{"pattern":"/a","headers":{"request":[{"op":"rename","name":"A","to":"a"}]}}],"conversion":{"root":"1"}}`),
		"policies_other=" + url.QueryEscape(`{"headers":{"request":[{"op":"set","name":"X","value":"$(unknown"}]},"cors":{}}`) + "&jwt_issuers=null&auth=",
		"policies_other=[]&jwt_issuers={}&ip_deny=" + url.QueryEscape(strings.Repeat("10.0.0.0/8\n", 50)),
	} {
		f.Add(0, s)
		f.Add(3, s)
		f.Add(10, s)
	}
	c := consoletest.New(f)
	cookie := c.SessionCookie(f, admin, adminPW)
	h := c.Server.Config.Handler
	serve := func(method, target string, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.AddCookie(cookie)
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	csrf := consoletest.Field(serve("GET", "/console/notifications", "").Body.String(), "csrf")
	if csrf == "" {
		f.Fatal("no CSRF token on the notifications page")
	}
	// An API with an HS256 secret, whose edit form is fuzzed too: no
	// answer may show the secret.
	const secret = "fuzz-HS256-secret-0123456789-abcdefghij"
	st, b := c.API(f, admin, adminPW, "POST", "/apis", `{"name":"j","version":"1","context":"/fuzz-jwt","auth":["jwt"],
		"jwt_issuers":[{"issuer":"https://idp.example","algorithms":["HS256"],"key":"`+secret+`"}],
		"endpoint":{"type":"single","targets":[{"url":"http://127.0.0.1:1"}]}}`)
	var api struct{ ID string }
	if st != http.StatusCreated || json.Unmarshal([]byte(b), &api) != nil {
		f.Fatalf("creating the API: %d %s", st, b)
	}
	paths := []string{"/console/apis/new", "/console/plans/new", "/console/settings/analytics",
		"/console/cluster/datastore", "/console/users/new", "/console/users/me", "/console/apis/nope",
		"/console/plans/nope", "/console/subscriptions/nope/approve", "/console/notifications/read",
		"/console/apis/" + api.ID}
	f.Fuzz(func(t *testing.T, which int, body string) {
		path := paths[(which%len(paths)+len(paths))%len(paths)]
		form, err := url.ParseQuery(body)
		if err != nil {
			form = url.Values{"raw": {body}}
		}
		form.Set("csrf", csrf)
		form.Del("password") // never change the admin's password under the fuzzer
		rec := serve("POST", path, form.Encode())
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: %d\n%s", path, body, rec.Code, rec.Body)
		}
		if (rec.Code == http.StatusOK || rec.Code >= 400) && !strings.Contains(rec.Body.String(), "</html>") {
			t.Fatalf("POST %s %q: %d without a page", path, body, rec.Code)
		}
		if strings.Contains(rec.Body.String(), secret) {
			t.Fatalf("POST %s %q: the answer shows the HS256 secret", path, body)
		}
		// The dashboard reads its range from the query.
		if rec := serve("GET", "/console/dashboard?"+form.Encode(), ""); rec.Code >= 500 {
			t.Fatalf("GET dashboard?%s: %d\n%s", body, rec.Code, rec.Body)
		}
	})
}
