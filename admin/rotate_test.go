package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// rotated is the answer to a rotation.
type rotated struct {
	ID, Key, Prefix, Application string
	CreatedAt                    time.Time `json:"created_at"`
	Rotated                      *struct {
		ID        string     `json:"id"`
		ExpiresAt time.Time  `json:"expires_at"`
		RevokedAt *time.Time `json:"revoked_at"`
	} `json:"rotated"`
}

func TestRotateKey(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	other, _ := e.addUser("other", portico.RoleSubscriber)
	app := sub.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated).str("id")
	keys := "/api/v1/applications/" + app + "/keys"
	k1 := sub.do("POST", keys, nil).want(http.StatusCreated).str("id")

	// Rotate with a grace of an hour: a new key, shown once, and the old
	// one ending an hour after.
	var r rotated
	sub.do("POST", keys+"/"+k1+"/rotate", map[string]any{"grace_seconds": 3600}).want(http.StatusCreated).decode(&r)
	if !strings.HasPrefix(r.Key, "pk_") || len(r.Key) != 46 || r.ID == k1 || r.Application != app || r.Prefix != r.Key[:8] {
		t.Fatalf("rotation answer %+v", r)
	}
	if r.Rotated == nil || r.Rotated.ID != k1 || !r.Rotated.ExpiresAt.Equal(r.CreatedAt.Add(time.Hour)) || r.Rotated.RevokedAt != nil {
		t.Fatalf("rotated key %+v, want %s ending at %v", r.Rotated, k1, r.CreatedAt.Add(time.Hour))
	}
	k2 := r.ID
	// Lists and GET show the expiry, never a key's text.
	l := items[map[string]any](sub.do("GET", keys, nil))
	if l.Total != 2 {
		t.Fatalf("keys %+v", l)
	}
	for _, k := range l.Items {
		_, has := k["expires_at"]
		if has != (k["id"] == k1) {
			t.Errorf("key %v: expires_at shown %v", k["id"], has)
		}
		if _, ok := k["key"]; ok {
			t.Errorf("the list shows a key's text: %v", k)
		}
	}
	if got := sub.do("GET", keys+"/"+k1, nil).want(http.StatusOK).str("expires_at"); got == "" {
		t.Error("GET of the rotated key shows no expires_at")
	}

	// A key already ending is not rotated again.
	sub.do("POST", keys+"/"+k1+"/rotate", map[string]any{"grace_seconds": 60}).wantErr(http.StatusConflict, "")

	// Grace 0 revokes the old key at once.
	adm.do("POST", keys+"/"+k2+"/rotate", map[string]any{"grace_seconds": 0}).want(http.StatusCreated).decode(&r)
	if r.Rotated.ID != k2 || r.Rotated.RevokedAt == nil || !r.Rotated.ExpiresAt.Equal(*r.Rotated.RevokedAt) {
		t.Errorf("grace 0: %+v, want revoked at once", r.Rotated)
	}
	// A revoked key is not rotated.
	sub.do("POST", keys+"/"+k2+"/rotate", map[string]any{"grace_seconds": 0}).wantErr(http.StatusConflict, "")
	k3 := r.ID
	sub.do("DELETE", keys+"/"+k3, nil).want(http.StatusNoContent)
	sub.do("POST", keys+"/"+k3+"/rotate", map[string]any{"grace_seconds": 10}).wantErr(http.StatusConflict, "")

	k4 := sub.do("POST", keys, nil).want(http.StatusCreated).str("id")
	t.Run("refusals", func(t *testing.T) {
		e := e.in(t)
		sub, other := e.as("sub", "sub-secret"), e.as("other", "other-secret")
		path := keys + "/" + k4 + "/rotate"
		for _, tc := range []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"over a day", map[string]any{"grace_seconds": 86401}, http.StatusBadRequest, "grace_seconds"},
			{"negative", map[string]any{"grace_seconds": -1}, http.StatusBadRequest, "grace_seconds"},
			{"left out", map[string]any{}, http.StatusBadRequest, "grace_seconds"},
			{"null", map[string]any{"grace_seconds": nil}, http.StatusBadRequest, "grace_seconds"},
			{"not a number", map[string]any{"grace_seconds": "60"}, http.StatusBadRequest, "grace_seconds"},
			{"fraction", map[string]any{"grace_seconds": 1.5}, http.StatusBadRequest, "grace_seconds"},
			{"unknown field", map[string]any{"grace_seconds": 1, "grace": 2}, http.StatusBadRequest, "grace"},
			{"no body", nil, http.StatusBadRequest, ""},
		} {
			t.Run(tc.name, func(t *testing.T) { sub.do("POST", path, tc.body).wantErr(tc.status, tc.field) })
		}
		sub.do("POST", keys+"/nope/rotate", map[string]any{"grace_seconds": 1}).want(http.StatusNotFound)
		// Another user's application is not found; a key of another
		// application neither.
		other.do("POST", path, map[string]any{"grace_seconds": 1}).want(http.StatusNotFound)
		otherApp := other.do("POST", "/api/v1/applications", map[string]any{"name": "o"}).want(http.StatusCreated).str("id")
		other.do("POST", "/api/v1/applications/"+otherApp+"/keys/"+k4+"/rotate", map[string]any{"grace_seconds": 1}).want(http.StatusNotFound)
		e.anon().do("POST", path, map[string]any{"grace_seconds": 1}).want(http.StatusUnauthorized)
		// None of them changed the key.
		if _, ok := sub.do("GET", keys+"/"+k4, nil).want(http.StatusOK).obj()["expires_at"]; ok {
			t.Error("a refused rotation changed the key")
		}
	})

	// A publisher who sees the application (a subscription to its API)
	// may not rotate its keys.
	pub, _ := e.addUser("pub", portico.RolePublisher)
	auto := goldPlan("auto")
	auto["auto_approve"] = true
	plan := pub.do("POST", "/api/v1/plans", auto).want(http.StatusCreated).str("id")
	api := pub.do("POST", "/api/v1/apis", weatherAPI("/w", plan)).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+api+"/publish", nil).want(http.StatusOK)
	sub.do("POST", "/api/v1/applications/"+app+"/subscriptions", map[string]any{"api": api, "plan": plan}).want(http.StatusCreated)
	pub.do("GET", keys+"/"+k4, nil).want(http.StatusOK)
	pub.do("POST", keys+"/"+k4+"/rotate", map[string]any{"grace_seconds": 1}).want(http.StatusForbidden)
	_ = other
}
