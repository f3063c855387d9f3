package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"golang.org/x/crypto/bcrypt"
)

// TestWalkthrough is the story of the design: an admin creates a publisher
// and a subscriber; the publisher creates a plan and an API and publishes
// it; the subscriber creates an application, a key and a subscription; the
// publisher approves it; the admin evicts it.
func TestWalkthrough(t *testing.T) {
	e := newEnv(t)
	checkUnchanged(t, e.cv)
	adm := e.admin()

	pub, pubID := e.addUser("pat", portico.RolePublisher)
	sub, subID := e.addUser("sam", portico.RoleSubscriber)

	var plan portico.Plan
	pub.do("POST", "/api/v1/plans", goldPlan("gold")).want(http.StatusCreated).decode(&plan)
	if plan.Owner != pubID || plan.ID == "" || plan.OnDatastoreError != portico.DatastoreLocal || plan.AutoApprove {
		t.Fatalf("plan = %+v", plan)
	}

	res := pub.do("POST", "/api/v1/apis", weatherAPI("/weather/v1", plan.ID)).want(http.StatusCreated)
	if loc := res.header.Get("Location"); !strings.HasPrefix(loc, "/api/v1/apis/") {
		t.Errorf("Location = %q", loc)
	}
	var api portico.API
	res.decode(&api)
	if api.State != portico.Draft || api.Owner != pubID || len(api.Endpoint.Targets) != 2 || api.Endpoint.Targets[0].Weight != 3 {
		t.Fatalf("api = %+v", api)
	}
	// The subscriber cannot see the draft yet.
	sub.do("GET", "/api/v1/apis/"+api.ID, nil).want(http.StatusNotFound)
	if l := items[portico.API](sub.do("GET", "/api/v1/apis", nil)); l.Total != 0 {
		t.Fatalf("subscriber sees %d APIs before publishing", l.Total)
	}
	pub.do("POST", "/api/v1/apis/"+api.ID+"/publish", nil).want(http.StatusOK).decode(&api)
	if api.State != portico.Published {
		t.Fatalf("state after publish = %s", api.State)
	}
	if l := items[portico.API](sub.do("GET", "/api/v1/apis?state=published", nil)); l.Total != 1 || l.Items[0].ID != api.ID {
		t.Fatalf("subscriber's APIs = %+v", l)
	}
	// Subscribers do not learn where the backend is.
	if seen := sub.do("GET", "/api/v1/apis/"+api.ID, nil).want(http.StatusOK).obj(); seen["endpoint"] != nil || seen["context"] != "/weather/v1" {
		t.Fatalf("subscriber sees %v", seen)
	}

	var app portico.Application
	sub.do("POST", "/api/v1/applications", map[string]any{"name": "sam-app"}).want(http.StatusCreated).decode(&app)
	if app.Owner != subID {
		t.Fatalf("app owner = %q, want %q", app.Owner, subID)
	}

	var key struct{ ID, Key, Prefix, Application string }
	sub.do("POST", "/api/v1/applications/"+app.ID+"/keys", nil).want(http.StatusCreated).decode(&key)
	if !strings.HasPrefix(key.Key, "pk_") || len(key.Key) < 40 || key.Prefix != key.Key[:8] || key.Application != app.ID {
		t.Fatalf("key = %+v", key)
	}
	stored := e.cv.Load().Keys.Get(key.ID)
	if stored == nil || stored.Hash != portico.HashKey(key.Key) || stored.Prefix != key.Prefix {
		t.Fatalf("stored key = %+v", stored)
	}
	keys := items[map[string]any](sub.do("GET", "/api/v1/applications/"+app.ID+"/keys", nil))
	if keys.Total != 1 || keys.Items[0]["key"] != nil || keys.Items[0]["prefix"] != key.Prefix {
		t.Fatalf("keys = %+v", keys)
	}
	if k := sub.do("GET", "/api/v1/applications/"+app.ID+"/keys/"+key.ID, nil).want(http.StatusOK).obj(); k["id"] != key.ID || k["key"] != nil {
		t.Fatalf("key = %v", k)
	}

	var s portico.Subscription
	sub.do("POST", "/api/v1/applications/"+app.ID+"/subscriptions", map[string]any{"api": api.ID, "plan": plan.ID}).
		want(http.StatusCreated).decode(&s)
	if s.Status != portico.Pending || s.APIID != api.ID || s.PlanID != plan.ID || s.ApplicationID != app.ID {
		t.Fatalf("subscription = %+v", s)
	}
	// The publisher is told, and so sees the pending subscription and its application.
	notes := items[portico.Notification](pub.do("GET", "/api/v1/notifications", nil))
	if len(notes.Items) != 1 || notes.Items[0].Kind != portico.NotifyPendingApprove || notes.Items[0].SubscriptionID != s.ID {
		t.Fatalf("publisher's notifications = %+v", notes)
	}
	if l := items[portico.Subscription](pub.do("GET", "/api/v1/subscriptions?status=pending", nil)); l.Total != 1 {
		t.Fatalf("publisher's pending subscriptions = %+v", l)
	}
	pub.do("GET", "/api/v1/applications/"+app.ID, nil).want(http.StatusOK)

	pub.do("POST", "/api/v1/subscriptions/"+s.ID+"/approve", nil).want(http.StatusOK).decode(&s)
	if s.Status != portico.Approved {
		t.Fatalf("status after approve = %s", s.Status)
	}
	if got := e.cv.Load().Subscriptions.Get(s.ID).Status; got != portico.Approved {
		t.Fatalf("config says %s", got)
	}

	adm.do("POST", "/api/v1/subscriptions/"+s.ID+"/evict", nil).want(http.StatusOK).decode(&s)
	if s.Status != portico.Evicted {
		t.Fatalf("status after evict = %s", s.Status)
	}
	adm.do("POST", "/api/v1/subscriptions/"+s.ID+"/evict", nil).want(http.StatusConflict)

	// The store and the node's Config agree.
	if got, want := e.store.snapshot(), e.cv.Load(); got.Version != want.Version ||
		got.Subscriptions.Get(s.ID).Status != portico.Evicted || got.Keys.Len() != 1 {
		t.Fatalf("store version %d, config version %d", got.Version, want.Version)
	}
	// The eviction sticks: the application cannot subscribe again, nor
	// cancel its way out.
	sub.do("POST", "/api/v1/applications/"+app.ID+"/subscriptions", map[string]any{"api": api.ID, "plan": plan.ID}).
		wantErr(http.StatusConflict, "api")
	sub.do("DELETE", "/api/v1/subscriptions/"+s.ID, nil).want(http.StatusConflict)
	// Approving the evicted subscription lifts the eviction and reinstates it.
	adm.do("POST", "/api/v1/subscriptions/"+s.ID+"/approve", nil).want(http.StatusOK).decode(&s)
	if s.Status != portico.Approved {
		t.Fatalf("status after approving an evicted subscription = %s", s.Status)
	}
}

