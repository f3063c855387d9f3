package admin_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/internal/analyticstest"
)

// fakeQuerier remembers the last query.
type fakeQuerier struct {
	mu   sync.Mutex
	last portico.AnalyticsQuery
}

func (f *fakeQuerier) Query(_ context.Context, q portico.AnalyticsQuery) ([]portico.AnalyticsRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = q
	return []portico.AnalyticsRow{{Requests: 3, Errors: 1, ErrorRate: 1.0 / 3}}, nil
}

// fakeSettings applies every change and counts them.
type fakeSettings struct {
	s       admin.AnalyticsSettings
	changes int
}

func (f *fakeSettings) AnalyticsSettings() admin.AnalyticsSettings { return f.s }
func (f *fakeSettings) SetAnalyticsSettings(_ context.Context, c admin.AnalyticsSettingsChange) (admin.AnalyticsSettings, error) {
	f.s = c.Apply(f.s)
	f.changes++
	return f.s, nil
}

func TestAnalyticsQueryScoping(t *testing.T) {
	e := newEnv(t)
	fq := &fakeQuerier{}
	e.srv.Analytics = fq
	pub, pubID := e.addUser("pat", portico.RolePublisher)
	sub, subID := e.addUser("sam", portico.RoleSubscriber)

	e.admin().do("GET", "/api/v1/analytics/requests?from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z&bucket=hour&group_by=api&status=500", nil).want(http.StatusOK)
	if q := fq.last; q.Bucket != portico.Hour || q.GroupBy != "api" || q.Filters["status"] != "500" || len(q.Filters) != 1 || q.To.Sub(q.From).Hours() != 24 {
		t.Errorf("admin query %+v", q)
	}
	pub.do("GET", "/api/v1/analytics/requests?publisher=someone-else", nil).want(http.StatusBadRequest)
	pub.do("GET", "/api/v1/analytics/requests?group_by=application", nil).want(http.StatusOK)
	if q := fq.last; q.Filters["publisher"] != pubID {
		t.Errorf("publisher not scoped to its APIs: %+v", q.Filters)
	}
	sub.do("GET", "/api/v1/analytics/requests?subscriber=other", nil).want(http.StatusOK)
	if q := fq.last; q.Filters["subscriber"] != subID {
		t.Errorf("subscriber not scoped to itself: %+v", q.Filters)
	}
	for _, bad := range []string{"bucket=week", "group_by=password", "from=yesterday", "from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z", "colour=red"} {
		e.admin().do("GET", "/api/v1/analytics/requests?"+bad, nil).want(http.StatusBadRequest)
	}
}

