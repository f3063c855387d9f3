package console_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-gw/portico/internal/consoletest"
)

// TestAPIFormRoundTrip: an API with timeouts opens with them as typed
// ("3s"), saving the form unchanged is taken, and a number of
// milliseconds is taken as the admin API documents.
func TestAPIFormRoundTrip(t *testing.T) {
	c := consoletest.New(t)
	out := mustAPI(t, c, admin, adminPW, "POST", "/apis", `{"name":"w","version":"v1","context":"/w","auth":"none",
		"endpoint":{"type":"single","targets":[{"url":"http://127.0.0.1:9"}]},"timeouts":{"connect":"3s","response":"1.5s"}}`, 201)
	id := out["id"].(string)
	cl := c.SignIn(t, admin, adminPW)
	_, body := cl.Get("/console/apis/" + id)
	if !strings.Contains(body, `value="3s"`) || !strings.Contains(body, `value="1.5s"`) {
		t.Fatalf("the API form does not show the timeouts as typed")
	}
	form := formValues(body)
	st, page, _ := cl.Post("/console/apis/"+id, form)
	if st != http.StatusSeeOther {
		t.Fatalf("saving the API form unchanged: %d\n%s", st, page)
	}
	form.Set("timeout_connect", "1500")
	if st, page, _ := cl.Post("/console/apis/"+id, form); st != http.StatusSeeOther {
		t.Fatalf("a connect timeout of 1500 (ms): %d\n%s", st, page)
	}
	got := mustAPI(t, c, admin, adminPW, "GET", "/apis/"+id, "", 200)
	if to := got["timeouts"].(map[string]any); to["connect"] != "1.5s" || to["response"] != "1.5s" {
		t.Fatalf("timeouts after saving: %v", to)
	}
	// A refused form keeps the timeouts typed.
	form.Set("timeout_connect", "soon")
	st, page, _ = cl.Post("/console/apis/"+id, form)
	if st != http.StatusBadRequest || !strings.Contains(page, `value="soon"`) {
		t.Fatalf("a bad timeout: %d; the form keeps it: %v", st, strings.Contains(page, `value="soon"`))
	}
}

// formValues reads the inputs, checked boxes, selected options and text
// areas of the first settings form of a page, as a browser would send it.
func formValues(body string) url.Values {
	v := url.Values{}
	i := strings.Index(body, `<form class="stack"`)
	if i < 0 {
		return v
	}
	f := body[i:]
	f = f[:strings.Index(f, "</form>")]
	attr := func(tag, name string) (string, bool) {
		k := strings.Index(tag, " "+name+`="`)
		if k < 0 {
			return "", false
		}
		rest := tag[k+len(name)+3:]
		return rest[:strings.Index(rest, `"`)], true
	}
	unescape := html.UnescapeString
	for _, part := range strings.Split(f, "<")[1:] {
		tag := "<" + part[:strings.Index(part, ">")+1]
		switch {
		case strings.HasPrefix(tag, "<input"):
			name, _ := attr(tag, "name")
			val, _ := attr(tag, "value")
			typ, _ := attr(tag, "type")
			if (typ == "checkbox" || typ == "radio") && !strings.Contains(tag, " checked") {
				continue
			}
			v.Add(name, unescape(val))
		case strings.HasPrefix(tag, "<textarea"):
			name, _ := attr(tag, "name")
			text := part[strings.Index(part, ">")+1:]
			v.Add(name, unescape(text))
		case strings.HasPrefix(tag, "<select"):
			name, _ := attr(tag, "name")
			sel := f[strings.Index(f, tag):]
			sel = sel[:strings.Index(sel, "</select>")]
			for k, o := range strings.Split(sel, "<option")[1:] {
				open := o[:strings.Index(o, ">")+1]
				val, ok := attr("<option"+open, "value")
				if !ok {
					text := o[len(open):]
					val = text[:strings.Index(text, "<")]
				}
				if k == 0 || strings.Contains(open, "selected") { // a browser sends the first when none is selected
					v.Set(name, unescape(val))
				}
			}
		}
	}
	return v
}

// TestOwnAccount: any user edits its own email on its account page, and
// changes its password with the current one.
func TestOwnAccount(t *testing.T) {
	c := consoletest.New(t)
	addUser(t, c, "pat", "publisher")
	cl := c.SignIn(t, "pat", "pat-password-1")
	_, body := cl.Get("/console/users/me")
	if strings.Contains(body, `name="disabled"`) || strings.Contains(body, `name="roles"`) {
		t.Error("a publisher's account page offers roles or the disabled flag")
	}
	if st, page, _ := cl.Post("/console/users/me", url.Values{"email": {"pat@example.com"}}); st != http.StatusSeeOther {
		t.Fatalf("a publisher saving its email: %d\n%s", st, page)
	}
	cl.Get("/console/users/me")
	if st, _, _ := cl.Post("/console/users/me", url.Values{"email": {"pat@example.com"}, "password": {"pat-password-2"}, "current_password": {"pat-password-1"}}); st != http.StatusSeeOther {
		t.Fatalf("a publisher changing its password: %d", st)
	}
	c.SignIn(t, "pat", "pat-password-2")
}

// TestNextStaysOnConsole: dot segments and encodings in next= never lead
// off /console/ after sign-in.
func TestNextStaysOnConsole(t *testing.T) {
	c := consoletest.New(t)
	for next, want := range map[string]string{
		"/console/../api/v1/users":    "/console/",
		"/console/./..//evil.example": "/console/",
		"/console/%2e%2e/api/v1":      "/console/",
		"/console/users?q=a":          "/console/users?q=a",
		"/console/apis/":              "/console/apis/",
	} {
		cl := c.NewClient(t)
		_, body := cl.Get("/console/login")
		_, _, loc := cl.Post("/console/login", url.Values{"form": {consoletest.Field(body, "form")}, "username": {admin}, "password": {adminPW}, "next": {next}})
		if loc != want {
			t.Errorf("next=%q: to %q, want %q", next, loc, want)
		}
	}
}

// TestFormBodies: a form larger than the console takes answers 413, one
// that is not URL-encoded 415, before anything is done.
func TestFormBodies(t *testing.T) {
	c := consoletest.New(t)
	cl := c.SignIn(t, admin, adminPW)
	cl.Get("/console/notifications")
	big := url.Values{"csrf": {cl.CSRF}, "x": {strings.Repeat("a", 1<<20)}}
	if st, _, _ := cl.Post("/console/notifications/read", big); st != http.StatusRequestEntityTooLarge {
		t.Errorf("a 1 MiB form: %d, want 413", st)
	}
	req, _ := http.NewRequest("POST", c.URL+"/console/notifications/read", strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"+cl.CSRF+"\r\n--b--\r\n"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	if st, _, _ := cl.Do(req); st != http.StatusUnsupportedMediaType {
		t.Errorf("a multipart form: %d, want 415", st)
	}
	// Sign-in throttled: the 429 carries Retry-After.
	addUser(t, c, "pat", "publisher")
	for range 10 {
		c.NewClient(t).Login("pat", "wrong")
	}
	n := c.NewClient(t)
	_, body := n.Get("/console/login")
	req, _ = http.NewRequest("POST", c.URL+"/console/login", strings.NewReader(url.Values{"form": {consoletest.Field(body, "form")}, "username": {"pat"}, "password": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := n.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a throttled sign-in: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