func TestHealthzAndAuth(t *testing.T) {
	e := newEnv(t)
	e.anon().do("GET", "/healthz", nil).want(http.StatusOK)

	for _, c := range []*client{e.anon(), e.as("admin", "wrong-password"), e.as("nobody", adminPW), e.bearer("nope")} {
		res := c.do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
		// A Basic challenge would make browsers cache credentials.
		if h := res.header.Values("WWW-Authenticate"); len(h) != 1 || h[0] != `Bearer realm="portico"` {
			t.Errorf("WWW-Authenticate = %q", h)
		}
		if res.errCode() != "unauthorized" {
			t.Errorf("code = %q", res.errCode())
		}
	}
	me := e.admin().do("GET", "/api/v1/users/me", nil).want(http.StatusOK).obj()
	if me["username"] != "admin" {
		t.Fatalf("me = %v", me)
	}
	// Usernames are case-insensitive.
	e.as("ADMIN", adminPW).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)

	// A password change forgets the cached verification of the old one.
	sub, _ := e.addUser("sue", portico.RoleSubscriber)
	sub.do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	sub.do("PUT", "/api/v1/users/me", map[string]any{"password": "a-new-password", "current_password": "sue-secret"}).want(http.StatusOK)
	sub.do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	e.as("sue", "a-new-password").do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	e.as("sue", "a-new-password").do("PUT", "/api/v1/users/me", map[string]any{"password": "short", "current_password": "a-new-password"}).
		wantErr(http.StatusBadRequest, "password")
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	sub, _ := e.addUser("tia", portico.RoleSubscriber)
	var tok struct {
		Token     string
		ExpiresAt time.Time `json:"expires_at"`
	}
	sub.do("POST", "/api/v1/tokens", nil).want(http.StatusCreated).decode(&tok)
	if tok.Token == "" || tok.ExpiresAt.IsZero() {
		t.Fatalf("token = %+v", tok)
	}
	bc := e.bearer(tok.Token)
	if bc.do("GET", "/api/v1/users/me", nil).want(http.StatusOK).str("username") != "tia" {
		t.Fatal("token is not tia's")
	}
	// A token does not buy another token.
	bc.do("POST", "/api/v1/tokens", nil).want(http.StatusUnauthorized)

	// Revoked.
	bc.do("DELETE", "/api/v1/tokens", nil).want(http.StatusNoContent)
	bc.do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)

	// Expired.
	sub.do("POST", "/api/v1/tokens", nil).want(http.StatusCreated).decode(&tok)
	e.bearer(tok.Token).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	e.clock.add(12 * time.Hour)
	e.bearer(tok.Token).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)

	// Invalidated by a password change.
	sub.do("POST", "/api/v1/tokens", nil).want(http.StatusCreated).decode(&tok)
	e.bearer(tok.Token).do("PUT", "/api/v1/users/me", map[string]any{"password": "another-password", "current_password": "tia-secret"}).want(http.StatusOK)
	e.bearer(tok.Token).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
}

