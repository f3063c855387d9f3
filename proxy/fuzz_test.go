package proxy

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// FuzzServeHTTP sends arbitrary paths, queries and keys through the
// gateway: it must never panic, never forward an API key, never send
// the backend a path outside the target's base path, nor a request to an
// API that validates requests that its document does not take.
func FuzzServeHTTP(f *testing.F) {
	var got struct {
		path, query string
		key, authz  bool
	}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path, got.query = r.URL.Path, r.URL.RawQuery
		_, got.key = r.Header["X-Api-Key"]
		_, got.authz = r.Header["Authorization"]
		w.Write([]byte("ok"))
	}))
	defer be.Close()
	store := &docStore{}
	w := &world{cfg: portico.NewConfig(), gw: &Gateway{Limiter: &fakeLimiter{n: 1 << 62}, Documents: store, DocumentRetry: time.Millisecond}}
	defer w.gw.Close()
	w.api("open", "/open", portico.AuthNone, be.URL+"/base")
	w.api("api", "/api/v1", portico.AuthAPIKey, be.URL+"/base")
	// An API with policies and methods that read Authorization.
	w.authAPI("pol", "/pol", be.URL+"/base", portico.AuthMethods{portico.AuthBasic, portico.AuthAPIKey}, func(a *portico.API) {
		a.Policies = &portico.Policies{
			IPRules:   &portico.IPRules{Deny: []string{"10.0.0.0/8"}},
			CORS:      &portico.CORS{AllowedOrigins: []string{"https://app.example"}},
			Headers:   &portico.HeaderRules{Request: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "X-Caller", Value: "$(application) $(client_ip)"}}},
			Resources: []portico.ResourcePolicies{{Pattern: "GET /x/*", ThreatProtection: &portico.ThreatProtection{AllowedMethods: []string{"GET"}}}},
		}
	})
	key := w.subscribe("app", "api", portico.Approved)
	w.apply(portico.Put(&portico.Subscription{ID: "s-pol", ApplicationID: "app", APIID: "pol", PlanID: "plan", Status: portico.Approved}))
	// An API that validates requests, and its validator to check the
	// gateway's verdicts by.
	doc, ref := ordersDocument(f, "orders-openapi31.yaml")
	store.PutDocument(f.Context(), "val", ref.SHA256, doc)
	w.validatingAPI("val", "/val", be.URL+"/base", ref, nil)
	v, err := openapi.NewValidator(doc)
	if err != nil {
		f.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		w.gw.mu.Lock()
		loaded := w.gw.validators[ref.SHA256].v.Load() != nil
		w.gw.mu.Unlock()
		if loaded {
			break
		}
		if time.Now().After(deadline) {
			f.Fatal("the document did not load")
		}
	}

	f.Add("/open/x", "a=1&api_key=zz", "")
	f.Add("/api/v1/x/y", "api_key="+key, "")
	f.Add("/api/v1/../../etc", "", key)
	f.Add("/open/%2e%2e/x", "api_key=%zz&b", "k")
	f.Add("/open/x", "API_KEY=a&api%5Fkey=b&api.key=c&api_key[]=d&z", "")
	f.Add("/api/v1/orders;x=1/17", "a=1&Api_Key="+key, "")
	f.Add("/pol/x/1", "", key)
	f.Add("/pol/y", "api_key="+key, "")
	f.Add("/pol/x/%2e", "", "YXBwOnBrX2FwcF9hcGk=") // Basic app:pk_app_api
	f.Add("/val/orders", "status=open&ids=1,2&limit=100", "")
	f.Add("/val/orders/7", "api_key="+key, "")
	f.Add("/val/files/ab.json", "", "")
	f.Fuzz(func(t *testing.T, path, query, hdrKey string) {
		// Only what a real server would take from a client reaches the gateway.
		u := &url.URL{Path: path}
		raw := "GET " + u.EscapedPath() + "?" + query + " HTTP/1.1\r\nHost: gw\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil || strings.ContainsAny(query, " \t\r\n\x00\x7f") {
			return
		}
		if hdrKey != "" {
			req.Header.Set("X-API-Key", hdrKey)
			if !strings.ContainsFunc(hdrKey, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
				// A server takes no other value from a client; an open
				// API forwards it.
				req.Header.Set("Authorization", "Basic "+hdrKey)
			}
		}
		got.path, got.query, got.key, got.authz = "", "", false, false
		rec := httptest.NewRecorder()
		w.gw.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 403, 404, 429, 502:
		default:
			t.Fatalf("status %d for %q?%q", rec.Code, path, query)
		}
		if rec.Code >= 400 && rec.Code != 502 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("error body %q is not JSON", rec.Body.String())
		}
		if rec.Code != 200 {
			return
		}
		if !strings.HasPrefix(got.path, "/base") || strings.Contains(got.path, "/../") || strings.HasSuffix(got.path, "/..") {
			t.Fatalf("backend got path %q for %q", got.path, path)
		}
		if strings.HasPrefix(path, "/pol") && got.authz {
			t.Fatalf("Authorization forwarded by an API that takes Basic")
		}
		if rest, ok := strings.CutPrefix(req.URL.Path, "/val"); ok {
			if ps := v.Validate(req, rest, nil); len(ps) > 0 {
				t.Fatalf("forwarded %q?%q, which the document does not take: %+v", req.URL.Path, req.URL.RawQuery, ps)
			}
		}
		if got.key || hasKeyParam(got.query) {
			t.Fatalf("key forwarded: header %v, query %q", got.key, got.query)
		}
	})
}

// hasKeyParam reports whether a backend could read a parameter of query
// as an API key: a name that decodes, in any case, to api_key, also with
// "." or " " for "_" or a "[…]" suffix.
func hasKeyParam(query string) bool {
	for _, pair := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		name = strings.ToLower(strings.TrimLeft(name, " "))
		if i := strings.IndexByte(name, '['); i >= 0 && strings.Contains(name[i:], "]") {
			name = name[:i]
		}
		if strings.NewReplacer(".", "_", " ", "_", "[", "_").Replace(name) == queryAPIKey {
			return true
		}
	}
	return false
}
