package admin_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
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

type fakeSettings struct{ s admin.AnalyticsSettings }

func (f *fakeSettings) AnalyticsSettings() admin.AnalyticsSettings { return f.s }
func (f *fakeSettings) SetAnalyticsSettings(_ context.Context, s admin.AnalyticsSettings) (admin.AnalyticsSettings, error) {
	f.s = s
	return s, nil
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

func TestAnalyticsSettings(t *testing.T) {
	e := newEnv(t)
	e.srv.Settings = &fakeSettings{}
	sub, _ := e.addUser("sam", portico.RoleSubscriber)
	sub.do("GET", "/api/v1/settings/analytics", nil).want(http.StatusForbidden)
	e.admin().do("PUT", "/api/v1/settings/analytics", map[string]any{"addresses": []string{"127.0.0.1:8123", "x y"}}).want(http.StatusBadRequest)
	e.admin().do("PUT", "/api/v1/settings/analytics", map[string]any{"addresses": []string{"127.0.0.1:8123"}}).want(http.StatusOK)
	got := e.admin().do("GET", "/api/v1/settings/analytics", nil).want(http.StatusOK)
	if string(got.body) != `{"addresses":["127.0.0.1:8123"]}`+"\n" && string(got.body) != `{"addresses":["127.0.0.1:8123"]}` {
		t.Errorf("settings %s", got.body)
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
