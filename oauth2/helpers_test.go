package oauth2

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// memTokens is an in-memory portico.TokenStore that counts its reads and
// can be made to fail. It is a fake of Portico's own interface; the real
// stores run these flows in internal/storetest/oauth2_test.go.
type memTokens struct {
	mu     sync.Mutex
	tokens map[string]portico.Token
	reads  atomic.Int64
	puts   atomic.Int64
	fail   atomic.Bool
}

var _ portico.TokenStore = (*memTokens)(nil)

var errDown = &portico.Error{Code: portico.EUnavailable, Message: "the data store is down"}

func newMemTokens() *memTokens { return &memTokens{tokens: map[string]portico.Token{}} }

func (m *memTokens) PutToken(_ context.Context, t *portico.Token) error {
	if m.fail.Load() {
		return errDown
	}
	if t.Hash == "" {
		return errors.New("no hash")
	}
	m.puts.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[t.Hash] = *t
	return nil
}

func (m *memTokens) Token(_ context.Context, hash string) (*portico.Token, error) {
	m.reads.Add(1)
	if m.fail.Load() {
		return nil, errDown
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[hash]
	if !ok {
		return nil, nil
	}
	return &t, nil
}

func (m *memTokens) TouchToken(_ context.Context, hash string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[hash]; ok {
		t.Expires = expires
		m.tokens[hash] = t
	}
	return nil
}

func (m *memTokens) DeleteToken(_ context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tokens, hash)
	return nil
}

func (m *memTokens) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tokens)
}

// The test configuration: app1 holds key1 (live, secret1), key1r
// (revoked, secretRevoked), and subscriptions under gold (approved) and
// silver (pending); app2 holds key2 (secret2) and is subscribed under
// bronze; "app:colon" has an ID with a colon and the key secretColon.
const (
	secret1       = "pk_secret1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	secretRevoked = "pk_revokedAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	secret2       = "pk_secret2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	secretColon   = "pk_colonAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testConfig() *portico.Config {
	revoked := t0.Add(-time.Hour)
	return portico.NewConfig().With(1,
		portico.Put(&portico.Plan{ID: "gold"}),
		portico.Put(&portico.Plan{ID: "silver"}),
		portico.Put(&portico.Plan{ID: "bronze"}),
		portico.Put(&portico.Application{ID: "app1", Owner: "u1"}),
		portico.Put(&portico.Application{ID: "app2", Owner: "u2"}),
		portico.Put(&portico.Application{ID: "app:colon", Owner: "u1"}),
		portico.Put(&portico.Key{ID: "key1", ApplicationID: "app1", Hash: portico.HashKey(secret1)}),
		portico.Put(&portico.Key{ID: "key1r", ApplicationID: "app1", Hash: portico.HashKey(secretRevoked), RevokedAt: &revoked}),
		portico.Put(&portico.Key{ID: "key2", ApplicationID: "app2", Hash: portico.HashKey(secret2)}),
		portico.Put(&portico.Key{ID: "keyc", ApplicationID: "app:colon", Hash: portico.HashKey(secretColon)}),
		portico.Put(&portico.Subscription{ID: "s1", ApplicationID: "app1", APIID: "api1", PlanID: "gold", Status: portico.Approved}),
		portico.Put(&portico.Subscription{ID: "s2", ApplicationID: "app1", APIID: "api2", PlanID: "silver", Status: portico.Pending}),
		portico.Put(&portico.Subscription{ID: "s3", ApplicationID: "app2", APIID: "api1", PlanID: "bronze", Status: portico.Approved}),
	)
}

// clock is a settable time for Server.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testServer returns a Server on a fresh memTokens and the test
// configuration, at a clock starting at t0.
func testServer() (*Server, *memTokens, *clock) {
	store, clk := newMemTokens(), &clock{now: t0}
	cfg := testConfig()
	return &Server{Tokens: store, Config: func() *portico.Config { return cfg }, Now: clk.Now}, store, clk
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// post sends a form-encoded token request with the given Authorization
// headers to h.
func post(h http.Handler, body string, authz ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, TokenPath, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, a := range authz {
		r.Header.Add("Authorization", a)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// answer is either body of the token endpoint.
type answer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// rfcErrors are the error codes the token endpoint may answer.
var rfcErrors = map[string]bool{
	"invalid_request": true, "invalid_client": true, "invalid_grant": true, "unauthorized_client": true,
	"unsupported_grant_type": true, "invalid_scope": true, "slow_down": true, "temporarily_unavailable": true,
}

// checkAnswer fails the test unless w is a well-formed answer of the
// token endpoint (RFC 6749 §5.1 or §5.2), and returns it.
func checkAnswer(t testing.TB, w *httptest.ResponseRecorder) answer {
	t.Helper()
	var a answer
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("status %d: body is not an answer: %v", w.Code, err)
	}
	h := w.Header()
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := h.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	if w.Code == http.StatusOK {
		if !wellFormed(a.AccessToken) || a.TokenType != "Bearer" || a.ExpiresIn <= 0 || a.Error != "" {
			t.Fatalf("200 with %+v", a)
		}
		return a
	}
	if !rfcErrors[a.Error] || a.AccessToken != "" {
		t.Fatalf("status %d with %+v", w.Code, a)
	}
	for _, c := range []byte(a.Description) {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			t.Fatalf("error_description %q has a character RFC 6749 §5.2 does not allow", a.Description)
		}
	}
	if (a.Error == "invalid_client") != (w.Code == http.StatusUnauthorized) {
		t.Errorf("error %s with status %d", a.Error, w.Code)
	}
	if w.Code == http.StatusUnauthorized && h.Get("WWW-Authenticate") != `Basic realm="portico"` {
		t.Errorf("401 with WWW-Authenticate %q", h.Get("WWW-Authenticate"))
	}
	return a
}
