package proxy

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// BenchmarkUpdate measures what one config change costs a node: the
// Config.With of the change plus Gateway.Update, with 10,000 APIs and
// PORTICO_BENCH_KEYS keys (default 100,000; the cluster issue asks about
// 1,000,000), each key with its own application and subscription. It
// reports the heap per key (Config and snapshot), the time of a full
// snapshot build of the same Config, and the ratio of the two.
func BenchmarkUpdate(b *testing.B) {
	keys := 100_000
	if v := os.Getenv("PORTICO_BENCH_KEYS"); v != "" {
		keys, _ = strconv.Atoi(v)
	}
	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cfg := benchConfig(keys)
	gw := &Gateway{}
	gw.Update(cfg)
	runtime.GC()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	perKey := float64(ms1.HeapAlloc-ms0.HeapAlloc) / float64(keys)

	start := time.Now()
	const builds = 3
	for range builds {
		update(nil, cfg, map[string]*upstream{}, gw.buildUpstream)
	}
	full := time.Since(start) / builds

	changes := []struct {
		name   string
		change func(i int) portico.Change
	}{
		{"key", func(i int) portico.Change {
			return portico.Put(&portico.Key{ID: "new" + strconv.Itoa(i), ApplicationID: "app0", Hash: portico.HashKey(strconv.Itoa(i))})
		}},
		{"subscription", func(i int) portico.Change {
			s := *cfg.Subscriptions.Get("sub" + strconv.Itoa(i%keys))
			s.Status = portico.Evicted
			return portico.Put(&s)
		}},
		{"api", func(i int) portico.Change {
			id := "new-api" + strconv.Itoa(i)
			return portico.Put(&portico.API{ID: id, Name: id, Context: "/" + id, State: portico.Published, Auth: portico.AuthMethods{portico.AuthAPIKey},
				Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "http://127.0.0.1:1"}}}, Plans: []string{"plan"}})
		}},
	}
	for _, c := range changes {
		b.Run(c.name, func(b *testing.B) {
			cur := cfg
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				cur = cur.With(cur.Version+1, c.change(i))
				gw.Update(cur)
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(perKey, "heap-B/key")
			b.ReportMetric(full.Seconds(), "full-build-s")
			b.ReportMetric(float64(full)/float64(per), "full/change")
			gw.Update(cfg)
		})
	}
}

// benchConfig returns a Config with 10,000 published APIs on one plan and
// n keys, each with its own application and approved subscription, built
// the way a store loads one.
func benchConfig(n int) *portico.Config {
	plan := &portico.Plan{ID: "plan", RateLimit: &portico.RateLimit{Limit: 10, Per: portico.Second}}
	apis := map[string]*portico.API{}
	for i := range 10_000 {
		id := fmt.Sprintf("api%d", i)
		apis[id] = &portico.API{ID: id, Name: id, Context: "/" + id, State: portico.Published, Auth: portico.AuthMethods{portico.AuthAPIKey},
			Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "http://127.0.0.1:1"}}}, Plans: []string{"plan"}}
	}
	apps := make(map[string]*portico.Application, n)
	keys := make(map[string]*portico.Key, n)
	subs := make(map[string]*portico.Subscription, n)
	for i := range n {
		app := fmt.Sprintf("app%d", i)
		apps[app] = &portico.Application{ID: app}
		k := fmt.Sprintf("key%d", i)
		keys[k] = &portico.Key{ID: k, ApplicationID: app, Hash: portico.HashKey(k)}
		s := fmt.Sprintf("sub%d", i)
		subs[s] = &portico.Subscription{ID: s, ApplicationID: app, APIID: fmt.Sprintf("api%d", i%10_000), PlanID: "plan", Status: portico.Approved}
	}
	return &portico.Config{
		Version:       1,
		Plans:         portico.TableOf(map[string]*portico.Plan{plan.ID: plan}),
		APIs:          portico.TableOf(apis),
		Applications:  portico.TableOf(apps),
		Keys:          portico.TableOf(keys),
		Subscriptions: portico.TableOf(subs),
	}
}

// TestUpdateCost checks that a change costs a node the same whatever the
// size of its config: the allocations (count and bytes) of Config.With
// plus Gateway.Update for a new key and for an evicted subscription, with
// 1,000 and with 64,000 keys. Allocations, unlike time, do not depend on
// the machine's load; a change that rebuilt the snapshot or an index would
// allocate in proportion to the keys, 64 times as much.
func TestUpdateCost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a config of 64,000 keys")
	}
	type cost struct{ allocs, bytes float64 }
	measure := func(keys int) map[string]cost {
		cfg := benchConfig(keys)
		gw := &Gateway{}
		gw.Update(cfg)
		changes := map[string]func(i int) portico.Change{
			"key": func(i int) portico.Change {
				return portico.Put(&portico.Key{ID: "new" + strconv.Itoa(i), ApplicationID: "app0", Hash: portico.HashKey(strconv.Itoa(i))})
			},
			"subscription": func(i int) portico.Change {
				s := *cfg.Subscriptions.Get("sub" + strconv.Itoa(i%keys))
				s.Status = portico.Evicted
				return portico.Put(&s)
			},
		}
		costs := map[string]cost{}
		for name, change := range changes {
			cur, i := cfg, 0
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			const runs = 200
			allocs := testing.AllocsPerRun(runs, func() {
				cur = cur.With(cur.Version+1, change(i))
				gw.Update(cur)
				i++
			})
			runtime.ReadMemStats(&m1)
			costs[name] = cost{allocs, float64(m1.TotalAlloc-m0.TotalAlloc) / (runs + 1)}
			gw.Update(cfg)
		}
		return costs
	}
	small, large := measure(1_000), measure(64_000)
	for name, s := range small {
		l := large[name]
		t.Logf("%s change: %.0f allocations, %.0f bytes with 1,000 keys; %.0f, %.0f with 64,000", name, s.allocs, s.bytes, l.allocs, l.bytes)
		// The tables are tries: 64 times the keys adds a level or two to
		// the paths a change copies, not 64 times the work.
		if l.allocs > 1.5*s.allocs+10 || l.bytes > 2*s.bytes+4096 {
			t.Errorf("%s change: %.0f allocations, %.0f bytes with 64,000 keys against %.0f, %.0f with 1,000: the cost grows with the config",
				name, l.allocs, l.bytes, s.allocs, s.bytes)
		}
	}
}
