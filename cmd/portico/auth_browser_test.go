package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/browsertest"
)

// authCORSSecret is the HS256 secret of TestAuthCORSBrowser's JWT issuer:
// at least 32 bytes, as the admin API wants.
const authCORSSecret = "portico-browser-test-hs256-secret-0123456789"

// authCORSIssuer is the "iss" of TestAuthCORSBrowser's tokens.
const authCORSIssuer = "https://idp.test"

// TestAuthCORSBrowser calls an API with JWT auth and a CORS policy from
// pages of other origins, in a real headless Chromium:
//
//   - the admin signs in on the console and creates the API through its
//     form: JWT auth only (the API key box, ticked by default, unticked),
//     an HS256 issuer, and a CORS policy that allows one other origin and
//     the Authorization header; then publishes it;
//   - a subscriber's application subscribes through the admin API to a
//     plan that approves by itself; the test signs a token naming it;
//   - a page of the allowed origin fetches the API with the token in
//     Authorization: the browser's preflight is answered by the gateway
//     and never reaches the backend; the page reads 200, the backend's
//     body and an exposed header; the backend saw no Authorization;
//   - a page of an origin the policy does not allow cannot fetch it (a
//     TypeError), and the gateway forwards nothing;
//   - a bad token from the allowed origin gets a 401 the page can read,
//     because the gateway sets the CORS fields on its own errors too;
//   - the preflights as the browser sends them, from Go, are answered 204
//     (the allowed origin) and 403 (the other) by the gateway alone.
//
// No step waits more than 10 s (the browser's steps, the caller pages'
// fetches, the gateway admitting the token).
func TestAuthCORSBrowser(t *testing.T) {
	started := time.Now()
	b := browsertest.New(t) // skips the test without Chromium, unless CI=true
	m := startNode(t, t.TempDir())
	base := "http://" + m.AdminAddr
	gw := "http://" + m.GatewayAddr
	admin := client{t, base + "/api/v1", "admin", adminPassword}
	backend := newRecordingBackend(t)
	allowed, other := newCallerSite(t), newCallerSite(t)
	t.Logf("browser and node up in %v; gateway %s, backend %s, allowed origin %s, other origin %s",
		time.Since(started).Round(time.Millisecond), gw, backend.URL, allowed.URL, other.URL)

	plan := admin.call("POST", "/plans", map[string]any{
		"name": "browser callers", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 1000, "per": "minute"},
	}, 201)["id"].(string)

	// The API, through the console's form.
	tab := b.NewTab(t)
	signIn(t, tab, base, "admin", adminPassword, nil)
	tab.Go(base + "/console/apis/new")
	if st := tab.Status(); st != http.StatusOK {
		t.Fatalf("the new API form: status %d: %s", st, tab.Text("main"))
	}
	tab.SetValue("#name", "forecast")
	tab.SetValue("#version", "v1")
	tab.SetValue("#context", "/forecast")
	tab.SetValue("#endpoint_type", "single")
	tab.SetValue("#targets", backend.URL+"\n")
	tab.Click(`input[name="plans"][value="` + plan + `"]`)
	var apiKeyTicked bool
	tab.Eval(`document.getElementById("auth_api_key").checked`, &apiKeyTicked)
	if !apiKeyTicked {
		t.Fatal("the API key box of a new API is not ticked; the test unticks it")
	}
	tab.Click("#auth_api_key")
	tab.Click("#auth_jwt")
	issuers, _ := json.Marshal([]map[string]any{{
		"issuer": authCORSIssuer, "algorithms": []string{"HS256"}, "key": authCORSSecret, "claim": "sub",
	}})
	tab.SetValue("#jwt_issuers", string(issuers))
	tab.SetValue("#cors_origins", allowed.URL+"\n")
	tab.SetValue("#cors_headers", "Authorization")
	tab.SetValue("#cors_exposed", "X-Forecast")
	tab.ClickAndWait(`main form.stack button[type="submit"]`)
	api := idFrom(t, tab, "/console/apis/")
	if got := tab.Text("main"); !strings.Contains(got, "Saved; every node routes by it now.") {
		t.Errorf("the API's page after creating it reads %q", got)
	}
	if strings.Contains(tab.HTML(), authCORSSecret) {
		t.Error("the API's page shows the JWT issuer's secret")
	}
	tab.ClickAndWait(`form[action$="/publish"] button`)
	if got := tab.Text(`ol.states [aria-current="step"]`); got != "published" {
		t.Fatalf("the API's state after publishing: %q", got)
	}
	saved := admin.call("GET", "/apis/"+api, nil, 200)
	if got := fmt.Sprint(saved["auth"]); got != "[jwt]" {
		t.Errorf("the API's auth methods as the admin API has them: %s, want [jwt]", got)
	}
	t.Logf("the API as the admin API has it: auth %v, policies %v", saved["auth"], saved["policies"])

	// A subscriber's application, approved on the plan at once.
	admin.call("POST", "/users", map[string]any{"username": "sam", "password": subscriberPW, "roles": []string{"subscriber"}}, 201)
	sam := client{t, admin.base, "sam", subscriberPW}
	app := sam.call("POST", "/applications", map[string]any{"name": "sam's page"}, 201)["id"].(string)
	sub := sam.call("POST", "/applications/"+app+"/subscriptions", map[string]any{"api": api, "plan": plan}, 201)
	if sub["status"] != "approved" {
		t.Fatalf("the subscription is %v, want approved", sub["status"])
	}
	token := signHS256(t, authCORSSecret, map[string]any{
		"iss": authCORSIssuer, "sub": app, "iat": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix(),
	})

	// The gateway admits the token (a request of the test's own, not of a
	// browser, on a path of its own; the gateway strips the context).
	waitFor(t, "the gateway to admit the token", 10*time.Second, func() bool {
		req, _ := http.NewRequest("GET", gw+"/forecast/ready", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := adminHTTP.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	target := gw + "/forecast/resource"
	page := b.NewTab(t)

	// From the allowed origin, with the token.
	got := callFrom(t, page, allowed, target, token)
	if got.Status != http.StatusOK || got.Body != "sunny at /resource" || got.Exposed != "sunny" {
		t.Errorf("the allowed origin's fetch: %+v, want 200, the backend's body and X-Forecast: sunny", got)
	}
	seen := backend.seen("/resource")
	if len(seen) != 1 {
		t.Fatalf("the backend saw %d requests of /resource after one fetch: %+v", len(seen), seen)
	}
	if s := seen[0]; s.Method != http.MethodGet || s.Authorization != "" {
		t.Errorf("the backend saw %s with Authorization %q; want GET without the credentials", s.Method, s.Authorization)
	}
	if n := backend.options(); n != 0 {
		t.Errorf("%d preflight requests reached the backend; the gateway answers them", n)
	}

	// From an origin the policy does not allow.
	got = callFrom(t, page, other, target, token)
	if got.Error == "" || !strings.HasPrefix(got.Error, "TypeError") {
		t.Errorf("the other origin's fetch: %+v, want a TypeError", got)
	}
	if n := len(backend.seen("/resource")); n != 1 {
		t.Errorf("after the other origin's fetch the backend saw %d requests of /resource, want still 1", n)
	}

	// From the allowed origin, with a token of another secret.
	bad := signHS256(t, strings.Repeat("x", 44), map[string]any{
		"iss": authCORSIssuer, "sub": app, "exp": time.Now().Add(10 * time.Minute).Unix(),
	})
	got = callFrom(t, page, allowed, target, bad)
	if got.Status != http.StatusUnauthorized || !strings.Contains(got.Body, "bad_signature") {
		t.Errorf("the allowed origin's fetch with a bad token: %+v, want a 401 the page can read, naming bad_signature", got)
	}
	if n := len(backend.seen("/resource")); n != 1 {
		t.Errorf("after the bad token the backend saw %d requests of /resource, want still 1", n)
	}

	// The preflights as Chromium sends them, from the test: the gateway
	// answers both, 204 to the allowed origin and 403 to the other.
	for _, c := range []struct {
		origin string
		want   int
	}{{allowed.URL, http.StatusNoContent}, {other.URL, http.StatusForbidden}} {
		req, _ := http.NewRequest(http.MethodOptions, target, nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := adminHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != c.want {
			t.Errorf("a preflight from %s: status %d, want %d", c.origin, resp.StatusCode, c.want)
		}
		if c.want == http.StatusNoContent && (h.Get("Access-Control-Allow-Origin") != c.origin ||
			!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization")) {
			t.Errorf("the preflight from %s is answered with %v", c.origin, h)
		}
		if c.want != http.StatusNoContent && h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("the refused preflight from %s allows an origin: %v", c.origin, h)
		}
	}
	if n := backend.options(); n != 0 {
		t.Errorf("%d preflight requests reached the backend in all", n)
	}
	t.Logf("whole test: %v", time.Since(started).Round(time.Millisecond))
}

// seenRequest is what the recording backend saw of one request.
type seenRequest struct {
	Method, Path, Authorization, Origin string
}

// recordingBackend is a backend that answers "sunny at <path>" with
// X-Forecast: sunny and records every request it gets.
type recordingBackend struct {
	*httptest.Server
	mu  sync.Mutex
	all []seenRequest
}

func newRecordingBackend(t *testing.T) *recordingBackend {
	t.Helper()
	rb := &recordingBackend{}
	rb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rb.mu.Lock()
		rb.all = append(rb.all, seenRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Origin")})
		rb.mu.Unlock()
		w.Header().Set("X-Forecast", "sunny")
		fmt.Fprintf(w, "sunny at %s", r.URL.Path)
	}))
	t.Cleanup(rb.Close)
	return rb
}

