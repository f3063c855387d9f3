package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-gw/portico/internal/consoletest"
)

// FuzzForms posts hostile form bodies to every form of the console as a
// signed-in admin: no answer is a 5xx, and every answer is a page (or a
// redirect), never a panic.
func FuzzForms(f *testing.F) {
	for _, s := range []string{
		"name=a&version=v1&context=/a&targets=http://127.0.0.1:1+2%0Ahttp://127.0.0.1:2+x&endpoint_type=load_balancer",
		"name=p&rate_limit=1&rate_limit_limit=9223372036854775808&resources=POST+/o+1+second+rolling+extra",
		"resources=%0A%0A++GET%0A&rate_limit=1&rate_limit_limit=1&quota=1&quota_limit=-1&quota_threshold=999999999999",
		"add=127.0.0.1:8123&address=&remove=x&batch_size=1e9&flush_interval=-1s",
		"datastore=redis://%00@host/0",
		"username=%FF%FE&password=&roles=root&disabled=1",
		"from=2026-13-45T99:99&to=&range=custom&api=%3Cscript%3E",
	} {
		f.Add(0, s)
		f.Add(3, s)
	}
	c := consoletest.New(f)
	signedIn := c.SignIn(f, admin, adminPW)
	signedIn.Get("/console/notifications")
	paths := []string{"/console/apis/new", "/console/plans/new", "/console/settings/analytics",
		"/console/cluster/datastore", "/console/users/new", "/console/apis/nope", "/console/plans/nope",
		"/console/subscriptions/nope/approve", "/console/notifications/read"}
	f.Fuzz(func(t *testing.T, which int, body string) {
		cl := signedIn.For(t)
		if which < 0 {
			which = -which
		}
		path := paths[which%len(paths)]
		form, err := url.ParseQuery(body)
		if err != nil {
			form = url.Values{"raw": {body}}
		}
		form.Set("csrf", cl.CSRF)
		st, page, _ := cl.Post(path, form)
		if st >= 500 {
			t.Fatalf("POST %s %q: %d\n%s", path, body, st, page)
		}
		if st == http.StatusOK || st >= 400 {
			if !strings.Contains(page, "</html>") {
				t.Fatalf("POST %s %q: %d without a page", path, body, st)
			}
		}
		// The dashboard reads its range from the query.
		if st, page := cl.Get("/console/dashboard?" + form.Encode()); st >= 500 {
			t.Fatalf("GET dashboard?%s: %d\n%s", body, st, page)
		}
	})
}
