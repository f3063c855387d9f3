package proxy

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/portico-gw/portico"
)

// BenchmarkUpdate measures what one config change costs a node today: a
// Config.With of one key plus a full snapshot rebuild, with 10,000 APIs
// and PORTICO_BENCH_KEYS keys (default 100,000; the cluster issue asks
// about 1,000,000). It also reports the heap per key.
func BenchmarkUpdate(b *testing.B) {
	keys := 100000
	if v := os.Getenv("PORTICO_BENCH_KEYS"); v != "" {
		keys, _ = strconv.Atoi(v)
	}
	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cfg := portico.NewConfig()
	plan := &portico.Plan{ID: "plan", RateLimit: &portico.RateLimit{Limit: 10, Per: portico.Second}}
	cfg.Plans[plan.ID] = plan
	for i := range 10000 {
		id := fmt.Sprintf("api%d", i)
		cfg.APIs[id] = &portico.API{ID: id, Name: id, Context: "/" + id, State: portico.Published, Auth: portico.AuthAPIKey,
			Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "http://127.0.0.1:1"}}}, Plans: []string{"plan"}}
	}
	for i := range keys {
		app := fmt.Sprintf("app%d", i)
		cfg.Applications[app] = &portico.Application{ID: app}
		k := fmt.Sprintf("key%d", i)
		cfg.Keys[k] = &portico.Key{ID: k, ApplicationID: app, Hash: portico.HashKey(k)}
		s := fmt.Sprintf("sub%d", i)
		cfg.Subscriptions[s] = &portico.Subscription{ID: s, ApplicationID: app, APIID: fmt.Sprintf("api%d", i%10000), PlanID: "plan", Status: portico.Approved}
	}
	gw := &Gateway{}
	gw.Update(cfg)
	runtime.GC()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	perKey := float64(ms1.HeapAlloc-ms0.HeapAlloc) / float64(keys)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := &portico.Key{ID: "new" + strconv.Itoa(i), ApplicationID: "app0", Hash: portico.HashKey(strconv.Itoa(i))}
		cfg = cfg.With(cfg.Version+1, portico.Put(k))
		gw.Update(cfg)
	}
	b.ReportMetric(perKey, "heap-B/key")
}
