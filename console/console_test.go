package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/consoletest"
)

const admin, adminPW = "admin", consoletest.AdminPassword

// mustAPI calls the admin API and fails the test unless it answers want.
func mustAPI(t *testing.T, c *consoletest.Console, user, pass, method, path, body string, want int) map[string]any {
	t.Helper()
	st, b := c.API(t, user, pass, method, path, body)
	if st != want {
		t.Fatalf("%s %s as %s: %d %s, want %d", method, path, user, st, b, want)
	}
	var out map[string]any
	json.Unmarshal([]byte(b), &out)
	return out
}

func addUser(t *testing.T, c *consoletest.Console, name, role string) {
	t.Helper()
	mustAPI(t, c, admin, adminPW, "POST", "/users",
		`{"username":"`+name+`","password":"`+name+`-password-1","roles":["`+role+`"]}`, http.StatusCreated)
}

// TestPagesForAdmin: every page of the admin's menu renders, with the
// security headers, and the session cookie is HttpOnly, SameSite=Strict
// and limited to the console.
func TestPagesForAdmin(t *testing.T) {
	c := consoletest.New(t)
	cl := c.NewClient(t)
	cl.Get("/console/login")
	req, _ := http.NewRequest("POST", c.URL+"/console/login", strings.NewReader(url.Values{
		"form": {cl.CSRF}, "username": {admin}, "password": {adminPW}}.Encode()))
	_, body := cl.Get("/console/login")
	form := consoletest.Field(body, "form")
	req, _ = http.NewRequest("POST", c.URL+"/console/login", strings.NewReader(url.Values{
		"form": {form}, "username": {admin}, "password": {adminPW}, "next": {"/console/users"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := cl.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/users" {
		t.Fatalf("sign-in: %d to %q, want 303 to /console/users", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "portico_console=") {
			cookie = v
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/console/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("session cookie %q is Secure over plain HTTP: the browser would drop it", cookie)
	}
	for _, p := range []struct{ path, want string }{
		{"/console/dashboard", "Requests and errors"},
		{"/console/cluster", "Members"},
		{"/console/settings/analytics", "no run-time settings"},
		{"/console/users", "admin"},
		{"/console/users/new", "Create the user"},
		{"/console/apis", "New API"},
		{"/console/apis/new", "Create the API"},
		{"/console/plans", "New plan"},
		{"/console/plans/new", "Create the plan"},
		{"/console/subscriptions", "Subscriptions"},
		{"/console/notifications", "Mark all as read"},
	} {
		req, _ := http.NewRequest("GET", c.URL+p.path, nil)
		resp, err := cl.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 1<<16)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(b.String(), p.want) {
			t.Errorf("GET %s: %d, body has %q: %v", p.path, resp.StatusCode, p.want, strings.Contains(b.String(), p.want))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", p.path, csp)
		}
	}
}

// TestCrossSiteRefused: a form post from another site, without the CSRF
// token, or with another session's token, is refused and changes nothing.
func TestCrossSiteRefused(t *testing.T) {
	c := consoletest.New(t)
	cl := c.SignIn(t, admin, adminPW)
	other := c.SignIn(t, admin, adminPW)
	cl.Get("/console/users/new")
	other.Get("/console/users/new")
	form := func() url.Values {
		return url.Values{"username": {"mallory"}, "password": {"mallory-password-1"}, "roles": {"admin"}, "roles_shown": {"1"}}
	}
	post := func(origin, site string, f url.Values) int {
		req, _ := http.NewRequest("POST", c.URL+"/console/users/new", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		st, _, _ := cl.Do(req)
		return st
	}
	withCSRF := func(tok string) url.Values { f := form(); f.Set("csrf", tok); return f }
	for _, tc := range []struct {
		name         string
		origin, site string
		form         url.Values
	}{
		{"other origin", "https://evil.example", "", withCSRF(cl.CSRF)},
		{"null origin", "null", "", withCSRF(cl.CSRF)},
		{"cross-site fetch", "", "cross-site", withCSRF(cl.CSRF)},
		{"no token", c.URL, "", form()},
		{"another session's token", c.URL, "", withCSRF(other.CSRF)},
		{"empty token", c.URL, "", withCSRF("")},
	} {
		if st := post(tc.origin, tc.site, tc.form); st != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, st)
		}
	}
	if st, _ := c.API(t, admin, adminPW, "GET", "/users?q=mallory", ""); st != 200 {
		t.Fatal(st)
	}
	_, b := c.API(t, admin, adminPW, "GET", "/users?q=mallory", "")
	if strings.Contains(b, "mallory") {
		t.Fatalf("a refused form created the user: %s", b)
	}
	// The same form with the session's own token goes through.
	if st := post(c.URL, "same-origin", withCSRF(cl.CSRF)); st != http.StatusSeeOther {
		t.Fatalf("the console's own form: %d, want 303", st)
	}
}

// TestLoginRefusals: the sign-in form needs its cookie; a wrong password,
// a disabled user and the throttle each answer with a message, and next=
// never leads off the console.
func TestLoginRefusals(t *testing.T) {
	c := consoletest.New(t)
	addUser(t, c, "pat", "publisher")
	cl := c.NewClient(t)
	// No form cookie: a cross-site login (login CSRF) is refused.
	st, _, _ := cl.Post("/console/login", url.Values{"form": {"abc"}, "username": {admin}, "password": {adminPW}})
	if st != http.StatusForbidden {
		t.Errorf("sign-in without the form's cookie: %d, want 403", st)
	}
	if st, _ := cl.Login("pat", "wrong"); st != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", st)
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "/api/v1/users", "javascript:alert(1)"} {
		cl := c.NewClient(t)
		_, body := cl.Get("/console/login?next=" + url.QueryEscape(next))
		st, _, loc := cl.Post("/console/login", url.Values{"form": {consoletest.Field(body, "form")}, "username": {admin}, "password": {adminPW}, "next": {next}})
		if st != http.StatusSeeOther || loc != "/console/" {
			t.Errorf("next=%q: %d to %q, want 303 to /console/", next, st, loc)
		}
	}
	// Throttled like the admin API: 10 failures per user name an hour.
	for range 10 {
		c.NewClient(t).Login("pat", "wrong")
	}
	if st, _ := c.NewClient(t).Login("pat", "pat-password-1"); st != http.StatusTooManyRequests {
		t.Errorf("after 10 failures, the right password: %d, want 429", st)
	}
}

// TestSubscriberKeptOut: a subscriber's menu has no admin pages, and
// reaching them anyway shows the admin API's refusal.
func TestSubscriberKeptOut(t *testing.T) {
	c := consoletest.New(t)
	addUser(t, c, "sam", "subscriber")
	cl := c.SignIn(t, "sam", "sam-password-1")
	_, body := cl.Get("/console/notifications")
	for _, p := range []string{"/console/users", "/console/cluster", "/console/settings/analytics", "/console/dashboard"} {
		if strings.Contains(body, `href="`+p+`"`) {
			t.Errorf("a subscriber's menu links to %s", p)
		}
		if st, _ := cl.Get(p); st != http.StatusForbidden {
			t.Errorf("GET %s as a subscriber: %d, want 403", p, st)
		}
	}
	cl.Get("/console/notifications")
	if st, _, _ := cl.Post("/console/users/new", url.Values{"username": {"x"}, "password": {"x-password-12"}, "roles": {"admin"}}); st != http.StatusForbidden {
		t.Errorf("a subscriber creating a user: %d, want 403", st)
	}
}

// TestFormErrorNamesField: what the admin API refuses is shown on the
// form, next to the field it names, with the user's input kept.
func TestFormErrorNamesField(t *testing.T) {
	c := consoletest.New(t)
	cl := c.SignIn(t, admin, adminPW)
	cl.Get("/console/plans/new")
	st, body, _ := cl.Post("/console/plans/new", url.Values{"name": {"gold"}, "rate_limit": {"1"},
		"rate_limit_limit": {"-5"}, "rate_limit_per": {"minute"}, "rate_limit_window": {"fixed"}})
	if st != http.StatusBadRequest || !strings.Contains(body, "rate_limit.limit") || !strings.Contains(body, `value="gold"`) {
		t.Errorf("a negative limit: %d, want 400 naming rate_limit.limit with the name kept\n%s", st, body)
	}
	st, body, _ = cl.Post("/console/plans/new", url.Values{"name": {"gold"}, "rate_limit": {"1"},
		"rate_limit_limit": {"ten"}, "rate_limit_per": {"minute"}, "rate_limit_window": {"fixed"}})
	if st != http.StatusBadRequest || !strings.Contains(body, "whole number") {
		t.Errorf("a limit that is no number: %d, want 400", st)
	}
	cl.Get("/console/apis/new")
	st, body, _ = cl.Post("/console/apis/new", url.Values{"name": {"w"}, "version": {"v1"}, "context": {"no-slash"},
		"visibility": {"public"}, "auth": {"api_key"}, "endpoint_type": {"single"}, "targets": {"http://127.0.0.1:1"}})
	if st != http.StatusBadRequest || !strings.Contains(body, `field-error`) {
		t.Errorf("a context without a slash: %d, want 400 with a field error", st)
	}
}

// TestPlanAndAPIFlow: a publisher creates a plan and an API balanced over
// two targets, publishes it, and approves a subscription made through the
// admin API; the markup escapes what users typed.
func TestPlanAndAPIFlow(t *testing.T) {
	c := consoletest.New(t)
	addUser(t, c, "pat", "publisher")
	addUser(t, c, "sam", "subscriber")
	cl := c.SignIn(t, "pat", "pat-password-1")
	cl.Get("/console/plans/new")
	st, _, loc := cl.Post("/console/plans/new", url.Values{"name": {"gold <b>"}, "rate_limit": {"1"},
		"rate_limit_limit": {"100"}, "rate_limit_per": {"minute"}, "rate_limit_window": {"fixed"},
		"resources": {"POST /orders 5 second rolling"}})
	if st != http.StatusSeeOther {
		t.Fatalf("creating the plan: %d", st)
	}
	planID := strings.TrimSuffix(strings.TrimPrefix(loc, "/console/plans/"), "?saved=1")
	_, body := cl.Get(loc)
	for _, want := range []string{"100 requests a minute, then 429.", "POST /orders: 5 requests in any rolling second", "gold &lt;b&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("the plan page lacks %q", want)
		}
	}
	cl.Get("/console/apis/new")
	st, body, loc = cl.Post("/console/apis/new", url.Values{"name": {"weather"}, "version": {"v1"}, "context": {"/weather"},
		"visibility": {"public"}, "auth": {"api_key"}, "endpoint_type": {"load_balancer"}, "algorithm": {"weighted_round_robin"},
		"targets": {"http://127.0.0.1:9001 3\nhttp://127.0.0.1:9002 1\n"}, "plans": {planID}})
	if st != http.StatusSeeOther {
		t.Fatalf("creating the API: %d\n%s", st, body)
	}
	apiID := strings.TrimSuffix(strings.TrimPrefix(loc, "/console/apis/"), "?saved=1")
	cl.Get(loc)
	if st, _, _ := cl.Post("/console/apis/"+apiID+"/publish", nil); st != http.StatusSeeOther {
		t.Fatalf("publishing: %d", st)
	}
	api := mustAPI(t, c, admin, adminPW, "GET", "/apis/"+apiID, "", 200)
	if api["state"] != "published" {
		t.Fatalf("state %v after publish", api["state"])
	}
	if ts := api["endpoint"].(map[string]any)["targets"].([]any); len(ts) != 2 || ts[0].(map[string]any)["weight"] != 3.0 {
		t.Fatalf("targets %v", ts)
	}
	app := mustAPI(t, c, "sam", "sam-password-1", "POST", "/applications", `{"name":"sam's app"}`, 201)
	sub := mustAPI(t, c, "sam", "sam-password-1", "POST", "/applications/"+app["id"].(string)+"/subscriptions",
		`{"api":"`+apiID+`","plan":"`+planID+`"}`, 201)
	if sub["status"] != "pending" {
		t.Fatalf("subscription %v, want pending", sub["status"])
	}
	_, body = cl.Get("/console/subscriptions?status=pending")
	if !strings.Contains(body, "sam&#39;s app") || !strings.Contains(body, "weather") {
		t.Fatalf("the pending list lacks the subscription:\n%s", body)
	}
	_, body = cl.Get("/console/subscriptions?status=pending&api=" + apiID)
	if !strings.Contains(body, `href="?api=`+apiID+`&amp;status=approved"`) {
		t.Errorf("the status links of a list filtered by API drop the API")
	}
	if st, _, _ := cl.Post("/console/subscriptions/"+sub["id"].(string)+"/approve", nil); st != http.StatusSeeOther {
		t.Fatalf("approving: %d", st)
	}
	got := mustAPI(t, c, admin, adminPW, "GET", "/subscriptions/"+sub["id"].(string), "", 200)
	if got["status"] != "approved" {
		t.Fatalf("status %v after approve", got["status"])
	}
}