func TestEnsureAdmin(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	srv := &admin.Server{Store: store, PasswordCost: bcrypt.MinCost}
	created, pw, err := srv.EnsureAdmin(ctx, "")
	if err != nil || !created || len(pw) < 20 {
		t.Fatalf("EnsureAdmin = %v, %q, %v", created, pw, err)
	}
	u := store.snapshot().UserByName("admin")
	if u == nil || !u.HasRole(portico.RoleAdmin) || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) != nil {
		t.Fatalf("stored admin = %+v", u)
	}
	created, pw, err = srv.EnsureAdmin(ctx, "")
	if err != nil || created || pw != "" {
		t.Fatalf("second EnsureAdmin = %v, %q, %v", created, pw, err)
	}
	// Another node with users in its store creates nothing.
	srv2 := &admin.Server{Store: store, PasswordCost: bcrypt.MinCost}
	if created, _, err := srv2.EnsureAdmin(ctx, "whatever-password"); created || err != nil {
		t.Fatalf("EnsureAdmin on a store with users = %v, %v", created, err)
	}
	if _, _, err := (&admin.Server{Store: newMemStore()}).EnsureAdmin(ctx, "short"); portico.ErrorCodeOf(err) != portico.EInvalid {
		t.Fatalf("short password: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	plan := adm.do("POST", "/api/v1/plans", goldPlan("p")).want(http.StatusCreated).str("id")

	noPlan := adm.do("POST", "/api/v1/apis", weatherAPI("/bare")).want(http.StatusCreated).str("id")
	res := adm.do("POST", "/api/v1/apis/"+noPlan+"/publish", nil).want(http.StatusConflict)
	if !strings.Contains(string(res.body), "at least one plan") {
		t.Errorf("publish without a plan: %s", res.body)
	}
	open := weatherAPI("/open")
	open["auth"] = "none"
	id := adm.do("POST", "/api/v1/apis", open).want(http.StatusCreated).str("id")
	adm.do("POST", "/api/v1/apis/"+id+"/publish", nil).want(http.StatusOK)

	id = adm.do("POST", "/api/v1/apis", weatherAPI("/w", plan)).want(http.StatusCreated).str("id")
	steps := []struct {
		action string
		status int
		state  portico.Lifecycle
	}{
		{"deprecate", http.StatusConflict, portico.Draft},
		{"retire", http.StatusConflict, portico.Draft},
		{"publish", http.StatusOK, portico.Published},
		{"publish", http.StatusConflict, portico.Published},
		{"deprecate", http.StatusOK, portico.Deprecated},
		{"deprecate", http.StatusConflict, portico.Deprecated},
		{"publish", http.StatusOK, portico.Published},
		{"retire", http.StatusOK, portico.Retired},
		{"publish", http.StatusConflict, portico.Retired},
		{"deprecate", http.StatusConflict, portico.Retired},
		{"retire", http.StatusConflict, portico.Retired},
	}
	for i, st := range steps {
		adm.do("POST", "/api/v1/apis/"+id+"/"+st.action, nil).want(st.status)
		if got := e.cv.Load().APIs.Get(id).State; got != st.state {
			t.Fatalf("step %d (%s): state %s, want %s", i, st.action, got, st.state)
		}
	}
	adm.do("POST", "/api/v1/apis/nope/publish", nil).want(http.StatusNotFound)

	// PUT keeps the state and refuses to change it.
	body := weatherAPI("/w", plan)
	body["state"] = "retired"
	body["id"] = id
	body["description"] = "gone"
	adm.do("PUT", "/api/v1/apis/"+id, body).want(http.StatusOK)
	body["state"] = "published"
	adm.do("PUT", "/api/v1/apis/"+id, body).wantErr(http.StatusBadRequest, "state")
	body["state"] = "retired"
	body["id"] = "other"
	adm.do("PUT", "/api/v1/apis/"+id, body).wantErr(http.StatusBadRequest, "id")
}

// TestStoreDown: an unreachable store answers 503 and changes nothing;
// reads go on from memory.
func TestStoreDown(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	plan := adm.do("POST", "/api/v1/plans", goldPlan("p")).want(http.StatusCreated).str("id")
	before := e.cv.Load()
	e.store.set(func(m *memStore) { m.down = true })

	for _, w := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/plans", goldPlan("q")},
		{"PUT", "/api/v1/plans/" + plan, goldPlan("renamed")},
		{"DELETE", "/api/v1/plans/" + plan, nil},
		{"POST", "/api/v1/users", map[string]any{"username": "x", "password": "password1", "roles": []string{"admin"}}},
		{"POST", "/api/v1/applications", map[string]any{"name": "a"}},
	} {
		res := adm.do(w.method, w.path, w.body).want(http.StatusServiceUnavailable)
		if res.errCode() != "unavailable" || !strings.Contains(string(res.body), "data store") {
			t.Errorf("%s %s: %s", w.method, w.path, res.body)
		}
	}
	if e.cv.Load() != before {
		t.Fatal("the Config changed while the store was down")
	}
	adm.do("GET", "/api/v1/plans/"+plan, nil).want(http.StatusOK)

	// Any other store failure is a 503 too, said with care.
	e.store.set(func(m *memStore) { m.down, m.fail = false, errors.New("disk on fire") })
	res := adm.do("POST", "/api/v1/plans", goldPlan("q")).want(http.StatusServiceUnavailable)
	if !strings.Contains(string(res.body), "may not have been saved") || strings.Contains(string(res.body), "fire") {
		t.Errorf("answer to a failed write: %s", res.body)
	}
	if e.cv.Load() != before {
		t.Fatal("the Config changed after a failed write")
	}

	e.store.set(func(m *memStore) { m.fail = nil })
	adm.do("POST", "/api/v1/plans", goldPlan("q")).want(http.StatusCreated)

	// A node that never loaded its Config answers 503 too.
	down := newMemStore()
	down.down = true
	srv := &admin.Server{Store: down}
	if err := srv.Open(context.Background()); portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("Open on a down store: %v", err)
	}
}

