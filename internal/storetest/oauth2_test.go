package storetest_test

// The OAuth2 flows on the real token stores. They live here, not in
// package oauth2, because a package below the root imports no other
// (layout_test.go), while the helpers under internal/ may drive any.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/oauth2"
	"github.com/portico-gw/portico/redisstore"
	"github.com/portico-gw/portico/sqlitestore"
)

const appSecret = "pk_e2eSecretAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// oauthConfig holds app1 with the key key1 (appSecret), subscribed under
// gold (approved) and silver (pending).
func oauthConfig() *portico.Config {
	return portico.NewConfig().With(1,
		portico.Put(&portico.Plan{ID: "gold"}),
		portico.Put(&portico.Plan{ID: "silver"}),
		portico.Put(&portico.Application{ID: "app1", Owner: "u1"}),
		portico.Put(&portico.Key{ID: "key1", ApplicationID: "app1", Hash: portico.HashKey(appSecret)}),
		portico.Put(&portico.Subscription{ID: "s1", ApplicationID: "app1", APIID: "api1", PlanID: "gold", Status: portico.Approved}),
		portico.Put(&portico.Subscription{ID: "s2", ApplicationID: "app1", APIID: "api2", PlanID: "silver", Status: portico.Pending}),
	)
}

func openSQLite(t testing.TB) *sqlitestore.DB {
	t.Helper()
	db, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "portico.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openRedis(t testing.TB, srv *redistest.Server) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(context.Background(), srv.URL(), "oauth2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// requestToken asks the token endpoint at base for a token with HTTP
// Basic, and returns the status and the decoded body.
func requestToken(t *testing.T, base, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, err := http.NewRequest(http.MethodPost, base+oauth2.TokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app1", appSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("status %d: %v", res.StatusCode, err)
	}
	return res.StatusCode, body
}

// testOAuth2 issues a token on one node (issuer's store) and verifies it
// on another (verifier's store), over real HTTP.
func testOAuth2(t *testing.T, issuer, verifier portico.TokenStore) {
	ctx := context.Background()
	cfg := oauthConfig()
	hs := httptest.NewServer(&oauth2.Server{Tokens: issuer, Config: func() *portico.Config { return cfg }})
	defer hs.Close()

	status, body := requestToken(t, hs.URL, "gold")
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["scope"] != "gold" {
		t.Fatalf("token request: %d %v", status, body)
	}
	tok, _ := body["access_token"].(string)
	v := oauth2.NewVerifier(verifier)
	defer v.Close()
	id, err := v.VerifyToken(ctx, tok, time.Now())
	if err != nil {
		t.Fatalf("VerifyToken on the other node: %v", err)
	}
	if id.Issuer != "portico" || id.Application != "app1" || id.KeyID != "key1" || !slices.Equal(id.Plans, []string{"gold"}) ||
		id.Expires.Before(time.Now().Add(59*time.Minute)) || id.Expires.After(time.Now().Add(time.Hour)) {
		t.Fatalf("identity %+v", id)
	}
	if got, err := verifier.Token(ctx, portico.HashKey(tok)); err != nil || got != nil {
		t.Fatalf("the admin API's lookup found the access token: %+v, %v", got, err)
	}
	if status, body := requestToken(t, hs.URL, "silver"); status != http.StatusBadRequest || body["error"] != "invalid_scope" {
		t.Fatalf("scope of a pending subscription: %d %v", status, body)
	}
	status, body = requestToken(t, hs.URL, "")
	if status != http.StatusOK {
		t.Fatalf("unscoped: %d %v", status, body)
	}
	if id, err := v.VerifyToken(ctx, body["access_token"].(string), time.Now()); err != nil || id.Plans != nil {
		t.Fatalf("unscoped: %+v, %v", id, err)
	}
	if _, err := v.VerifyToken(ctx, oauth2.Prefix+strings.Repeat("A", 43), time.Now()); oauth2.ReasonOf(err) != oauth2.UnknownToken {
		t.Fatalf("an unknown token: %v", err)
	}
}

// TestOAuth2SQLite runs the flow on the embedded store.
func TestOAuth2SQLite(t *testing.T) {
	db := openSQLite(t)
	testOAuth2(t, db, db)
}

// TestOAuth2Redis runs the flow on Redis, with two nodes' stores, and
// checks what a node answers while Redis is down: 503, and no token.
func TestOAuth2Redis(t *testing.T) {
	srv := redistest.Start(t)
	a, b := openRedis(t, srv), openRedis(t, srv)
	testOAuth2(t, a, b)

	cfg := oauthConfig()
	hs := httptest.NewServer(&oauth2.Server{Tokens: a, Config: func() *portico.Config { return cfg }})
	defer hs.Close()
	status, body := requestToken(t, hs.URL, "")
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	seen := body["access_token"].(string)
	v := oauth2.NewVerifier(b)
	if _, err := v.VerifyToken(context.Background(), seen, time.Now()); err != nil {
		t.Fatal(err)
	}
	status, body = requestToken(t, hs.URL, "")
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	unseen := body["access_token"].(string)

	srv.Stop()
	if status, body := requestToken(t, hs.URL, ""); status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
		t.Fatalf("Redis down: %d %v", status, body)
	}
	if _, err := v.VerifyToken(context.Background(), seen, time.Now()); err != nil {
		t.Fatalf("a cached token while Redis is down: %v", err)
	}
	if _, err := v.VerifyToken(context.Background(), unseen, time.Now()); portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("a token first seen while Redis is down: %v", err)
	}
}

// BenchmarkIssueSQLite measures a token request answered by a Server on
// the embedded store: one synced write transaction per token.
func BenchmarkIssueSQLite(b *testing.B) {
	db := openSQLite(b)
	cfg := oauthConfig()
	s := &oauth2.Server{Tokens: db, Config: func() *portico.Config { return cfg }, IssueRate: 1e9, IssueBurst: 1 << 30}
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, oauth2.TokenPath, strings.NewReader("grant_type=client_credentials&scope=gold"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("app1", appSecret)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}
