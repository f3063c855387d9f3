package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestDisabledUser: an admin disables a user, who then cannot sign in —
// its right password answers exactly as a wrong one, its tokens 401 "user
// is disabled" — while its keys stay; only admins send "disabled"; no
// admin disables itself, and the last enabled admin keeps the role and
// its account. Enabling the user again does not bring its old tokens back.
func TestDisabledUser(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	pub, _ := e.addUser("pub", portico.RolePublisher)
	dora, doraID := e.addUser("dora", portico.RoleSubscriber)
	plan := pub.do("POST", "/api/v1/plans", goldPlan("plan")).want(http.StatusCreated).str("id")
	api := pub.do("POST", "/api/v1/apis", weatherAPI("/w", plan)).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+api+"/publish", nil).want(http.StatusOK)
	app := dora.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated).str("id")
	key := dora.do("POST", "/api/v1/applications/"+app+"/keys", nil).want(http.StatusCreated).str("id")
	dora.do("POST", "/api/v1/applications/"+app+"/subscriptions", map[string]any{"api": api, "plan": plan}).want(http.StatusCreated)
	tok, _ := issue(t, dora)

	// Only admins send "disabled", whatever its value.
	dora.do("PUT", "/api/v1/users/me", map[string]any{"disabled": false}).wantErr(http.StatusForbidden, "disabled")
	dora.do("PUT", "/api/v1/users/"+doraID, map[string]any{"disabled": true}).wantErr(http.StatusForbidden, "disabled")
	pub.do("PUT", "/api/v1/users/me", map[string]any{"disabled": false}).wantErr(http.StatusForbidden, "disabled")
	dora.do("GET", "/api/v1/users/me", nil).want(http.StatusOK)

	if got := adm.do("PUT", "/api/v1/users/"+doraID, map[string]any{"disabled": true}).want(http.StatusOK).obj()["disabled"]; got != true {
		t.Fatalf("disabled after PUT = %v", got)
	}
	right := dora.do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	wrong := e.as("dora", "not-her-password").do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	if string(right.body) != string(wrong.body) {
		t.Errorf("a disabled user's right password answers %s, a wrong one %s", right.body, wrong.body)
	}
	dora.do("POST", "/api/v1/tokens", nil).want(http.StatusUnauthorized)
	if r := e.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized); !strings.Contains(string(r.body), "user is disabled") {
		t.Errorf("a disabled user's token: %s", r.body)
	}
	if k := e.cv.Load().Keys.Get(key); k == nil || k.RevokedAt != nil {
		t.Errorf("a disabled user's key is %+v; keys are not affected", k)
	}
	// A publisher sees the subscriber, not that it is disabled.
	for _, u := range items[map[string]any](pub.do("GET", "/api/v1/subscribers", nil)).Items {
		for _, f := range []string{"disabled", "tokens_not_before", "notifications_read_at", "webhook_url"} {
			if _, ok := u[f]; ok {
				t.Errorf("a publisher sees %s of %v", f, u["username"])
			}
		}
	}

	// Enabled again: the password works, the old token does not.
	adm.do("PUT", "/api/v1/users/"+doraID, map[string]any{"disabled": false}).want(http.StatusOK)
	dora.do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	e.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	tok, _ = issue(t, dora)
	e.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)

	// No admin disables itself; the last enabled admin stays one.
	adminID := e.cv.Load().UserByName("admin").ID
	adm.do("PUT", "/api/v1/users/me", map[string]any{"disabled": true}).wantErr(http.StatusConflict, "disabled")
	adm.do("PUT", "/api/v1/users/"+adminID, map[string]any{"disabled": true}).wantErr(http.StatusConflict, "disabled")
	ada, adaID := e.addUser("ada", portico.RoleAdmin)
	ada.do("PUT", "/api/v1/users/"+adminID, map[string]any{"disabled": true}).want(http.StatusOK)
	adm.do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	ada.do("PUT", "/api/v1/users/me", map[string]any{"roles": []string{"publisher"}}).wantErr(http.StatusConflict, "roles")
	ada.do("DELETE", "/api/v1/users/"+adaID, nil).want(http.StatusConflict)
	ada.do("PUT", "/api/v1/users/"+adminID, map[string]any{"disabled": false}).want(http.StatusOK)
	ada.do("DELETE", "/api/v1/users/"+adaID, nil).want(http.StatusNoContent)
}