// TestConflictRetry: when another node wrote first, the write is checked
// again against the fresh Config and retried.
func TestConflictRetry(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	ownerID := e.cv.Load().UserByName("admin").ID
	foreignPlan := &portico.Plan{ID: "foreign-plan", Name: "theirs", Owner: ownerID,
		Quota: &portico.Quota{Limit: 5, Per: portico.Day, Mode: portico.Hard}, CreatedAt: time.Unix(1, 0).UTC()}
	foreignAPI := &portico.API{ID: "foreign-api", Name: "t", Version: "1", Context: "/taken", State: portico.Draft,
		Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "http://h"}}}, Plans: []string{}}

	// One conflict: the write lands after a reload, next to the other node's.
	e.store.set(func(m *memStore) {
		m.conflicts = 1
		m.foreign = []portico.Change{portico.Put(foreignPlan)}
	})
	id := adm.do("POST", "/api/v1/plans", goldPlan("ours")).want(http.StatusCreated).str("id")
	cfg := e.cv.Load()
	if cfg.Plans.Get(id) == nil || cfg.Plans.Get("foreign-plan") == nil {
		t.Fatalf("config has plans %v", cfg.Plans)
	}
	if got := e.store.snapshot(); got.Version != cfg.Version {
		t.Fatalf("store version %d, config %d", got.Version, cfg.Version)
	}

	// The other node took the context: the retry finds out.
	e.store.set(func(m *memStore) {
		m.conflicts = 1
		m.foreign = []portico.Change{portico.Put(foreignAPI)}
	})
	adm.do("POST", "/api/v1/apis", weatherAPI("/taken")).wantErr(http.StatusConflict, "context")
	if e.cv.Load().APIs.Get("foreign-api") == nil {
		t.Fatal("the reloaded Config is not current")
	}

	// Conflicts that go on: 503, nothing written.
	e.store.set(func(m *memStore) {
		m.conflicts = 100
		m.foreign = nil
	})
	applies := e.store.applies
	adm.do("POST", "/api/v1/plans", goldPlan("never")).want(http.StatusServiceUnavailable)
	e.store.set(func(m *memStore) {
		if m.applies != applies {
			t.Errorf("%d writes while conflicting", m.applies-applies)
		}
		m.conflicts = 0
	})
	for p := range e.cv.Load().Plans.Values() {
		if p.Name == "never" {
			t.Fatal("a failed write is in the Config")
		}
	}
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	var ids []string
	for i := range 7 {
		ids = append(ids, adm.do("POST", "/api/v1/plans", goldPlan(fmt.Sprint("plan", i))).want(http.StatusCreated).str("id"))
	}
	for _, c := range []struct {
		query             string
		total, limit, off int
		first             int // index into ids, -1 for none
		n                 int
	}{
		{"", 7, 50, 0, 0, 7},
		{"?limit=3", 7, 3, 0, 0, 3},
		{"?limit=3&offset=3", 7, 3, 3, 3, 3},
		{"?limit=3&offset=6", 7, 3, 6, 6, 1},
		{"?offset=7", 7, 50, 7, -1, 0},
		{"?offset=100", 7, 50, 100, -1, 0},
		{"?limit=1000", 7, 1000, 0, 0, 7},
	} {
		l := items[portico.Plan](adm.do("GET", "/api/v1/plans"+c.query, nil))
		if l.Total != c.total || l.Limit != c.limit || l.Offset != c.off || len(l.Items) != c.n {
			t.Errorf("%q: total %d limit %d offset %d items %d", c.query, l.Total, l.Limit, l.Offset, len(l.Items))
			continue
		}
		for i, p := range l.Items {
			if p.ID != ids[c.first+i] {
				t.Errorf("%q: item %d is %s, want %s (creation order)", c.query, i, p.Name, ids[c.first+i])
			}
		}
	}
	for _, c := range []struct{ query, field string }{
		{"?limit=0", "limit"}, {"?limit=1001", "limit"}, {"?limit=abc", "limit"}, {"?limit=", "limit"},
		{"?offset=-1", "offset"}, {"?offset=x", "offset"},
	} {
		adm.do("GET", "/api/v1/plans"+c.query, nil).wantErr(http.StatusBadRequest, c.field)
	}
	adm.do("GET", "/api/v1/apis?state=alive", nil).wantErr(http.StatusBadRequest, "state")
	adm.do("GET", "/api/v1/apis?visibility=secret", nil).wantErr(http.StatusBadRequest, "visibility")
	adm.do("GET", "/api/v1/subscriptions?status=x", nil).wantErr(http.StatusBadRequest, "status")
	adm.do("GET", "/api/v1/notifications?limit=0", nil).wantErr(http.StatusBadRequest, "limit")
	adm.do("GET", "/api/v1/notifications?before=yesterday", nil).wantErr(http.StatusBadRequest, "before")
	if l := items[portico.Plan](adm.do("GET", "/api/v1/applications", nil)); l.Items == nil || l.Total != 0 {
		t.Errorf("an empty list = %+v, want items []", l)
	}
}

