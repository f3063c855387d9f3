package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// evictionFixture: publisher pub with an auto-approved plan on a published
// API, another publisher pub2, and subscriber sub with an application.
type evictionFixture struct {
	e                  *env
	pub, pub2, sub     *client
	plan, api, app, to string // to: the subscriptions path of app
}

func newEvictionFixture(t *testing.T) *evictionFixture {
	f := &evictionFixture{e: newEnv(t)}
	f.pub, _ = f.e.addUser("pub", portico.RolePublisher)
	f.pub2, _ = f.e.addUser("pub2", portico.RolePublisher)
	f.sub, _ = f.e.addUser("sub", portico.RoleSubscriber)
	auto := goldPlan("auto")
	auto["auto_approve"] = true
	f.plan = f.pub.do("POST", "/api/v1/plans", auto).want(http.StatusCreated).str("id")
	f.api = f.pub.do("POST", "/api/v1/apis", weatherAPI("/w", f.plan)).want(http.StatusCreated).str("id")
	f.pub.do("POST", "/api/v1/apis/"+f.api+"/publish", nil).want(http.StatusOK)
	f.app = f.sub.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated).str("id")
	f.to = "/api/v1/applications/" + f.app + "/subscriptions"
	return f
}

func (f *evictionFixture) subscribe(c *client, want int) *result {
	return c.do("POST", f.to, map[string]any{"api": f.api, "plan": f.plan}).want(want)
}

func (f *evictionFixture) status(id string) portico.SubscriptionStatus {
	return f.e.cv.Load().Subscriptions.Get(id).Status
}

// TestCancelThenSubscribe: a subscriber's cancel is no eviction: the
// application may subscribe again.
func TestCancelThenSubscribe(t *testing.T) {
	f := newEvictionFixture(t)
	s1 := f.subscribe(f.sub, http.StatusCreated).str("id")
	f.sub.do("DELETE", "/api/v1/subscriptions/"+s1, nil).want(http.StatusNoContent)
	if got := f.status(s1); got != portico.Cancelled {
		t.Fatalf("cancelled subscription is %s", got)
	}
	if l := items[portico.Subscription](f.sub.do("GET", "/api/v1/subscriptions?status=cancelled", nil)); l.Total != 1 {
		t.Errorf("?status=cancelled lists %d", l.Total)
	}
	s2 := f.subscribe(f.sub, http.StatusCreated).str("id")
	if got := f.status(s2); got != portico.Approved {
		t.Fatalf("new subscription is %s", got)
	}
}