// TestSignOutEverywhere: DELETE /tokens?everywhere=true ends every token
// of the caller, issued on any node, and no other user's; an admin does
// the same for another user with DELETE /users/{id}/tokens. Tokens issued
// afterwards work.
func TestSignOutEverywhere(t *testing.T) {
	tokens := &sharedTokens{}
	a, b := twoNodes(t, tokens)
	tia, tiaID := a.addUser("tia", portico.RoleSubscriber)
	_, bobID := a.addUser("bob", portico.RoleSubscriber)
	bob := b.as("bob", "bob-secret")

	tok1, _ := issue(t, tia)
	tok2, _ := issue(t, b.as("tia", "tia-secret"))
	bobTok, _ := issue(t, bob)
	b.bearer(tok1).do("DELETE", "/api/v1/tokens?everywhere=true", nil).want(http.StatusNoContent)
	for _, n := range []*env{a, b} {
		for _, tok := range []string{tok1, tok2} {
			n.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
		}
		n.bearer(bobTok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	}
	me := tia.do("GET", "/api/v1/users/me", nil).want(http.StatusOK).obj()
	if me["tokens_not_before"] == nil {
		t.Errorf("the user does not see its tokens_not_before: %v", me)
	}
	tia.do("PUT", "/api/v1/users/me", me).want(http.StatusOK) // read-only fields echoed
	a.admin().do("POST", "/api/v1/users", map[string]any{
		"username": "eve", "password": "eve-secret", "roles": []string{"subscriber"}, "tokens_not_before": me["tokens_not_before"],
	}).wantErr(http.StatusBadRequest, "tokens_not_before")
	tok3, _ := issue(t, tia)
	a.bearer(tok3).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)

	// With HTTP Basic too; without everywhere, Basic revokes nothing.
	tia.do("DELETE", "/api/v1/tokens", nil).want(http.StatusBadRequest)
	tia.do("DELETE", "/api/v1/tokens?everywhere=maybe", nil).wantErr(http.StatusBadRequest, "everywhere")
	a.bearer(tok3).do("DELETE", "/api/v1/tokens?everywhere=yes", nil).wantErr(http.StatusBadRequest, "everywhere")
	a.bearer(tok3).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	tia.do("DELETE", "/api/v1/tokens?everywhere=true", nil).want(http.StatusNoContent)
	b.bearer(tok3).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)

	// An admin signs another user out; users sign out only themselves.
	tok4, _ := issue(t, tia)
	bob.do("DELETE", "/api/v1/users/"+tiaID+"/tokens", nil).want(http.StatusForbidden)
	b.bearer(bobTok).do("DELETE", "/api/v1/users/"+tiaID+"/tokens", nil).want(http.StatusForbidden)
	a.bearer(tok4).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	a.admin().do("DELETE", "/api/v1/users/nobody/tokens", nil).want(http.StatusNotFound)
	b.admin().do("DELETE", "/api/v1/users/"+tiaID+"/tokens", nil).want(http.StatusNoContent)
	a.bearer(tok4).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	b.bearer(bobTok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	b.bearer(bobTok).do("DELETE", "/api/v1/users/"+bobID+"/tokens", nil).want(http.StatusNoContent)
	b.bearer(bobTok).do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	// Basic is not a token: it keeps working.
	tia.do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
}

// TestTokenIdle: a token with an idle_timeout ends after that long
// without use, its uses move its expiry forward — stored at most once per
// step, not at every use — up to its ttl; bad bodies are refused naming
// the field.
func TestTokenIdle(t *testing.T) {
	tokens := &sharedTokens{}
	a, b := twoNodes(t, tokens)
	adm := a.admin()
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"idle_timeout": 59}, "idle_timeout"},
		{map[string]any{"idle_timeout": 86401}, "idle_timeout"},
		{map[string]any{"idle_timeout": "600"}, "idle_timeout"},
		{map[string]any{"ttl": 59}, "ttl"},
		{map[string]any{"ttl": 12*3600 + 1}, "ttl"},
		{map[string]any{"ttl": 1.5}, "ttl"},
		{map[string]any{"idle": 600}, "idle"},
		{`[]`, ""},
	} {
		adm.do("POST", "/api/v1/tokens", c.body).wantErr(http.StatusBadRequest, c.field)
	}

	var got struct {
		Token       string
		ExpiresAt   time.Time `json:"expires_at"`
		IdleTimeout int       `json:"idle_timeout"`
	}
	adm.do("POST", "/api/v1/tokens", map[string]any{"idle_timeout": 600, "ttl": 3600}).want(http.StatusCreated).decode(&got)
	stored, _ := tokens.Token(context.Background(), portico.HashKey(got.Token))
	if got.IdleTimeout != 600 || !got.ExpiresAt.Equal(stored.CreatedAt.Add(10*time.Minute)) ||
		stored.IdleTimeout != 600 || !stored.NotAfter.Equal(stored.CreatedAt.Add(time.Hour)) {
		t.Fatalf("answered %+v, stored %+v", got, stored)
	}
	use := func(n *env, want int) {
		t.Helper()
		n.bearer(got.Token).do("GET", "/api/v1/users/me", nil).want(want)
	}
	touches := func() int {
		var n int
		tokens.set(func(m *sharedTokens) { n = m.touches })
		return n
	}
	for range 10 { // seconds apart: no store write
		use(a, http.StatusOK)
		use(b, http.StatusOK)
	}
	if n := touches(); n != 0 {
		t.Fatalf("%d store writes for uses seconds apart, want 0", n)
	}
	a.clock.add(5 * time.Minute)
	use(a, http.StatusOK)
	use(b, http.StatusOK)
	use(a, http.StatusOK)
	if n := touches(); n != 1 {
		t.Fatalf("%d store writes for 3 uses after 5 minutes, want 1", n)
	}
	a.clock.add(9 * time.Minute) // 14 minutes after issue: idle for 9
	use(b, http.StatusOK)
	a.clock.add(11 * time.Minute) // idle for 11
	use(a, http.StatusUnauthorized)

	// The ttl bounds it, however often it is used.
	adm.do("POST", "/api/v1/tokens", map[string]any{"idle_timeout": 300, "ttl": 600}).want(http.StatusCreated).decode(&got)
	for range 3 {
		a.clock.add(3 * time.Minute)
		use(a, http.StatusOK)
	}
	a.clock.add(time.Minute + 10*time.Second)
	use(b, http.StatusUnauthorized)

	// A ttl alone shortens the token, which never moves.
	got.IdleTimeout = 0
	adm.do("POST", "/api/v1/tokens", map[string]any{"ttl": 120}).want(http.StatusCreated).decode(&got)
	if got.IdleTimeout != 0 {
		t.Errorf("idle_timeout %d without one asked", got.IdleTimeout)
	}
	a.clock.add(time.Minute)
	use(a, http.StatusOK)
	a.clock.add(time.Minute)
	use(a, http.StatusUnauthorized)
}

