package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// roleFixture builds, through the API, a store with two publishers and two
// subscribers and their things, and returns a copy of it with the ids by
// name:
//
//	pub:  plans plan (manual approval) and spare (unused); APIs draft and live (published), both offering plan
//	pub2: plan plan2 (auto-approved); API live2 (published) offering plan2
//	sub:  application app with key key, subscription pending to live
//	sub2: application app2, subscription approved to live2
func roleFixture(t *testing.T) (*portico.Config, map[string]string) {
	e := newEnv(t)
	ids := map[string]string{"admin": e.cv.Load().UserByName("admin").ID}
	var pub, pub2, sub, sub2 *client
	pub, ids["pub"] = e.addUser("pub", portico.RolePublisher)
	pub2, ids["pub2"] = e.addUser("pub2", portico.RolePublisher)
	sub, ids["sub"] = e.addUser("sub", portico.RoleSubscriber)
	sub2, ids["sub2"] = e.addUser("sub2", portico.RoleSubscriber)

	ids["plan"] = pub.do("POST", "/api/v1/plans", goldPlan("plan")).want(http.StatusCreated).str("id")
	ids["spare"] = pub.do("POST", "/api/v1/plans", goldPlan("spare")).want(http.StatusCreated).str("id")
	auto := goldPlan("plan2")
	auto["auto_approve"] = true
	ids["plan2"] = pub2.do("POST", "/api/v1/plans", auto).want(http.StatusCreated).str("id")

	ids["draft"] = pub.do("POST", "/api/v1/apis", weatherAPI("/draft", ids["plan"])).want(http.StatusCreated).str("id")
	ids["live"] = pub.do("POST", "/api/v1/apis", weatherAPI("/live", ids["plan"])).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+ids["live"]+"/publish", nil).want(http.StatusOK)
	ids["live2"] = pub2.do("POST", "/api/v1/apis", weatherAPI("/live2", ids["plan2"])).want(http.StatusCreated).str("id")
	pub2.do("POST", "/api/v1/apis/"+ids["live2"]+"/publish", nil).want(http.StatusOK)

	ids["app"] = sub.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated).str("id")
	ids["app2"] = sub2.do("POST", "/api/v1/applications", map[string]any{"name": "app2"}).want(http.StatusCreated).str("id")
	ids["key"] = sub.do("POST", "/api/v1/applications/"+ids["app"]+"/keys", nil).want(http.StatusCreated).str("id")
	ids["pending"] = sub.do("POST", "/api/v1/applications/"+ids["app"]+"/subscriptions",
		map[string]any{"api": ids["live"], "plan": ids["plan"]}).want(http.StatusCreated).str("id")
	ids["approved"] = sub2.do("POST", "/api/v1/applications/"+ids["app2"]+"/subscriptions",
		map[string]any{"api": ids["live2"], "plan": ids["plan2"]}).want(http.StatusCreated).str("id")
	return e.store.snapshot(), ids
}

