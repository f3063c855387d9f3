package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/redisstore"
)

// TestClusterScale seeds Redis with 10,000 APIs and PORTICO_TEST_KEYS keys
// (default 100,000; the cluster issue asks about 1,000,000), each key with
// its own application and subscription, starts two nodes on it, and then
// creates keys through node A's admin API, measuring each until node B's
// gateway admits it (within 5 s, or the test fails). It logs node start
// time, heap per key and node, admin write latency and propagation; those
// are measurements, not asserted here (under -race, beside the other test
// packages on two cores, they vary tenfold). That the cost of a change does
// not grow with the config is asserted by proxy's TestUpdateCost.
func TestClusterScale(t *testing.T) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("PORTICO_TEST_KEYS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	rs := redistest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()

	seeded := time.Now()
	st, err := redisstore.Open(ctx, rs.URL(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Restore(ctx, scaleConfig(n, backend.URL)); !ok || err != nil {
		t.Fatalf("seeding Redis: %v, %v", ok, err)
	}
	st.Close()
	t.Logf("seeded Redis with 10,000 APIs and %d keys, applications and subscriptions in %v", n, time.Since(seeded).Round(time.Millisecond))

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	a := startClusterNode(t, rs.URL(), "node-a")
	startA := time.Since(start)
	start = time.Now()
	b := startClusterNode(t, rs.URL(), "node-b")
	startB := time.Since(start)
	adminA := client{t, "http://" + a.AdminAddr + "/api/v1", "admin", adminPassword}
	adminA.call("GET", "/plans?limit=1", nil, 200) // the admin API's index is built by now
	runtime.GC()
	runtime.ReadMemStats(&m1)
	perKey := float64(m1.HeapAlloc-m0.HeapAlloc) / float64(2*n)
	t.Logf("node start (load, index, gateway snapshot): %v and %v; heap %.0f B per key per node (key, application, subscription, index and snapshot)",
		startA.Round(time.Millisecond), startB.Round(time.Millisecond), perKey)

	app := adminA.call("POST", "/applications", map[string]any{"name": "scale-test"}, 201)["id"].(string)
	adminA.call("POST", "/applications/"+app+"/subscriptions", map[string]any{"api": "api0", "plan": "plan"}, 201)
	const changes = 200
	var writes, lags []time.Duration
	gw := "http://" + b.GatewayAddr + "/api0/x"
	for i := range changes {
		t0 := time.Now()
		key := adminA.call("POST", "/applications/"+app+"/keys", nil, 201)["key"].(string)
		t1 := time.Now()
		writes = append(writes, t1.Sub(t0))
		for j := 0; ; j++ {
			if code, _, _ := gatewayGet(t, gw, key); code == 200 {
				break
			}
			if time.Since(t1) > 5*time.Second || j > 100_000 {
				t.Fatalf("key %d not admitted on node B 5 s after it was created on A", i)
			}
		}
		lags = append(lags, time.Since(t1))
	}
	slices.Sort(writes)
	slices.Sort(lags)
	q := func(d []time.Duration, p float64) time.Duration {
		return d[int(p*float64(len(d)-1))].Round(10 * time.Microsecond)
	}
	t.Logf("%d new keys with %d in the config: admin write on A p50 %v p99 %v; A's response → admitted on B's gateway p50 %v p99 %v max %v",
		changes, n, q(writes, 0.5), q(writes, 0.99), q(lags, 0.5), q(lags, 0.99), lags[len(lags)-1].Round(10*time.Microsecond))
	for _, path := range []string{"/subscriptions?limit=100", "/applications?limit=100&offset=1000", "/applications/" + app + "/keys"} {
		start := time.Now()
		adminA.call("GET", path, nil, 200)
		t.Logf("GET %s as admin with %d in the config: %v", path, n, time.Since(start).Round(100*time.Microsecond))
	}
}

// scaleConfig returns 10,000 published APIs on one auto-approving plan
// and n keys, each with its own application and approved subscription.
func scaleConfig(n int, backend string) *portico.Config {
	now := time.Now().UTC()
	plan := &portico.Plan{ID: "plan", Name: "plan", AutoApprove: true, CreatedAt: now, UpdatedAt: now,
		RateLimit: &portico.RateLimit{Limit: 1_000_000, Per: portico.Second, Window: portico.Fixed}}
	apis := map[string]*portico.API{}
	for i := range 10_000 {
		id := fmt.Sprint("api", i)
		apis[id] = &portico.API{ID: id, Name: id, Version: "v1", Context: "/" + id, State: portico.Published, Auth: portico.AuthMethods{portico.AuthAPIKey},
			Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: backend}}}, Plans: []string{"plan"},
			CreatedAt: now, UpdatedAt: now}
	}
	apps := make(map[string]*portico.Application, n)
	keys := make(map[string]*portico.Key, n)
	subs := make(map[string]*portico.Subscription, n)
	for i := range n {
		id := strconv.Itoa(i)
		apps["app"+id] = &portico.Application{ID: "app" + id, Name: "app" + id, Owner: "seed", CreatedAt: now, UpdatedAt: now}
		keys["key"+id] = &portico.Key{ID: "key" + id, ApplicationID: "app" + id, Prefix: "seed", Hash: portico.HashKey("secret" + id), CreatedAt: now}
		subs["sub"+id] = &portico.Subscription{ID: "sub" + id, ApplicationID: "app" + id, APIID: fmt.Sprint("api", i%10_000),
			PlanID: "plan", Status: portico.Approved, CreatedAt: now, UpdatedAt: now}
	}
	return &portico.Config{
		Version:       1,
		Plans:         portico.TableOf(map[string]*portico.Plan{"plan": plan}),
		APIs:          portico.TableOf(apis),
		Applications:  portico.TableOf(apps),
		Keys:          portico.TableOf(keys),
		Subscriptions: portico.TableOf(subs),
	}
}
