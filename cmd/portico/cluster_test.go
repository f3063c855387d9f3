package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/cluster"
	"github.com/portico-gw/portico/internal/clickhousetest"
	"github.com/portico-gw/portico/internal/redistest"
)

// startClusterNode runs a node on the Redis at url.
func startClusterNode(t *testing.T, url, name string) *Main {
	t.Helper()
	t.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
	m := clusterNode(t, url, name)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// clusterNode returns a node on the Redis at url, not yet running, closed
// when t ends. Its Run may be called from any goroutine; the caller sets
// PORTICO_ADMIN_PASSWORD.
func clusterNode(t *testing.T, url, name string) *Main {
	c := DefaultConfig()
	c.DataDir, c.GatewayAddr, c.AdminAddr, c.LogLevel = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", "warn"
	c.Datastore, c.NodeName, c.Analytics = url, name, "none"
	m := &Main{Config: c, Stdout: io.Discard, Stderr: testWriter{t}}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestCluster runs three nodes on one real redis-server: they see each
// other, a change on node A is routable on node C within milliseconds, an
// eviction on A is enforced on C, a fixed-window limit holds across the
// nodes, and a node that stops leaves the member list and cluster.xml.
func TestCluster(t *testing.T) {
	rs := redistest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	a := startClusterNode(t, rs.URL(), "node-a")
	b := startClusterNode(t, rs.URL(), "node-b")
	c := startClusterNode(t, rs.URL(), "node-c")
	adminA := client{t, "http://" + a.AdminAddr + "/api/v1", "admin", adminPassword}
	adminC := client{t, "http://" + c.AdminAddr + "/api/v1", "admin", adminPassword}

	names := func(cl client) []string {
		var out []string
		for _, n := range cl.call("GET", "/cluster/nodes", nil, 200)["items"].([]any) {
			out = append(out, n.(map[string]any)["name"].(string))
		}
		sort.Strings(out)
		return out
	}
	waitFor(t, "three members", 15*time.Second, func() bool { return slices.Equal(names(adminC), []string{"node-a", "node-b", "node-c"}) })

	// Propagation: each new API created on A is timed until C routes it,
	// while traffic on an unrelated API flows through C: none of it may fail.
	plan := adminA.call("POST", "/plans", map[string]any{"name": "p", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 30, "per": "hour", "window": "fixed"}}, 201)
	publishOpen(t, adminA, "/steady", backend.URL)
	waitFor(t, "/steady on node C", 15*time.Second, func() bool {
		code, _, _ := gatewayGet(t, "http://"+c.GatewayAddr+"/steady/x", "")
		return code == 200
	})
	stop := make(chan struct{})
	var steadyOK, steadyFailed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 1000000; i++ { // bounded; stopped long before
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get("http://" + c.GatewayAddr + "/steady/x")
			if err != nil {
				steadyFailed.Add(1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				steadyOK.Add(1)
			} else {
				steadyFailed.Add(1)
			}
		}
	}()
	changes := 1000
	if testing.Short() {
		changes = 100
	}
	var lat []time.Duration
	for i := 0; i < changes; i++ {
		ctx := fmt.Sprintf("/svc%d", i)
		start := time.Now()
		publishOpen(t, adminA, ctx, backend.URL)
		for {
			resp, err := http.Get("http://" + c.GatewayAddr + ctx + "/x")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(start) > 15*time.Second {
				t.Fatalf("API %s not routable on node C after 15s", ctx)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("admin write on A (create + publish) to routable on C, %d changes: p50 %v, p99 %v, max %v", changes, p50, p99, lat[len(lat)-1])
	t.Logf("meanwhile on an unrelated API through C: %d requests served, %d failed", steadyOK.Load(), steadyFailed.Load())
	if steadyFailed.Load() != 0 || steadyOK.Load() == 0 {
		t.Errorf("unrelated API while changes streamed in: %d served, %d failed", steadyOK.Load(), steadyFailed.Load())
	}

	// A key-protected API, a subscription made on A, used on B and C.
	key, subID := keyedAPI(t, adminA, "k", backend.URL, plan["id"].(string))
	nodes := []*Main{a, b, c}
	hour := time.Now().UTC().Hour()
	admitted := 0
	waitFor(t, "the key to work on every node", 15*time.Second, func() bool {
		for _, n := range nodes {
			code, _, _ := gatewayGet(t, "http://"+n.GatewayAddr+"/k/x", key)
			if code != 200 {
				return false
			}
			admitted++
		}
		return true
	})
	// The plan allows 30 an hour, cluster-wide: spread 60 more requests
	// over the nodes; exactly 30 in all may pass.
	for i := 0; i < 60; i++ {
		if code, _, _ := gatewayGet(t, "http://"+nodes[i%3].GatewayAddr+"/k/x", key); code == 200 {
			admitted++
		}
	}
	if time.Now().UTC().Hour() != hour {
		t.Logf("the hour turned during the limit check; %d admitted", admitted)
	} else if admitted != 30 {
		t.Errorf("%d requests admitted by a plan of 30 an hour across 3 nodes, want exactly 30", admitted)
	}

	start := time.Now()
	adminA.call("POST", "/subscriptions/"+subID+"/evict", nil, 200)
	waitFor(t, "the eviction on node C", 15*time.Second, func() bool {
		code, _, _ := gatewayGet(t, "http://"+c.GatewayAddr+"/k/x", key)
		return code == 403
	})
	t.Logf("eviction on A enforced on C after %v", time.Since(start))

	// A clean stop leaves the list at once; cluster.xml follows.
	b.Close()
	waitFor(t, "node-b to leave", 3*time.Second, func() bool { return slices.Equal(names(adminC), []string{"node-a", "node-c"}) })
	waitFor(t, "cluster.xml without node-b", 15*time.Second, func() bool {
		_, ns, err := cluster.ReadNodesFile(filepath.Join(c.Config.DataDir, cluster.NodesFileName))
		if err != nil {
			return false
		}
		var got []string
		for _, n := range ns {
			got = append(got, n.Name)
		}
		return slices.Equal(got, []string{"node-a", "node-c"})
	})
	b2, _ := os.ReadFile(filepath.Join(c.Config.DataDir, cluster.NodesFileName))
	if !strings.Contains(string(b2), `name="node-a"`) {
		t.Errorf("cluster.xml:\n%s", b2)
	}
}

// TestMigrate copies a single node's embedded store into Redis: a cluster
// node started on it serves the same API with the same key; a second copy
// is refused without --force and is idempotent with it.
func TestMigrate(t *testing.T) {
	rs := redistest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	dir := t.TempDir()
	m := startNode(t, dir)
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	plan := admin.call("POST", "/plans", map[string]any{"name": "p", "auto_approve": true,
		"quota": map[string]any{"limit": 1000, "per": "day", "mode": "hard"}}, 201)
	key, _ := keyedAPI(t, admin, "a", backend.URL, plan["id"].(string))
	m.Close()

	var out, errOut strings.Builder
	args := []string{"datastore", "migrate", "--to", rs.URL(), "--data-dir", dir}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut.String())
	}
	t.Log(out.String())
	if code := run(args, io.Discard, &errOut); code != 1 || !strings.Contains(errOut.String(), "--force") {
		t.Fatalf("second migrate without --force: exit %d: %s", code, errOut.String())
	}
	if code := run(append(args, "--force"), io.Discard, io.Discard); code != 0 {
		t.Fatalf("migrate --force: exit %d", code)
	}
	n := startClusterNode(t, rs.URL(), "node-1")
	if code, _, body := gatewayGet(t, "http://"+n.GatewayAddr+"/a/x", key); code != 200 || body != "ok" {
		t.Fatalf("migrated key on a cluster node: %d %s", code, body)
	}
	nc := client{t, "http://" + n.AdminAddr + "/api/v1", "admin", adminPassword}
	if items := nc.call("GET", "/apis", nil, 200)["items"].([]any); len(items) != 1 {
		t.Fatalf("APIs after two copies: %d", len(items))
	}
}

// keyedPair starts two nodes on datastore and an API at /k on a backend of the
// test's, with a plan of rate limit rateLimit, and returns the nodes and a
// key that both of their gateways admit.
func keyedPair(t *testing.T, datastore string, rateLimit map[string]any) (a, b *Main, key string) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(backend.Close)
	a = startClusterNode(t, datastore, "node-a")
	b = startClusterNode(t, datastore, "node-b")
	adminA := client{t, "http://" + a.AdminAddr + "/api/v1", "admin", adminPassword}
	plan := adminA.call("POST", "/plans", map[string]any{"name": "p", "auto_approve": true, "rate_limit": rateLimit}, 201)
	key, _ = keyedAPI(t, adminA, "k", backend.URL, plan["id"].(string))
	waitFor(t, "the key on both nodes", 15*time.Second, func() bool {
		for _, n := range []*Main{a, b} {
			if code, _, _ := gatewayGet(t, "http://"+n.GatewayAddr+"/k/x", key); code != 200 {
				return false
			}
		}
		return true
	})
	return a, b, key
}

// TestRedisOutage kills redis-server under load and starts it again: the
// nodes keep serving from their snapshots (limits follow the plan's
// local policy), admin writes fail with 503, and after Redis is back the
// nodes resync and re-register within 5 s.
func TestRedisOutage(t *testing.T) {
	rs := redistest.StartWith(t, redistest.Options{AppendOnly: true})
	a, b, key := keyedPair(t, rs.URL(), map[string]any{"limit": 100000, "per": "minute", "window": "fixed"})
	adminA := client{t, "http://" + a.AdminAddr + "/api/v1", "admin", adminPassword}
	adminB := client{t, "http://" + b.AdminAddr + "/api/v1", "admin", adminPassword}
	nodes := []*Main{a, b}

	rs.Stop()
	served, failed := 0, 0
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; time.Now().Before(deadline) && i < 100000; i++ {
		if code, _, _ := gatewayGet(t, "http://"+nodes[i%2].GatewayAddr+"/k/x", key); code == 200 {
			served++
		} else {
			failed++
		}
	}
	t.Logf("during the Redis outage: %d requests served, %d failed", served, failed)
	if failed != 0 || served == 0 {
		t.Errorf("during the outage %d served, %d failed; want all served", served, failed)
	}
	res := adminA.call("POST", "/plans", map[string]any{"name": "during-outage", "quota": map[string]any{"limit": 1, "per": "day"}}, 503)
	if msg, _ := res["error"].(map[string]any)["message"].(string); msg == "" {
		t.Errorf("503 without a message: %v", res)
	}

	rs.Start()
	back := time.Now()
	waitFor(t, "an admin write after Redis is back", 10*time.Second, func() bool {
		req, _ := http.NewRequest("POST", adminA.base+"/plans", strings.NewReader(`{"name":"after","quota":{"limit":1,"per":"day"}}`))
		req.SetBasicAuth("admin", adminPassword)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 201
	})
	waitFor(t, "node B to see the new plan", 10*time.Second, func() bool { return hasPlan(adminB, "after") })
	waitFor(t, "both nodes registered again", 10*time.Second, func() bool {
		return len(adminB.call("GET", "/cluster/nodes", nil, 200)["items"].([]any)) == 2
	})
	t.Logf("after Redis came back: writes, resync and membership in %v", time.Since(back))
}

// hasPlan reports whether the admin API of c lists a plan named name.
func hasPlan(c client, name string) bool {
	for _, p := range c.call("GET", "/plans", nil, 200)["items"].([]any) {
		if p.(map[string]any)["name"] == name {
			return true
		}
	}
	return false
}

// TestClusterSentinelFailover runs two nodes on a Redis behind Sentinel —
// a master, a replica and a Sentinel, real redis-server processes — and
// kills the master under load: the gateways keep serving, admin writes
// answer 503 until the Sentinel has promoted the replica, then a write on
// node A reaches node B, both nodes are listed again, and what was
// written before the failover is all there.
func TestClusterSentinelFailover(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.StartWith(t, redistest.Options{ReplicaOf: master})
	sentinel := redistest.StartSentinel(t, "portico", master)
	a, b, key := keyedPair(t, sentinel.SentinelURL("portico"), map[string]any{"limit": 100000, "per": "minute", "window": "fixed"})
	adminA := client{t, "http://" + a.AdminAddr + "/api/v1", "admin", adminPassword}
	adminB := client{t, "http://" + b.AdminAddr + "/api/v1", "admin", adminPassword}
	before := len(adminB.call("GET", "/apis", nil, 200)["items"].([]any))
	nodes := []*Main{a, b}

	post := func(name string) int {
		req, _ := http.NewRequest("POST", adminA.base+"/plans", strings.NewReader(`{"name":"`+name+`","quota":{"limit":1,"per":"day"}}`))
		req.SetBasicAuth("admin", adminPassword)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	master.Stop()
	killed := time.Now()
	served, failed, refused := 0, 0, 0
	var wrote time.Duration
	for i := 0; wrote == 0; i++ {
		if code, _, _ := gatewayGet(t, "http://"+nodes[i%2].GatewayAddr+"/k/x", key); code == 200 {
			served++
		} else {
			failed++
		}
		if i%20 == 0 {
			switch code := post("after-failover"); code {
			case 201:
				wrote = time.Since(killed)
			case 503:
				refused++
			default:
				t.Fatalf("admin write during the failover answered %d, want 503 or 201", code)
			}
		}
		if time.Since(killed) > 30*time.Second || i > 1_000_000 {
			t.Fatalf("no admin write succeeded 30 s after the master was killed; Sentinel log:\n%s", sentinel.LogTail())
		}
	}
	t.Logf("master killed: first admin write on the promoted replica after %v (%d writes answered 503 before); gateways meanwhile: %d served, %d failed",
		wrote.Round(time.Millisecond), refused, served, failed)
	if failed != 0 || served == 0 {
		t.Errorf("during the failover %d requests served, %d failed; want all served", served, failed)
	}
	if role := replica.Role(context.Background()); role != "master" {
		t.Errorf("replica's role after the failover: %q, want master", role)
	}
	waitFor(t, "node B to see the plan written after the failover", 10*time.Second, func() bool { return hasPlan(adminB, "after-failover") })
	waitFor(t, "both nodes registered on the new master", 10*time.Second, func() bool {
		return len(adminB.call("GET", "/cluster/nodes", nil, 200)["items"].([]any)) == 2
	})
	if after := len(adminB.call("GET", "/apis", nil, 200)["items"].([]any)); after != before {
		t.Errorf("APIs after the failover: %d, before: %d", after, before)
	}
	if code, _, _ := gatewayGet(t, "http://"+b.GatewayAddr+"/k/x", key); code != 200 {
		t.Errorf("the key after the failover: %d", code)
	}
}

// TestClusterOnRedisCluster runs two nodes on a Redis Cluster of three
// masters (real redis-server processes in cluster mode): an API and key
// made on node A work on node B, a plan change on A reaches B, and a
// fixed-window limit holds across both nodes — the requests after the
// first one are admitted exactly as many times as its RateLimit-Remaining
// said, the others answered 429.
func TestClusterOnRedisCluster(t *testing.T) {
	url := redistest.ClusterURL(redistest.StartCluster(t, 3))
	a, b, key := keyedPair(t, url, map[string]any{"limit": 30, "per": "hour", "window": "fixed"})
	adminA := client{t, "http://" + a.AdminAddr + "/api/v1", "admin", adminPassword}
	adminB := client{t, "http://" + b.AdminAddr + "/api/v1", "admin", adminPassword}

	code, h, _ := gatewayGet(t, "http://"+a.GatewayAddr+"/k/x", key)
	if code != 200 {
		t.Fatalf("first request: %d", code)
	}
	remaining, err := strconv.Atoi(h.Get("RateLimit-Remaining"))
	if err != nil || remaining <= 0 {
		t.Fatalf("RateLimit-Remaining %q after the first request", h.Get("RateLimit-Remaining"))
	}
	served, limited := 0, 0
	for i := range 60 {
		switch code, _, _ := gatewayGet(t, "http://"+[]*Main{a, b}[i%2].GatewayAddr+"/k/x", key); code {
		case 200:
			served++
		case 429:
			limited++
		default:
			t.Fatalf("request %d: %d", i, code)
		}
	}
	if served != remaining || limited != 60-remaining {
		t.Errorf("after RateLimit-Remaining %d: %d served and %d limited of 60 across both nodes", remaining, served, limited)
	}

	adminA.call("POST", "/plans", map[string]any{"name": "on-redis-cluster", "quota": map[string]any{"limit": 1, "per": "day"}}, 201)
	waitFor(t, "node B to see the plan", 10*time.Second, func() bool { return hasPlan(adminB, "on-redis-cluster") })
	waitFor(t, "both nodes listed", 10*time.Second, func() bool {
		return len(adminB.call("GET", "/cluster/nodes", nil, 200)["items"].([]any)) == 2
	})
}

// TestClusterAnalyticsSettings: an analytics address added on node A at
// run time reaches node B too, and B's records go there.
func TestClusterAnalyticsSettings(t *testing.T) {
	rs := redistest.Start(t)
	ch := clickhousetest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	start := func(name string) *Main {
		t.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
		c := DefaultConfig()
		c.DataDir, c.GatewayAddr, c.AdminAddr, c.LogLevel = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", "warn"
		c.Datastore, c.NodeName = rs.URL(), name
		c.AnalyticsFlushInterval = 100 * time.Millisecond
		m := &Main{Config: c, Stdout: io.Discard, Stderr: testWriter{t}}
		if err := m.Run(context.Background()); err != nil {
			m.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	a, b := start("node-a"), start("node-b")
	adminA := client{t, "http://" + a.AdminAddr + "/api/v1", "admin", adminPassword}
	adminB := client{t, "http://" + b.AdminAddr + "/api/v1", "admin", adminPassword}
	publishOpen(t, adminA, "/open", backend.URL)
	adminA.call("PUT", "/settings/analytics", map[string]any{"addresses": []string{ch.Addr()}}, 200)
	waitFor(t, "node B to take the address", 10*time.Second, func() bool {
		return len(adminB.call("GET", "/settings/analytics", nil, 200)["addresses"].([]any)) == 1
	})
	waitFor(t, "/open on node B", 10*time.Second, func() bool {
		code, _, _ := gatewayGet(t, "http://"+b.GatewayAddr+"/open/x", "")
		return code == 200
	})
	waitFor(t, "node B's records in ClickHouse", 30*time.Second, func() bool {
		out := strings.TrimSpace(ch.Query(t, "SELECT count() FROM portico.requests WHERE node = 'node-b'"))
		return out != "" && out != "0"
	})
}

// TestRedisRestartsEmpty: a Redis without persistence restarts empty under
// load. The nodes keep serving from their snapshots, one of them writes
// the configuration back at the same version, and the cluster goes on:
// nothing that was accepted is lost.
func TestRedisRestartsEmpty(t *testing.T) {
	rs := redistest.Start(t) // no persistence
	a, b, key := keyedPair(t, rs.URL(), map[string]any{"limit": 1000000, "per": "minute", "window": "fixed"})
	adminB := client{t, "http://" + b.AdminAddr + "/api/v1", "admin", adminPassword}
	nodes := []*Main{a, b}
	version := a.config.Load().Version

	rs.Stop()
	rs.Start()
	restarted := time.Now()
	// A node that starts now finds the store empty: it must wait for the
	// restore, not bootstrap a config of its own over the cluster's.
	c := clusterNode(t, rs.URL(), "node-c")
	started := make(chan error, 1)
	go func() { started <- c.Run(context.Background()) }()
	ctx := context.Background()
	rdb := rs.Client(t)
	served, failed := 0, 0
	var restoredIn time.Duration
	for i := 0; i < 100_000 && time.Since(restarted) < 10*time.Second; i++ {
		if code, _, _ := gatewayGet(t, "http://"+nodes[i%2].GatewayAddr+"/k/x", key); code == 200 {
			served++
		} else {
			failed++
		}
		if i%20 == 0 {
			if v, _ := rdb.Get(ctx, "portico:{default}:version").Int64(); v == version {
				restoredIn = time.Since(restarted)
				break
			}
		}
	}
	t.Logf("Redis restarted empty: config version %d restored in %v; %d requests served, %d failed meanwhile", version, restoredIn, served, failed)
	if restoredIn == 0 {
		t.Fatalf("Redis does not hold version %d 10 s after restarting empty", version)
	}
	if failed != 0 {
		t.Errorf("%d requests failed while Redis was empty", failed)
	}
	if err := <-started; err != nil {
		t.Fatalf("node C, started while Redis was empty: %v", err)
	}
	for _, n := range append(nodes, c) {
		if v := n.config.Load().Version; v != version {
			t.Errorf("node %s at version %d after the restore, want %d", n.Config.NodeName, v, version)
		}
	}
	if code, _, _ := gatewayGet(t, "http://"+c.GatewayAddr+"/k/x", key); code != 200 {
		t.Errorf("the key on the node started while Redis was empty: %d", code)
	}
	// The cluster goes on from there: a write on B reaches A.
	adminB.call("POST", "/plans", map[string]any{"name": "after", "quota": map[string]any{"limit": 1, "per": "day"}}, 201)
	waitFor(t, "node A to see the plan written on B", 10*time.Second, func() bool {
		return a.config.Load().Version == version+1
	})
	if code, _, _ := gatewayGet(t, "http://"+a.GatewayAddr+"/k/x", key); code != 200 {
		t.Errorf("key after the restore: %d", code)
	}
}

// TestAdminWhileClusterStarts polls /metrics (which reads the member list
// through liveNodes) from the moment the admin listener serves, while the
// node starts its cluster loops; the race detector reported the node's
// heartbeat field written after the listeners served.
func TestAdminWhileClusterStarts(t *testing.T) {
	rs := redistest.Start(t)
	addr := freeAddr(t)
	t.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
	m := clusterNode(t, rs.URL(), "node-a")
	m.Config.AdminAddr = addr
	var stop atomic.Bool
	var answered atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl := &http.Client{Timeout: time.Second}
		for i := 0; !stop.Load() && i < 100_000; i++ {
			if resp, err := cl.Get("http://" + addr + "/metrics"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answered.Add(1)
			}
		}
	}()
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/metrics answers", 5*time.Second, func() bool { return answered.Load() > 0 })
	stop.Store(true)
	<-done
}