func TestDecodeErrors(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	for _, c := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"empty", "", http.StatusBadRequest, ""},
		{"spaces", "  \n", http.StatusBadRequest, ""},
		{"syntax", `{"name":}`, http.StatusBadRequest, ""},
		{"truncated", `{"name":"x"`, http.StatusBadRequest, ""},
		{"trailing", `{"name":"x","quota":{"limit":1,"per":"day"}} {}`, http.StatusBadRequest, ""},
		{"trailing garbage", `{"name":"x","quota":{"limit":1,"per":"day"}} x`, http.StatusBadRequest, ""},
		{"array", `[]`, http.StatusBadRequest, ""},
		{"string", `"plan"`, http.StatusBadRequest, ""},
		{"unknown field", `{"name":"x","colour":"red"}`, http.StatusBadRequest, "colour"},
		{"unknown nested field", `{"name":"x","rate_limit":{"limit":1,"per":"second","burst":5}}`, http.StatusBadRequest, "burst"},
		{"wrong type", `{"name":"x","rate_limit":{"limit":"ten","per":"second"}}`, http.StatusBadRequest, "rate_limit.limit"},
		{"wrong type top", `{"name":7}`, http.StatusBadRequest, "name"},
		{"fraction", `{"name":"x","quota":{"limit":1.5,"per":"day"}}`, http.StatusBadRequest, "quota.limit"},
		{"overflow", `{"name":"x","quota":{"limit":1e40,"per":"day"}}`, http.StatusBadRequest, "quota.limit"},
		{"null", `null`, http.StatusBadRequest, "name"},
		{"server field", `{"id":"mine","name":"x","quota":{"limit":1,"per":"day"}}`, http.StatusBadRequest, "id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := e.in(t).admin().do("POST", "/api/v1/plans", c.body).wantErr(c.status, c.field)
			if res.errCode() != "invalid" {
				t.Errorf("code %q", res.errCode())
			}
		})
	}

	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	adm.do("POST", "/api/v1/plans", big).want(http.StatusRequestEntityTooLarge)
	adm.do("POST", "/api/v1/apis", big).want(http.StatusRequestEntityTooLarge)
	// Over the limit only after a first complete value.
	adm.do("POST", "/api/v1/plans", `{"name":"x"}`+strings.Repeat(" ", 2<<20)+"{}").want(http.StatusRequestEntityTooLarge)
}

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	res := adm.do("GET", "/api/v1/nothing", nil).want(http.StatusNotFound)
	if res.errCode() != "not_found" {
		t.Errorf("404 body %s", res.body)
	}
	res = adm.do("PATCH", "/api/v1/plans", nil).want(http.StatusMethodNotAllowed)
	if allow := res.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow = %q", allow)
	}
	if res.errCode() != "method_not_allowed" {
		t.Errorf("405 body %s", res.body)
	}
	e.anon().do("DELETE", "/healthz", nil).want(http.StatusMethodNotAllowed)
	adm.do("GET", "/api/v1/plans/nope", nil).want(http.StatusNotFound)
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	adminID := e.cv.Load().UserByName("admin").ID
	sub, subID := e.addUser("ann", portico.RoleSubscriber)

	// The last admin stays.
	adm.do("DELETE", "/api/v1/users/"+adminID, nil).want(http.StatusConflict)
	adm.do("PUT", "/api/v1/users/"+adminID, map[string]any{"roles": []string{"publisher"}}).wantErr(http.StatusConflict, "roles")
	_, id2 := e.addUser("root2", portico.RoleAdmin)
	adm.do("PUT", "/api/v1/users/"+adminID, map[string]any{"roles": []string{"publisher"}}).want(http.StatusOK)
	e.as("root2", "root2-secret").do("DELETE", "/api/v1/users/"+id2, nil).want(http.StatusConflict)

	// PUT changes only the fields present.
	sub.do("PUT", "/api/v1/users/me", map[string]any{"email": "ann@example.com", "webhook_url": "https://hooks.example.com/x?t=1"}).want(http.StatusOK)
	u := sub.do("PUT", "/api/v1/users/me", map[string]any{"password": "ann-new-secret", "current_password": "ann-secret"}).want(http.StatusOK).obj()
	if u["email"] != "ann@example.com" || u["webhook_url"] != "https://hooks.example.com/x?t=1" {
		t.Errorf("user after PUT = %v", u)
	}
	sub = e.as("ann", "ann-new-secret")
	sub.do("PUT", "/api/v1/users/me", map[string]any{"username": "ann", "roles": []string{"subscriber"}, "id": subID}).want(http.StatusOK)
	sub.do("PUT", "/api/v1/users/me", map[string]any{"roles": []string{"admin"}}).want(http.StatusForbidden)
	sub.do("PUT", "/api/v1/users/me", map[string]any{"username": "queen"}).want(http.StatusForbidden)
	sub.do("PUT", "/api/v1/users/me", map[string]any{"password_hash": "$2a$x"}).wantErr(http.StatusBadRequest, "password_hash")

	// A subscriber is created with its role only.
	var v struct{ Roles []portico.Role }
	e.as("root2", "root2-secret").do("POST", "/api/v1/subscribers", map[string]any{"username": "bob", "password": "bob-secret"}).
		want(http.StatusCreated).decode(&v)
	if len(v.Roles) != 1 || v.Roles[0] != portico.RoleSubscriber {
		t.Errorf("subscriber roles = %v", v.Roles)
	}
	e.as("root2", "root2-secret").do("POST", "/api/v1/subscribers", map[string]any{"username": "eve", "password": "eve-secret", "roles": []string{"admin"}}).
		wantErr(http.StatusBadRequest, "roles")
	if l := items[map[string]any](e.as("root2", "root2-secret").do("GET", "/api/v1/subscribers", nil)); l.Total != 2 || l.Items[0]["webhook_url"] == nil {
		t.Errorf("subscribers = %+v", l)
	}
	e.as("root2", "root2-secret").do("PUT", "/api/v1/users/"+adminID, map[string]any{"roles": []string{"publisher"}}).want(http.StatusOK)
	// A publisher sees only the subscribers of its APIs: none yet (see
	// TestPublisherSeesOwnSubscribers).
	if l := items[map[string]any](e.admin().do("GET", "/api/v1/subscribers", nil)); l.Total != 0 {
		t.Errorf("subscribers as seen by a publisher = %+v", l)
	}

	// Deleting a user deletes its applications, their keys and subscriptions.
	app := sub.do("POST", "/api/v1/applications", map[string]any{"name": "a"}).want(http.StatusCreated).str("id")
	sub.do("POST", "/api/v1/applications/"+app+"/keys", nil).want(http.StatusCreated)
	e.as("root2", "root2-secret").do("DELETE", "/api/v1/users/"+subID, nil).want(http.StatusNoContent)
	cfg := e.cv.Load()
	if cfg.Users.Get(subID) != nil || cfg.Applications.Get(app) != nil || cfg.Keys.Len() != 0 {
		t.Errorf("after deleting the user: %d applications, %d keys", cfg.Applications.Len(), cfg.Keys.Len())
	}
	sub.do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
}

