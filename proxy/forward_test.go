package proxy

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestLimitsMatchForwarded: a resource override counts every request the
// backend serves as its method and path: HEAD and methods in another case
// under GET, paths with ";" parameters or in another case; paths a
// backend could read otherwise than the gateway are refused.
func TestLimitsMatchForwarded(t *testing.T) {
	w := newWorld(t)
	lim := &fakeLimiter{n: 1 << 20}
	w.gw.Limiter = lim
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	key := w.subscribe("app", "api", portico.Approved)
	plan := *w.cfg.Plans.Get("plan")
	plan.RateLimit = &portico.RateLimit{Limit: 100, Per: portico.Second, Resources: []portico.ResourceLimit{
		{Pattern: "GET /orders/*", Limit: 1, Per: portico.Minute},
		{Pattern: "POST /orders/**", Limit: 1, Per: portico.Minute},
	}}
	w.apply(portico.Put(&plan))
	getKey := "app/api/res-" + compilePattern("GET /orders/*").id
	postKey := "app/api/res-" + compilePattern("POST /orders/**").id

	send := func(method, target string) (int, string) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, method+" "+target+" HTTP/1.1\r\nHost: gw\r\nX-API-Key: "+key+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tt := range []struct{ method, target, key string }{
		{"GET", "/api/orders/17", getKey},
		{"HEAD", "/api/orders/17", getKey},
		{"get", "/api/orders/17", getKey},
		{"Head", "/api/orders/17", getKey},
		{"GET", "/api/orders;jsessionid=1/17", getKey},
		{"GET", "/api/orders/17;v=2", getKey},
		{"GET", "/api/ORDERS/17", getKey},
		{"GET", "/api/%6Frders/17", getKey},
		{"post", "/api/orders/17/items", postKey},
		{"GET", "/api/orders/17/items", "app/api/rate"},
		{"GET", "/api/orderss/17", "app/api/rate"},
	} {
		lim.specs = nil
		status, body := send(tt.method, tt.target)
		if len(lim.specs) != 1 || lim.specs[0][0].Key != tt.key {
			t.Errorf("%s %s: %d, counted under %v, want %s", tt.method, tt.target, status, lim.specs, tt.key)
		}
		if tt.method == "GET" && status == 200 {
			var e echoed
			json.Unmarshal([]byte(body), &e)
			if want := strings.TrimPrefix(strings.ReplaceAll(tt.target, "%6F", "o"), "/api"); e.Path != want {
				t.Errorf("%s %s: the backend got %q", tt.method, tt.target, e.Path)
			}
		}
	}
	for _, target := range []string{
		"/api/orders%2F17",         // one segment here, two at a backend that decodes first
		"/api/orders%2f17/items",   //
		"/api/orders/%252e%252e/x", // dot segments at a backend that decodes twice
		"/api/orders%252F17",       // a "/" at a backend that decodes twice
		"/api/orders/17%5Cx",       // a "\" is a separator to some servers
		"/api/orders/17%00.json",   // NUL ends a path in C
		"/api/orders/..;/admin",    // "/../" to servlet containers
		"/api/orders/.;x/17",       //
		"/api/orders/;x/17",        // an empty segment
		"/api/orders%2e%2e/17",     // decoded: "orders../17", fine
	} {
		lim.specs = nil
		status, body := send("GET", target)
		if target == "/api/orders%2e%2e/17" {
			if status != 200 {
				t.Errorf("%s: %d %s", target, status, body)
			}
			continue
		}
		if status != 400 || errorCode(t, body) != "invalid" || len(lim.specs) != 0 {
			t.Errorf("%s: %d %s, limiter asked %d times", target, status, body, len(lim.specs))
		}
	}
}

// TestKeyNeverForwarded: no header or query parameter that a backend
// could read as the API key reaches it; only an exact api_key (percent-
// decoding aside) authenticates; the rest of the query is kept as sent.
func TestKeyNeverForwarded(t *testing.T) {
	w := newWorld(t)
	w.gw.Limiter = &fakeLimiter{n: 1 << 20}
	be := echo(t, "be")
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	w.api("open", "/open", portico.AuthNone, be.URL)
	key := w.subscribe("app", "api", portico.Approved)
	const secret = "s3cr3t"
	for _, variant := range []string{
		"api_key=" + secret, "API_KEY=" + secret, "Api_Key=" + secret, "api%5Fkey=" + secret, "api%5fkey=" + secret,
		"%61pi_key=" + secret, "api_key[]=" + secret, "api_key%5B%5D=" + secret, "api_key[0]=" + secret,
		"api.key=" + secret, "api+key=" + secret, "api%20key=" + secret, "api[key=" + secret, "+api_key=" + secret,
		"api_key", "api_key=" + secret + "&api_key=" + secret,
	} {
		for _, sep := range []string{"&", ";"} {
			target := "/open/x?z=1" + sep + variant + "&y=%20" + sep + "w"
			resp, body := get(t, w.srv.URL+target, "X_Api_Key", secret)
			var e echoed
			json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != 200 || strings.Contains(e.RawQuery, secret) || strings.Contains(strings.ToLower(e.RawQuery), "key") || strings.Contains(e.RawQuery, "%5") {
				t.Errorf("%s: %d, the backend got query %q", target, resp.StatusCode, e.RawQuery)
			}
			// ReverseProxy drops the pairs of a query with ";" (and
			// re-encodes it): only with "&" is the query kept as sent.
			if want := "z=1&y=%20&w"; sep == "&" && e.RawQuery != want {
				t.Errorf("%s: query %q, want %q", target, e.RawQuery, want)
			}
			for name := range e.Header {
				if strings.Contains(strings.ToLower(name), "key") {
					t.Errorf("%s: header %s forwarded", target, name)
				}
			}
		}
	}
	// The query is left exactly as sent when it holds no key.
	for _, q := range []string{"a=1&&b=%41&c", "keys=1&monkey=2&key=3&api_keys=4&x=%41&api_key_id=5"} {
		_, body := get(t, w.srv.URL+"/open/x?"+q)
		var e echoed
		json.Unmarshal([]byte(body), &e)
		if e.RawQuery != q {
			t.Errorf("query %q forwarded as %q", q, e.RawQuery)
		}
	}
	for _, tt := range []struct {
		query  string
		status int
	}{
		{"api_key=" + key, 200},
		{"api%5Fkey=" + key, 200},
		{"API_KEY=" + key, 401},
		{"api_key[]=" + key, 401},
	} {
		if resp, body := get(t, w.srv.URL+"/api/x?"+tt.query); resp.StatusCode != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.query, resp.StatusCode, body, tt.status)
		}
	}
}
