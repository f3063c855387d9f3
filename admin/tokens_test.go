package admin_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"golang.org/x/crypto/bcrypt"
)

// sharedTokens is an in-memory portico.TokenStore shared by the Servers of a
// test, as the data store is shared by the nodes of a cluster. It keeps
// copies, records every token put, and can be down.
type sharedTokens struct {
	mu         sync.Mutex
	m          map[string]portico.Token
	puts       []portico.Token
	touches    int
	stale      bool  // TouchToken counts but changes nothing, as if every read raced the write
	down       error // when set, every call fails with it
	failDelete error // when set, DeleteToken fails with it
}

var _ portico.TokenStore = (*sharedTokens)(nil)

func (m *sharedTokens) PutToken(ctx context.Context, t *portico.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return m.down
	}
	if m.m == nil {
		m.m = map[string]portico.Token{}
	}
	m.m[t.Hash] = *t
	m.puts = append(m.puts, *t)
	return nil
}

func (m *sharedTokens) Token(ctx context.Context, hash string) (*portico.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return nil, m.down
	}
	if t, ok := m.m[hash]; ok {
		return &t, nil
	}
	return nil, nil
}

func (m *sharedTokens) TouchToken(ctx context.Context, hash string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return m.down
	}
	m.touches++
	if t, ok := m.m[hash]; ok && !m.stale {
		t.Expires = expires
		m.m[hash] = t
	}
	return nil
}

func (m *sharedTokens) DeleteToken(ctx context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return m.down
	}
	if m.failDelete != nil {
		return m.failDelete
	}
	delete(m.m, hash)
	return nil
}

func (m *sharedTokens) set(fn func(m *sharedTokens)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn(m)
}

// nodeEnv starts a Server like one node of a cluster: on store, with the
// ConfigVar cv (shared between the nodes of a test, standing in for the
// config sync), the clock clk and the token store tokens.
func nodeEnv(t *testing.T, store *memStore, cv *portico.ConfigVar, clk *clock, tokens portico.TokenStore, setup ...func(*admin.Server)) *env {
	t.Helper()
	e := &env{t: t, store: store, notes: &memNotes{}, cv: cv, clock: clk}
	e.srv = &admin.Server{
		Store:         store,
		Notifications: e.notes,
		Config:        cv,
		Logger:        slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now:           clk.Now,
		PasswordCost:  bcrypt.MinCost,
		Tokens:        tokens,
	}
	for _, fn := range setup {
		fn(e.srv)
	}
	if err := e.srv.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

// twoNodes starts two Servers on one store, one config and one token
// store, with the admin bootstrapped.
func twoNodes(t *testing.T, tokens portico.TokenStore, setup ...func(*admin.Server)) (a, b *env) {
	t.Helper()
	store, cv, clk := newMemStore(), new(portico.ConfigVar), newClock()
	a = nodeEnv(t, store, cv, clk, tokens, setup...)
	b = nodeEnv(t, store, cv, clk, tokens, setup...)
	if created, _, err := a.srv.EnsureAdmin(context.Background(), adminPW); err != nil || !created {
		t.Fatalf("EnsureAdmin = %v, %v", created, err)
	}
	return a, b
}

// issue gets a bearer token on e as c.
func issue(t *testing.T, c *client) (token string, expires time.Time) {
	t.Helper()
	var tok struct {
		Token     string
		ExpiresAt time.Time `json:"expires_at"`
	}
	c.do("POST", "/api/v1/tokens", nil).want(http.StatusCreated).decode(&tok)
	if tok.Token == "" {
		t.Fatal("no token")
	}
	return tok.Token, tok.ExpiresAt
}

// TestTokenStoreShared: with a TokenStore, a token issued by one Server
// works on another, a revocation on either holds on both, and expiry and
// a password change end the token everywhere. The store sees the token's
// hash, never its text, and a fingerprint of the password hash, never the
// hash.
func TestTokenStoreShared(t *testing.T) {
	tokens := &sharedTokens{}
	a, b := twoNodes(t, tokens)
	subA, tiaID := a.addUser("tia", portico.RoleSubscriber)

	tok, expires := issue(t, subA)
	if name := b.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK).str("username"); name != "tia" {
		t.Fatalf("token from A on B is %q's", name)
	}
	tokens.set(func(m *sharedTokens) {
		if len(m.puts) != 1 {
			t.Fatalf("%d tokens put, want 1", len(m.puts))
		}
		p := m.puts[0]
		u := a.store.snapshot().Users.Get(tiaID)
		switch {
		case p.Hash != portico.HashKey(tok):
			t.Errorf("stored hash %q, want HashKey of the token", p.Hash)
		case p.UserID != tiaID:
			t.Errorf("stored user %q, want %q", p.UserID, tiaID)
		case p.PasswordFingerprint != portico.PasswordFingerprint(u.PasswordHash):
			t.Errorf("stored fingerprint %q, want PasswordFingerprint of tia's hash", p.PasswordFingerprint)
		case !p.Expires.Equal(expires) || p.Expires.Sub(p.CreatedAt) != 12*time.Hour:
			t.Errorf("stored %v to %v, answered expiry %v; want 12 h", p.CreatedAt, p.Expires, expires)
		}
		for _, f := range []string{p.Hash, p.UserID, p.PasswordFingerprint} {
			if strings.Contains(f, tok) || strings.Contains(f, tok[4:]) || strings.Contains(f, "$2a$") {
				t.Errorf("stored field %q shows the token or the password hash", f)
			}
		}
	})

	// A Server that was not running when the token was issued (a restarted
	// node) takes it: nothing of it lives in the issuing Server.
	c := nodeEnv(t, a.store, a.cv, a.clock, tokens)
	c.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)

	// Revoked on B: gone on A and C at once.
	b.bearer(tok).do("DELETE", "/api/v1/tokens", nil).want(http.StatusNoContent)
	a.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	c.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)

	// Expired, though still in the store: rejected by both.
	tok, _ = issue(t, subA)
	b.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	a.clock.add(12 * time.Hour)
	a.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	b.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	if got, _ := tokens.Token(context.Background(), portico.HashKey(tok)); got == nil {
		t.Fatal("the fake dropped the expired token: the check above proved nothing")
	}

	// A password change on A ends the token on B.
	tok, _ = issue(t, subA)
	b.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	a.bearer(tok).do("PUT", "/api/v1/users/me", map[string]any{"password": "another-password", "current_password": "tia-secret"}).want(http.StatusOK)
	b.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	a.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)

	// A deleted user's token ends too.
	tok, _ = issue(t, a.as("tia", "another-password"))
	b.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	a.admin().do("DELETE", "/api/v1/users/"+tiaID, nil).want(http.StatusNoContent)
	b.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
}

