package proxy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// naiveLookup is the obviously right longest-prefix match.
func naiveLookup(contexts []string, path string) string {
	best := ""
	for _, c := range contexts {
		if (path == c || strings.HasPrefix(path, c+"/")) && len(c) > len(best) {
			best = c
		}
	}
	return best
}

func FuzzLookup(f *testing.F) {
	f.Add("/a", "/a/b", "/a/b/c/d", "/a/b/x")
	f.Add("/weather/v1", "/weather", "/x", "/weather/v1/forecast?q=1")
	f.Add("/a/b/c", "/a", "/b", "/a/b")
	f.Fuzz(func(t *testing.T, c1, c2, c3, path string) {
		cfg := portico.NewConfig()
		var ctxs []string
		for i, c := range []string{c1, c2, c3} {
			if !strings.HasPrefix(c, "/") || strings.HasSuffix(c, "/") || strings.Contains(c, "//") {
				continue // the admin API rejects such contexts
			}
			ctxs = append(ctxs, c)
			cfg = cfg.With(cfg.Version+1, portico.Put(&portico.API{ID: string(rune('a' + i)), Context: c, State: portico.Published}))
		}
		s, _ := update(nil, cfg, map[string]*upstream{}, func(a *portico.API, _ *upstream) *upstream { return &upstream{api: a} })
		got := ""
		if r := s.lookup(path); r != nil {
			got = r.api.Context
		}
		if want := naiveLookup(ctxs, path); got != want {
			t.Fatalf("lookup(%q) in %q = %q, want %q", path, ctxs, got, want)
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	cfg := portico.NewConfig()
	for i := range 1000 {
		cfg = cfg.With(cfg.Version+1, portico.Put(&portico.API{ID: portico.NewID(), Context: "/svc" + itoa(i) + "/v1", State: portico.Published}))
	}
	s, _ := update(nil, cfg, map[string]*upstream{}, func(a *portico.API, _ *upstream) *upstream { return &upstream{api: a} })
	b.ReportAllocs()
	for b.Loop() {
		if s.lookup("/svc500/v1/some/resource/path") == nil {
			b.Fatal("no route")
		}
	}
}

// BenchmarkServeHTTP measures the whole request path (route, key auth,
// limiter, proxy) against a loopback backend.
func BenchmarkServeHTTP(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer be.Close()
	gw := &Gateway{Limiter: &fakeLimiter{n: 1 << 62}}
	w := &world{cfg: portico.NewConfig(), gw: gw}
	w.api("api", "/api", portico.AuthAPIKey, be.URL)
	key := w.subscribe("app", "api", portico.Approved)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/api/x", nil)
		req.Header.Set("X-API-Key", key)
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// TestIncrementalUpdate applies random changes of every kind and checks
// after each that the snapshot patched by update routes exactly like one
// built from scratch: same routes, live keys, subscriptions that count and
// compiled plans, and only unchanged APIs keep their upstream.
func TestIncrementalUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	newUp := func(a *portico.API, _ *upstream) *upstream { return &upstream{api: a} }
	cfg := portico.NewConfig()
	ups := map[string]*upstream{}
	var snap *snapshot
	pick := func(prefix string, n int) string { return fmt.Sprint(prefix, rng.IntN(n)) }
	statuses := []portico.SubscriptionStatus{portico.Approved, portico.Evicted, portico.Pending}
	for step := range 3000 {
		var changes []portico.Change
		for range 1 + rng.IntN(3) {
			id := ""
			switch rng.IntN(6) {
			case 0:
				id = pick("api", 20)
				state := []portico.Lifecycle{portico.Published, portico.Draft, portico.Deprecated}[rng.IntN(3)]
				// Context paths are unique, as the admin API keeps them.
				changes = append(changes, portico.Put(&portico.API{ID: id, Context: "/" + id + pick("/v", 3), State: state}))
			case 1:
				id = pick("plan", 4)
				changes = append(changes, portico.Put(&portico.Plan{ID: id, RateLimit: &portico.RateLimit{Limit: int64(1 + rng.IntN(9)), Per: portico.Second}}))
			case 2:
				id = pick("app", 30)
				changes = append(changes, portico.Put(&portico.Application{ID: id, Name: fmt.Sprint(step)}))
			case 3:
				id = pick("key", 60)
				k := &portico.Key{ID: id, ApplicationID: pick("app", 30), Hash: portico.HashKey(id + pick("/secret", 3))} // unique, as generated keys are
				if rng.IntN(4) == 0 {
					k.RevokedAt = &time.Time{}
				}
				changes = append(changes, portico.Put(k))
			case 4:
				id = pick("sub", 80)
				changes = append(changes, portico.Put(&portico.Subscription{ID: id, ApplicationID: pick("app", 30), APIID: pick("api", 20),
					PlanID: pick("plan", 5), Status: statuses[rng.IntN(3)], CreatedAt: time.Unix(int64(rng.IntN(5)), 0)}))
			case 5:
				kinds := []portico.Kind{portico.KindAPI, portico.KindPlan, portico.KindApplication, portico.KindKey, portico.KindSubscription}
				prefixes := []string{"api", "plan", "app", "key", "sub"}
				i := rng.IntN(len(kinds))
				changes = append(changes, portico.Delete(kinds[i], pick(prefixes[i], 60)))
			}
		}
		prevUps := maps.Clone(ups)
		cfg = cfg.With(cfg.Version+1, changes...)
		snap, _ = update(snap, cfg, ups, newUp)
		full, _ := update(nil, cfg, map[string]*upstream{}, newUp)
		if got, want := routesOf(snap), routesOf(full); !maps.Equal(got, want) {
			t.Fatalf("step %d: routes %v, want %v", step, got, want)
		}
		if got, want := snap.keys.Map(), full.keys.Map(); !maps.Equal(got, want) {
			t.Fatalf("step %d: %d live keys, want %d", step, len(got), len(want))
		}
		if got, want := subsOf(snap), subsOf(full); !maps.Equal(got, want) {
			t.Fatalf("step %d: subscriptions %v, want %v", step, got, want)
		}
		for id, ps := range full.plans {
			if snap.plans[id] == nil || snap.plans[id].plan != ps.plan {
				t.Fatalf("step %d: plan %s not compiled from the current plan", step, id)
			}
		}
		if len(snap.plans) != len(full.plans) {
			t.Fatalf("step %d: %d compiled plans, want %d", step, len(snap.plans), len(full.plans))
		}
		for id, up := range ups {
			if up.api != cfg.APIs.Get(id) {
				t.Fatalf("step %d: upstream of %s is for an old version of the API", step, id)
			}
			if old := prevUps[id]; old != nil && old.api == up.api && old != up {
				t.Fatalf("step %d: unchanged API %s got a new upstream", step, id)
			}
		}
	}
}

func routesOf(s *snapshot) map[string]*portico.API {
	m := map[string]*portico.API{}
	for ctx, rt := range s.routes {
		if rt.up.api != rt.api {
			panic("route with another API's upstream")
		}
		m[ctx] = rt.api
	}
	return m
}

func subsOf(s *snapshot) map[[2]string]*portico.Subscription {
	m := map[[2]string]*portico.Subscription{}
	for app := range s.subs.All() {
		for _, api := range []string{"api0", "api1", "api2", "api3", "api4", "api5", "api6", "api7", "api8", "api9",
			"api10", "api11", "api12", "api13", "api14", "api15", "api16", "api17", "api18", "api19"} {
			if e := s.sub(app, api); e != nil {
				m[[2]string{app, api}] = e.sub
			}
		}
	}
	return m
}