// seen returns the requests of path the backend got, in order.
func (rb *recordingBackend) seen(path string) []seenRequest {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	var out []seenRequest
	for _, s := range rb.all {
		if s.Path == path {
			out = append(out, s)
		}
	}
	return out
}

// options returns how many OPTIONS requests the backend got.
func (rb *recordingBackend) options() int {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	n := 0
	for _, s := range rb.all {
		if s.Method == http.MethodOptions {
			n++
		}
	}
	return n
}

// callerPage is the page of a caller site: on load it fetches the target
// of its query with the bearer token of its query and writes the outcome
// into #result as JSON, then sets data-done on it.
const callerPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Caller</title></head><body>
<output id="result"></output>
<script>
(async () => {
	const out = document.getElementById("result");
	const q = new URLSearchParams(location.search);
	let r;
	try {
		const resp = await fetch(q.get("target"), {headers: {Authorization: "Bearer " + q.get("token")}});
		r = {status: resp.status, body: await resp.text(), exposed: resp.headers.get("X-Forecast") || ""};
	} catch (e) {
		r = {error: String(e)};
	}
	out.textContent = JSON.stringify(r);
	out.dataset.done = "1";
})();
</script></body></html>
`

// newCallerSite serves callerPage on a port of its own: an origin of its
// own.
func newCallerSite(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, callerPage)
	}))
	t.Cleanup(s.Close)
	return s
}

// callResult is what a caller page wrote into #result.
type callResult struct {
	Status  int    `json:"status"`
	Body    string `json:"body"`
	Exposed string `json:"exposed"`
	Error   string `json:"error"`
}

// callFrom loads the caller page of site in tab, which fetches target
// with token, and returns what the page saw, waiting at most 10 s.
func callFrom(t *testing.T, tab *browsertest.Tab, site *httptest.Server, target, token string) callResult {
	t.Helper()
	tab.Go(site.URL + "/?target=" + url.QueryEscape(target) + "&token=" + url.QueryEscape(token))
	if st := tab.Status(); st != http.StatusOK {
		t.Fatalf("the caller page at %s: status %d", site.URL, st)
	}
	pollPage(t, tab, "the caller page at "+site.URL+" to finish its fetch", 10*time.Second,
		`document.getElementById("result")?.dataset.done === "1"`,
		`document.getElementById("result")?.textContent || ""`)
	var r callResult
	if err := json.Unmarshal([]byte(tab.Text("#result")), &r); err != nil {
		t.Fatalf("the caller page at %s wrote %q: %v", site.URL, tab.Text("#result"), err)
	}
	t.Logf("a page of %s fetched %s: %+v", site.URL, target, r)
	return r
}

// signHS256 returns the compact JWS of claims signed with HS256 and secret.
func signHS256(t *testing.T, secret string, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}