func TestSubscriptions(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	auto := goldPlan("auto")
	auto["auto_approve"] = true
	autoID := pub.do("POST", "/api/v1/plans", auto).want(http.StatusCreated).str("id")
	manual := pub.do("POST", "/api/v1/plans", goldPlan("manual")).want(http.StatusCreated).str("id")
	other := pub.do("POST", "/api/v1/plans", goldPlan("other")).want(http.StatusCreated).str("id")
	api := pub.do("POST", "/api/v1/apis", weatherAPI("/w", autoID, manual)).want(http.StatusCreated).str("id")
	app := sub.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated).str("id")
	path := "/api/v1/applications/" + app + "/subscriptions"

	sub.do("POST", path, map[string]any{"api": api, "plan": autoID}).wantErr(http.StatusNotFound, "api") // a draft it cannot see
	pub.do("POST", "/api/v1/apis/"+api+"/publish", nil).want(http.StatusOK)
	sub.do("POST", path, map[string]any{"api": api}).wantErr(http.StatusBadRequest, "plan")
	sub.do("POST", path, map[string]any{"plan": autoID}).wantErr(http.StatusBadRequest, "api")
	sub.do("POST", path, map[string]any{"api": api, "plan": other}).wantErr(http.StatusBadRequest, "plan")
	sub.do("POST", path, map[string]any{"api": "nope", "plan": autoID}).wantErr(http.StatusNotFound, "api")
	sub.do("POST", path, map[string]any{"api": api, "plan": autoID, "tier": 1}).wantErr(http.StatusBadRequest, "tier")
	s := sub.do("POST", path, map[string]any{"api": api, "plan": autoID}).want(http.StatusCreated).obj()
	if s["status"] != "approved" {
		t.Fatalf("auto-approved subscription = %v", s)
	}
	sub.do("POST", path, map[string]any{"api": api, "plan": manual}).wantErr(http.StatusConflict, "api")
	if len(e.notes.items) != 0 {
		t.Errorf("notifications for an auto-approved plan: %d", len(e.notes.items))
	}

	// The plan in use cannot go, from the API or at all.
	pub.do("DELETE", "/api/v1/plans/"+autoID, nil).want(http.StatusConflict)
	pub.do("PUT", "/api/v1/apis/"+api, weatherAPI("/w", manual)).wantErr(http.StatusConflict, "plans")
	pub.do("PUT", "/api/v1/apis/"+api, weatherAPI("/w")).wantErr(http.StatusBadRequest, "plans")
	pub.do("DELETE", "/api/v1/plans/"+other, nil).want(http.StatusNoContent)

	// An API with approved subscriptions is retired before it is deleted;
	// its subscriptions go with it.
	pub.do("DELETE", "/api/v1/apis/"+api, nil).want(http.StatusConflict)
	sub.do("DELETE", "/api/v1/subscriptions/"+s["id"].(string), nil).want(http.StatusNoContent)
	sub.do("DELETE", "/api/v1/subscriptions/"+s["id"].(string), nil).want(http.StatusNoContent)
	if got := e.cv.Load().Subscriptions.Get(s["id"].(string)).Status; got != portico.Cancelled {
		t.Fatalf("cancelled subscription is %s", got)
	}
	s = sub.do("POST", path, map[string]any{"api": api, "plan": manual}).want(http.StatusCreated).obj()
	if s["status"] != "pending" || len(e.notes.items) != 1 {
		t.Fatalf("subscription = %v, %d notifications", s, len(e.notes.items))
	}
	pub.do("POST", "/api/v1/subscriptions/"+s["id"].(string)+"/approve", nil).want(http.StatusOK)
	// A deprecated API keeps its subscribers and takes no new one.
	pub.do("POST", "/api/v1/apis/"+api+"/deprecate", nil).want(http.StatusOK)
	app2 := sub.do("POST", "/api/v1/applications", map[string]any{"name": "app2"}).want(http.StatusCreated).str("id")
	r := sub.do("POST", "/api/v1/applications/"+app2+"/subscriptions", map[string]any{"api": api, "plan": autoID}).wantErr(http.StatusConflict, "api")
	if !strings.Contains(string(r.body), "deprecated") {
		t.Errorf("the refusal does not say the API is deprecated: %s", r.body)
	}
	if st := e.cv.Load().Subscriptions.Get(s["id"].(string)).Status; st != portico.Approved {
		t.Errorf("the subscription became %s when its API was deprecated", st)
	}
	sub.do("DELETE", "/api/v1/applications/"+app2, nil).want(http.StatusNoContent)
	pub.do("POST", "/api/v1/apis/"+api+"/retire", nil).want(http.StatusOK)
	sub.do("POST", path, map[string]any{"api": api, "plan": autoID}).wantErr(http.StatusNotFound, "api") // retired: no longer visible
	pub.do("DELETE", "/api/v1/apis/"+api, nil).want(http.StatusNoContent)
	if n := e.cv.Load().Subscriptions.Len(); n != 0 {
		t.Fatalf("%d subscriptions left after deleting their API", n)
	}

	// Deleting an application deletes its keys and subscriptions.
	api2 := pub.do("POST", "/api/v1/apis", weatherAPI("/w2", autoID)).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+api2+"/publish", nil).want(http.StatusOK)
	sub.do("POST", path, map[string]any{"api": api2, "plan": autoID}).want(http.StatusCreated)
	key := sub.do("POST", "/api/v1/applications/"+app+"/keys", nil).want(http.StatusCreated).str("id")
	sub.do("DELETE", "/api/v1/applications/"+app+"/keys/"+key, nil).want(http.StatusNoContent)
	if e.cv.Load().Keys.Get(key).RevokedAt == nil {
		t.Fatal("key not revoked")
	}
	sub.do("DELETE", "/api/v1/applications/"+app+"/keys/nope", nil).want(http.StatusNotFound)
	sub.do("DELETE", "/api/v1/applications/"+app, nil).want(http.StatusNoContent)
	if cfg := e.cv.Load(); cfg.Keys.Len()+cfg.Subscriptions.Len()+cfg.Applications.Len() != 0 {
		t.Fatalf("left: %d keys, %d subscriptions, %d applications", cfg.Keys.Len(), cfg.Subscriptions.Len(), cfg.Applications.Len())
	}
}