func TestAnalyticsQueryLimitAndLatency(t *testing.T) {
	e := newEnv(t)
	fq := &fakeQuerier{}
	e.srv.Analytics = fq
	const path = "/api/v1/analytics/requests?"

	res := e.admin().do("GET", path+"group_by=application", nil).want(http.StatusOK)
	if q := fq.last; q.Limit != 0 || q.NoLatency {
		t.Errorf("without the parameters: limit %d, no latency %v", q.Limit, q.NoLatency)
	}
	if m := res.obj(); m["latency"] != true || m["limit"] != nil {
		t.Errorf("without the parameters the answer says %s", res.body)
	}
	for _, c := range []struct {
		query     string
		limit     int
		noLatency bool
	}{
		{"group_by=application&limit=10&latency=false", 10, true},
		{"group_by=status&limit=1", 1, false},
		{"group_by=node&limit=1000&latency=true", 1000, false},
		{"bucket=hour&group_by=api&limit=5", 5, false},
		{"latency=false", 0, true},
		{"bucket=minute&latency=false&api=weather", 0, true},
	} {
		res := e.admin().do("GET", path+c.query, nil).want(http.StatusOK)
		if q := fq.last; q.Limit != c.limit || q.NoLatency != c.noLatency {
			t.Errorf("%s: limit %d, no latency %v; want %d, %v", c.query, q.Limit, q.NoLatency, c.limit, c.noLatency)
		}
		if _, ok := fq.last.Filters["limit"]; ok {
			t.Errorf("%s: limit taken for a filter: %v", c.query, fq.last.Filters)
		}
		var body struct {
			Limit   int  `json:"limit"`
			Latency bool `json:"latency"`
		}
		res.decode(&body)
		if body.Limit != c.limit || body.Latency == c.noLatency {
			t.Errorf("%s: the answer says limit %d, latency %v", c.query, body.Limit, body.Latency)
		}
	}
	// A publisher's top list stays scoped to its APIs.
	pub, pubID := e.addUser("pat", portico.RolePublisher)
	pub.do("GET", path+"group_by=application&limit=3&latency=false", nil).want(http.StatusOK)
	if q := fq.last; q.Filters["publisher"] != pubID || q.Limit != 3 || !q.NoLatency {
		t.Errorf("publisher's query %+v", q)
	}

	fq.last = portico.AnalyticsQuery{}
	for _, c := range []struct{ query, field string }{
		{"group_by=api&limit=0", "limit"},
		{"group_by=api&limit=-1", "limit"},
		{"group_by=api&limit=1001", "limit"},
		{"group_by=api&limit=99999999999999999999", "limit"},
		{"group_by=api&limit=ten", "limit"},
		{"group_by=api&limit=1.5", "limit"},
		{"group_by=api&limit=+5", "limit"},
		{"group_by=api&limit=%2B5", "limit"},
		{"group_by=api&limit=010", "limit"},
		{"group_by=api&limit=0x10", "limit"},
		{"group_by=api&limit=", "limit"},
		{"group_by=api&limit=%2010", "limit"},
		{"limit=10", "limit"},
		{"bucket=hour&limit=10", "limit"},
		{"latency=no", "latency"},
		{"latency=FALSE", "latency"},
		{"latency=0", "latency"},
		{"latency=", "latency"},
		{"group_by=api&limit=10&latency=off", "latency"},
	} {
		e.admin().do("GET", path+c.query, nil).wantErr(http.StatusBadRequest, c.field)
	}
	if fq.last.From != (time.Time{}) {
		t.Errorf("a refused query reached the store: %+v", fq.last)
	}
}

// referenceQuerier answers with the reference aggregation of records.
type referenceQuerier struct{ records []portico.Record }

func (r referenceQuerier) Query(_ context.Context, q portico.AnalyticsQuery) ([]portico.AnalyticsRow, error) {
	return analyticstest.Aggregate(r.records, q), nil
}

func TestAnalyticsQueryBytesAndTotals(t *testing.T) {
	e := newEnv(t)
	records := analyticstest.Records()
	e.srv.Analytics = referenceQuerier{records}
	from, to := records[0].Time.Add(-time.Hour), records[len(records)-1].Time.Add(time.Hour)
	path := "/api/v1/analytics/requests?from=" + from.UTC().Format(time.RFC3339) + "&to=" + to.UTC().Format(time.RFC3339) + "&"
	all := analyticstest.Aggregate(records, portico.AnalyticsQuery{From: from, To: to})
	if len(all) != 1 || all[0].RequestBytes == 0 {
		t.Fatalf("the reference records have no bytes to leave out: %+v", all)
	}
	type answer struct {
		Bytes bool                   `json:"bytes"`
		Items []portico.AnalyticsRow `json:"items"`
		Total *portico.AnalyticsRow  `json:"total"`
	}
	for _, c := range []struct {
		query        string
		bytes, total bool
	}{
		{"bucket=hour", true, false},
		{"bucket=hour&totals=true", true, true},
		{"bucket=hour&totals=false", true, false},
		{"group_by=application&limit=2&totals=true&bytes=false", false, true},
		{"bytes=true&totals=true", true, true}, // no buckets or groups: the one row is the total
		{"group_by=api&bytes=false", false, false},
	} {
		var a answer
		e.admin().do("GET", path+c.query, nil).want(http.StatusOK).decode(&a)
		if a.Bytes != c.bytes || len(a.Items) == 0 {
			t.Errorf("%s: bytes %v with %d items, want bytes %v", c.query, a.Bytes, len(a.Items), c.bytes)
		}
		for _, it := range a.Items {
			if (it.RequestBytes != 0) != c.bytes {
				t.Errorf("%s: an item has request_bytes %d", c.query, it.RequestBytes)
			}
		}
		if (a.Total != nil) != c.total {
			t.Errorf("%s: total %+v, want one: %v", c.query, a.Total, c.total)
			continue
		}
		if a.Total == nil {
			continue
		}
		want := all[0]
		if !c.bytes {
			want.RequestBytes, want.ResponseBytes = 0, 0
		}
		got := *a.Total
		if got.Requests != want.Requests || got.Errors != want.Errors || got.LatencyP99 != want.LatencyP99 ||
			got.RequestBytes != want.RequestBytes || !got.Bucket.IsZero() || got.Group != "" {
			t.Errorf("%s: total %+v, want %+v", c.query, got, want)
		}
	}
	for _, bad := range []struct{ query, field string }{
		{"totals=yes", "totals"}, {"totals=", "totals"}, {"bytes=0", "bytes"}, {"bytes=FALSE", "bytes"},
		// Nothing is dropped silently: repeats, malformed pairs, nameless
		// parameters and huge values are refused.
		{"group_by=api&totals=true&totals=false", "totals"}, {"bytes=false&bytes=true", "bytes"},
		{"group_by=api&limit=1&limit=abc", "limit"}, {"api=a&api=b", "api"},
		{"totals=true;bytes=false", "query"}, {"=x", "query"}, {"api=%zz", "query"},
		{"api=" + strings.Repeat("a", 1025), "api"},
	} {
		e.admin().do("GET", path+bad.query, nil).wantErr(http.StatusBadRequest, bad.field)
	}
}