// TestSignOut: signing out ends the session; signing out everywhere ends
// the user's other sessions too.
func TestSignOut(t *testing.T) {
	c := consoletest.New(t)
	a, b, d := c.SignIn(t, admin, adminPW), c.SignIn(t, admin, adminPW), c.SignIn(t, admin, adminPW)
	a.Get("/console/notifications")
	if st, _, _ := a.Post("/console/logout", nil); st != http.StatusSeeOther {
		t.Fatalf("sign out: %d", st)
	}
	signedIn := func(cl *consoletest.Client) bool {
		st, _ := cl.Get("/console/notifications")
		return st == http.StatusOK
	}
	if signedIn(a) {
		t.Error("still signed in after signing out")
	}
	if !signedIn(b) || !signedIn(d) {
		t.Fatal("signing out one session ended others")
	}
	b.Get("/console/notifications")
	if st, _, _ := b.Post("/console/logout", url.Values{"everywhere": {"1"}}); st != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", st)
	}
	if signedIn(d) {
		t.Error("a session survived signing out everywhere")
	}
}

// TestSessionExpires: a session ends after the idle timeout without use,
// and at its maximum age however much it is used.
func TestSessionExpires(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := consoletest.NewWith(t, consoletest.Options{Now: clock, IdleTimeout: 30 * time.Minute, MaxAge: 2 * time.Hour})
	signedIn := func(cl *consoletest.Client) bool {
		st, _ := cl.Get("/console/notifications")
		return st == http.StatusOK
	}
	idle := c.SignIn(t, admin, adminPW)
	busy := c.SignIn(t, admin, adminPW)
	for i := range 5 { // 100 minutes of use every 20 minutes
		advance(20 * time.Minute)
		if !signedIn(busy) {
			t.Fatalf("a session used every 20 minutes ended after %d minutes", 20*(i+1))
		}
	}
	if signedIn(idle) {
		t.Error("a session unused for 100 minutes is still valid (idle timeout 30 minutes)")
	}
	advance(25 * time.Minute) // 125 minutes after sign-in
	if signedIn(busy) {
		t.Error("a session is valid past its maximum age of 2 hours")
	}
	st, _, loc := busy.Do(mustGet(t, c.URL+"/console/apis?q=x"))
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login?next=") {
		t.Errorf("an ended session: %d to %q, want 303 to the sign-in page", st, loc)
	}
}

