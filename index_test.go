package portico

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestIndexDerived applies random changes with With to a Config whose
// index is built and checks after each step that every lookup matches the
// index built from scratch for the same tables.
func TestIndexDerived(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pick := func(prefix string, n int) string { return fmt.Sprint(prefix, rng.IntN(n)) }
	cfg := NewConfig()
	cfg.UserByName("x") // build the (empty) index, so that With derives it
	for step := range 2000 {
		var changes []Change
		for range 1 + rng.IntN(3) {
			switch rng.IntN(7) {
			case 0:
				id := pick("u", 20)
				changes = append(changes, Put(&User{ID: id, Username: id + pick("-Name", 3)}))
			case 1:
				changes = append(changes, Put(&Application{ID: pick("app", 30), Owner: pick("u", 20)}))
			case 2:
				changes = append(changes, Put(&Key{ID: pick("key", 60), ApplicationID: pick("app", 30)}))
			case 3:
				changes = append(changes, Put(&Subscription{ID: pick("sub", 60), ApplicationID: pick("app", 30), APIID: pick("api", 10)}))
			case 5:
				// An API's context ends with its own id, under zero to two
				// other APIs' ids: unique, and nested now and then.
				id := pick("api", 10)
				ctx := "/" + id
				for range rng.IntN(3) {
					ctx = "/" + pick("api", 10) + ctx
				}
				changes = append(changes, Put(&API{ID: id, Context: ctx, Owner: pick("u", 2)}))
			case 6:
				id := pick("g", 8)
				var members []string
				for range rng.IntN(4) {
					if m := pick("u", 20); !slices.Contains(members, m) {
						members = append(members, m)
					}
				}
				changes = append(changes, Put(&Group{ID: id, Name: id + pick("-Name", 3), Members: members}))
			case 4:
				kinds := []Kind{KindUser, KindApplication, KindKey, KindSubscription, KindAPI, KindGroup}
				prefixes := []string{"u", "app", "key", "sub", "api", "g"}
				i := rng.IntN(len(kinds))
				changes = append(changes, Delete(kinds[i], pick(prefixes[i], 60)))
			}
		}
		cfg = cfg.With(cfg.Version+1, changes...)
		if cfg.ix.Load() == nil {
			t.Fatal("With dropped the index")
		}
		fresh := &Config{Users: cfg.Users, Applications: cfg.Applications, Keys: cfg.Keys, Subscriptions: cfg.Subscriptions, APIs: cfg.APIs, Groups: cfg.Groups}
		for a := range cfg.APIs.Values() {
			if got := cfg.APIByContext(a.Context); got != a {
				t.Fatalf("step %d: APIByContext(%s) = %v, want %s", step, a.Context, got, a.ID)
			}
			same(t, step, "APIsUnder "+a.Context, cfg.APIsUnder(a.Context), fresh.APIsUnder(a.Context))
			ancestors(a.Context, func(p string) {
				if cfg.APIsUnder(p).Get(a.ID) != a {
					t.Fatalf("step %d: %s is not under %s", step, a.Context, p)
				}
				same(t, step, "APIsUnder "+p, cfg.APIsUnder(p), fresh.APIsUnder(p))
			})
		}
		if got, want := cfg.index().apiByCtx.Len(), cfg.APIs.Len(); got != want {
			t.Fatalf("step %d: %d contexts indexed for %d APIs", step, got, want)
		}
		for i := range 60 {
			for _, id := range []string{fmt.Sprint("app", i), fmt.Sprint("api", i), fmt.Sprint("u", i)} {
				same(t, step, "KeysOf "+id, cfg.KeysOf(id), fresh.KeysOf(id))
				same(t, step, "SubscriptionsOf "+id, cfg.SubscriptionsOf(id), fresh.SubscriptionsOf(id))
				same(t, step, "SubscriptionsTo "+id, cfg.SubscriptionsTo(id), fresh.SubscriptionsTo(id))
				same(t, step, "ApplicationsOf "+id, cfg.ApplicationsOf(id), fresh.ApplicationsOf(id))
				same(t, step, "GroupsOf "+id, cfg.GroupsOf(id), fresh.GroupsOf(id))
			}
			for _, suffix := range []string{"-name0", "-NAME1", "-Name2"} {
				name := fmt.Sprint("G", i, suffix)
				if got, want := cfg.GroupByName(name), fresh.GroupByName(name); got != want {
					t.Fatalf("step %d: GroupByName(%s) = %v, want %v", step, name, got, want)
				}
			}
			for _, suffix := range []string{"-name0", "-NAME1", "-Name2"} {
				name := fmt.Sprint("U", i, suffix)
				if got, want := cfg.UserByName(name), fresh.UserByName(name); got != want {
					t.Fatalf("step %d: UserByName(%s) = %v, want %v", step, name, got, want)
				}
			}
		}
	}
}

func same[T any](t *testing.T, step int, what string, got, want Table[T]) {
	t.Helper()
	if !maps.Equal(got.Map(), want.Map()) {
		t.Fatalf("step %d: %s: %d entries, want %d", step, what, got.Len(), want.Len())
	}
}

// BenchmarkIndex reports, for a Config of a million keys, applications
// and subscriptions: the time and heap of building the index in full (once
// per Load) and, per op, a key change through With with the index kept.
func BenchmarkIndex(b *testing.B) {
	const n = 1_000_000
	apps := make(map[string]*Application, n)
	keys := make(map[string]*Key, n)
	subs := make(map[string]*Subscription, n)
	for i := range n {
		id := fmt.Sprint(i)
		apps["app"+id] = &Application{ID: "app" + id, Owner: fmt.Sprint("u", i%1000)}
		keys["key"+id] = &Key{ID: "key" + id, ApplicationID: "app" + id}
		subs["sub"+id] = &Subscription{ID: "sub" + id, ApplicationID: "app" + id, APIID: fmt.Sprint("api", i%10_000)}
	}
	cfg := &Config{Applications: TableOf(apps), Keys: TableOf(keys), Subscriptions: TableOf(subs)}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	cfg.index()
	build := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cfg = cfg.With(cfg.Version+1, Put(&Key{ID: fmt.Sprint("new", i), ApplicationID: fmt.Sprint("app", i%n)}))
	}
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "index-B/key")
}
