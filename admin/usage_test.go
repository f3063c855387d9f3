package admin_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
)

// fakeUsage answers Usage with used[key] and records the specs asked.
type fakeUsage struct {
	mu    sync.Mutex
	used  map[string]int64
	asked []portico.LimitSpec
	err   error
}

func (f *fakeUsage) Usage(_ context.Context, now time.Time, specs []portico.LimitSpec) ([]portico.CounterUsage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.asked = append(f.asked, specs...)
	out := make([]portico.CounterUsage, len(specs))
	for i, sp := range specs {
		out[i] = portico.CounterUsage{Key: sp.Key, Limit: sp.Limit, Used: f.used[sp.Key], Start: now.Add(-time.Hour), End: now.Add(time.Hour)}
	}
	return out, nil
}

type usageAnswer struct {
	Subscription string `json:"subscription"`
	Plan         string `json:"plan"`
	Quota        *struct {
		Limit, Used, Remaining int64
		Per                    portico.Period
		Mode                   portico.QuotaMode
	} `json:"quota"`
	RateLimit *struct {
		Limit, Used, Remaining int64
		Per                    portico.Period
		Window                 portico.Window
	} `json:"rate_limit"`
}

// TestSubscriptionUsage reads a subscription's quota and rate limit use
// from the gateway's counters (the application's use of the API), for who
// sees the subscription only.
func TestSubscriptionUsage(t *testing.T) {
	f := &fakeUsage{}
	e := newEnv(t, func(s *admin.Server) { s.Usage = f })
	pub, _ := e.addUser("pub", portico.RolePublisher)
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	other, _ := e.addUser("other", portico.RoleSubscriber)
	otherPub, _ := e.addUser("otherpub", portico.RolePublisher)
	auto := goldPlan("gold")
	auto["auto_approve"] = true
	plan := pub.do("POST", "/api/v1/plans", auto).want(http.StatusCreated).str("id")
	api := pub.do("POST", "/api/v1/apis", weatherAPI("/weather", plan)).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+api+"/publish", nil).want(http.StatusOK)
	app := sub.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated).str("id")
	id := sub.do("POST", "/api/v1/applications/"+app+"/subscriptions", map[string]any{"api": api, "plan": plan}).want(http.StatusCreated).str("id")
	path := "/api/v1/subscriptions/" + id + "/usage"

	subject := portico.CounterSubject(app, api)
	f.used = map[string]int64{subject + "/quota": 7412, subject + "/rate": 3}
	for _, c := range []*client{sub, pub, e.admin()} {
		var u usageAnswer
		c.do("GET", path, nil).want(http.StatusOK).decode(&u)
		if u.Subscription != id || u.Plan != plan || u.Quota == nil || u.RateLimit == nil {
			t.Fatalf("%s: usage %+v", c.user, u)
		}
		if q := u.Quota; q.Limit != 100000 || q.Used != 7412 || q.Remaining != 100000-7412 || q.Per != portico.Month || q.Mode != portico.Hard {
			t.Errorf("%s: quota %+v, want 7412 of 100000 this month", c.user, *q)
		}
		if r := u.RateLimit; r.Limit != 100 || r.Used != 3 || r.Remaining != 97 || r.Per != portico.Second || r.Window != portico.Fixed {
			t.Errorf("%s: rate limit %+v, want 3 of 100 a second", c.user, *r)
		}
	}
	f.mu.Lock()
	for _, sp := range f.asked {
		if sp.Key != subject+"/quota" && sp.Key != subject+"/rate" {
			t.Errorf("usage read the counter %q, not the application's use of the API", sp.Key)
		}
	}
	f.mu.Unlock()

	// Who does not see the subscription gets 404, as for GET of it.
	other.do("GET", path, nil).wantErr(http.StatusNotFound, "")
	otherPub.do("GET", path, nil).wantErr(http.StatusNotFound, "")
	e.anon().do("GET", path, nil).want(http.StatusUnauthorized)
	sub.do("GET", "/api/v1/subscriptions/nope/usage", nil).wantErr(http.StatusNotFound, "")

	// Used beyond the limit (a soft quota, leases) shows 0 remaining.
	f.used[subject+"/quota"] = 100005
	var u usageAnswer
	sub.do("GET", path, nil).want(http.StatusOK).decode(&u)
	if u.Quota.Remaining != 0 || u.Quota.Used != 100005 {
		t.Errorf("over the limit: %+v", *u.Quota)
	}

	// The counters cannot be read (Redis down): 503, not a guess.
	f.mu.Lock()
	f.err = portico.Errorf(portico.EUnavailable, "down")
	f.mu.Unlock()
	sub.do("GET", path, nil).want(http.StatusServiceUnavailable)
	f.mu.Lock()
	f.err = nil
	f.mu.Unlock()

	// A plan with a quota only: no rate limit to show.
	free := pub.do("POST", "/api/v1/plans", map[string]any{"name": "free", "auto_approve": true,
		"quota": map[string]any{"limit": 50, "per": "day", "mode": "soft"}}).want(http.StatusCreated).str("id")
	api2 := pub.do("POST", "/api/v1/apis", func() map[string]any { b := weatherAPI("/free", free); b["name"] = "free"; return b }()).want(http.StatusCreated).str("id")
	pub.do("POST", "/api/v1/apis/"+api2+"/publish", nil).want(http.StatusOK)
	id2 := sub.do("POST", "/api/v1/applications/"+app+"/subscriptions", map[string]any{"api": api2, "plan": free}).want(http.StatusCreated).str("id")
	var none usageAnswer
	sub.do("GET", "/api/v1/subscriptions/"+id2+"/usage", nil).want(http.StatusOK).decode(&none)
	if none.Quota == nil || none.Quota.Limit != 50 || none.Quota.Mode != portico.Soft || none.RateLimit != nil || none.Subscription != id2 {
		t.Errorf("a plan with a soft quota only: %+v", none)
	}
}

// TestSubscriptionUsageWithoutReader: a node given no usage reader
// answers 503.
func TestSubscriptionUsageWithoutReader(t *testing.T) {
	e := newEnv(t)
	sub, _ := e.addUser("sub", portico.RoleSubscriber)
	auto := goldPlan("gold")
	auto["auto_approve"] = true
	adm := e.admin()
	plan := adm.do("POST", "/api/v1/plans", auto).want(http.StatusCreated).str("id")
	api := adm.do("POST", "/api/v1/apis", weatherAPI("/weather", plan)).want(http.StatusCreated).str("id")
	adm.do("POST", "/api/v1/apis/"+api+"/publish", nil).want(http.StatusOK)
	app := sub.do("POST", "/api/v1/applications", map[string]any{"name": "app"}).want(http.StatusCreated).str("id")
	id := sub.do("POST", "/api/v1/applications/"+app+"/subscriptions", map[string]any{"api": api, "plan": plan}).want(http.StatusCreated).str("id")
	sub.do("GET", "/api/v1/subscriptions/"+id+"/usage", nil).want(http.StatusServiceUnavailable)
}
