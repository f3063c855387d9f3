package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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

const adminPW = "admin-password"

// clock is a test clock: each reading is one second after the last.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an admin Server on a memStore behind a real HTTP server.
type env struct {
	t     *testing.T
	store *memStore
	notes *memNotes
	cv    *portico.ConfigVar
	clock *clock
	srv   *admin.Server
	url   string
}

// newEnv starts a Server on an empty store, with each of setup run on it
// first, and bootstraps the admin.
func newEnv(t *testing.T, setup ...func(*admin.Server)) *env {
	t.Helper()
	e := startEnv(t, newMemStore(), setup...)
	created, pw, err := e.srv.EnsureAdmin(context.Background(), adminPW)
	if err != nil || !created || pw != "" {
		t.Fatalf("EnsureAdmin = %v, %q, %v; want true, \"\", nil", created, pw, err)
	}
	return e
}

// startEnv starts a Server on store, with each of setup run on it first.
func startEnv(t *testing.T, store *memStore, setup ...func(*admin.Server)) *env {
	t.Helper()
	e := &env{t: t, store: store, notes: &memNotes{}, cv: new(portico.ConfigVar), clock: newClock()}
	e.srv = &admin.Server{
		Store:         store,
		Notifications: e.notes,
		Config:        e.cv,
		Logger:        slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now:           e.clock.Now,
		PasswordCost:  bcrypt.MinCost,
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

// in returns e for use in the subtest t.
func (e *env) in(t *testing.T) *env {
	n := *e
	n.t = t
	return &n
}

func (e *env) admin() *client { return e.as("admin", adminPW) }

func (e *env) as(user, pass string) *client { return &client{e: e, user: user, pass: pass} }

func (e *env) anon() *client { return &client{e: e} }

func (e *env) bearer(token string) *client { return &client{e: e, token: token} }

// addUser creates a user through the API; its password is name+"-secret".
func (e *env) addUser(name string, roles ...portico.Role) (*client, string) {
	e.t.Helper()
	res := e.admin().do("POST", "/api/v1/users", map[string]any{
		"username": name, "password": name + "-secret", "roles": roles,
	}).want(http.StatusCreated)
	return e.as(name, name+"-secret"), res.str("id")
}

// client makes requests as one user.
type client struct {
	e                 *env
	user, pass, token string
}

// result is an answer.
type result struct {
	t      *testing.T
	req    string
	status int
	header http.Header
	body   []byte
}

// do sends a request. body is nil (none), a string (sent as is) or a value
// (sent as JSON). Every answer is checked never to show a password hash or
// a key hash.
func (c *client) do(method, path string, body any) *result {
	t := c.e.t
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.user != "":
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{`"password_hash":`, `"hash":`, "$2a$", "$2b$"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s %s: answer shows %s: %s", method, path, secret, b)
		}
	}
	if ct := resp.Header.Get("Content-Type"); len(b) > 0 && !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	if len(b) > 0 && !json.Valid(b) {
		t.Fatalf("%s %s: answer is not JSON: %s", method, path, b)
	}
	return &result{t: t, req: method + " " + path, status: resp.StatusCode, header: resp.Header, body: b}
}

// want fails the test unless the status is status.
func (r *result) want(status int) *result {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("%s: status %d, want %d; body %s", r.req, r.status, status, r.body)
	}
	return r
}

// wantErr fails the test unless the answer is an error with status and
// error.field.
func (r *result) wantErr(status int, field string) *result {
	r.t.Helper()
	r.want(status)
	if got := r.errField(); got != field {
		r.t.Fatalf("%s: error.field %q, want %q; body %s", r.req, got, field, r.body)
	}
	return r
}

func (r *result) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("%s: %v; body %s", r.req, err, r.body)
	}
}

func (r *result) obj() map[string]any {
	r.t.Helper()
	var m map[string]any
	r.decode(&m)
	return m
}

// str returns a top-level string field.
func (r *result) str(key string) string {
	r.t.Helper()
	s, _ := r.obj()[key].(string)
	return s
}

func (r *result) errField() string {
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Field
}

func (r *result) errCode() string {
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// listOf is a page of a list.
type listOf[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func items[T any](r *result) listOf[T] {
	r.t.Helper()
	r.want(http.StatusOK)
	var l listOf[T]
	r.decode(&l)
	return l
}

// Bodies used across tests.
func goldPlan(name string) map[string]any {
	return map[string]any{
		"name":       name,
		"rate_limit": map[string]any{"limit": 100, "per": "second", "window": "fixed"},
		"quota":      map[string]any{"limit": 100000, "per": "month", "mode": "hard"},
	}
}

// weatherAPI is an API "weather" at context: version "v1" at /w, /weather
// and /weather/v1, else "v1" and the context, so that APIs at other
// contexts have names of their own (an API's name and version are
// unique).
func weatherAPI(context string, plans ...string) map[string]any {
	if plans == nil {
		plans = []string{}
	}
	version := "v1"
	if context != "/w" && context != "/weather" && context != "/weather/v1" {
		version += context
	}
	return map[string]any{
		"name": "weather", "version": version, "context": context,
		"visibility": "public", "auth": "api_key",
		"endpoint": map[string]any{
			"type": "load_balancer", "algorithm": "weighted_round_robin",
			"targets": []map[string]any{
				{"url": "http://10.0.0.5:7001", "weight": 3},
				{"url": "http://10.0.0.6:7001/base", "weight": 1},
			},
		},
		"plans": plans,
	}
}

// checkUnchanged records every Config set into cv and, at the end of the
// test, checks that none was changed after it was set.
func checkUnchanged(t *testing.T, cv *portico.ConfigVar) {
	type snap struct {
		c    *portico.Config
		json string
	}
	var (
		mu    sync.Mutex
		snaps []snap
	)
	cv.Watch(func(c *portico.Config) {
		b, _ := json.Marshal(c)
		mu.Lock()
		snaps = append(snaps, snap{c, string(b)})
		mu.Unlock()
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for i, s := range snaps {
			if b, _ := json.Marshal(s.c); string(b) != s.json {
				t.Errorf("config %d (version %d) was changed after it was set", i, s.c.Version)
			}
		}
		if len(snaps) < 2 {
			t.Errorf("only %d configs seen", len(snaps))
		}
	})
}