// TestTokenIdleWritesOnce: a node writes a token's new expiry at most
// once per step even when what it reads from the store is still the old
// one (requests at once, a store that lags): each node keeps when it last
// wrote each token.
func TestTokenIdleWritesOnce(t *testing.T) {
	tokens := &sharedTokens{stale: true}
	a, b := twoNodes(t, tokens)
	tok, _ := issue(t, a.admin())
	var got struct {
		Token string
	}
	a.admin().do("POST", "/api/v1/tokens", map[string]any{"idle_timeout": 3600}).want(http.StatusCreated).decode(&got)
	touches := func() int {
		var n int
		tokens.set(func(m *sharedTokens) { n = m.touches })
		return n
	}
	a.clock.add(5 * time.Minute)
	for range 5 {
		a.bearer(got.Token).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
		a.bearer(tok).do("GET", "/api/v1/users/me", nil).want(http.StatusOK) // no idle timeout: never written
	}
	if n := touches(); n != 1 {
		t.Fatalf("node A wrote %d times in 5 uses within a minute, want 1", n)
	}
	b.bearer(got.Token).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	if n := touches(); n != 2 {
		t.Fatalf("%d writes after node B's first use, want 2", n)
	}
	a.clock.add(time.Minute)
	a.bearer(got.Token).do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	if n := touches(); n != 3 {
		t.Fatalf("%d writes after a minute more, want 3", n)
	}
}

// TestNotificationsRead: POST /notifications/read marks what the caller
// was notified of until now read, for it only; later notifications are
// unread.
func TestNotificationsRead(t *testing.T) {
	e := newEnv(t)
	pub, pubID := e.addUser("pub", portico.RolePublisher)
	sub, subID := e.addUser("sub", portico.RoleSubscriber)
	note := func(id string) {
		e.notes.AddNotification(context.Background(), &portico.Notification{
			ID: id, Time: e.clock.Now(), Kind: portico.NotifyPendingApprove, Message: id,
			Publisher: pubID, Subscriber: subID,
		})
	}
	read := func(c *client) map[string]bool {
		t.Helper()
		var l struct {
			Items []struct {
				ID   string
				Kind string
				Read *bool
			}
		}
		c.do("GET", "/api/v1/notifications", nil).want(http.StatusOK).decode(&l)
		m := map[string]bool{}
		for _, it := range l.Items {
			if it.Read == nil || it.Kind == "" {
				t.Fatalf("item %+v has no read or no kind", it)
			}
			m[it.ID] = *it.Read
		}
		return m
	}
	note("n1")
	note("n2")
	if m := read(sub); m["n1"] || m["n2"] || len(m) != 2 {
		t.Fatalf("before marking: %v", m)
	}
	sub.do("POST", "/api/v1/notifications/read", nil).want(http.StatusNoContent)
	note("n3")
	if m := read(sub); !m["n1"] || !m["n2"] || m["n3"] {
		t.Errorf("subscriber after marking: %v", m)
	}
	if m := read(pub); m["n1"] || m["n2"] || m["n3"] {
		t.Errorf("publisher, who marked nothing: %v", m)
	}
	if sub.do("GET", "/api/v1/users/me", nil).want(http.StatusOK).obj()["notifications_read_at"] == nil {
		t.Error("the user does not see its notifications_read_at")
	}
}
