package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

func TestMetrics(t *testing.T) {
	m := New(Sources{
		ConfigVersion: func() int64 { return 42 },
		LiveNodes:     func() int { return 3 },
		Targets: func() []Target {
			return []Target{{"weather", "v1", "http://a:1", true}, {"weather", "v1", "http://b:1", false}}
		},
		Recorder:      func() RecorderStats { return RecorderStats{Queued: 7, Recorded: 100, Spooled: 5, Dropped: 1} },
		WriteTimeouts: func() map[string]int64 { return map[string]int64{"gateway": 4, "admin": 0} },
	})
	for _, r := range []portico.Record{
		{API: "weather", APIVersion: "v1", Status: 200, Latency: 3 * time.Millisecond, UpstreamLatency: 2 * time.Millisecond},
		{API: "weather", APIVersion: "v1", Status: 204, Latency: time.Millisecond, UpstreamLatency: time.Millisecond},
		{API: "weather", APIVersion: "v1", Status: 429, ErrorCode: "rate_limited", Latency: time.Millisecond},
		{API: "weather", APIVersion: "v1", Status: 429, ErrorCode: "quota_exceeded", Latency: time.Millisecond},
		{Status: 404, ErrorCode: "not_found", Latency: time.Millisecond},
	} {
		m.Record(&r)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`portico_requests_total{api="weather",class="2xx",version="v1"} 2`,
		`portico_requests_total{api="weather",class="4xx",version="v1"} 2`,
		`portico_requests_total{api="",class="4xx",version=""} 1`,
		`portico_requests_limited_total{api="weather",reason="rate_limited",version="v1"} 1`,
		`portico_requests_limited_total{api="weather",reason="quota_exceeded",version="v1"} 1`,
		`portico_request_duration_seconds_count{api="weather",version="v1"} 4`,
		`portico_upstream_duration_seconds_count{api="weather",version="v1"} 2`,
		`portico_config_version 42`,
		`portico_cluster_nodes 3`,
		`portico_upstream_target_up{api="weather",target="http://b:1",version="v1"} 0`,
		`portico_analytics_queue_depth 7`,
		`portico_analytics_records_total{outcome="dropped"} 1`,
		`portico_write_timeouts_total{listener="gateway"} 4`,
		`portico_write_timeouts_total{listener="admin"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	m := New(Sources{})
	r := &portico.Record{API: "weather", APIVersion: "v1", Status: 200, Latency: time.Millisecond, UpstreamLatency: time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Record(r)
		}
	})
}
