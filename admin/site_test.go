package admin_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-gw/portico/admin"
)

// raw sends a request with the given headers as the admin and returns the
// status and the error field of the answer.
func raw(t *testing.T, e *env, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", adminPW)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &result{t: t, body: b}
	return resp.StatusCode, r.errField()
}

// TestContentType: request bodies are read only as JSON; what a page of
// another site can send without a preflight (forms, text/plain) is 415.
func TestContentType(t *testing.T) {
	e := newEnv(t)
	plan := `{"name":"p","quota":{"limit":1,"per":"day"}}`
	for _, c := range []struct {
		name, ct, body string
		want           int
	}{
		{"json", "application/json", plan, 201},
		{"json utf-8", "application/json; charset=UTF-8", plan, 201},
		{"json upper case", "Application/JSON", plan, 201},
		{"form", "application/x-www-form-urlencoded", plan, 415},
		{"multipart", "multipart/form-data; boundary=x", plan, 415},
		{"text", "text/plain", plan, 415},
		{"text json", "text/json", plan, 415},
		{"other charset", "application/json; charset=latin1", plan, 415},
		{"other parameter", "application/json; profile=x", plan, 415},
		{"garbage", "application/json;;;", plan, 415},
		{"none with a body", "", plan, 415},
		{"form without a body", "application/x-www-form-urlencoded", "", 415},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.ct != "" {
				h["Content-Type"] = c.ct
			}
			body := strings.Replace(c.body, `"p"`, strconv.Quote(c.name), 1) // a plan's name is its owner's once
			code, field := raw(t, e, "POST", "/api/v1/plans", body, h)
			if code != c.want || (c.want == 415 && field != "Content-Type") {
				t.Errorf("status %d, field %q; want %d", code, field, c.want)
			}
		})
	}
	// Requests without a body need no Content-Type.
	api := e.admin().do("POST", "/api/v1/apis", weatherAPI("/ct")).want(http.StatusCreated).str("id")
	if code, _ := raw(t, e, "POST", "/api/v1/apis/"+api+"/deprecate", "", nil); code != http.StatusConflict {
		t.Errorf("a POST without a body: %d, want 409 (a draft)", code)
	}
}

// TestCrossSiteMessage: the 403 for a foreign origin tells the operator
// how to allow it, with the option of portico serve, not a Go field.
func TestCrossSiteMessage(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.url+"/api/v1/plans", nil)
	req.SetBasicAuth("admin", adminPW)
	req.Header.Set("Origin", "https://console.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.Contains(string(b), "--admin-allowed-origin") || strings.Contains(string(b), "Server.AllowedOrigins") {
		t.Errorf("%d %s: want a 403 that names --admin-allowed-origin", resp.StatusCode, b)
	}
}

// TestCrossSite: a request with an Origin other than the listener's own
// or Sec-Fetch-Site: cross-site is refused with 403 before anything else,
// reads included; Server.AllowedOrigins adds origins.
func TestCrossSite(t *testing.T) {
	e := newEnv(t, func(s *admin.Server) { s.AllowedOrigins = []string{"https://console.example.com"} })
	own := e.url // http://127.0.0.1:port
	for _, c := range []struct {
		name, method string
		header       map[string]string
		want         int
		field        string
	}{
		{"no origin", "GET", nil, 200, ""},
		{"own origin", "GET", map[string]string{"Origin": own}, 200, ""},
		{"own origin, post", "POST", map[string]string{"Origin": own}, 201, ""},
		{"allowed origin", "GET", map[string]string{"Origin": "https://console.example.com"}, 200, ""},
		{"allowed origin, default port", "GET", map[string]string{"Origin": "https://CONSOLE.example.com:443"}, 200, ""},
		{"foreign origin", "GET", map[string]string{"Origin": "https://evil.example"}, 403, "Origin"},
		{"foreign origin, post", "POST", map[string]string{"Origin": "https://evil.example"}, 403, "Origin"},
		{"allowed host, other scheme", "GET", map[string]string{"Origin": "http://console.example.com"}, 403, "Origin"},
		{"own host, other scheme", "GET", map[string]string{"Origin": strings.Replace(own, "http:", "https:", 1)}, 403, "Origin"},
		{"null origin", "POST", map[string]string{"Origin": "null"}, 403, "Origin"},
		{"cross-site fetch", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "Sec-Fetch-Site"},
		{"same-origin fetch", "GET", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": own}, 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, body := map[string]string{}, ""
			for k, v := range c.header {
				h[k] = v
			}
			if c.method == "POST" {
				h["Content-Type"] = "application/json"
				body = `{"name":"p","quota":{"limit":1,"per":"day"}}`
			}
			path := "/api/v1/plans"
			code, field := raw(t, e, c.method, path, body, h)
			if code != c.want || field != c.field {
				t.Errorf("status %d, field %q; want %d, %q", code, field, c.want, c.field)
			}
		})
	}
}
