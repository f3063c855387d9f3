package admin_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
)

// settingStore is a memStore that also keeps run-time settings, as both
// of Portico's stores do: Servers on one settingStore are the nodes of a
// cluster.
type settingStore struct {
	*memStore
	mu sync.Mutex
	m  map[string]string
}

var _ portico.SettingStore = (*settingStore)(nil)

func (s *settingStore) Setting(_ context.Context, name string) (string, error) {
	if s.isDown() {
		return "", portico.Errorf(portico.EUnavailable, "memstore is down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[name], nil
}

func (s *settingStore) SetSetting(_ context.Context, name, value string) error {
	if s.isDown() {
		return portico.Errorf(portico.EUnavailable, "memstore is down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[name] = value
	return nil
}

func (s *settingStore) isDown() bool {
	s.memStore.mu.Lock()
	defer s.memStore.mu.Unlock()
	return s.memStore.down
}

// signupEnv is a Server on a settingStore, with sign-up set to mode.
func signupEnv(t *testing.T, mode portico.SignupMode, setup ...func(*admin.Server)) (*env, *settingStore) {
	t.Helper()
	store := &settingStore{memStore: newMemStore()}
	e := newEnv(t, append([]func(*admin.Server){func(s *admin.Server) { s.Store = store }}, setup...)...)
	e.admin().do("PUT", "/api/v1/settings/signup", map[string]any{"mode": mode}).want(http.StatusOK)
	return e, store
}

func signupBody(name string) map[string]any {
	return map[string]any{"username": name, "password": name + "-secret", "email": name + "@example.com"}
}

func TestSignupSettings(t *testing.T) {
	e, _ := signupEnv(t, portico.SignupOff)
	adm := e.admin()
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	pub, _ := e.addUser("pub", portico.RolePublisher)

	if m := adm.do("GET", "/api/v1/settings/signup", nil).want(http.StatusOK).str("mode"); m != "off" {
		t.Errorf("mode %q, want off", m)
	}
	for _, c := range []*client{sub, pub} {
		c.do("GET", "/api/v1/settings/signup", nil).want(http.StatusForbidden)
		c.do("PUT", "/api/v1/settings/signup", map[string]any{"mode": "open"}).want(http.StatusForbidden)
	}
	e.anon().do("PUT", "/api/v1/settings/signup", map[string]any{"mode": "open"}).want(http.StatusUnauthorized)
	adm.do("PUT", "/api/v1/settings/signup", map[string]any{"mode": "everyone"}).wantErr(http.StatusBadRequest, "mode")
	adm.do("PUT", "/api/v1/settings/signup", map[string]any{}).wantErr(http.StatusBadRequest, "mode")
	adm.do("PUT", "/api/v1/settings/signup", map[string]any{"mode": "open", "x": 1}).wantErr(http.StatusBadRequest, "x")
	if m := adm.do("GET", "/api/v1/settings/signup", nil).want(http.StatusOK).str("mode"); m != "off" {
		t.Errorf("after refused changes: mode %q, want off", m)
	}
	for _, m := range []string{"open", "approval", "off"} {
		adm.do("PUT", "/api/v1/settings/signup", map[string]any{"mode": m}).want(http.StatusOK)
		if got := adm.do("GET", "/api/v1/settings/signup", nil).want(http.StatusOK).str("mode"); got != m {
			t.Errorf("mode %q, want %q", got, m)
		}
	}
}

// TestSignupDefaultOff: a Server whose store keeps no settings starts
// with sign-up off, and keeps a changed mode in memory.
func TestSignupDefaultOff(t *testing.T) {
	e := newEnv(t)
	e.anon().do("POST", "/api/v1/signup", signupBody("ann")).want(http.StatusForbidden)
	e.admin().do("PUT", "/api/v1/settings/signup", map[string]any{"mode": "open"}).want(http.StatusOK)
	e.anon().do("POST", "/api/v1/signup", signupBody("ann")).want(http.StatusCreated)
}

// TestSignupShared: the mode set on one node holds on another at once.
func TestSignupShared(t *testing.T) {
	e1, store := signupEnv(t, portico.SignupOff)
	e2 := startEnv(t, store.memStore, func(s *admin.Server) { s.Store = store })
	e2.anon().do("POST", "/api/v1/signup", signupBody("ann")).want(http.StatusForbidden)
	e1.admin().do("PUT", "/api/v1/settings/signup", map[string]any{"mode": "open"}).want(http.StatusOK)
	e2.anon().do("POST", "/api/v1/signup", signupBody("ann")).want(http.StatusCreated)
	if m := e2.admin().do("GET", "/api/v1/settings/signup", nil).want(http.StatusOK).str("mode"); m != "open" {
		t.Errorf("the other node's mode %q, want open", m)
	}
	// A store that cannot be read: 503, no user made.
	store.set(func(m *memStore) { m.down = true })
	e2.anon().do("POST", "/api/v1/signup", signupBody("bob")).want(http.StatusServiceUnavailable)
	store.set(func(m *memStore) { m.down = false })
	if store.snapshot().UserByName("bob") != nil {
		t.Error("a sign-up was saved while the store was down")
	}
}

func TestSignupOpen(t *testing.T) {
	e, _ := signupEnv(t, portico.SignupOpen)
	anon := e.anon()
	res := anon.do("POST", "/api/v1/signup", signupBody("ann")).want(http.StatusCreated)
	u := res.obj()
	if u["username"] != "ann" || u["email"] != "ann@example.com" || u["disabled"] != nil || u["pending_approval"] != nil {
		t.Errorf("new user %v", u)
	}
	if roles, _ := u["roles"].([]any); len(roles) != 1 || roles[0] != "subscriber" {
		t.Errorf("roles %v, want [subscriber]", u["roles"])
	}
	if loc := res.header.Get("Location"); loc != "/api/v1/users/"+res.str("id") {
		t.Errorf("Location %q", loc)
	}
	// The new user signs in and works as a subscriber.
	ann := e.as("ann", "ann-secret")
	ann.do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	ann.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated)
	ann.do("GET", "/api/v1/users", nil).want(http.StatusForbidden)

	// Admins are told, on their webhooks too.
	notes := items[map[string]any](e.admin().do("GET", "/api/v1/notifications", nil))
	if len(notes.Items) != 1 || notes.Items[0]["kind"] != "user_signup" || !strings.Contains(notes.Items[0]["message"].(string), `"ann"`) {
		t.Fatalf("notifications %+v", notes.Items)
	}
	adminID := e.admin().do("GET", "/api/v1/users/me", nil).str("id")
	if admins, _ := notes.Items[0]["admins"].([]any); len(admins) != 1 || admins[0] != adminID {
		t.Errorf("the notice goes to admins %v, want [%s]", notes.Items[0]["admins"], adminID)
	}
}

func TestSignupRefusals(t *testing.T) {
	e, store := signupEnv(t, portico.SignupOpen)
	e.admin().do("POST", "/api/v1/users", map[string]any{"username": "Taken", "password": "taken-secret", "roles": []string{"subscriber"}}).
		want(http.StatusCreated)
	before := store.snapshot().Users.Len()
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"username taken in another case", map[string]any{"username": "taken", "password": "long-enough", "email": "t@example.com"}, http.StatusConflict, "username"},
		{"no username", map[string]any{"password": "long-enough", "email": "a@example.com"}, http.StatusBadRequest, "username"},
		{"bad username", map[string]any{"username": "ann smith", "password": "long-enough", "email": "a@example.com"}, http.StatusBadRequest, "username"},
		{"colon in username", map[string]any{"username": "ann:x", "password": "long-enough", "email": "a@example.com"}, http.StatusBadRequest, "username"},
		{"long username", map[string]any{"username": strings.Repeat("a", 65), "password": "long-enough", "email": "a@example.com"}, http.StatusBadRequest, "username"},
		{"no password", map[string]any{"username": "ann", "email": "a@example.com"}, http.StatusBadRequest, "password"},
		{"short password", map[string]any{"username": "ann", "password": "1234567", "email": "a@example.com"}, http.StatusBadRequest, "password"},
		{"long password", map[string]any{"username": "ann", "password": strings.Repeat("p", 73), "email": "a@example.com"}, http.StatusBadRequest, "password"},
		{"no email", map[string]any{"username": "ann", "password": "long-enough"}, http.StatusBadRequest, "email"},
		{"bad email", map[string]any{"username": "ann", "password": "long-enough", "email": "ann"}, http.StatusBadRequest, "email"},
		{"email with a name", map[string]any{"username": "ann", "password": "long-enough", "email": "Ann <ann@example.com>"}, http.StatusBadRequest, "email"},
		{"roles", map[string]any{"username": "ann", "password": "long-enough", "email": "a@example.com", "roles": []string{"admin"}}, http.StatusBadRequest, "roles"},
		{"internal", map[string]any{"username": "ann", "password": "long-enough", "email": "a@example.com", "internal": true}, http.StatusBadRequest, "internal"},
		{"disabled", map[string]any{"username": "ann", "password": "long-enough", "email": "a@example.com", "disabled": false}, http.StatusBadRequest, "disabled"},
		{"id", map[string]any{"username": "ann", "password": "long-enough", "email": "a@example.com", "id": "mine"}, http.StatusBadRequest, "id"},
		{"not an object", "[1]", http.StatusBadRequest, ""},
		{"no body", nil, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) { e.in(t).anon().do("POST", "/api/v1/signup", tc.body).wantErr(tc.status, tc.field) })
	}
	// A form a page of another site could post, and a cross-site request.
	req, _ := http.NewRequest("POST", e.url+"/api/v1/signup", strings.NewReader("username=ann&password=long-enough&email=a@example.com"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form: %v %v, want 415", resp.Status, err)
	}
	req, _ = http.NewRequest("POST", e.url+"/api/v1/signup", strings.NewReader(`{"username":"ann","password":"long-enough","email":"a@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("another origin: %v %v, want 403", resp.Status, err)
	}
	if n := store.snapshot().Users.Len(); n != before {
		t.Errorf("%d users after refused sign-ups, want %d", n, before)
	}
	// Off: refused whatever the body.
	e.admin().do("PUT", "/api/v1/settings/signup", map[string]any{"mode": "off"}).want(http.StatusOK)
	e.anon().do("POST", "/api/v1/signup", signupBody("ann")).wantErr(http.StatusForbidden, "")
}

func TestSignupApproval(t *testing.T) {
	e, _ := signupEnv(t, portico.SignupApproval)
	res := e.anon().do("POST", "/api/v1/signup", signupBody("ann")).want(http.StatusCreated)
	id := res.str("id")
	if u := res.obj(); u["disabled"] != true || u["pending_approval"] != true {
		t.Errorf("new user %v, want disabled and pending_approval", u)
	}
	ann := e.as("ann", "ann-secret")
	ann.do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	ann.do("POST", "/api/v1/tokens", nil).want(http.StatusUnauthorized)
	if !strings.Contains(items[map[string]any](e.admin().do("GET", "/api/v1/notifications", nil)).Items[0]["message"].(string), "/approve") {
		t.Error("the notice does not say how to approve")
	}
	// Only admins approve.
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	sub.do("POST", "/api/v1/users/"+id+"/approve", nil).want(http.StatusForbidden)
	pub.do("POST", "/api/v1/users/"+id+"/approve", nil).want(http.StatusForbidden)
	ann.do("POST", "/api/v1/users/"+id+"/approve", nil).want(http.StatusUnauthorized)
	e.anon().do("POST", "/api/v1/users/"+id+"/approve", nil).want(http.StatusUnauthorized)
	// Others do not see that a user waits.
	for _, u := range items[map[string]any](pub.do("GET", "/api/v1/subscribers", nil)).Items {
		if _, ok := u["pending_approval"]; ok {
			t.Errorf("a publisher sees pending_approval: %v", u)
		}
	}
	adm := e.admin()
	adm.do("POST", "/api/v1/users/nope/approve", nil).want(http.StatusNotFound)
	u := adm.do("POST", "/api/v1/users/"+id+"/approve", nil).want(http.StatusOK).obj()
	if u["disabled"] != nil || u["pending_approval"] != nil {
		t.Errorf("approved user %v", u)
	}
	ann.do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	adm.do("POST", "/api/v1/users/"+id+"/approve", nil).wantErr(http.StatusConflict, "")
	subID := sub.do("GET", "/api/v1/users/me", nil).str("id")
	adm.do("POST", "/api/v1/users/"+subID+"/approve", nil).wantErr(http.StatusConflict, "")

	// Enabling a pending user approves it too; a PUT may echo the flag
	// but not set it.
	bob := e.anon().do("POST", "/api/v1/signup", signupBody("bob")).want(http.StatusCreated).str("id")
	adm.do("PUT", "/api/v1/users/"+bob, map[string]any{"disabled": false, "pending_approval": true}).want(http.StatusOK)
	if u := adm.do("GET", "/api/v1/users/"+bob, nil).obj(); u["pending_approval"] != nil || u["disabled"] != nil {
		t.Errorf("enabled user %v", u)
	}
	adm.do("POST", "/api/v1/users", map[string]any{"username": "carl", "password": "carl-secret", "roles": []string{"subscriber"}, "pending_approval": true}).
		wantErr(http.StatusBadRequest, "pending_approval")
}

// TestSignupThrottle: each client address may attempt 10 sign-ups an
// hour, refused or not; then 429 with Retry-After until the hour ends.
// Sign-in is counted apart.
func TestSignupThrottle(t *testing.T) {
	lim := &fixedLimiter{}
	e, store := signupEnv(t, portico.SignupOpen, func(s *admin.Server) { s.SignInLimiter = lim })
	anon := e.anon()
	for i := range 10 {
		body := signupBody("user" + strconv.Itoa(i))
		if i%2 == 1 {
			body["password"] = "short" // refused attempts count too
			anon.do("POST", "/api/v1/signup", body).wantErr(http.StatusBadRequest, "password")
			continue
		}
		anon.do("POST", "/api/v1/signup", body).want(http.StatusCreated)
	}
	res := anon.do("POST", "/api/v1/signup", signupBody("late")).wantErr(http.StatusTooManyRequests, "")
	if ra, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
		t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
	}
	if store.snapshot().UserByName("late") != nil {
		t.Error("a throttled sign-up was saved")
	}
	// The users made sign in: their sign-in is not throttled by sign-ups.
	e.as("user0", "user0-secret").do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	// The hour over, sign-ups are taken again.
	e.clock.add(3600e9)
	anon.do("POST", "/api/v1/signup", signupBody("later")).want(http.StatusCreated)
	if n := lim.takesOf("signup/addr/"); n != 12 {
		t.Errorf("%d sign-up counts, want 12", n)
	}
	// Off, sign-ups are refused before they are counted.
	e.admin().do("PUT", "/api/v1/settings/signup", map[string]any{"mode": "off"}).want(http.StatusOK)
	anon.do("POST", "/api/v1/signup", signupBody("off")).want(http.StatusForbidden)
	if n := lim.takesOf("signup/addr/"); n != 12 {
		t.Errorf("%d sign-up counts after a refusal while off, want 12", n)
	}
}