// TestTokenStoreDown: while the token store cannot answer, bearer
// requests, issuing and revoking answer 503 with a message that says so,
// not 401; HTTP Basic keeps working; once the store is back the token
// works again.
func TestTokenStoreDown(t *testing.T) {
	for name, failure := range map[string]error{
		"unavailable": portico.Errorf(portico.EUnavailable, "the data store is unreachable"),
		"other error": errors.New("garbled reply"),
	} {
		t.Run(name, func(t *testing.T) {
			tokens := &sharedTokens{}
			a, _ := twoNodes(t, tokens)
			tok, _ := issue(t, a.admin())
			tokens.set(func(m *sharedTokens) { m.down = failure })

			for _, r := range []*result{
				a.bearer(tok).do("GET", "/api/v1/users/me", nil),
				a.bearer("ptk_unknown").do("GET", "/api/v1/users/me", nil),
				a.bearer(tok).do("DELETE", "/api/v1/tokens", nil),
				a.admin().do("POST", "/api/v1/tokens", nil),
			} {
				r.want(http.StatusServiceUnavailable)
				if r.errCode() != string(portico.EUnavailable) || !strings.Contains(string(r.body), "data store is unavailable") {
					t.Errorf("%s: %s", r.req, r.body)
				}
				if strings.Contains(string(r.body), "garbled") {
					t.Errorf("%s shows the internal error: %s", r.req, r.body)
				}
			}
			a.admin().do("GET", "/api/v1/users/me", nil).want(http.StatusOK)

			tokens.set(func(m *sharedTokens) { m.down = nil })
			a.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)

			// A revocation that the store did not take says so; the token
			// still works, as the client is told.
			tokens.set(func(m *sharedTokens) { m.failDelete = failure })
			r := a.bearer(tok).do("DELETE", "/api/v1/tokens", nil).want(http.StatusServiceUnavailable)
			if !strings.Contains(string(r.body), "revoking the token failed") {
				t.Errorf("failed revocation: %s", r.body)
			}
			a.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
		})
	}
}
