package admin_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"golang.org/x/crypto/bcrypt"
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

// TestSubscriptionSearchPaths: an admin's search of every subscription
// answers as the rule says (the application's name or the API's name
// holds the text) whether it finds few (gathered from the applications
// and APIs found) or many (looked up while walking all), with status
// filters and pages.
func TestSubscriptionSearchPaths(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hash, _ := bcrypt.GenerateFromPassword([]byte(adminPW), bcrypt.MinCost)
	changes := []portico.Change{portico.Put(&portico.User{
		ID: "admin", Username: "admin", Roles: []portico.Role{portico.RoleAdmin}, PasswordHash: string(hash),
	})}
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"Alpha", "Beta", "Gamma", "Delta", "Omega"}
	appName, apiName := map[string]string{}, map[string]string{}
	for i := range 40 {
		id := fmt.Sprintf("app%02d", i)
		appName[id] = fmt.Sprintf("%s app %d", words[i%len(words)], i)
		changes = append(changes, portico.Put(&portico.Application{ID: id, Name: appName[id], Owner: "admin", CreatedAt: now}))
	}
	for i := range 16 {
		id := fmt.Sprintf("api%d", i)
		apiName[id] = fmt.Sprintf("%s service %d", words[(i+2)%len(words)], i)
		changes = append(changes, portico.Put(&portico.API{ID: id, Name: apiName[id], Context: "/" + id, Owner: "admin", State: portico.Retired, CreatedAt: now}))
	}
	var subs []*portico.Subscription
	for i := range 400 {
		s := &portico.Subscription{
			ID: fmt.Sprintf("sub%03d", i), ApplicationID: fmt.Sprintf("app%02d", rng.IntN(40)), APIID: fmt.Sprintf("api%d", rng.IntN(16)),
			Status: []portico.SubscriptionStatus{portico.Pending, portico.Approved}[rng.IntN(2)], CreatedAt: now.Add(time.Duration(rng.IntN(50)) * time.Second),
		}
		subs = append(subs, s)
		changes = append(changes, portico.Put(s))
	}
	slices.SortFunc(subs, func(a, b *portico.Subscription) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	e := startEnv(t, storeWith(portico.NewConfig().With(1, changes...)))
	for _, q := range []string{"a", "app 1", "APP 17", "omega", "gamma service", "SERVICE 3", "zzz", "e"} {
		for _, status := range []string{"", "pending"} {
			var want []string
			for _, s := range subs {
				if (status == "" || string(s.Status) == status) &&
					(strings.Contains(strings.ToLower(appName[s.ApplicationID]), strings.ToLower(q)) ||
						strings.Contains(strings.ToLower(apiName[s.APIID]), strings.ToLower(q))) {
					want = append(want, s.ID)
				}
			}
			for _, offset := range []int{0, 7} {
				path := fmt.Sprintf("/api/v1/subscriptions?q=%s&limit=20&offset=%d", url.QueryEscape(q), offset)
				if status != "" {
					path += "&status=" + status
				}
				got, total := names(t, e.admin().do("GET", path, nil).want(http.StatusOK), "id")
				w := want[min(offset, len(want)):]
				w = w[:min(20, len(w))]
				if total != len(want) || !slices.Equal(got, w) {
					t.Errorf("GET %s: total %d, %v; want %d, %v", path, total, got, len(want), w)
				}
			}
		}
	}
}
