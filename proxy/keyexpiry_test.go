package proxy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// testClock is a settable clock for Gateway.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestKeyExpiry: a rotated key (Key.ExpiresAt) works through its grace
// with every method that takes it — an API key, Basic credentials, an
// OAuth2 token issued against it — and from its expiry on is refused as a
// revoked key is, while the application's other key keeps working. Past
// its expiry it is still the gateway's credential: an open API's backend
// never gets it.
func TestKeyExpiry(t *testing.T) {
	aw := newAuthWorld(t)
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &testClock{t: start}
	aw.gw.Now = clock.Now
	be := echo(t, "be")
	aw.authAPI("open", "/open", be.URL, portico.AuthMethods{portico.AuthNone}, nil)

	// keyA is rotated with a grace of a minute; fresh replaces it.
	grace := time.Minute
	old := *aw.cfg.Keys.Get("k-" + aw.keyA)
	old.ExpiresAt = start.Add(grace)
	fresh := "pk_fresh_key_of_app"
	aw.apply(portico.Put(&old), portico.Put(&portico.Key{ID: "k-fresh", ApplicationID: "app", Hash: portico.HashKey(fresh), CreatedAt: start}))

	type req struct {
		name, path string
		hdr        []string
	}
	oldKey := []req{
		{"api key", "/key/x", []string{"X-API-Key", aw.keyA}},
		{"basic", "/basic/x", []string{"Authorization", basic("app", aw.keyA)}},
		{"key on a multi API", "/multi/x", []string{"X-API-Key", aw.keyA}},
		{"basic on a multi API", "/multi/x", []string{"Authorization", basic("app", aw.keyA)}},
		{"oauth2 token of the key", "/oauth/x", []string{"Authorization", "Bearer oauth-app"}},
	}
	newKey := []req{
		{"new api key", "/key/x", []string{"X-API-Key", fresh}},
		{"new basic", "/basic/x", []string{"Authorization", basic("app", fresh)}},
	}
	check := func(t *testing.T, rs []req, status int) {
		t.Helper()
		for _, r := range rs {
			resp, body := get(t, aw.srv.URL+r.path, r.hdr...)
			if resp.StatusCode != status {
				t.Errorf("%s: status %d, want %d: %s", r.name, resp.StatusCode, status, body)
			}
		}
	}
	for _, step := range []struct {
		name   string
		at     time.Duration // after start
		oldKey int
	}{
		{"at the rotation", 0, http.StatusOK},
		{"during the grace", grace / 2, http.StatusOK},
		{"a nanosecond before the end", grace - time.Nanosecond, http.StatusOK},
		{"at the end", grace, http.StatusUnauthorized},
		{"after the end", grace + time.Hour, http.StatusUnauthorized},
	} {
		t.Run(step.name, func(t *testing.T) {
			clock.set(start.Add(step.at))
			check(t, oldKey, step.oldKey)
			check(t, newKey, http.StatusOK)
		})
	}

	// Refused as a revoked or unknown key is: the same answer.
	resp, expired := get(t, aw.srv.URL+"/key/x", "X-API-Key", aw.keyA)
	_, unknown := get(t, aw.srv.URL+"/key/x", "X-API-Key", "pk_never_issued")
	if resp.StatusCode != http.StatusUnauthorized || expired != unknown {
		t.Errorf("expired key: %d %s; unknown key: %s", resp.StatusCode, expired, unknown)
	}
	// Still the gateway's credential: not forwarded to an open API.
	_, body := get(t, aw.srv.URL+"/open/x", "Authorization", "Bearer "+aw.keyA)
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("open API: %s", body)
	}
	if _, ok := e.Header["Authorization"]; ok {
		t.Error("an expired key reached an open API's backend")
	}
}

// TestKeyExpiryAllocs: the expiry check adds no allocation to the auth
// step, for a key without an expiry and for one within its grace.
func TestKeyExpiryAllocs(t *testing.T) {
	w := &world{cfg: portico.NewConfig(), gw: &Gateway{}}
	w.authAPI("api", "/api", "http://127.0.0.1:1", portico.AuthMethods{portico.AuthAPIKey}, nil)
	key := w.subscribe("app", "api", portico.Approved)
	rw := &nopWriter{h: http.Header{}}
	req := httptest.NewRequest("GET", "/api/x", nil)
	run := func() float64 {
		snap := w.gw.snap.Load()
		up := snap.routes["/api"].up
		return testing.AllocsPerRun(200, func() {
			if _, _, ok := w.gw.authenticate(rw, req, snap, up, key, jsonErrors); !ok {
				t.Fatal("refused")
			}
		})
	}
	plain := run()
	k := *w.cfg.Keys.Get("k-" + key)
	k.ExpiresAt = time.Now().Add(time.Hour)
	w.apply(portico.Put(&k))
	if expiring := run(); expiring != plain {
		t.Errorf("authenticate allocates %v times with an expiring key, %v without", expiring, plain)
	}
}
