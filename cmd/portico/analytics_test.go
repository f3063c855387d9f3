package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/clickhousetest"
)

// publishOpen publishes an open API (no key) at context ctx in front of
// backend and returns its id.
func publishOpen(t *testing.T, admin client, ctx, backend string) string {
	t.Helper()
	api := admin.call("POST", "/apis", map[string]any{"name": strings.Trim(ctx, "/"), "version": "v1", "context": ctx, "auth": "none",
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": backend}}}}, 201)
	admin.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)
	return api["id"].(string)
}

// totalRequests asks the admin API how many requests were recorded.
func totalRequests(t *testing.T, admin client, extra string) int64 {
	t.Helper()
	res := admin.call("GET", "/analytics/requests?"+timeRange()+extra, nil, 200)
	items, _ := res["items"].([]any)
	var n int64
	for _, it := range items {
		n += int64(it.(map[string]any)["requests"].(float64))
	}
	return n
}

// timeRange is a query string for the hour around now.
func timeRange() string {
	now := time.Now().UTC()
	return "from=" + now.Add(-time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Hour).Format(time.RFC3339)
}

// waitFor polls cond every 100 ms until it holds, and fails the test
// when it does not within limit.
func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	if _, ok := within(limit, 100*time.Millisecond, cond); !ok {
		t.Fatalf("timed out after %v waiting for %s", limit, what)
	}
}

// within polls cond every interval until it holds or limit has passed,
// and returns how long it took and whether it held.
func within(limit, interval time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if d := time.Since(start); d > limit {
			return d, false
		}
		time.Sleep(interval)
	}
}