// TestEvictionSticks: an application evicted by the API's publisher or an
// admin cannot subscribe to the API again — by any route, nor by
// cancelling first — until the publisher or an admin lifts the eviction.
func TestEvictionSticks(t *testing.T) {
	f := newEvictionFixture(t)
	s := f.subscribe(f.sub, http.StatusCreated).str("id")
	f.pub.do("POST", "/api/v1/subscriptions/"+s+"/evict", nil).want(http.StatusOK)

	res := f.subscribe(f.sub, http.StatusConflict)
	if res.errField() != "api" || !strings.Contains(string(res.body), "evicted") {
		t.Errorf("resubscribing after an eviction: %s", res.body)
	}
	f.subscribe(f.e.admin(), http.StatusConflict) // an admin acting for the application too
	// Cancelling does not turn the eviction into a cancel.
	f.sub.do("DELETE", "/api/v1/subscriptions/"+s, nil).want(http.StatusConflict)
	if got := f.status(s); got != portico.Evicted {
		t.Fatalf("evicted subscription after the subscriber's DELETE: %s", got)
	}
	f.subscribe(f.sub, http.StatusConflict)

	// Only the API's publisher or an admin lifts it.
	f.sub.do("POST", "/api/v1/subscriptions/"+s+"/lift", nil).want(http.StatusForbidden)
	f.sub.do("POST", "/api/v1/subscriptions/"+s+"/approve", nil).want(http.StatusForbidden)
	f.pub2.do("POST", "/api/v1/subscriptions/"+s+"/lift", nil).want(http.StatusNotFound)
	f.pub2.do("POST", "/api/v1/subscriptions/"+s+"/approve", nil).want(http.StatusNotFound)
	if got := f.status(s); got != portico.Evicted {
		t.Fatalf("after refused lifts: %s", got)
	}
	// Lifted: the application subscribes again.
	if got := f.pub.do("POST", "/api/v1/subscriptions/"+s+"/lift", nil).want(http.StatusOK).str("status"); got != "cancelled" {
		t.Fatalf("lifted subscription is %s", got)
	}
	f.pub.do("POST", "/api/v1/subscriptions/"+s+"/lift", nil).want(http.StatusConflict)
	s2 := f.subscribe(f.sub, http.StatusCreated).str("id")

	// An admin evicts; approving the evicted subscription reinstates it.
	f.e.admin().do("POST", "/api/v1/subscriptions/"+s2+"/evict", nil).want(http.StatusOK)
	f.subscribe(f.sub, http.StatusConflict)
	if got := f.e.admin().do("POST", "/api/v1/subscriptions/"+s2+"/approve", nil).want(http.StatusOK).str("status"); got != "approved" {
		t.Fatalf("reinstated subscription is %s", got)
	}

	// Cancelling before the eviction does not dodge it: the publisher
	// evicts the cancelled subscription.
	f.sub.do("DELETE", "/api/v1/subscriptions/"+s2, nil).want(http.StatusNoContent)
	f.pub.do("POST", "/api/v1/subscriptions/"+s2+"/evict", nil).want(http.StatusOK)
	f.subscribe(f.sub, http.StatusConflict)

	// The publisher's DELETE is an eviction, not a cancel.
	f.pub.do("POST", "/api/v1/subscriptions/"+s2+"/lift", nil).want(http.StatusOK)
	s3 := f.subscribe(f.sub, http.StatusCreated).str("id")
	f.pub.do("DELETE", "/api/v1/subscriptions/"+s3, nil).want(http.StatusNoContent)
	if got := f.status(s3); got != portico.Evicted {
		t.Fatalf("subscription after the publisher's DELETE: %s", got)
	}
	f.subscribe(f.sub, http.StatusConflict)
}

// TestStoredEvictions: data stored before cancel and evict were told apart
// says evicted for both; each is taken as an eviction. Reinstating one
// that a later subscription replaced, or whose plan is gone, is refused
// with a pointer to lift.
func TestStoredEvictions(t *testing.T) {
	f := newEvictionFixture(t)
	s := f.subscribe(f.sub, http.StatusCreated).str("id")
	cfg := f.e.store.snapshot()
	old := *cfg.Subscriptions.Get(s)
	old.ID, old.Status, old.CreatedAt = "old-evicted", portico.Evicted, old.CreatedAt.Add(-time.Hour)
	e := startEnv(t, storeWith(cfg.With(cfg.Version+1, portico.Put(&old))))
	pub, sub, adm := e.as("pub", "pub-secret"), e.as("sub", "sub-secret"), e.admin()

	// A live subscription besides the old eviction: no reinstating.
	pub.do("POST", "/api/v1/subscriptions/old-evicted/approve", nil).wantErr(http.StatusConflict, "api")
	sub.do("DELETE", "/api/v1/subscriptions/"+s, nil).want(http.StatusNoContent)
	sub.do("POST", f.to, map[string]any{"api": f.api, "plan": f.plan}).wantErr(http.StatusConflict, "api")

	// The plan is no longer offered: no reinstating either; lifting works.
	other := pub.do("POST", "/api/v1/plans", goldPlan("other")).want(http.StatusCreated).str("id")
	pub.do("PUT", "/api/v1/apis/"+f.api, weatherAPI("/w", other)).want(http.StatusOK)
	adm.do("POST", "/api/v1/subscriptions/old-evicted/approve", nil).wantErr(http.StatusConflict, "plan")
	adm.do("POST", "/api/v1/subscriptions/old-evicted/lift", nil).want(http.StatusOK)
	sub.do("POST", f.to, map[string]any{"api": f.api, "plan": other}).want(http.StatusCreated)
}
