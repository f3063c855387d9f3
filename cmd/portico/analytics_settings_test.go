package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
)

// analyticsLimits are the settings of GET /settings/analytics but the
// addresses, as the admin API shows them.
type analyticsLimits struct {
	Flush     string `json:"flush_interval"`
	Batch     int    `json:"batch_size"`
	Slots     int    `json:"max_concurrent_batches"`
	Retention int    `json:"retention_days"`
}

// limitsOf reads the analytics settings of the node admin calls.
func limitsOf(t testing.TB, admin client) analyticsLimits {
	t.Helper()
	b, _ := json.Marshal(admin.call("GET", "/settings/analytics", nil, 200))
	var l analyticsLimits
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// requestsSince asks the admin API how many requests were recorded from
// days ago to an hour from now.
func requestsSince(t *testing.T, admin client, days int) int64 {
	t.Helper()
	now := time.Now().UTC()
	res := admin.call("GET", "/analytics/requests?from="+now.AddDate(0, 0, -days).Format(time.RFC3339)+"&to="+now.Add(time.Hour).Format(time.RFC3339), nil, 200)
	var n int64
	for _, it := range res["items"].([]any) {
		n += int64(it.(map[string]any)["requests"].(float64))
	}
	return n
}

// TestAnalyticsSettingsLimits: the flush interval, batch size, write
// slots and retention change at run time on one node: records waiting for
// a one-hour flush are written once the interval is 100ms, a shorter
// retention prunes the embedded store at once, and the settings survive a
// restart.
func TestAnalyticsSettingsLimits(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	dir := t.TempDir()
	m := startNodeWith(t, dir, func(c *Config) { c.AnalyticsFlushInterval = time.Hour })
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	if got, want := limitsOf(t, admin), (analyticsLimits{"1h0m0s", 5000, 2, 90}); got != want {
		t.Fatalf("settings at start %+v, want the flags' %+v", got, want)
	}
	publishOpen(t, admin, "/open", backend.URL)
	for i := 0; i < 3; i++ {
		gatewayGet(t, "http://"+m.GatewayAddr+"/open/x", "")
	}
	waitFor(t, "3 records queued", 10*time.Second, func() bool { return m.analytics.recorder.Stats().Queued == 3 })

	// Refused values change nothing.
	admin.call("PUT", "/settings/analytics", map[string]any{"flush_interval": "10ms"}, 400)
	admin.call("PUT", "/settings/analytics", map[string]any{"batch_size": 0}, 400)
	if got, want := limitsOf(t, admin), (analyticsLimits{"1h0m0s", 5000, 2, 90}); got != want {
		t.Fatalf("settings after refused PUTs %+v, want %+v", got, want)
	}

	admin.call("PUT", "/settings/analytics", map[string]any{"flush_interval": "100ms"}, 200)
	waitFor(t, "the queued records flushed at the new interval", 10*time.Second, func() bool { return totalRequests(t, admin, "") == 3 })
	got := admin.call("PUT", "/settings/analytics", map[string]any{"batch_size": 2, "max_concurrent_batches": 1}, 200)
	if a, ok := got["addresses"].([]any); !ok || len(a) != 0 || got["flush_interval"] != "100ms" || got["batch_size"] != 2.0 || got["max_concurrent_batches"] != 1.0 || got["retention_days"] != 90.0 {
		t.Fatalf("PUT answered %v", got)
	}

	// A record of 10 days ago, then a retention of 5 days.
	old := portico.Record{Time: time.Now().AddDate(0, 0, -10), RequestID: "old", API: "open", APIVersion: "v1", Method: "GET", Status: 200}
	if err := m.analytics.embedded.Write(context.Background(), []portico.Record{old}); err != nil {
		t.Fatal(err)
	}
	if n := requestsSince(t, admin, 20); n != 4 {
		t.Fatalf("%d records over 20 days, want 4", n)
	}
	admin.call("PUT", "/settings/analytics", map[string]any{"retention_days": 5}, 200)
	waitFor(t, "the record of 10 days ago pruned", 10*time.Second, func() bool { return requestsSince(t, admin, 20) == 3 })

	want := analyticsLimits{"100ms", 2, 1, 5}
	if got := limitsOf(t, admin); got != want {
		t.Fatalf("settings %+v, want %+v", got, want)
	}
	// Only limits were set: the file leaves the store to --analytics (whose
	// URL may hold credentials and parameters that addresses do not).
	if b, err := os.ReadFile(filepath.Join(dir, settingsFile)); err != nil || strings.Contains(string(b), "addresses") {
		t.Fatalf("settings file %s (%v): want the limits only", b, err)
	}
	m.Close()
	m2 := startNodeWith(t, dir, func(c *Config) { c.AnalyticsFlushInterval = time.Hour })
	admin2 := client{t, "http://" + m2.AdminAddr + "/api/v1", "admin", adminPassword}
	if got := limitsOf(t, admin2); got != want {
		t.Fatalf("settings after restart %+v, want the saved %+v", got, want)
	}
}

// TestAnalyticsSettingsOldFile: a settings file written before the limits
// existed ({"addresses":[…]}) still loads; the limits come from the flags.
func TestAnalyticsSettingsOldFile(t *testing.T) {
	for _, file := range []string{`{"addresses":[]}`, `{"addresses":null}`, `{"addresses":[],"batch_size":0}`} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			startNode(t, dir).Close() // a data dir that holds a store
			if err := os.WriteFile(filepath.Join(dir, settingsFile), []byte(file+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			m := startNodeWith(t, dir, func(c *Config) {
				c.Analytics = "none" // the file overrides it: the embedded store
				c.AnalyticsBatchSize, c.AnalyticsRetention = 777, 30
			})
			if m.analytics == nil {
				t.Fatal("the settings file did not turn the embedded store on")
			}
			admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
			got := admin.call("GET", "/settings/analytics", nil, 200)
			if a, ok := got["addresses"].([]any); !ok || len(a) != 0 {
				t.Errorf("addresses %v", got["addresses"])
			}
			if l, want := limitsOf(t, admin), (analyticsLimits{"1s", 777, 2, 30}); l != want {
				t.Errorf("settings %+v, want %+v", l, want)
			}
		})
	}
}

