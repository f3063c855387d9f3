package oauth2

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestIssue: a client authenticated by HTTP Basic or by form fields gets
// a token, stored under its hash with the application, the key, the scope
// and the lifetime.
func TestIssue(t *testing.T) {
	for _, c := range []struct {
		name      string
		body      string
		authz     []string
		app, key  string
		scope     []string
		wantScope string
	}{
		{"basic", "grant_type=client_credentials", []string{basic("app1", secret1)}, "app1", "key1", nil, ""},
		{"basic scheme in any case", "grant_type=client_credentials", []string{"bAsIc " + basic("app1", secret1)[6:]}, "app1", "key1", nil, ""},
		{"form", "grant_type=client_credentials&client_id=app1&client_secret=" + secret1, nil, "app1", "key1", nil, ""},
		{"basic with its client_id repeated in the body", "grant_type=client_credentials&client_id=app1", []string{basic("app1", secret1)}, "app1", "key1", nil, ""},
		{"scope", "grant_type=client_credentials&scope=gold", []string{basic("app1", secret1)}, "app1", "key1", []string{"gold"}, "gold"},
		{"scope repeated plan", "grant_type=client_credentials&scope=gold+gold", []string{basic("app1", secret1)}, "app1", "key1", []string{"gold"}, "gold"},
		{"other app", "grant_type=client_credentials&scope=bronze", []string{basic("app2", secret2)}, "app2", "key2", []string{"bronze"}, "bronze"},
		{"client_id with a colon, form-urlencoded", "grant_type=client_credentials", []string{basic("app%3Acolon", secretColon)}, "app:colon", "keyc", nil, ""},
		{"client_id with a colon in the body", "grant_type=client_credentials&client_id=app%3Acolon&client_secret=" + secretColon, nil, "app:colon", "keyc", nil, ""},
		{"unknown parameters ignored", "grant_type=client_credentials&foo=bar&audience=x", []string{basic("app1", secret1)}, "app1", "key1", nil, ""},
		{"empty parameter counts as absent", "grant_type=client_credentials&scope=&client_secret=", []string{basic("app1", secret1)}, "app1", "key1", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, store, _ := testServer()
			w := post(s, c.body, c.authz...)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			a := checkAnswer(t, w)
			if a.ExpiresIn != 3600 || a.Scope != c.wantScope {
				t.Errorf("expires_in %d, scope %q; want 3600, %q", a.ExpiresIn, a.Scope, c.wantScope)
			}
			got, err := store.Token(context.Background(), Hash(a.AccessToken))
			if err != nil || got == nil {
				t.Fatalf("stored token: %v, %v", got, err)
			}
			want := portico.Token{Hash: Hash(a.AccessToken), UserID: c.app, PasswordFingerprint: c.key, CreatedAt: t0, Expires: t0.Add(time.Hour), Scope: c.scope}
			if got.Hash != want.Hash || got.UserID != want.UserID || got.PasswordFingerprint != want.PasswordFingerprint ||
				!got.CreatedAt.Equal(want.CreatedAt) || !got.Expires.Equal(want.Expires) || !slices.Equal(got.Scope, want.Scope) || got.IdleTimeout != 0 {
				t.Errorf("stored %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestRefusals: every refused request gets its RFC 6749 error, status and
// headers, and stores nothing.
func TestRefusals(t *testing.T) {
	const cc = "grant_type=client_credentials"
	ok := basic("app1", secret1)
	type req struct {
		method, path, ctype string
		body                string
		authz               []string
	}
	form := func(body string, authz ...string) req {
		return req{http.MethodPost, TokenPath, "application/x-www-form-urlencoded", body, authz}
	}
	for _, c := range []struct {
		name   string
		req    req
		status int
		code   string // "" for a 404 of the gateway's shape
	}{
		{"GET", req{http.MethodGet, TokenPath, "", "", []string{ok}}, 405, "invalid_request"},
		{"PUT", req{http.MethodPut, TokenPath, "application/x-www-form-urlencoded", cc, []string{ok}}, 405, "invalid_request"},
		{"JSON body", req{http.MethodPost, TokenPath, "application/json", `{"grant_type":"client_credentials"}`, []string{ok}}, 415, "invalid_request"},
		{"no content type", req{http.MethodPost, TokenPath, "", cc, []string{ok}}, 415, "invalid_request"},
		{"multipart", req{http.MethodPost, TokenPath, "multipart/form-data; boundary=x", cc, []string{ok}}, 415, "invalid_request"},
		{"huge body", form(cc + "&x=" + strings.Repeat("a", MaxBodyBytes)), 413, "invalid_request"},
		{"bad escape in the body", form(cc+"&x=%zz", ok), 400, "invalid_request"},
		{"semicolon in the body", form(cc+";scope=gold", ok), 400, "invalid_request"},
		{"grant_type twice", form(cc+"&"+cc, ok), 400, "invalid_request"},
		{"unknown parameter twice", form(cc+"&x=1&x=2", ok), 400, "invalid_request"},
		{"scope twice", form(cc+"&scope=gold&scope=gold", ok), 400, "invalid_request"},
		{"Authorization twice", form(cc, ok, ok), 400, "invalid_request"},
		{"basic and client_secret in the body", form(cc+"&client_secret="+secret1, ok), 400, "invalid_request"},
		{"basic and another client_id in the body", form(cc+"&client_id=app2", ok), 400, "invalid_request"},
		{"no credentials", form(cc), 401, "invalid_client"},
		{"client_id only", form(cc + "&client_id=app1"), 401, "invalid_client"},
		{"client_secret only", form(cc + "&client_secret=" + secret1), 401, "invalid_client"},
		{"bad basic base64", form(cc, "Basic !!!notbase64"), 401, "invalid_client"},
		{"basic base64url", form(cc, "Basic "+strings.NewReplacer("+", "-", "/", "_").Replace(basic("app1", "?>?>?>")[6:])), 401, "invalid_client"},
		{"basic without a colon", form(cc, "Basic YXBwMQ=="), 401, "invalid_client"},
		{"basic with a bad escape", form(cc, basic("app%zz", secret1)), 401, "invalid_client"},
		{"basic empty secret", form(cc, basic("app1", "")), 401, "invalid_client"},
		{"bearer scheme", form(cc, "Bearer "+secret1), 401, "invalid_client"},
		{"scheme only", form(cc, "Basic"), 401, "invalid_client"},
		{"unknown app", form(cc, basic("nope", secret1)), 401, "invalid_client"},
		{"wrong secret", form(cc, basic("app1", secret1+"x")), 401, "invalid_client"},
		{"wrong secret in the body", form(cc + "&client_id=app1&client_secret=" + secret2), 401, "invalid_client"},
		{"revoked key", form(cc, basic("app1", secretRevoked)), 401, "invalid_client"},
		{"another app's key", form(cc, basic("app1", secret2)), 401, "invalid_client"},
		{"the key's hash as secret", form(cc, basic("app1", portico.HashKey(secret1))), 401, "invalid_client"},
		{"colon not escaped", form(cc, "Basic "+basic("app:colon", secretColon)[6:]), 401, "invalid_client"},
		{"no grant_type", form("scope=gold", ok), 400, "invalid_request"},
		{"password grant", form("grant_type=password&username=a&password=b", ok), 400, "unsupported_grant_type"},
		{"authorization_code grant", form("grant_type=authorization_code&code=x", ok), 400, "unsupported_grant_type"},
		{"scope of another app's plan", form(cc+"&scope=bronze", ok), 400, "invalid_scope"},
		{"scope of a pending subscription", form(cc+"&scope=silver", ok), 400, "invalid_scope"},
		{"scope with one plan not approved", form(cc+"&scope=gold+silver", ok), 400, "invalid_scope"},
		{"scope of no plan", form(cc+"&scope=nope", ok), 400, "invalid_scope"},
		{"scope with two spaces", form(cc+"&scope=gold++gold", ok), 400, "invalid_scope"},
		{"scope with a leading space", form(cc+"&scope=+gold", ok), 400, "invalid_scope"},
		{"scope with a quote", form(cc+"&scope=gold%22", ok), 400, "invalid_scope"},
		{"scope with a tab", form(cc+"&scope=gold%09gold", ok), 400, "invalid_scope"},
		{"scope with a backslash", form(cc+"&scope=a%5Cb", ok), 400, "invalid_scope"},
		{"scope with UTF-8", form(cc+"&scope=g%C3%B6ld", ok), 400, "invalid_scope"},
		{"scope too long", form(cc+"&scope="+strings.Repeat("gold+", MaxScopePlans)+"gold", ok), 400, "invalid_scope"},
		{"unknown path", req{http.MethodPost, "/oauth2/tokens", "application/x-www-form-urlencoded", cc, []string{ok}}, 404, ""},
		{"jwks", req{http.MethodGet, "/oauth2/jwks.json", "", "", nil}, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, store, _ := testServer()
			r := httptest.NewRequest(c.req.method, c.req.path, strings.NewReader(c.req.body))
			if c.req.ctype != "" {
				r.Header.Set("Content-Type", c.req.ctype)
			}
			for _, a := range c.req.authz {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if store.len() != 0 {
				t.Fatal("a token was stored")
			}
			if c.code == "" {
				if !strings.Contains(w.Body.String(), `"not_found"`) {
					t.Fatalf("404 body %s", w.Body)
				}
				return
			}
			for _, secret := range []string{secret1, secret2, secretRevoked} {
				if strings.Contains(w.Body.String(), secret) {
					t.Fatalf("the answer holds a secret: %s", w.Body)
				}
			}
			a := checkAnswer(t, w)
			if a.Error != c.code {
				t.Errorf("error %q (%s), want %q", a.Error, a.Description, c.code)
			}
			if c.status == 405 && w.Header().Get("Allow") != "POST" {
				t.Errorf("405 with Allow %q", w.Header().Get("Allow"))
			}
		})
	}
}

// TestContentTypeParameters: a charset on the form's media type is taken.
func TestContentTypeParameters(t *testing.T) {
	s, _, _ := testServer()
	for _, ct := range []string{"application/x-www-form-urlencoded; charset=UTF-8", "Application/X-WWW-Form-Urlencoded"} {
		r := httptest.NewRequest(http.MethodPost, TokenPath, strings.NewReader("grant_type=client_credentials"))
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Authorization", basic("app1", secret1))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Errorf("Content-Type %q: %d %s", ct, w.Code, w.Body)
		}
	}
}

// TestSameAnswerForUnknownClientAndWrongSecret: a client cannot tell an
// unknown application from a wrong secret or a revoked key.
func TestSameAnswerForUnknownClientAndWrongSecret(t *testing.T) {
	s, _, _ := testServer()
	var bodies []string
	for _, authz := range []string{basic("nope", secret1), basic("app1", "wrong"), basic("app1", secretRevoked), basic("app1", secret2)} {
		w := post(s, "grant_type=client_credentials", authz)
		bodies = append(bodies, w.Body.String())
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("answers differ:\n%s\n%s", bodies[0], b)
		}
	}
}

// TestStoreDown: a store that fails issues no token, answers 503
// temporarily_unavailable, and the log names the application but holds
// neither the secret nor a token.
func TestStoreDown(t *testing.T) {
	s, store, _ := testServer()
	var logs bytes.Buffer
	s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	store.fail.Store(true)
	w := post(s, "grant_type=client_credentials", basic("app1", secret1))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if a := checkAnswer(t, w); a.Error != "temporarily_unavailable" {
		t.Errorf("error %q", a.Error)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if !strings.Contains(logs.String(), "app1") || strings.Contains(logs.String(), secret1) || strings.Contains(logs.String(), Prefix) {
		t.Errorf("log: %s", logs.String())
	}
	store.fail.Store(false)
	if w := post(s, "grant_type=client_credentials", basic("app1", secret1)); w.Code != http.StatusOK {
		t.Fatalf("after the store is back: %d", w.Code)
	}
}

// TestNoConfig: before the configuration is loaded, requests are answered
// 503.
func TestNoConfig(t *testing.T) {
	s, store, _ := testServer()
	s.Config = func() *portico.Config { return nil }
	w := post(s, "grant_type=client_credentials", basic("app1", secret1))
	if w.Code != http.StatusServiceUnavailable || store.len() != 0 {
		t.Fatalf("status %d, %d tokens", w.Code, store.len())
	}
	checkAnswer(t, w)
}

// TestLifetime: Lifetime sets expires_in and the stored expiry, within
// MinLifetime and MaxLifetime.
func TestLifetime(t *testing.T) {
	for _, c := range []struct{ set, want time.Duration }{
		{0, time.Hour},
		{5 * time.Minute, 5 * time.Minute},
		{time.Second, time.Minute},
		{-time.Hour, time.Minute},
		{48 * time.Hour, 24 * time.Hour},
		{90*time.Second + time.Millisecond, 90 * time.Second},
	} {
		s, store, _ := testServer()
		s.Lifetime = c.set
		a := checkAnswer(t, post(s, "grant_type=client_credentials", basic("app1", secret1)))
		tok, _ := store.Token(context.Background(), Hash(a.AccessToken))
		if a.ExpiresIn != int64(c.want/time.Second) || !tok.Expires.Equal(t0.Add(c.want)) {
			t.Errorf("Lifetime %v: expires_in %d, expires %v; want %v", c.set, a.ExpiresIn, tok.Expires, c.want)
		}
	}
}

// TestRateLimit: an application gets IssueBurst tokens at once, then
// IssueRate a second, answered 429 slow_down with Retry-After in between;
// another application is not affected, and refused requests are not
// counted.
func TestRateLimit(t *testing.T) {
	s, store, clk := testServer()
	s.IssueRate, s.IssueBurst = 2, 3
	get := func(authz string) *httptest.ResponseRecorder {
		return post(s, "grant_type=client_credentials", authz)
	}
	for range 5 { // wrong secrets: not counted
		if w := get(basic("app1", "wrong")); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d", w.Code)
		}
	}
	for i := range 3 {
		if w := get(basic("app1", secret1)); w.Code != http.StatusOK {
			t.Fatalf("request %d of the burst: %d", i, w.Code)
		}
	}
	w := get(basic("app1", secret1))
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("past the burst: %d", w.Code)
	}
	if a := checkAnswer(t, w); a.Error != "slow_down" || w.Header().Get("Retry-After") != "1" {
		t.Errorf("429 with %+v, Retry-After %q", a, w.Header().Get("Retry-After"))
	}
	if w := get(basic("app2", secret2)); w.Code != http.StatusOK {
		t.Fatalf("another app: %d", w.Code)
	}
	clk.Add(500 * time.Millisecond) // one token refilled
	if w := get(basic("app1", secret1)); w.Code != http.StatusOK {
		t.Fatalf("after 0.5 s: %d", w.Code)
	}
	if w := get(basic("app1", secret1)); w.Code != http.StatusTooManyRequests {
		t.Fatalf("again after 0.5 s: %d", w.Code)
	}
	clk.Add(time.Hour) // full again, not more
	for i := range 3 {
		if w := get(basic("app1", secret1)); w.Code != http.StatusOK {
			t.Fatalf("request %d after an hour: %d", i, w.Code)
		}
	}
	if w := get(basic("app1", secret1)); w.Code != http.StatusTooManyRequests {
		t.Fatalf("past the burst after an hour: %d", w.Code)
	}
	if n := store.len(); n != 3+1+1+3 {
		t.Errorf("%d tokens stored, want 8", n)
	}
}

// TestLimiter checks the token bucket step by step.
func TestLimiter(t *testing.T) {
	var l limiter
	for i, c := range []struct {
		at   time.Duration
		ok   bool
		wait time.Duration
	}{
		{0, true, 0}, {0, true, 0}, {0, false, 500 * time.Millisecond},
		{250 * time.Millisecond, false, 250 * time.Millisecond},
		{500 * time.Millisecond, true, 0}, {500 * time.Millisecond, false, 500 * time.Millisecond},
		{-time.Hour, false, 500 * time.Millisecond}, // the clock going back refills nothing
		{10 * time.Second, true, 0}, {10 * time.Second, true, 0}, {10 * time.Second, false, 500 * time.Millisecond},
	} {
		ok, wait := l.allow("a", t0.Add(c.at), 2, 2)
		if ok != c.ok || wait != c.wait {
			t.Errorf("step %d at %v: %v, %v; want %v, %v", i, c.at, ok, wait, c.ok, c.wait)
		}
	}
}

// TestLimiterBounded: the limiter tracks at most maxLimited applications:
// a new one first makes it forget the full buckets (which changes no
// decision), and only if none is full, all of them.
func TestLimiterBounded(t *testing.T) {
	var l limiter
	for i := range maxLimited - 1 {
		l.allow(strconv.Itoa(i), t0, 1, 2)
	}
	later := t0.Add(time.Minute) // every bucket above is full again
	for range 2 {
		l.allow("busy", later, 1, 2)
	}
	if ok, _ := l.allow("busy", later, 1, 2); ok || l.len() != maxLimited {
		t.Fatalf("busy allowed %v past its burst, %d buckets", ok, l.len())
	}
	l.allow("new", later, 1, 2)
	if n := l.len(); n != 2 {
		t.Fatalf("%d buckets after the sweep, want busy and new", n)
	}
	if ok, _ := l.allow("busy", later, 1, 2); ok {
		t.Fatal("the sweep forgot a bucket in use")
	}

	// None full: all are forgotten.
	for i := range maxLimited - 2 {
		l.allow(strconv.Itoa(i), later, 1, 2)
	}
	l.allow("last", later, 1, 2)
	if n := l.len(); n != 1 {
		t.Fatalf("%d buckets after a sweep that freed none, want 1", n)
	}
}

// TestTokensUnique: tokens are well-formed and never repeat.
func TestTokensUnique(t *testing.T) {
	s, store, _ := testServer()
	s.IssueRate, s.IssueBurst = 1e9, 1<<30
	seen := map[string]bool{}
	for range 2000 {
		a := checkAnswer(t, post(s, "grant_type=client_credentials", basic("app1", secret1)))
		if seen[a.AccessToken] {
			t.Fatalf("token %s... issued twice", a.AccessToken[:8])
		}
		seen[a.AccessToken] = true
	}
	if store.len() != 2000 {
		t.Fatalf("%d stored", store.len())
	}
}

// TestNotAnAdminToken: an access token is stored under a hash the admin
// API's lookup (portico.HashKey, admin/auth.go bearer) never finds, and a
// token stored under the admin hash of a well-formed access token is not
// one.
func TestNotAnAdminToken(t *testing.T) {
	s, store, _ := testServer()
	ctx := context.Background()
	a := checkAnswer(t, post(s, "grant_type=client_credentials", basic("app1", secret1)))
	if got, err := store.Token(ctx, portico.HashKey(a.AccessToken)); err != nil || got != nil {
		t.Fatalf("admin lookup of an access token = %+v, %v; want none", got, err)
	}
	if !strings.HasPrefix(Hash(a.AccessToken), "oauth2:") || strings.TrimPrefix(Hash(a.AccessToken), "oauth2:") != portico.HashKey(a.AccessToken) {
		t.Fatalf("Hash = %s", Hash(a.AccessToken))
	}

	forged := Prefix + strings.Repeat("A", 43)
	store.PutToken(ctx, &portico.Token{Hash: portico.HashKey(forged), UserID: "u1", PasswordFingerprint: "fp", CreatedAt: t0, Expires: t0.Add(time.Hour)})
	v := NewVerifier(store)
	if _, err := v.VerifyToken(ctx, forged, t0); ReasonOf(err) != UnknownToken {
		t.Fatalf("an admin token's hash verified: %v", err)
	}
	admin := "ptk_" + strings.Repeat("A", 43)
	if _, err := v.VerifyToken(ctx, admin, t0); ReasonOf(err) != Malformed {
		t.Fatalf("an admin-shaped token: %v", err)
	}
}

// TestRotatedKey: a key within the grace of its rotation (Key.ExpiresAt)
// gets a token that ends with the grace; from its expiry on it gets
// invalid_client, as a revoked key does.
func TestRotatedKey(t *testing.T) {
	s, store, clk := testServer()
	cfg := s.Config()
	k := *cfg.Keys.Get("key1")
	k.ExpiresAt = t0.Add(10 * time.Minute)
	cfg = cfg.With(cfg.Version+1, portico.Put(&k))
	s.Config = func() *portico.Config { return cfg }
	a := checkAnswer(t, post(s, "grant_type=client_credentials", basic("app1", secret1)))
	tok, _ := store.Token(context.Background(), Hash(a.AccessToken))
	if a.ExpiresIn != 600 || !tok.Expires.Equal(k.ExpiresAt) {
		t.Errorf("expires_in %d, expires %v; want 600, the key's expiry %v", a.ExpiresIn, tok.Expires, k.ExpiresAt)
	}
	clk.Add(10 * time.Minute)
	w := post(s, "grant_type=client_credentials", basic("app1", secret1))
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid_client") {
		t.Errorf("after the grace: %d %s, want 401 invalid_client", w.Code, w.Body)
	}
}
