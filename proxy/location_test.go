package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// TestLocationRewritten: Location and Content-Location that point at the
// API's target reach the client as the API's public path; others are
// left alone.
func TestLocationRewritten(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if l := q.Get("loc"); l != "" {
			w.Header().Set("Location", l)
		}
		if l := q.Get("cloc"); l != "" {
			w.Header().Set("Content-Location", l)
		}
		w.WriteHeader(http.StatusFound)
	}))
	defer be.Close()
	w := newWorld(t)
	w.api("api", "/shop/v1", portico.AuthNone, be.URL+"/base")
	w.api("root", "/root", portico.AuthNone, be.URL)
	origin := be.URL // http://127.0.0.1:port
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct{ api, loc, want string }{
		{"/shop/v1", origin + "/base/orders/1?x=1#top", "/shop/v1/orders/1?x=1#top"},
		{"/shop/v1", origin + "/base", "/shop/v1"},
		{"/shop/v1", origin + "/base/", "/shop/v1/"},
		{"/shop/v1", strings.Replace(origin, "http://", "HTTP://", 1) + "/base/x", "/shop/v1/x"},
		{"/shop/v1", strings.TrimPrefix(origin, "http:") + "/base/x", "/shop/v1/x"},
		{"/shop/v1", "/base/orders/1", "/shop/v1/orders/1"},
		{"/shop/v1", "/base/a%2Fb?q=%20", "/shop/v1/a%2Fb?q=%20"},
		{"/shop/v1", "/basement", "/basement"},
		{"/shop/v1", "/other", "/other"},
		{"/shop/v1", origin + "/other", origin + "/other"},
		{"/shop/v1", "https://" + strings.TrimPrefix(origin, "http://") + "/base/x", "https://" + strings.TrimPrefix(origin, "http://") + "/base/x"},
		{"/shop/v1", "http://elsewhere.example/base/x", "http://elsewhere.example/base/x"},
		{"/shop/v1", "orders/1", "orders/1"},
		{"/root", origin + "/x/y", "/root/x/y"},
		{"/root", "/x", "/root/x"},
		{"/root", origin, "/root"},
	} {
		for _, header := range []string{"Location", "Content-Location"} {
			param := map[string]string{"Location": "loc", "Content-Location": "cloc"}[header]
			resp, err := client.Get(w.srv.URL + tt.api + "/r?" + param + "=" + url.QueryEscape(tt.loc))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get(header); got != tt.want {
				t.Errorf("%s %s: %q, want %q", tt.api, tt.loc, got, tt.want)
			}
		}
	}
}

func TestPublicLocation(t *testing.T) {
	g := &Gateway{}
	up := g.newUpstream(&portico.API{Context: "/api", Endpoint: portico.Endpoint{Type: portico.LoadBalancer,
		Targets: []portico.Target{{URL: "http://be.internal/v2"}, {URL: "https://other.internal:8443"}}}})
	req := &http.Request{URL: &url.URL{Scheme: "http", Host: "be.internal"}}
	for loc, want := range map[string]string{
		"http://be.internal:80/v2/x":       "/api/x",
		"http://BE.internal/v2/x":          "/api/x",
		"https://other.internal:8443/y":    "/api/y",
		"https://other.internal/y":         "",
		"http://user@be.internal/v2/x":     "",
		"/v2/x":                            "/api/x",
		"/v2//evil.example":                "/api//evil.example",
		"mailto:x@be.internal":             "",
		"http://be.internal/v2x":           "",
		"http://be.internal:8080/v2/x":     "",
		"http://be.internal/v2/x?a=b#c%20": "/api/x?a=b#c%20",
	} {
		got, ok := up.publicLocation(loc, req)
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("publicLocation(%q) = %q, want %q", loc, got, want)
		}
	}
	up.api = &portico.API{Context: "/"}
	if got, ok := up.publicLocation("/v2//evil.example", req); ok {
		t.Errorf("a location turned into another host's: %q", got)
	}
}