func TestAnalyticsSettings(t *testing.T) {
	e := newEnv(t)
	fs := &fakeSettings{s: admin.AnalyticsSettings{Addresses: []string{}, FlushInterval: portico.Duration(time.Second),
		BatchSize: 5000, MaxConcurrentBatches: 2, RetentionDays: 90}}
	e.srv.Settings = fs
	sub, _ := e.addUser("sam", portico.RoleSubscriber)
	sub.do("GET", "/api/v1/settings/analytics", nil).want(http.StatusForbidden)
	sub.do("PUT", "/api/v1/settings/analytics", map[string]any{"batch_size": 10}).want(http.StatusForbidden)
	want := `{"addresses":[],"flush_interval":"1s","batch_size":5000,"max_concurrent_batches":2,"retention_days":90}`
	if got := strings.TrimSpace(string(e.admin().do("GET", "/api/v1/settings/analytics", nil).want(http.StatusOK).body)); got != want {
		t.Errorf("GET answers %s, want %s", got, want)
	}

	// Every field at once.
	e.admin().do("PUT", "/api/v1/settings/analytics", map[string]any{"addresses": []string{"127.0.0.1:8123"},
		"flush_interval": "250ms", "batch_size": 100, "max_concurrent_batches": 4, "retention_days": 30}).want(http.StatusOK)
	want = `{"addresses":["127.0.0.1:8123"],"flush_interval":"250ms","batch_size":100,"max_concurrent_batches":4,"retention_days":30}`
	if got := strings.TrimSpace(string(e.admin().do("GET", "/api/v1/settings/analytics", nil).want(http.StatusOK).body)); got != want {
		t.Errorf("after PUT, GET answers %s, want %s", got, want)
	}
	// Fields left out (or null) keep their values; the bounds are taken.
	got := e.admin().do("PUT", "/api/v1/settings/analytics", map[string]any{"batch_size": 100000, "addresses": nil}).want(http.StatusOK)
	want = `{"addresses":["127.0.0.1:8123"],"flush_interval":"250ms","batch_size":100000,"max_concurrent_batches":4,"retention_days":30}`
	if strings.TrimSpace(string(got.body)) != want {
		t.Errorf("PUT of batch_size alone answers %s, want %s", got.body, want)
	}
	e.admin().do("PUT", "/api/v1/settings/analytics", map[string]any{"flush_interval": "100ms", "max_concurrent_batches": 64, "retention_days": 3650}).want(http.StatusOK)
	e.admin().do("PUT", "/api/v1/settings/analytics", map[string]any{"flush_interval": "1m", "batch_size": 1, "max_concurrent_batches": 1, "retention_days": 1}).want(http.StatusOK)
	// An empty list of addresses is the embedded store, not "keep".
	e.admin().do("PUT", "/api/v1/settings/analytics", map[string]any{"addresses": []string{}}).want(http.StatusOK)
	want = `{"addresses":[],"flush_interval":"1m0s","batch_size":1,"max_concurrent_batches":1,"retention_days":1}`
	if got := strings.TrimSpace(string(e.admin().do("GET", "/api/v1/settings/analytics", nil).want(http.StatusOK).body)); got != want {
		t.Errorf("GET answers %s, want %s", got, want)
	}

	before := fs.changes
	for _, tc := range []struct {
		body  string
		field string
	}{
		{`{"addresses":["127.0.0.1:8123","x y"]}`, "addresses[1]"},
		{`{"addresses":[""]}`, "addresses[0]"},
		{`{"addresses":"127.0.0.1:8123"}`, "addresses"},
		{`{"flush_interval":"soon"}`, "flush_interval"},
		{`{"flush_interval":""}`, "flush_interval"},
		{`{"flush_interval":"99ms"}`, "flush_interval"},
		{`{"flush_interval":"61s"}`, "flush_interval"},
		{`{"flush_interval":"-1s"}`, "flush_interval"},
		{`{"flush_interval":1000}`, "flush_interval"},
		{`{"batch_size":0}`, "batch_size"},
		{`{"batch_size":-5}`, "batch_size"},
		{`{"batch_size":100001}`, "batch_size"},
		{`{"batch_size":"100"}`, "batch_size"},
		{`{"batch_size":1.5}`, "batch_size"},
		{`{"max_concurrent_batches":0}`, "max_concurrent_batches"},
		{`{"max_concurrent_batches":65}`, "max_concurrent_batches"},
		{`{"retention_days":0}`, "retention_days"},
		{`{"retention_days":3651}`, "retention_days"},
		{`{"retention_days":-1}`, "retention_days"},
		{`{"retention":30}`, "retention"},
		// A valid field does not carry an invalid one through.
		{`{"batch_size":10,"retention_days":0}`, "retention_days"},
	} {
		e.admin().do("PUT", "/api/v1/settings/analytics", tc.body).wantErr(http.StatusBadRequest, tc.field)
	}
	if fs.changes != before {
		t.Errorf("%d refused PUTs reached the settings", fs.changes-before)
	}
}