// TestClusterAnalyticsLimits: on two nodes of one real redis-server, the
// limits set on node A reach node B and take effect there (B's records,
// waiting for a one-hour flush, are written once the interval is 200ms);
// a PUT on B of one field keeps the others as A set them; a cluster-wide
// value written by an older version (addresses only) keeps the limits.
func TestClusterAnalyticsLimits(t *testing.T) {
	rs := redistest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	t.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
	start := func(name string) *Main {
		m := clusterNode(t, rs.URL(), name)
		m.Config.Analytics, m.Config.AnalyticsFlushInterval = "embedded", time.Hour
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := start("node-a"), start("node-b")
	adminA := client{t, "http://" + a.AdminAddr + "/api/v1", "admin", adminPassword}
	adminB := client{t, "http://" + b.AdminAddr + "/api/v1", "admin", adminPassword}
	publishOpen(t, adminA, "/open", backend.URL)
	waitFor(t, "/open on node B", 10*time.Second, func() bool {
		code, _, _ := gatewayGet(t, "http://"+b.GatewayAddr+"/open/x", "")
		return code == 200
	})
	waitFor(t, "a record queued on node B", 10*time.Second, func() bool { return b.analytics.recorder.Stats().Queued >= 1 })
	queued := b.analytics.recorder.Stats().Queued

	adminA.call("PUT", "/settings/analytics", map[string]any{"flush_interval": "200ms", "batch_size": 7, "max_concurrent_batches": 3, "retention_days": 12}, 200)
	want := analyticsLimits{"200ms", 7, 3, 12}
	waitFor(t, "node B to take the limits", 10*time.Second, func() bool { return limitsOf(t, adminB) == want })
	waitFor(t, "node B's queued records flushed at the new interval", 10*time.Second, func() bool {
		return totalRequests(t, adminB, "") == queued
	})

	adminB.call("PUT", "/settings/analytics", map[string]any{"batch_size": 9}, 200)
	want.Batch = 9
	waitFor(t, "node A to take B's batch size, the rest kept", 10*time.Second, func() bool { return limitsOf(t, adminA) == want })

	// A PUT on B applies to what another node wrote last, even when B has
	// not polled it yet.
	if err := a.redis.SetSetting(context.Background(), "analytics", `{"addresses":[],"flush_interval":"200ms","batch_size":11,"max_concurrent_batches":3,"retention_days":12}`); err != nil {
		t.Fatal(err)
	}
	got := adminB.call("PUT", "/settings/analytics", map[string]any{"retention_days": 13}, 200)
	if got["batch_size"] != 11.0 || got["retention_days"] != 13.0 {
		t.Errorf("PUT on B right after another node's change answered %v, want batch_size 11 and retention_days 13", got)
	}
	want = analyticsLimits{"200ms", 11, 3, 13}
	waitFor(t, "node A to take B's change", 10*time.Second, func() bool { return limitsOf(t, adminA) == want })

	// An older node writes the addresses only.
	if err := a.redis.SetSetting(context.Background(), "analytics", `{"addresses":[]}`); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Main{a, b} {
		waitFor(t, m.Config.NodeName+" to read the addresses-only value", 10*time.Second, func() bool {
			m.analytics.mu.Lock()
			defer m.analytics.mu.Unlock()
			return m.analytics.lastShared == `{"addresses":[]}`
		})
	}
	for _, c := range []client{adminA, adminB} {
		if got := limitsOf(t, c); got != want {
			t.Errorf("after an addresses-only cluster-wide value: %+v, want %+v", got, want)
		}
	}
}
