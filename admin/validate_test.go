package admin_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
)

// edit returns base with the JSON edits applied: each key is a dotted path
// ("rate_limit.limit", "endpoint.targets.1.url"); a nil value deletes.
func edit(t *testing.T, base map[string]any, edits map[string]any) string {
	t.Helper()
	m := clone(base)
	for path, v := range edits {
		keys := strings.Split(path, ".")
		var cur any = m
		for i, k := range keys {
			last := i == len(keys)-1
			switch c := cur.(type) {
			case map[string]any:
				if last {
					if v == nil {
						delete(c, k)
					} else {
						c[k] = v
					}
				} else {
					if c[k] == nil {
						c[k] = map[string]any{}
					}
					cur = c[k]
				}
			case []any:
				n := 0
				for _, ch := range k {
					n = n*10 + int(ch-'0')
				}
				if last {
					c[n] = v
				} else {
					cur = c[n]
				}
			default:
				t.Fatalf("edit %q: %T at %q", path, cur, k)
			}
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidatePlan(t *testing.T) {
	e := newEnv(t)
	base := map[string]any{
		"name":       "gold",
		"rate_limit": map[string]any{"limit": 10, "per": "second", "resources": []any{map[string]any{"pattern": "POST /orders", "limit": 1, "per": "minute"}}},
		"quota":      map[string]any{"limit": 1000, "per": "month", "mode": "soft"},
	}
	var p portico.Plan
	e.admin().do("POST", "/api/v1/plans", edit(t, base, nil)).want(http.StatusCreated).decode(&p)
	if p.RateLimit.Window != portico.Fixed || p.RateLimit.Resources[0].Window != portico.Fixed ||
		p.Quota.Threshold != 80 || p.OnDatastoreError != portico.DatastoreLocal {
		t.Fatalf("defaults not filled in: %+v %+v %+v", p.RateLimit, p.Quota, p)
	}
	e.admin().do("POST", "/api/v1/plans", edit(t, base, map[string]any{"name": "gold2", "rate_limit": nil})).want(http.StatusCreated)
	e.admin().do("POST", "/api/v1/plans", edit(t, base, map[string]any{"name": "gold3", "quota": nil})).want(http.StatusCreated)
	e.admin().do("POST", "/api/v1/plans", edit(t, base, map[string]any{"name": "gold4", "rate_limit.resources.0.pattern": "/files/*/x/**"})).want(http.StatusCreated)

	for _, c := range []struct {
		name  string
		edits map[string]any
		field string
	}{
		{"no name", map[string]any{"name": nil}, "name"},
		{"blank name", map[string]any{"name": "  "}, "name"},
		{"long name", map[string]any{"name": strings.Repeat("n", 201)}, "name"},
		{"no limits", map[string]any{"rate_limit": nil, "quota": nil}, "rate_limit"},
		{"zero rate", map[string]any{"rate_limit.limit": 0}, "rate_limit.limit"},
		{"negative rate", map[string]any{"rate_limit.limit": -5}, "rate_limit.limit"},
		{"rate per day", map[string]any{"rate_limit.per": "day"}, "rate_limit.per"},
		{"no rate per", map[string]any{"rate_limit.per": nil}, "rate_limit.per"},
		{"bad window", map[string]any{"rate_limit.window": "sliding"}, "rate_limit.window"},
		{"rate as text", map[string]any{"rate_limit.limit": "10"}, "rate_limit.limit"},
		{"empty pattern", map[string]any{"rate_limit.resources.0.pattern": ""}, "rate_limit.resources[0].pattern"},
		{"relative pattern", map[string]any{"rate_limit.resources.0.pattern": "orders"}, "rate_limit.resources[0].pattern"},
		{"lowercase method", map[string]any{"rate_limit.resources.0.pattern": "post /orders"}, "rate_limit.resources[0].pattern"},
		{"two spaces", map[string]any{"rate_limit.resources.0.pattern": "POST  /orders"}, "rate_limit.resources[0].pattern"},
		{"query in pattern", map[string]any{"rate_limit.resources.0.pattern": "/orders?x=1"}, "rate_limit.resources[0].pattern"},
		{"inner **", map[string]any{"rate_limit.resources.0.pattern": "/a/**/b"}, "rate_limit.resources[0].pattern"},
		{"resource limit", map[string]any{"rate_limit.resources.0.limit": 0}, "rate_limit.resources[0].limit"},
		{"resource per", map[string]any{"rate_limit.resources.0.per": "week"}, "rate_limit.resources[0].per"},
		{"resource window", map[string]any{"rate_limit.resources.0.window": "x"}, "rate_limit.resources[0].window"},
		{"duplicate pattern", map[string]any{"rate_limit.resources": []any{
			map[string]any{"pattern": "/a", "limit": 1, "per": "second"},
			map[string]any{"pattern": "/a", "limit": 2, "per": "second"}}}, "rate_limit.resources[1].pattern"},
		{"zero quota", map[string]any{"quota.limit": 0}, "quota.limit"},
		{"quota per hour", map[string]any{"quota.per": "hour"}, "quota.per"},
		{"quota mode", map[string]any{"quota.mode": "strict"}, "quota.mode"},
		{"threshold 0..100", map[string]any{"quota.threshold": 101}, "quota.threshold"},
		{"negative threshold", map[string]any{"quota.threshold": -1}, "quota.threshold"},
		{"policy", map[string]any{"on_datastore_error": "panic"}, "on_datastore_error"},
		{"auto_approve type", map[string]any{"auto_approve": "yes"}, "auto_approve"},
		{"unknown", map[string]any{"tier": 1}, "tier"},
		{"created_at", map[string]any{"created_at": "2024-01-01T00:00:00Z"}, "created_at"},
		{"owner nobody", map[string]any{"owner": "nobody"}, "owner"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.in(t).admin().do("POST", "/api/v1/plans", edit(t, base, c.edits)).wantErr(http.StatusBadRequest, c.field)
		})
	}
}

func TestValidateAPI(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	plan := adm.do("POST", "/api/v1/plans", goldPlan("p")).want(http.StatusCreated).str("id")
	base := clone(weatherAPI("/weather/v1", plan))
	base["timeouts"] = map[string]any{"connect": "2s", "response": 30000}

	var a portico.API
	adm.do("POST", "/api/v1/apis", edit(t, base, map[string]any{"endpoint.algorithm": nil, "visibility": nil, "auth": nil})).
		want(http.StatusCreated).decode(&a)
	if a.State != portico.Draft || a.Visibility != portico.Public || !slices.Equal(a.Auth, portico.AuthMethods{portico.AuthAPIKey}) ||
		a.Endpoint.Algorithm != portico.RoundRobin {
		t.Fatalf("defaults: %+v", a)
	}
	if a.Timeouts.Connect != portico.Duration(2e9) || a.Timeouts.Response != portico.Duration(30e9) {
		t.Fatalf("timeouts = %+v", a.Timeouts)
	}
	single := edit(t, base, map[string]any{"context": "/single", "version": "single", "endpoint": map[string]any{
		"type": "single", "targets": []any{map[string]any{"url": "https://example.com:8443/v1"}}}})
	adm.do("POST", "/api/v1/apis", single).want(http.StatusCreated)

	for _, c := range []struct {
		name   string
		edits  map[string]any
		status int
		field  string
	}{
		{"no name", map[string]any{"name": nil}, 400, "name"},
		{"no version", map[string]any{"version": ""}, 400, "version"},
		{"no context", map[string]any{"context": nil}, 400, "context"},
		{"relative context", map[string]any{"context": "weather"}, 400, "context"},
		{"root context", map[string]any{"context": "/"}, 400, "context"},
		{"trailing slash", map[string]any{"context": "/weather/"}, 400, "context"},
		{"query", map[string]any{"context": "/w?x"}, 400, "context"},
		{"fragment", map[string]any{"context": "/w#x"}, 400, "context"},
		{"double slash", map[string]any{"context": "/w//x"}, 400, "context"},
		{"dot dot", map[string]any{"context": "/w/../x"}, 400, "context"},
		{"dot", map[string]any{"context": "/w/./x"}, 400, "context"},
		{"space", map[string]any{"context": "/w x"}, 400, "context"},
		{"tab", map[string]any{"context": "/w\tx"}, 400, "context"},
		{"percent-encoded", map[string]any{"context": "/%61/v1"}, 400, "context"},
		{"encoded slash", map[string]any{"context": "/a/v1%2Forders"}, 400, "context"},
		{"path parameter", map[string]any{"context": "/a/v1;x"}, 400, "context"},
		{"backslash", map[string]any{"context": "/a\\v1"}, 400, "context"},
		{"taken context", map[string]any{}, 409, "context"},
		{"visibility", map[string]any{"visibility": "secret"}, 400, "visibility"},
		{"auth", map[string]any{"auth": "oauth"}, 400, "auth[0]"},
		{"auth list", map[string]any{"auth": []string{"api_key", "jwt"}}, 400, "jwt_issuers"},
		{"auth not a list", map[string]any{"auth": 7}, 400, "auth"},
		{"state", map[string]any{"state": "published"}, 400, "state"},
		{"id", map[string]any{"id": "x"}, 400, "id"},
		{"no endpoint type", map[string]any{"endpoint.type": nil}, 400, "endpoint.type"},
		{"endpoint type", map[string]any{"endpoint.type": "dns"}, 400, "endpoint.type"},
		{"algorithm", map[string]any{"endpoint.algorithm": "random"}, 400, "endpoint.algorithm"},
		{"no targets", map[string]any{"endpoint.targets": []any{}}, 400, "endpoint.targets"},
		{"single with two", map[string]any{"endpoint.type": "single", "endpoint.algorithm": nil}, 400, "endpoint.targets"},
		{"single algorithm", map[string]any{"endpoint.type": "single", "endpoint.targets": []any{map[string]any{"url": "http://h"}}}, 400, "endpoint.algorithm"},
		{"ftp", map[string]any{"endpoint.targets.0.url": "ftp://h"}, 400, "endpoint.targets[0].url"},
		{"no url", map[string]any{"endpoint.targets.0.url": ""}, 400, "endpoint.targets[0].url"},
		{"empty port", map[string]any{"endpoint.targets.0.url": "http://127.0.0.1:"}, 400, "endpoint.targets[0].url"},
		{"port 0", map[string]any{"endpoint.targets.0.url": "http://127.0.0.1:0/x"}, 400, "endpoint.targets[0].url"},
		{"port too large", map[string]any{"endpoint.targets.0.url": "http://[::1]:65536"}, 400, "endpoint.targets[0].url"},
		{"relative url", map[string]any{"endpoint.targets.1.url": "/base"}, 400, "endpoint.targets[1].url"},
		{"no host", map[string]any{"endpoint.targets.1.url": "http://"}, 400, "endpoint.targets[1].url"},
		{"port only", map[string]any{"endpoint.targets.1.url": "http://:80"}, 400, "endpoint.targets[1].url"},
		{"url query", map[string]any{"endpoint.targets.1.url": "http://h/a?q=1"}, 400, "endpoint.targets[1].url"},
		{"url empty query", map[string]any{"endpoint.targets.1.url": "http://h/a?"}, 400, "endpoint.targets[1].url"},
		{"url fragment", map[string]any{"endpoint.targets.1.url": "http://h/#f"}, 400, "endpoint.targets[1].url"},
		{"url credentials", map[string]any{"endpoint.targets.1.url": "http://u:p@h/"}, 400, "endpoint.targets[1].url"},
		{"bad url", map[string]any{"endpoint.targets.1.url": "http://h:port"}, 400, "endpoint.targets[1].url"},
		{"negative weight", map[string]any{"endpoint.targets.0.weight": -1}, 400, "endpoint.targets[0].weight"},
		{"weight over 1000", map[string]any{"endpoint.targets.1.weight": 1001}, 400, "endpoint.targets[1].weight"},
		{"weight as text", map[string]any{"endpoint.targets.1.weight": "3"}, 400, "endpoint.targets.weight"},
		{"no such plan", map[string]any{"plans": []any{plan, "nope"}}, 400, "plans[1]"},
		{"empty plan", map[string]any{"plans": []any{""}}, 400, "plans[0]"},
		{"plan twice", map[string]any{"plans": []any{plan, plan}}, 400, "plans[1]"},
		{"negative timeout", map[string]any{"timeouts.connect": "-1s"}, 400, "timeouts.connect"},
		{"long timeout", map[string]any{"timeouts.response": "11m"}, 400, "timeouts.response"},
		{"bad timeout", map[string]any{"timeouts.connect": "soon"}, 400, "timeouts.connect"},
		{"timeout object", map[string]any{"timeouts.connect": map[string]any{}}, 400, "timeouts.connect"},
		{"unknown timeout", map[string]any{"timeouts.idle": "1s"}, 400, "idle"},
		{"owner nobody", map[string]any{"owner": "nobody"}, 400, "owner"},
	} {
		t.Run(c.name, func(t *testing.T) {
			edits := c.edits
			if c.status != 409 && edits["context"] == nil {
				edits = clone(edits)
				if _, deleted := c.edits["context"]; !deleted {
					edits["context"] = "/other"
				}
			}
			e.in(t).admin().do("POST", "/api/v1/apis", edit(t, base, edits)).wantErr(c.status, c.field)
		})
	}
}

func TestValidateUser(t *testing.T) {
	e := newEnv(t)
	base := map[string]any{"username": "ann", "password": "ann-secret", "roles": []any{"subscriber"},
		"email": "ann@example.com", "webhook_url": "https://example.com/hook"}
	e.admin().do("POST", "/api/v1/users", edit(t, base, nil)).want(http.StatusCreated)
	for _, c := range []struct {
		name   string
		edits  map[string]any
		status int
		field  string
	}{
		{"taken", map[string]any{}, 409, "username"},
		{"taken other case", map[string]any{"username": "ANN"}, 409, "username"},
		{"no username", map[string]any{"username": nil}, 400, "username"},
		{"colon", map[string]any{"username": "a:b"}, 400, "username"},
		{"space", map[string]any{"username": "a b"}, 400, "username"},
		{"no password", map[string]any{"username": "bo", "password": nil}, 400, "password"},
		{"short password", map[string]any{"username": "bo", "password": "1234567"}, 400, "password"},
		{"long password", map[string]any{"username": "bo", "password": strings.Repeat("p", 73)}, 400, "password"},
		{"no roles", map[string]any{"username": "bo", "roles": nil}, 400, "roles"},
		{"empty roles", map[string]any{"username": "bo", "roles": []any{}}, 400, "roles"},
		{"bad role", map[string]any{"username": "bo", "roles": []any{"subscriber", "root"}}, 400, "roles[1]"},
		{"email", map[string]any{"username": "bo", "email": "Bo <bo@example.com>"}, 400, "email"},
		{"webhook", map[string]any{"username": "bo", "webhook_url": "ftp://example.com"}, 400, "webhook_url"},
		{"password_hash", map[string]any{"username": "bo", "password_hash": "x"}, 400, "password_hash"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.in(t).admin().do("POST", "/api/v1/users", edit(t, base, c.edits)).wantErr(c.status, c.field)
		})
	}
}