type fakeDatastore struct{ running, next string }

func (f *fakeDatastore) Datastore() (string, string) { return f.running, f.next }
func (f *fakeDatastore) SetDatastore(_ context.Context, addr string) error {
	f.next = addr
	return nil
}

func TestDatastoreSetting(t *testing.T) {
	e := newEnv(t)
	fd := &fakeDatastore{running: "embedded", next: "embedded"}
	e.srv.DatastoreSettings = fd
	sub, _ := e.addUser("sam", portico.RoleSubscriber)
	sub.do("PUT", "/api/v1/settings/datastore", map[string]any{"datastore": "redis://h:6379/0"}).want(http.StatusForbidden)
	for _, bad := range []string{"", "mysql://x", "redis://", "redis://h:6379/zero", "redis://h:6379/0?x=1",
		"redis-sentinel://", "redis-sentinel://s1:26379", "redis-sentinel://s1:26379/", "redis-sentinel://s1,,s2/m/0", "redis-sentinel://s1/m/zero",
		"redis-cluster://", "redis-cluster://n1,,n2", "redis-cluster://n1:7000/2", "redis-cluster://n1:7000?x=1",
		"redis-sentinel://s1/m/0?bogus=1", "redis-sentinel://s1/m/0?dial_timeout=soon"} {
		e.admin().do("PUT", "/api/v1/settings/datastore", map[string]any{"datastore": bad}).wantErr(http.StatusBadRequest, "datastore")
	}
	res := e.admin().do("PUT", "/api/v1/settings/datastore", map[string]any{"datastore": "redis://10.0.0.7:6379/0"}).want(http.StatusOK)
	if res.str("datastore") != "redis://10.0.0.7:6379/0" || res.str("running") != "embedded" || !strings.Contains(res.str("message"), "restart") {
		t.Errorf("answer %s", res.body)
	}
	for _, good := range []string{"redis-sentinel://:pw@10.0.0.7:26379,10.0.0.8:26379/mymaster/0?sentinel_password=sp", "redis-cluster://10.0.0.7:7000,10.0.0.8:7000"} {
		res = e.admin().do("PUT", "/api/v1/settings/datastore", map[string]any{"datastore": good}).want(http.StatusOK)
		if res.str("datastore") != good {
			t.Errorf("answer %s", res.body)
		}
	}
}
