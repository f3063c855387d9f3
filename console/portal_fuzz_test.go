package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/portico-gw/portico/internal/consoletest"
)

// FuzzPortalTry posts hostile try-it forms (method, path, query, headers,
// body) as a signed-in subscriber with its own key, straight to the
// handler: no answer is a 5xx, and every request that reaches the
// gateway's handler stays under the API's context once cleaned, carries
// no control character in its target or its header values, no
// Authorization, and exactly the subscriber's key.
func FuzzPortalTry(f *testing.F) {
	for _, s := range [][4]string{
		{"GET", "/today", "city=Paris", "Accept: application/json"},
		{"POST", "../../admin", "a=%0d%0a", "X-A: 1\r\nX-B: 2"},
		{"PUT", "%2e%2e/%2e%2e/x", "api_key=1&b", "Host: evil\nX-Forwarded-For: 1.2.3.4"},
		{"DELETE", "a/./b/../../..", "%zz", "X-A:\x00"},
		{"GET", "/ü/%C3%BC/%ff", "é=è&&=", " folded: x"},
		{"HEAD", "//double//slash/", "#frag", "X-Api-Key: pk_x\r\nAuthorization: Bearer x"},
		{"OPTIONS", "\\..\\x", "a=1;b=2", "X_API_KEY: y"},
	} {
		f.Add(s[0], s[1], s[2], s[3], "")
	}
	e := newPortal(f)
	fx := seedCatalogTB(f, e)
	cl := e.portalSignIn(f, subName, subPW)
	u, _ := url.Parse(e.URL + "/portal/")
	var cookie *http.Cookie
	for _, k := range cl.HTTP.Jar.Cookies(u) {
		if k.Name == "portico_portal" {
			cookie = k
		}
	}
	_, body := cl.Get("/portal/apis/" + fx.Weather)
	csrf := consoletest.Field(body, "csrf")
	f.Fuzz(func(t *testing.T, method, p, query, headers, reqBody string) {
		form := url.Values{"application": {fx.App}, "key": {fx.Key}, "method": {method}, "path": {p},
			"query": {query}, "headers": {headers}, "body": {reqBody}, "csrf": {csrf}}
		req := httptest.NewRequest("POST", "/portal/apis/"+fx.Weather+"/try", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		before := len(e.Gateway.Calls())
		rec := httptest.NewRecorder()
		e.Console.Console.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q %q %q %q: %d\n%s", method, p, query, headers, rec.Code, rec.Body)
		}
		calls := e.Gateway.Calls()
		for _, c := range calls[before:] {
			u, err := url.ParseRequestURI(c.RequestURI)
			if err != nil {
				t.Fatalf("the gateway got a target that does not parse: %q", c.RequestURI)
			}
			if clean := path.Clean(u.Path); clean != "/weather" && !strings.HasPrefix(clean, "/weather/") {
				t.Fatalf("path %q reached the gateway as %q: outside /weather", p, c.RequestURI)
			}
			if strings.ContainsFunc(c.RequestURI, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("the gateway got a target with a control character: %q", c.RequestURI)
			}
			for name, vs := range c.Header {
				for _, v := range vs {
					if strings.ContainsAny(v, "\r\n\x00") {
						t.Fatalf("header %s reached the gateway as %q", name, v)
					}
				}
			}
			if c.Header.Get("Authorization") != "" || len(c.Header.Values("X-Api-Key")) != 1 || c.Header.Get("X-Api-Key") != fx.Key {
				t.Fatalf("the gateway got credentials %v", c.Header)
			}
		}
	})
}
