package admin_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/portico-gw/portico"
)

// TestSubscriptionNames: subscriptions carry the names of their API,
// application and plan, in lists and alone, and leave out the API's when
// the caller may no longer see it.
func TestSubscriptionNames(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.addUser("pat", portico.RolePublisher)
	sub, _ := e.addUser("sam", portico.RoleSubscriber)
	plan := pub.do("POST", "/api/v1/plans", goldPlan("Gold")).want(http.StatusCreated).str("id")
	api := pub.do("POST", "/api/v1/apis", weatherAPI("/weather", plan)).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+api+"/publish", nil).want(http.StatusOK)
	app := sub.do("POST", "/api/v1/applications", map[string]any{"name": "Forecaster"}).want(http.StatusCreated).str("id")
	id := sub.do("POST", "/api/v1/applications/"+app+"/subscriptions", map[string]any{"api": api, "plan": plan}).
		want(http.StatusCreated).str("id")

	names := map[string]string{"api_name": "weather", "api_version": "v1", "application_name": "Forecaster", "plan_name": "Gold"}
	check := func(t *testing.T, who string, c *client, want map[string]string) {
		t.Helper()
		for _, path := range []string{"/api/v1/subscriptions", "/api/v1/applications/" + app + "/subscriptions", "/api/v1/subscriptions/" + id} {
			var got map[string]any
			if r := c.do("GET", path, nil).want(http.StatusOK); path == "/api/v1/subscriptions/"+id {
				got = r.obj()
			} else if l := items[map[string]any](r); len(l.Items) != 1 {
				t.Fatalf("GET %s as %s: %d items, want 1", path, who, len(l.Items))
			} else {
				got = l.Items[0]
			}
			for _, k := range []string{"api_name", "api_version", "application_name", "plan_name"} {
				v, ok := got[k]
				if w, show := want[k]; show != ok || (ok && v != w) {
					t.Errorf("GET %s as %s: %s = %v (given %v), want %q (given %v)", path, who, k, v, ok, w, show)
				}
			}
			if got["id"] != id || got["api"] != api || got["status"] != "approved" && got["status"] != "pending" {
				t.Errorf("GET %s as %s: the subscription's own fields are %v", path, who, got)
			}
		}
	}
	check(t, "admin", e.admin(), names)
	check(t, "publisher", pub, names)
	check(t, "subscriber", sub, names)

	// A retired API is hidden from the subscriber, and so is its name.
	pub.do("POST", "/api/v1/apis/"+api+"/retire", nil).want(http.StatusOK)
	check(t, "admin", e.admin(), names)
	check(t, "subscriber", sub, map[string]string{"application_name": "Forecaster", "plan_name": "Gold"})
}

// TestSearchAcrossFields: a ?q= holding the separator of the lists'
// searched texts (a NUL byte) matches field by field, never across two
// fields.
func TestSearchAcrossFields(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	a.do("POST", "/api/v1/applications", map[string]any{"name": "Alpha", "description": "Beta"}).want(http.StatusCreated)
	for q, want := range map[string]int{"alpha": 1, "BETA": 1, "a\x00b": 0, "alpha\x00beta": 0, "\x00": 0} {
		if got := items[map[string]any](a.do("GET", "/api/v1/applications?q="+url.QueryEscape(q), nil).want(http.StatusOK)).Total; got != want {
			t.Errorf("?q=%q: total %d, want %d", q, got, want)
		}
	}
}
