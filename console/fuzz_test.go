package console_test

import (
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
	} {
		f.Add(0, s)
		f.Add(3, s)
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
	paths := []string{"/console/apis/new", "/console/plans/new", "/console/settings/analytics",
		"/console/cluster/datastore", "/console/users/new", "/console/users/me", "/console/apis/nope",
		"/console/plans/nope", "/console/subscriptions/nope/approve", "/console/notifications/read"}
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
		// The dashboard reads its range from the query.
		if rec := serve("GET", "/console/dashboard?"+form.Encode(), ""); rec.Code >= 500 {
			t.Fatalf("GET dashboard?%s: %d\n%s", body, rec.Code, rec.Body)
		}
	})
}