// TestAnalyticsEmbedded: every request, rejected ones included, is
// recorded in the embedded store, answered by the admin API, counted in
// /metrics, and still there after a restart.
func TestAnalyticsEmbedded(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	dir := t.TempDir()
	m := startNodeWith(t, dir, func(c *Config) { c.MetricsToken = testMetricsToken })
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	publishOpen(t, admin, "/open", backend.URL)
	gw := "http://" + m.GatewayAddr
	for i := 0; i < 30; i++ {
		gatewayGet(t, gw+"/open/x", "")
	}
	for i := 0; i < 5; i++ {
		gatewayGet(t, gw+"/missing", "")
	}
	waitFor(t, "35 recorded requests", 30*time.Second, func() bool { return totalRequests(t, admin, "") == 35 })
	if n := totalRequests(t, admin, "&status=404"); n != 5 {
		t.Errorf("404s recorded: %d, want 5", n)
	}
	res := admin.call("GET", "/analytics/requests?"+timeRange()+"&group_by=api", nil, 200)
	b, _ := json.Marshal(res["items"])
	if !strings.Contains(string(b), `"group":"open"`) || !strings.Contains(string(b), `"requests":30`) {
		t.Errorf("grouped by api: %s", b)
	}
	resp, err := getMetrics("http://"+m.AdminAddr+"/metrics", testMetricsToken)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`portico_requests_total{api="open",class="2xx",version="v1"} 30`, `portico_config_version`, `portico_analytics_records_total{outcome="recorded"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := startNode(t, dir)
	admin2 := client{t, "http://" + m2.AdminAddr + "/api/v1", "admin", adminPassword}
	if n := totalRequests(t, admin2, ""); n != 35 {
		t.Fatalf("after restart %d records, want 35", n)
	}
}

// TestAnalyticsClickHouseOutage stops ClickHouse while traffic flows and
// starts it again: the number of records in ClickHouse ends up equal to
// the number of responses the gateway gave, none lost, none twice.
func TestAnalyticsClickHouseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts clickhouse-server")
	}
	ch := clickhousetest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	t.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
	c := DefaultConfig()
	c.DataDir, c.GatewayAddr, c.AdminAddr, c.LogLevel = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", "warn"
	c.Analytics = "clickhouse://" + ch.Addr()
	c.AnalyticsFlushInterval = 200 * time.Millisecond
	m := &Main{Config: c, Stdout: io.Discard, Stderr: testWriter{t}}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	publishOpen(t, admin, "/open", backend.URL)
	gw := "http://" + m.GatewayAddr

	var served atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ { // bounded; stopped by stop long before
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(gw + "/open/x")
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				served.Add(1)
			}
		}()
	}
	time.Sleep(2 * time.Second)
	ch.Stop()
	outageStart := served.Load()
	// An outage of ten seconds under load; PORTICO_TEST_OUTAGE=60s makes it
	// the minute.
	outage := 10 * time.Second
	if v := os.Getenv("PORTICO_TEST_OUTAGE"); v != "" {
		var err error
		if outage, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(outage)
	duringOutage := served.Load() - outageStart
	ch.Start()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	want := served.Load()
	t.Logf("served %d responses, %d of them during the %v ClickHouse outage", want, duringOutage, outage)
	if duringOutage == 0 {
		t.Fatal("no traffic during the outage")
	}
	var got int64
	waitFor(t, fmt.Sprintf("%d records in ClickHouse", want), 60*time.Second, func() bool {
		out := strings.TrimSpace(ch.Query(t, "SELECT count() FROM portico.requests"))
		got, _ = strconv.ParseInt(out, 10, 64)
		return got >= want
	})
	time.Sleep(time.Second)
	out := strings.TrimSpace(ch.Query(t, "SELECT count(), uniqExact(request_id) FROM portico.requests"))
	if out != fmt.Sprintf("%d\t%d", want, want) {
		t.Fatalf("ClickHouse holds (count, distinct ids) %q, want %d of each", out, want)
	}
	t.Logf("ClickHouse holds %d records with %d distinct request ids", want, want)
}

// TestAnalyticsSettingsAtRunTime adds a ClickHouse address at run time
// (PUT /api/v1/settings/analytics): later records go there, and the
// setting survives a restart.
func TestAnalyticsSettingsAtRunTime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts clickhouse-server")
	}
	ch := clickhousetest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	dir := t.TempDir()
	m := startNode(t, dir)
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	publishOpen(t, admin, "/open", backend.URL)
	if got := admin.call("GET", "/settings/analytics", nil, 200); len(got["addresses"].([]any)) != 0 {
		t.Fatalf("initial settings %v", got)
	}
	admin.call("PUT", "/settings/analytics", map[string]any{"addresses": []string{"bad address"}}, 400)
	got := admin.call("PUT", "/settings/analytics", map[string]any{"addresses": []string{ch.Addr()}}, 200)
	if a := got["addresses"].([]any); len(a) != 1 {
		t.Fatalf("settings after PUT %v", got)
	}
	for i := 0; i < 20; i++ {
		gatewayGet(t, "http://"+m.GatewayAddr+"/open/x", "")
	}
	waitFor(t, "20 records in ClickHouse", 30*time.Second, func() bool {
		return strings.TrimSpace(ch.Query(t, "SELECT count() FROM portico.requests")) == "20"
	})
	waitFor(t, "the admin API answering from ClickHouse", 30*time.Second, func() bool { return totalRequests(t, admin, "") == 20 })
	m.Close()
	m2 := startNode(t, dir)
	admin2 := client{t, "http://" + m2.AdminAddr + "/api/v1", "admin", adminPassword}
	if got := admin2.call("GET", "/settings/analytics", nil, 200); len(got["addresses"].([]any)) != 1 {
		t.Fatalf("settings after restart %v", got)
	}
}

// TestWebhookNotification: a publisher with a webhook URL gets the
// endpoint_down notification of its API POSTed to it.
func TestWebhookNotification(t *testing.T) {
	got := make(chan map[string]any, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n map[string]any
		json.NewDecoder(r.Body).Decode(&n)
		got <- n
	}))
	defer hook.Close()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	m := startNodeWith(t, t.TempDir(), func(c *Config) { c.WebhookAllowCIDR = "127.0.0.1" }) // the hook's address
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	admin.call("POST", "/users", map[string]any{"username": "pat", "password": "publisher-pw", "roles": []string{"publisher"}, "webhook_url": hook.URL}, 201)
	pat := client{t, admin.base, "pat", "publisher-pw"}
	api := pat.call("POST", "/apis", map[string]any{"name": "lb", "version": "v1", "context": "/lb", "auth": "none",
		"endpoint": map[string]any{"type": "load_balancer", "targets": []any{
			map[string]any{"url": "http://" + freeAddr(t)}, map[string]any{"url": backend.URL}}}}, 201)
	pat.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)
	for i := 0; i < 4; i++ {
		if code, _, _ := gatewayGet(t, "http://"+m.GatewayAddr+"/lb/x", ""); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	select {
	case n := <-got:
		if n["kind"] != "endpoint_down" || n["api"] != api["id"] {
			t.Fatalf("webhook got %v", n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook delivery")
	}
}