func mustGet(t *testing.T, u string) *http.Request {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestPlanFormSOAPActions: a plan's limits of SOAP operations show in
// the form and survive an edit that does not touch them; one typed is
// read, and a bad one is refused at the field.
func TestPlanFormSOAPActions(t *testing.T) {
	c := consoletest.New(t)
	addUser(t, c, "pat", "publisher")
	plan := mustAPI(t, c, "pat", "pat-password-1", "POST", "/plans", `{"name":"desk","rate_limit":{"limit":100,"per":"minute",
		"resources":[{"pattern":"POST /","soap_action":"urn:booking:Cancel","limit":1,"per":"minute"},{"pattern":"POST /","limit":10,"per":"minute"}]}}`, 201)
	id := plan["id"].(string)
	cl := c.SignIn(t, "pat", "pat-password-1")
	_, body := cl.Get("/console/plans/" + id)
	if !strings.Contains(body, "POST / 1 minute fixed soap_action=urn:booking:Cancel\nPOST / 10 minute fixed\n") {
		t.Fatalf("the form does not show the action limit:\n%s", between(body, "<textarea", "</textarea>"))
	}
	form := url.Values{"name": {"desk"}, "description": {"front desk"}, "rate_limit": {"1"}, "rate_limit_limit": {"100"},
		"rate_limit_per": {"minute"}, "rate_limit_window": {"fixed"},
		"resources": {"POST / 1 minute fixed soap_action=urn:booking:Cancel\nPOST / 10 minute fixed\nPOST / 2 second soap_action=urn:booking:Get\n"}}
	if st, _, _ := cl.Post("/console/plans/"+id, form); st != http.StatusSeeOther {
		t.Fatalf("saving: %d", st)
	}
	got := mustAPI(t, c, "pat", "pat-password-1", "GET", "/plans/"+id, "", 200)
	rs := got["rate_limit"].(map[string]any)["resources"].([]any)
	if len(rs) != 3 || rs[0].(map[string]any)["soap_action"] != "urn:booking:Cancel" || rs[2].(map[string]any)["soap_action"] != "urn:booking:Get" {
		t.Errorf("after the edit: %v", rs)
	}
	cl.Get("/console/plans/" + id)
	form.Set("resources", "POST / 1 minute soap_action=urn:a\u202Eb\n")
	if st, body, _ := cl.Post("/console/plans/"+id, form); st != http.StatusBadRequest || !strings.Contains(body, "field-error") {
		t.Errorf("a bidi action: %d", st)
	}
}
