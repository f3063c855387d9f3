package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/portico-gw/portico"
)

// TestPlanSharing: a publisher offers its own plans and shared ones; only
// the plan's owner (or an admin) shares it; an API keeps the plans it
// offers when their owner stops sharing; admins offer any plan.
func TestPlanSharing(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.addUser("pub", portico.RolePublisher)
	pub2, pub2ID := e.addUser("pub2", portico.RolePublisher)
	var p portico.Plan
	pub.do("POST", "/api/v1/plans", goldPlan("pubs")).want(http.StatusCreated).decode(&p)
	if p.Shared {
		t.Fatal("a new plan is shared unless asked")
	}
	own := pub2.do("POST", "/api/v1/plans", goldPlan("own")).want(http.StatusCreated).str("id")

	pub2.do("POST", "/api/v1/apis", weatherAPI("/a", own, p.ID)).wantErr(http.StatusForbidden, "plans[1]")
	api := pub2.do("POST", "/api/v1/apis", weatherAPI("/a", own)).want(http.StatusCreated).str("id")
	pub2.do("PUT", "/api/v1/apis/"+api, weatherAPI("/a", own, p.ID)).wantErr(http.StatusForbidden, "plans[1]")

	// Only the owner shares it.
	shared := goldPlan("pubs")
	shared["shared"] = true
	pub2.do("PUT", "/api/v1/plans/"+p.ID, shared).want(http.StatusForbidden)
	if !pub.do("PUT", "/api/v1/plans/"+p.ID, shared).want(http.StatusOK).obj()["shared"].(bool) {
		t.Fatal("the plan is not shared")
	}
	pub2.do("PUT", "/api/v1/apis/"+api, weatherAPI("/a", own, p.ID)).want(http.StatusOK)

	// Unshared again: offered where it is, nowhere new.
	pub.do("PUT", "/api/v1/plans/"+p.ID, goldPlan("pubs")).want(http.StatusOK)
	pub2.do("PUT", "/api/v1/apis/"+api, weatherAPI("/a", p.ID, own)).want(http.StatusOK)
	pub2.do("POST", "/api/v1/apis", weatherAPI("/b", p.ID)).wantErr(http.StatusForbidden, "plans[0]")

	// An admin may.
	body := weatherAPI("/c", p.ID)
	body["owner"] = pub2ID
	e.admin().do("POST", "/api/v1/apis", body).want(http.StatusCreated)
}

// TestPlanSharedDefault: plans stored before the field existed are not
// shared.
func TestPlanSharedDefault(t *testing.T) {
	var p portico.Plan
	if err := json.Unmarshal([]byte(`{"id":"p","name":"old","owner":"u","quota":{"limit":1,"per":"day","mode":"hard"}}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Shared || p.OfferableBy("v") || !p.OfferableBy("u") {
		t.Fatalf("stored plan: shared %v, offerable by another %v, by its owner %v", p.Shared, p.OfferableBy("v"), p.OfferableBy("u"))
	}
}

// TestPublisherSeesOwnSubscribers: a publisher lists only the subscribers
// who own an application subscribed to one of its APIs, and without their
// webhook URLs.
func TestPublisherSeesOwnSubscribers(t *testing.T) {
	cfg, ids := roleFixture(t)
	e := startEnv(t, storeWith(cfg))
	e.admin().do("PUT", "/api/v1/users/"+ids["sub"], map[string]any{"webhook_url": "https://hooks.example.com/secret"}).want(http.StatusOK)
	for who, want := range map[string]string{"pub": ids["sub"], "pub2": ids["sub2"]} {
		l := items[map[string]any](e.as(who, who+"-secret").do("GET", "/api/v1/subscribers", nil))
		if l.Total != 1 || l.Items[0]["id"] != want || l.Items[0]["webhook_url"] != nil {
			t.Errorf("%s sees subscribers %+v, want only %s without webhook_url", who, l.Items, want)
		}
	}
	if l := items[map[string]any](e.admin().do("GET", "/api/v1/subscribers", nil)); l.Total != 2 {
		t.Errorf("the admin sees %d subscribers", l.Total)
	}
}

// TestAPIWebSocket: the websocket flag is taken on create and update and
// shown to everyone who sees the API.
func TestAPIWebSocket(t *testing.T) {
	e := newEnv(t)
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	body := weatherAPI("/ws")
	body["auth"] = "none"
	body["websocket"] = true
	var a portico.API
	e.admin().do("POST", "/api/v1/apis", body).want(http.StatusCreated).decode(&a)
	if !a.WebSocket || !e.cv.Load().APIs.Get(a.ID).WebSocket {
		t.Fatal("websocket not taken")
	}
	e.admin().do("POST", "/api/v1/apis/"+a.ID+"/publish", nil).want(http.StatusOK)
	if got := sub.do("GET", "/api/v1/apis/"+a.ID, nil).want(http.StatusOK).obj(); got["websocket"] != true {
		t.Fatalf("a subscriber sees %v", got)
	}
	body["websocket"] = false
	e.admin().do("PUT", "/api/v1/apis/"+a.ID, body).want(http.StatusOK)
	if e.cv.Load().APIs.Get(a.ID).WebSocket {
		t.Fatal("websocket not turned off")
	}
}

// TestAPIKeepAlive: "keepalive": false is taken and kept; an API created
// without it reuses backend connections.
func TestAPIKeepAlive(t *testing.T) {
	e := newEnv(t)
	body := weatherAPI("/ka")
	var a portico.API
	e.admin().do("POST", "/api/v1/apis", body).want(http.StatusCreated).decode(&a)
	if !e.cv.Load().APIs.Get(a.ID).ReusesConnections() {
		t.Fatal("an API without keepalive does not reuse connections")
	}
	body["keepalive"] = false
	e.admin().do("PUT", "/api/v1/apis/"+a.ID, body).want(http.StatusOK)
	if e.cv.Load().APIs.Get(a.ID).ReusesConnections() {
		t.Fatal("keepalive false not taken")
	}
	if got := e.admin().do("GET", "/api/v1/apis/"+a.ID, nil).want(http.StatusOK).obj(); got["keepalive"] != false {
		t.Errorf("GET shows keepalive %v", got["keepalive"])
	}
}