// TestRoles runs each operation as each kind of caller on a fresh copy of
// the fixture. total, when set, is the expected size of a list.
func TestRoles(t *testing.T) {
	cfg, ids := roleFixture(t)
	var pairs []string
	for k, v := range ids {
		pairs = append(pairs, "{"+k+"}", v)
	}
	fill := strings.NewReplacer(pairs...).Replace

	const (
		plan     = `{"name":"n","quota":{"limit":5,"per":"day"}}`
		api      = `{"name":"n","version":"1","context":"/new","endpoint":{"type":"single","targets":[{"url":"http://h"}]},"plans":["{plan}"]}`
		liveBody = `{"name":"n","version":"1","context":"/live","endpoint":{"type":"single","targets":[{"url":"http://h"}]},"plans":["{plan}"]}`
		user     = `{"username":"neo","password":"neo-secret","roles":["publisher"]}`
		sub      = `{"username":"neo","password":"neo-secret"}`
		app      = `{"name":"n"}`
	)
	rows := []struct {
		who, method, path, body string
		want                    int
		total                   int
	}{
		// plans: everyone reads; publishers and admins create; owner or admin change.
		{"admin", "GET", "/plans", "", 200, 3},
		{"sub", "GET", "/plans", "", 200, 3},
		{"sub", "GET", "/plans/{plan}", "", 200, 0},
		{"admin", "POST", "/plans", plan, 201, 0},
		{"pub", "POST", "/plans", plan, 201, 0},
		{"sub", "POST", "/plans", plan, 403, 0},
		{"pub", "PUT", "/plans/{plan}", plan, 200, 0},
		{"admin", "PUT", "/plans/{plan}", plan, 200, 0},
		{"pub2", "PUT", "/plans/{plan}", plan, 403, 0},
		{"sub", "PUT", "/plans/{plan}", plan, 403, 0},
		{"pub", "DELETE", "/plans/{spare}", "", 204, 0},
		{"admin", "DELETE", "/plans/{spare}", "", 204, 0},
		{"pub2", "DELETE", "/plans/{spare}", "", 403, 0},
		{"sub", "DELETE", "/plans/{spare}", "", 403, 0},
		{"pub", "DELETE", "/plans/{plan}", "", 409, 0},

		// apis: drafts only for their owner and admins.
		{"admin", "GET", "/apis", "", 200, 3},
		{"pub", "GET", "/apis", "", 200, 3},
		{"pub2", "GET", "/apis", "", 200, 2},
		{"sub", "GET", "/apis", "", 200, 2},
		{"sub", "GET", "/apis?state=draft", "", 200, 0},
		{"pub", "GET", "/apis/{draft}", "", 200, 0},
		{"admin", "GET", "/apis/{draft}", "", 200, 0},
		{"pub2", "GET", "/apis/{draft}", "", 404, 0},
		{"sub", "GET", "/apis/{draft}", "", 404, 0},
		{"sub", "GET", "/apis/{live}", "", 200, 0},
		{"admin", "POST", "/apis", api, 201, 0},
		{"pub", "POST", "/apis", api, 201, 0},
		{"sub", "POST", "/apis", api, 403, 0},
		{"pub", "PUT", "/apis/{live}", liveBody, 200, 0},
		{"admin", "PUT", "/apis/{live}", liveBody, 200, 0},
		{"pub2", "PUT", "/apis/{live}", liveBody, 403, 0},
		{"sub", "PUT", "/apis/{live}", liveBody, 403, 0},
		{"pub2", "PUT", "/apis/{draft}", api, 404, 0},
		{"pub", "POST", "/apis/{draft}/publish", "", 200, 0},
		{"admin", "POST", "/apis/{draft}/publish", "", 200, 0},
		{"pub2", "POST", "/apis/{draft}/publish", "", 404, 0},
		{"sub", "POST", "/apis/{draft}/publish", "", 404, 0},
		{"pub", "POST", "/apis/{live}/deprecate", "", 200, 0},
		{"pub2", "POST", "/apis/{live}/deprecate", "", 403, 0},
		{"sub", "POST", "/apis/{live}/retire", "", 403, 0},
		{"pub", "DELETE", "/apis/{draft}", "", 204, 0},
		{"pub2", "DELETE", "/apis/{draft}", "", 404, 0},
		{"pub", "DELETE", "/apis/{live}", "", 204, 0}, // only a pending subscription
		{"pub2", "DELETE", "/apis/{live2}", "", 409, 0},
		{"admin", "DELETE", "/apis/{live2}", "", 409, 0},
		{"sub", "DELETE", "/apis/{live}", "", 403, 0},

		// users: admins only, but everyone sees and edits itself.
		{"admin", "GET", "/users", "", 200, 5},
		{"pub", "GET", "/users", "", 403, 0},
		{"sub", "GET", "/users", "", 403, 0},
		{"admin", "POST", "/users", user, 201, 0},
		{"pub", "POST", "/users", user, 403, 0},
		{"sub", "POST", "/users", user, 403, 0},
		{"admin", "GET", "/users/{sub}", "", 200, 0},
		{"sub", "GET", "/users/{sub}", "", 200, 0},
		{"sub2", "GET", "/users/{sub}", "", 403, 0},
		{"pub", "GET", "/users/{sub}", "", 403, 0},
		{"sub", "GET", "/users/me", "", 200, 0},
		{"admin", "PUT", "/users/{sub}", `{"email":"s@example.com"}`, 200, 0},
		{"sub", "PUT", "/users/{sub}", `{"email":"s@example.com"}`, 200, 0},
		{"sub2", "PUT", "/users/{sub}", `{"email":"s@example.com"}`, 403, 0},
		{"sub", "PUT", "/users/me", `{"roles":["admin"]}`, 403, 0},
		{"admin", "PUT", "/users/{sub}", `{"roles":["admin"]}`, 200, 0},
		{"pub", "PUT", "/users/me", `{"password":"pub-new-secret","current_password":"pub-secret"}`, 200, 0},
		{"pub", "PUT", "/users/me", `{"password":"pub-new-secret"}`, 400, 0},
		{"pub", "PUT", "/users/me", `{"password":"pub-new-secret","current_password":"wrong-secret"}`, 403, 0},
		{"admin", "PUT", "/users/{sub}", `{"password":"sub-new-secret"}`, 200, 0},
		{"admin", "PUT", "/users/{admin}", `{"password":"admin-new-secret"}`, 400, 0},
		{"admin", "DELETE", "/users/{sub2}", "", 204, 0},
		{"pub", "DELETE", "/users/{sub2}", "", 403, 0},
		{"sub", "DELETE", "/users/{sub}", "", 403, 0},
		{"admin", "DELETE", "/users/{pub}", "", 409, 0},   // owns APIs and plans
		{"admin", "DELETE", "/users/{admin}", "", 409, 0}, // the last admin

		// subscribers
		{"admin", "GET", "/subscribers", "", 200, 2},
		{"pub", "GET", "/subscribers", "", 200, 1},  // sub only: sub2's application uses pub2's API
		{"pub2", "GET", "/subscribers", "", 200, 1}, // sub2 only
		{"sub", "GET", "/subscribers", "", 403, 0},
		{"admin", "POST", "/subscribers", sub, 201, 0},
		{"pub", "POST", "/subscribers", sub, 403, 0},

		// applications: owners and admins; publishers read those on their APIs.
		{"admin", "GET", "/applications", "", 200, 2},
		{"sub", "GET", "/applications", "", 200, 1},
		{"pub", "GET", "/applications", "", 200, 1},
		{"pub2", "GET", "/applications", "", 200, 1},
		{"sub", "GET", "/applications/{app}", "", 200, 0},
		{"pub", "GET", "/applications/{app}", "", 200, 0},
		{"admin", "GET", "/applications/{app}", "", 200, 0},
		{"sub2", "GET", "/applications/{app}", "", 404, 0},
		{"pub2", "GET", "/applications/{app}", "", 404, 0},
		{"sub", "POST", "/applications", app, 201, 0},
		{"pub", "POST", "/applications", app, 201, 0},
		{"sub", "POST", "/applications", `{"name":"n","owner":"{sub2}"}`, 403, 0},
		{"admin", "POST", "/applications", `{"name":"n","owner":"{sub2}"}`, 201, 0},
		{"admin", "POST", "/applications", `{"name":"n","owner":"sub2"}`, 201, 0},
		{"sub", "PUT", "/applications/{app}", app, 200, 0},
		{"admin", "PUT", "/applications/{app}", app, 200, 0},
		{"pub", "PUT", "/applications/{app}", app, 403, 0},
		{"sub2", "PUT", "/applications/{app}", app, 404, 0},
		{"sub", "DELETE", "/applications/{app}", "", 204, 0},
		{"pub", "DELETE", "/applications/{app}", "", 403, 0},
		{"sub2", "DELETE", "/applications/{app}", "", 404, 0},

		// keys
		{"sub", "GET", "/applications/{app}/keys", "", 200, 1},
		{"pub", "GET", "/applications/{app}/keys", "", 200, 1},
		{"sub2", "GET", "/applications/{app}/keys", "", 404, 0},
		{"sub", "POST", "/applications/{app}/keys", "", 201, 0},
		{"admin", "POST", "/applications/{app}/keys", "", 201, 0},
		{"pub", "POST", "/applications/{app}/keys", "", 403, 0},
		{"sub2", "POST", "/applications/{app}/keys", "", 404, 0},
		{"sub", "DELETE", "/applications/{app}/keys/{key}", "", 204, 0},
		{"pub", "DELETE", "/applications/{app}/keys/{key}", "", 403, 0},
		{"sub2", "DELETE", "/applications/{app}/keys/{key}", "", 404, 0},
		{"sub2", "DELETE", "/applications/{app2}/keys/{key}", "", 404, 0}, // not its key

		// subscriptions
		{"sub", "POST", "/applications/{app}/subscriptions", `{"api":"{live2}","plan":"{plan2}"}`, 201, 0},
		{"admin", "POST", "/applications/{app}/subscriptions", `{"api":"{live2}","plan":"{plan2}"}`, 201, 0},
		{"pub", "POST", "/applications/{app}/subscriptions", `{"api":"{live2}","plan":"{plan2}"}`, 403, 0},
		{"sub2", "POST", "/applications/{app}/subscriptions", `{"api":"{live2}","plan":"{plan2}"}`, 404, 0},
		{"sub", "GET", "/applications/{app}/subscriptions", "", 200, 1},
		{"pub", "GET", "/applications/{app}/subscriptions", "", 200, 1},
		{"admin", "GET", "/subscriptions", "", 200, 2},
		{"pub", "GET", "/subscriptions", "", 200, 1},
		{"pub2", "GET", "/subscriptions", "", 200, 1},
		{"sub", "GET", "/subscriptions", "", 200, 1},
		{"sub2", "GET", "/subscriptions", "", 200, 1},
		{"sub", "GET", "/subscriptions/{pending}", "", 200, 0},
		{"pub", "GET", "/subscriptions/{pending}", "", 200, 0},
		{"pub2", "GET", "/subscriptions/{pending}", "", 404, 0},
		{"sub2", "GET", "/subscriptions/{pending}", "", 404, 0},
		{"pub", "POST", "/subscriptions/{pending}/approve", "", 200, 0},
		{"admin", "POST", "/subscriptions/{pending}/approve", "", 200, 0},
		{"pub2", "POST", "/subscriptions/{pending}/approve", "", 404, 0},
		{"sub", "POST", "/subscriptions/{pending}/approve", "", 403, 0},
		{"pub", "POST", "/subscriptions/{approved}/approve", "", 404, 0},
		{"pub2", "POST", "/subscriptions/{approved}/approve", "", 409, 0},
		{"pub", "POST", "/subscriptions/{pending}/evict", "", 200, 0},
		{"admin", "POST", "/subscriptions/{approved}/evict", "", 200, 0},
		{"sub", "POST", "/subscriptions/{pending}/evict", "", 403, 0},
		{"pub2", "POST", "/subscriptions/{pending}/evict", "", 404, 0},
		{"sub", "DELETE", "/subscriptions/{pending}", "", 204, 0},
		{"pub", "DELETE", "/subscriptions/{pending}", "", 204, 0},
		{"sub2", "DELETE", "/subscriptions/{pending}", "", 404, 0},

		// the rest
		{"sub", "GET", "/notifications", "", 200, 0},
		{"admin", "GET", "/notifications", "", 200, 0},
		{"admin", "GET", "/cluster/nodes", "", 200, 0},
		{"pub", "GET", "/cluster/nodes", "", 403, 0},
		{"sub", "GET", "/cluster/nodes", "", 403, 0},
		{"sub", "POST", "/tokens", "", 201, 0},
	}
	for _, r := range rows {
		path, body := fill(r.path), fill(r.body)
		t.Run(r.who+" "+r.method+" "+r.path, func(t *testing.T) {
			e := startEnv(t, storeWith(cfg))
			c := e.as(r.who, r.who+"-secret")
			if r.who == "admin" {
				c = e.admin()
			}
			var b any
			if body != "" {
				b = body
			}
			res := c.do(r.method, "/api/v1"+path, b).want(r.want)
			if r.total > 0 {
				if got := items[map[string]any](res).Total; got != r.total {
					t.Errorf("total %d, want %d", got, r.total)
				}
			}
		})
	}
}