func TestClusterNodes(t *testing.T) {
	e := newEnv(t)
	if l := e.admin().do("GET", "/api/v1/cluster/nodes", nil).want(http.StatusOK).obj(); fmt.Sprint(l["items"]) != "[]" {
		t.Fatalf("nodes without membership = %v", l)
	}
	srv := &admin.Server{Store: e.store, PasswordCost: bcrypt.MinCost,
		Membership: nodes{{Name: "b", Status: "up"}, {Name: "a", Status: "up"}}}
	req := httptest.NewRequest("GET", "/api/v1/cluster/nodes", nil)
	req.SetBasicAuth("admin", adminPW)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `"name":"a"`) ||
		strings.Index(body, `"name":"a"`) > strings.Index(body, `"name":"b"`) {
		t.Fatalf("nodes: %d %s", rec.Code, body)
	}
	_, _ = e.addUser("pp", portico.RolePublisher)
	e.as("pp", "pp-secret").do("GET", "/api/v1/cluster/nodes", nil).want(http.StatusForbidden)
}

// TestConcurrentWrites: writes from many clients are serialized, none is
// lost, and the Config ends at the store's version.
func TestConcurrentWrites(t *testing.T) {
	e := newEnv(t)
	checkUnchanged(t, e.cv)
	const workers, each = 6, 5
	errs := make(chan error, workers*each)
	for w := range workers {
		go func() {
			for i := range each {
				req, _ := http.NewRequest("POST", e.url+"/api/v1/plans",
					strings.NewReader(fmt.Sprintf(`{"name":"p%d-%d","quota":{"limit":1,"per":"day"}}`, w, i)))
				req.SetBasicAuth("admin", adminPW)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				errs <- err
			}
		}()
	}
	for range workers * each {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	cfg := e.cv.Load()
	if cfg.Plans.Len() != workers*each || cfg.Version != e.store.snapshot().Version {
		t.Fatalf("%d plans at version %d; store at %d", cfg.Plans.Len(), cfg.Version, e.store.snapshot().Version)
	}
}

// TestPutEcho: what a GET answers can be PUT back unchanged.
func TestPutEcho(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	sub, subID := e.addUser("sid", portico.RoleSubscriber)
	plan := adm.do("POST", "/api/v1/plans", goldPlan("p")).want(http.StatusCreated).str("id")
	body := weatherAPI("/echo", plan)
	body["timeouts"] = map[string]any{"connect": "1.5s"}
	api := adm.do("POST", "/api/v1/apis", body).want(http.StatusCreated).str("id")
	adm.do("POST", "/api/v1/apis/"+api+"/publish", nil).want(http.StatusOK)
	app := sub.do("POST", "/api/v1/applications", map[string]any{"name": "a"}).want(http.StatusCreated).str("id")

	for _, c := range []struct {
		who  *client
		path string
	}{
		{adm, "/api/v1/plans/" + plan},
		{adm, "/api/v1/apis/" + api},
		{sub, "/api/v1/applications/" + app},
		{sub, "/api/v1/users/" + subID},
		{sub, "/api/v1/users/me"},
	} {
		got := c.who.do("GET", c.path, nil).want(http.StatusOK)
		again := c.who.do("PUT", c.path, got.body).want(http.StatusOK).obj()
		before := got.obj()
		delete(before, "updated_at")
		delete(again, "updated_at")
		if fmt.Sprint(before) != fmt.Sprint(again) {
			t.Errorf("PUT %s changed it:\n%v\n%v", c.path, before, again)
		}
	}
}
