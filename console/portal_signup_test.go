package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-gw/portico/internal/consoletest"
)

// TestPortalSignup: the sign-up form posts to the admin API's POST
// /signup, whose rules it shows: off refuses, open signs the new
// subscriber in, approval leaves it waiting; refused forms name their
// field; the form needs its cookie; sign-ups are throttled per address.
func TestPortalSignup(t *testing.T) {
	e := newPortal(t)
	signup := func(cl *consoletest.Client, form url.Values) (int, string, string, http.Header) {
		t.Helper()
		_, body := cl.Get("/portal/signup")
		if !form.Has("form") {
			form.Set("form", consoletest.Field(body, "form"))
		}
		req, _ := http.NewRequest("POST", e.URL+"/portal/signup", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.URL)
		resp, err := cl.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String(), resp.Header.Get("Location"), resp.Header
	}
	user := func(name string) url.Values {
		return url.Values{"username": {name}, "email": {name + "@example.com"}, "password": {name + "-password"}, "password2": {name + "-password"}}
	}

	st, body, _, _ := signup(e.NewClient(t), user("ann"))
	if st != http.StatusForbidden || !strings.Contains(body, "Signing up is closed here") {
		t.Errorf("sign-up while it is off: %d, want 403 saying it is closed", st)
	}

	mustAPI(t, e.Console, admin, adminPW, "PUT", "/settings/signup", `{"mode":"open"}`, 200)
	cl := e.NewClient(t)
	st, _, loc, _ := signup(cl, user("ann"))
	if st != http.StatusSeeOther || loc != "/portal/apps" {
		t.Fatalf("sign-up while it is open: %d to %q, want 303 to /portal/apps", st, loc)
	}
	if st, _ := cl.Get("/portal/apps"); st != http.StatusOK {
		t.Errorf("after signing up, /portal/apps: %d", st)
	}
	if u := mustAPI(t, e.Console, "ann", "ann-password", "GET", "/users/me", "", 200); u["email"] != "ann@example.com" || len(u["roles"].([]any)) != 1 || u["roles"].([]any)[0] != "subscriber" {
		t.Errorf("the new user: %v", u)
	}

	for _, tc := range []struct {
		name  string
		form  url.Values
		want  int
		field string
	}{
		{"passwords that differ", func() url.Values { f := user("bob"); f.Set("password2", "other-password"); return f }(), 400, "password2"},
		{"a short password", func() url.Values { f := user("bob"); f.Set("password", "short"); f.Set("password2", "short"); return f }(), 400, "password"},
		{"a taken name", user("ann"), 409, "username"},
		{"no email", func() url.Values { f := user("bob"); f.Del("email"); return f }(), 400, "email"},
	} {
		st, body, _, _ := signup(e.NewClient(t), tc.form)
		if st != tc.want || !strings.Contains(body, "(field <code>"+tc.field+"</code>)") {
			t.Errorf("%s: %d, want %d naming %s\n%s", tc.name, st, tc.want, tc.field, between(body, `class="error"`, "</p>"))
		}
		if strings.Contains(body, tc.form.Get("password")) && tc.form.Get("password") != "" {
			t.Errorf("%s: the page shows the password typed", tc.name)
		}
	}
	if st, _, _, _ := signup(e.NewClient(t), func() url.Values { f := user("eve"); f.Set("form", "forged"); return f }()); st != http.StatusForbidden {
		t.Errorf("sign-up without the form's cookie: %d, want 403", st)
	}

	mustAPI(t, e.Console, admin, adminPW, "PUT", "/settings/signup", `{"mode":"approval"}`, 200)
	cl = e.NewClient(t)
	st, body, _, _ = signup(cl, user("cat"))
	if st != http.StatusCreated || !strings.Contains(body, "An admin approves it before you can sign in") {
		t.Errorf("sign-up awaiting approval: %d\n%s", st, mainOf(body))
	}
	if st, _ := portalLogin(t, e.NewClient(t), "cat", "cat-password"); st != http.StatusUnauthorized {
		t.Errorf("signing in before the approval: %d, want 401", st)
	}

	// Sign-ups are counted per address: 10 an hour.
	var throttled http.Header
	for i := range 12 {
		st, _, _, h := signup(e.NewClient(t), user("dan"+string(rune('a'+i))))
		if st == http.StatusTooManyRequests {
			throttled = h
			break
		}
	}
	if throttled == nil || throttled.Get("Retry-After") == "" {
		t.Errorf("12 sign-ups from one address were not throttled with Retry-After")
	}
}
