package clickhouse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/clickhouse"
	"github.com/portico-gw/portico/internal/analyticstest"
	"github.com/portico-gw/portico/internal/clickhousetest"
)

// open returns an opened Store for cfg, closed when t ends. Unless cfg
// says otherwise, records are kept forever: tests write records of fixed
// past dates (retention has a test of its own).
func open(t testing.TB, cfg clickhouse.Config) *clickhouse.Store {
	t.Helper()
	if cfg.RetentionDays == 0 {
		cfg.RetentionDays = -1
	}
	s, err := clickhouse.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// record returns a record with every field set, distinct by i.
func record(i int, at time.Time) portico.Record {
	return portico.Record{
		Time:            at,
		RequestID:       fmt.Sprintf("req-%d", i),
		API:             "weather",
		APIVersion:      "v1",
		APIID:           "api-1",
		Publisher:       "pub-1",
		Subscriber:      "sub-1",
		Application:     "app-1",
		Plan:            "gold",
		Resource:        "/forecast/{city}",
		Method:          "GET",
		Status:          200,
		ErrorCode:       "",
		RequestBytes:    int64(100 + i),
		ResponseBytes:   int64(1000 + i),
		RequestType:     "application/json",
		ResponseType:    "application/json; charset=utf-8",
		Latency:         time.Duration(1000+i) * time.Microsecond,
		UpstreamLatency: time.Duration(500+i) * time.Microsecond,
		ClientIP:        "192.0.2.7",
		Node:            "node-a",
	}
}

func batch(from, n int, at time.Time) []portico.Record {
	recs := make([]portico.Record, n)
	for i := range recs {
		recs[i] = record(from+i, at.Add(time.Duration(i)*time.Millisecond))
	}
	return recs
}

func count(t testing.TB, s *clickhousetest.Server, table string) int {
	t.Helper()
	n, err := strconv.Atoi(s.Query(t, "SELECT count() FROM "+table))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// within polls cond until it holds or the deadline passes.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSchemaCreatedAndIdempotent(t *testing.T) {
	srv := clickhousetest.Start(t)
	ctx := context.Background()
	s := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}})

	engine := srv.Query(t, "SELECT engine FROM system.tables WHERE database = 'portico' AND name = 'requests'")
	if engine != "MergeTree" {
		t.Fatalf("engine = %q", engine)
	}
	create := srv.Query(t, "SHOW CREATE TABLE portico.requests")
	for _, want := range []string{"PARTITION BY toYYYYMMDD(time)", "ORDER BY (api, time)", "latency_us UInt64", "status UInt16", "time_us UInt32",
		"publisher LowCardinality(String)"} {
		if !strings.Contains(create, want) {
			t.Errorf("SHOW CREATE TABLE lacks %q:\n%s", want, create)
		}
	}
	if err := s.Write(ctx, batch(0, 10, time.Now())); err != nil {
		t.Fatal(err)
	}

	// A second store on the same server, and again after a restart: the
	// schema is left as it is and the data stays.
	open(t, clickhouse.Config{Addrs: []string{srv.Addr()}})
	srv.Stop()
	srv.Start()
	s2 := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}})
	if err := s2.Write(ctx, batch(10, 5, time.Now())); err != nil {
		t.Fatal(err)
	}
	if n := count(t, srv, "portico.requests"); n != 15 {
		t.Fatalf("count = %d, want 15", n)
	}

	// A table of an older Portico, with publisher String, still takes
	// records and answers a publisher's queries.
	ddl := strings.NewReplacer(`\n`, "\n", `\'`, "'", "LowCardinality(String)", "String", "portico.requests", "portico.older").Replace(create)
	srv.Query(t, ddl)
	if typ := srv.Query(t, "SELECT type FROM system.columns WHERE database = 'portico' AND table = 'older' AND name = 'publisher'"); typ != "String" {
		t.Fatalf("the older table's publisher is %q", typ)
	}
	older, err := clickhouse.New(clickhouse.Config{Addrs: []string{srv.Addr()}, Table: "older"})
	if err != nil {
		t.Fatal(err)
	}
	defer older.Close()
	if err := older.Open(ctx); err != nil {
		t.Fatalf("Open over an older table: %v", err)
	}
	recs := batch(0, 4, time.Now())
	if err := older.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	rows, err := older.Query(ctx, portico.AnalyticsQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour),
		Filters: map[string]string{portico.DimPublisher: recs[0].Publisher}})
	if err != nil || len(rows) != 1 || rows[0].Requests == 0 {
		t.Fatalf("a publisher's query on the older table: %+v, %v", rows, err)
	}

	// A table of the same name that is not ours is an error, not a
	// silent mismatch.
	srv.Query(t, "CREATE TABLE portico.other (x UInt8) ENGINE = MergeTree() ORDER BY x")
	bad, err := clickhouse.New(clickhouse.Config{Addrs: []string{srv.Addr()}, Table: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Open(ctx); err == nil || !strings.Contains(err.Error(), "lacks the columns") {
		t.Fatalf("Open over a foreign table: %v", err)
	}
}

func TestRoundTripEveryField(t *testing.T) {
	srv := clickhousetest.StartWith(t, clickhousetest.Options{Timezone: "Asia/Kolkata"})
	s := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}, Database: "roundtrip"})
	at := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)
	recs := []portico.Record{
		record(1, at),
		{
			Time:            at.Add(time.Second),
			RequestID:       "tab\there",
			API:             "quote'back\\slash",
			APIVersion:      "new\nline",
			APIID:           "cr\rnul\x00end",
			Publisher:       "ünïcødé ✓",
			Subscriber:      `\N`,
			Application:     `\t literal`,
			Plan:            "",
			Resource:        "/a/{b}",
			Method:          "DELETE",
			Status:          503,
			ErrorCode:       "bad_gateway",
			RequestBytes:    1 << 40,
			ResponseBytes:   0,
			RequestType:     "",
			ResponseType:    "text/plain",
			Latency:         1500*time.Millisecond + 999*time.Nanosecond,
			UpstreamLatency: 0,
			ClientIP:        "2001:db8::1",
			Node:            "node-b",
		},
	}
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	out := srv.Query(t, "SELECT toUInt32(time) AS sec, * FROM roundtrip.requests ORDER BY time FORMAT JSONEachRow")
	lines := strings.Split(out, "\n")
	if len(lines) != len(recs) {
		t.Fatalf("got %d rows:\n%s", len(lines), out)
	}
	for i, line := range lines {
		var got map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		r := recs[i]
		want := map[string]any{
			"sec":                 r.Time.Unix(),
			"time_us":             r.Time.Nanosecond() / 1000,
			"request_id":          r.RequestID,
			"api":                 r.API,
			"api_version":         r.APIVersion,
			"api_id":              r.APIID,
			"publisher":           r.Publisher,
			"subscriber":          r.Subscriber,
			"application":         r.Application,
			"plan":                r.Plan,
			"resource":            r.Resource,
			"method":              r.Method,
			"status":              r.Status,
			"error_code":          r.ErrorCode,
			"request_bytes":       r.RequestBytes,
			"response_bytes":      r.ResponseBytes,
			"request_type":        r.RequestType,
			"response_type":       r.ResponseType,
			"latency_us":          r.Latency.Microseconds(),
			"upstream_latency_us": r.UpstreamLatency.Microseconds(),
			"client_ip":           r.ClientIP,
			"node":                r.Node,
		}
		for k, w := range want {
			if g := fmt.Sprint(got[k]); g != fmt.Sprint(w) {
				t.Errorf("row %d %s = %q, want %q", i, k, g, fmt.Sprint(w))
			}
		}
		// The stored time reads back as UTC on a server in another zone.
		if wantTime := r.Time.UTC().Format(time.DateTime); got["time"] != wantTime {
			t.Errorf("row %d time = %v, want %s", i, got["time"], wantTime)
		}
		delete(got, "sec")
		if len(got) != 22 {
			t.Errorf("row %d has %d columns, want 22 (every Record field)", i, len(got))
		}
	}
}

// fixture is a fixed, varied record set over three UTC days.
func fixture() []portico.Record {
	rng := rand.New(rand.NewPCG(4, 2))
	base := time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC)
	apis := []string{"weather", "maps", "it's \\tricky", "payments"}
	statuses := []int{200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 504}
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	recs := make([]portico.Record, 3000)
	for i := range recs {
		r := record(i, base.Add(time.Duration(rng.Int64N(int64(52*time.Hour)))))
		r.API = apis[rng.IntN(len(apis))]
		r.APIVersion = "v" + strconv.Itoa(1+rng.IntN(2))
		r.Application = "app-" + strconv.Itoa(rng.IntN(5))
		r.Subscriber = "sub-" + strconv.Itoa(rng.IntN(3))
		r.Publisher = "pub-" + strconv.Itoa(rng.IntN(2))
		r.Plan = []string{"gold", "silver", ""}[rng.IntN(3)]
		r.Status = statuses[rng.IntN(len(statuses))]
		r.Method = methods[rng.IntN(len(methods))]
		r.Resource = []string{"", "/a", "/b/{id}"}[rng.IntN(3)]
		r.Node = "node-" + strconv.Itoa(rng.IntN(3))
		r.Latency = time.Duration(rng.Int64N(int64(2*time.Second))) + 123*time.Nanosecond
		r.RequestBytes = rng.Int64N(10000)
		r.ResponseBytes = rng.Int64N(100000)
		recs[i] = r
	}
	// A few on exact bucket edges.
	recs[0].Time = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	recs[1].Time = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).Add(-time.Microsecond)
	recs[2].Time = time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC)
	return recs
}

func TestQueryMatchesReference(t *testing.T) {
	// A server in a half-hour time zone: buckets must still be UTC.
	srv := clickhousetest.StartWith(t, clickhousetest.Options{Timezone: "Asia/Kolkata"})
	s := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}, Database: "queries"})
	ctx := context.Background()
	recs := fixture()
	for i := 0; i < len(recs); i += 700 {
		if err := s.Write(ctx, recs[i:min(i+700, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var queries []portico.AnalyticsQuery
	for _, b := range []portico.Period{"", portico.Minute, portico.Hour, portico.Day} {
		queries = append(queries, portico.AnalyticsQuery{From: from, To: to, Bucket: b})
		for _, g := range []string{portico.DimAPI, portico.DimVersion, portico.DimApplication, portico.DimSubscriber,
			portico.DimPlan, portico.DimStatus, portico.DimMethod, portico.DimResource, portico.DimNode} {
			queries = append(queries, portico.AnalyticsQuery{From: from, To: to, Bucket: b, GroupBy: g})
		}
	}
	edge := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	queries = append(queries,
		// Filters, alone and together, with and without grouping.
		portico.AnalyticsQuery{From: from, To: to, Filters: map[string]string{portico.DimAPI: "weather"}},
		portico.AnalyticsQuery{From: from, To: to, Bucket: portico.Hour, Filters: map[string]string{portico.DimStatus: "404"}},
		portico.AnalyticsQuery{From: from, To: to, GroupBy: portico.DimStatus, Filters: map[string]string{portico.DimPublisher: "pub-1", portico.DimMethod: "GET"}},
		portico.AnalyticsQuery{From: from, To: to, GroupBy: portico.DimAPI, Filters: map[string]string{
			portico.DimVersion: "v2", portico.DimApplication: "app-3", portico.DimSubscriber: "sub-1",
			portico.DimPlan: "gold", portico.DimResource: "/a", portico.DimNode: "node-2"}},
		portico.AnalyticsQuery{From: from, To: to, Filters: map[string]string{portico.DimAPI: "it's \\tricky"}},
		portico.AnalyticsQuery{From: from, To: to, Filters: map[string]string{portico.DimPlan: ""}},
		// [From, To) at microsecond edges.
		portico.AnalyticsQuery{From: edge, To: edge.Add(time.Hour), Bucket: portico.Minute},
		portico.AnalyticsQuery{From: edge.Add(-time.Microsecond), To: edge, GroupBy: portico.DimAPI},
		portico.AnalyticsQuery{From: edge.Add(-time.Hour), To: edge.Add(-time.Microsecond)},
		portico.AnalyticsQuery{From: edge.Add(30 * time.Minute).Add(123456 * time.Microsecond), To: edge.Add(5 * time.Hour).Add(999 * time.Microsecond), Bucket: portico.Hour, GroupBy: portico.DimNode},
	)
	for _, q := range queries {
		name := fmt.Sprintf("bucket=%s/group=%s/filters=%v/%s-%s", q.Bucket, q.GroupBy, q.Filters, q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano))
		got, err := s.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := analyticstest.Aggregate(recs, q)
		if len(want) == 0 {
			t.Fatalf("%s: the reference has no rows; the query tests nothing", name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %d rows %+v\nwant %d rows %+v", name, len(got), head(got), len(want), head(want))
		}
	}
}

func head(rows []portico.AnalyticsRow) []portico.AnalyticsRow { return rows[:min(len(rows), 3)] }

func TestQueryEmptyAndInvalid(t *testing.T) {
	srv := clickhousetest.Start(t)
	s := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := s.Write(ctx, batch(0, 20, at)); err != nil {
		t.Fatal(err)
	}
	from, to := at.Add(-time.Hour), at.Add(time.Hour)
	empty := []portico.AnalyticsQuery{
		{From: from, To: to, Filters: map[string]string{portico.DimAPI: "nope"}},
		{From: from, To: to, Bucket: portico.Hour, GroupBy: portico.DimAPI, Filters: map[string]string{portico.DimAPI: "nope"}},
		{From: at.Add(time.Hour), To: at.Add(2 * time.Hour)},
		{From: to, To: from}, // To before From
		{From: from},         // zero To
		{From: from, To: to, Filters: map[string]string{portico.DimStatus: "0200"}},  // not how a status reads
		{From: from, To: to, Filters: map[string]string{portico.DimStatus: "abc"}},   // no status reads so
		{From: from, To: to, Filters: map[string]string{portico.DimStatus: "99999"}}, // beyond UInt16
	}
	for _, q := range empty {
		rows, err := s.Query(ctx, q)
		if err != nil || rows == nil || len(rows) != 0 {
			t.Errorf("%+v: rows %v (nil %v), err %v; want an empty slice", q, rows, rows == nil, err)
		}
	}
	rows, err := s.Query(ctx, portico.AnalyticsQuery{From: time.Time{}, To: time.Unix(1<<40, 0), Filters: map[string]string{portico.DimStatus: "200"}})
	if err != nil || len(rows) != 1 || rows[0].Requests != 20 {
		t.Errorf("whole time range: %+v, %v", rows, err)
	}
	invalid := []portico.AnalyticsQuery{
		{From: from, To: to, Bucket: portico.Second},
		{From: from, To: to, Bucket: "fortnight"},
		{From: from, To: to, GroupBy: "time"},
		{From: from, To: to, GroupBy: portico.DimPublisher},
		{From: from, To: to, GroupBy: "api; DROP TABLE portico.requests"},
		{From: from, To: to, Filters: map[string]string{"latency_us": "1"}},
		{From: from, To: to, Filters: map[string]string{"1=1 OR api": "x"}},
	}
	for _, q := range invalid {
		if _, err := s.Query(ctx, q); portico.ErrorCodeOf(err) != portico.EInvalid {
			t.Errorf("%+v: err %v, want EInvalid", q, err)
		}
	}
}

func TestQueryEscaping(t *testing.T) {
	srv := clickhousetest.Start(t)
	s := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	nasty := []string{
		`it's`, `it\'s`, `\`, `\\`, `'`, `''`, `\'`, `a\`,
		`' OR 1=1 --`, `x' OR api != '`, `'); DROP TABLE portico.requests; --`,
		"tab\tnew\nline\rcr\x00nul", `\N`, `\0`, "ünï'cødé\\", "\xff\xfe not utf-8 '",
		"`backquote`", `"double"`, `%_like_`, `{param:String}`, "?",
	}
	var recs []portico.Record
	for i, v := range nasty {
		for j := 0; j <= i%3; j++ { // 1 to 3 records per value
			r := record(len(recs), at)
			r.API, r.Node = v, v
			recs = append(recs, r)
		}
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	from, to := at.Add(-time.Minute), at.Add(time.Minute)
	for i, v := range nasty {
		for _, dim := range []string{portico.DimAPI, portico.DimNode} {
			rows, err := s.Query(ctx, portico.AnalyticsQuery{From: from, To: to, GroupBy: portico.DimAPI, Filters: map[string]string{dim: v}})
			if err != nil {
				t.Fatalf("filter %s=%q: %v", dim, v, err)
			}
			if len(rows) != 1 || rows[0].Group != v || rows[0].Requests != int64(i%3+1) {
				t.Errorf("filter %s=%q: %+v", dim, v, rows)
			}
		}
	}
	rows, err := s.Query(ctx, portico.AnalyticsQuery{From: from, To: to, GroupBy: portico.DimNode})
	if err != nil || len(rows) != len(nasty) {
		t.Fatalf("group by node: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if !slices.Contains(nasty, r.Group) {
			t.Errorf("group %q is none of the values written", r.Group)
		}
	}
	if n := count(t, srv, "portico.requests"); n != len(recs) {
		t.Fatalf("table has %d records, want %d", n, len(recs))
	}
}

func TestFailover(t *testing.T) {
	a, b := clickhousetest.Start(t), clickhousetest.Start(t)
	s := open(t, clickhouse.Config{
		Addrs:       []string{a.Addr(), b.Addr()},
		DownFor:     300 * time.Millisecond,
		DialTimeout: 500 * time.Millisecond,
	})
	ctx := context.Background()
	at := time.Now().UTC()
	written := 0
	write := func(n int) error {
		err := s.Write(ctx, batch(written, n, at))
		if err == nil {
			written += n
		}
		return err
	}
	for range 6 {
		if err := write(100); err != nil {
			t.Fatal(err)
		}
	}
	na, nb := count(t, a, "portico.requests"), count(t, b, "portico.requests")
	if na != 300 || nb != 300 {
		t.Fatalf("round robin: a has %d, b has %d, want 300 each", na, nb)
	}

	a.Stop()
	for range 10 {
		if err := write(100); err != nil {
			t.Fatalf("write with one address down: %v", err)
		}
	}
	if nb := count(t, b, "portico.requests"); nb != 1300 {
		t.Fatalf("b has %d, want 1300: every batch while a is down goes to b", nb)
	}

	b.Stop()
	err := write(100)
	if portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("write with every address down: %v, want EUnavailable", err)
	}
	if _, err := s.Query(ctx, portico.AnalyticsQuery{From: at.Add(-time.Hour), To: at.Add(time.Hour)}); portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("query with every address down: %v, want EUnavailable", err)
	}

	// a comes back: once its DownFor has passed it takes writes again.
	a.Start()
	within(t, 10*time.Second, "a write succeeds after a is back", func() bool { return write(100) == nil })
	b.Start()
	within(t, 10*time.Second, "writes reach b again", func() bool {
		_ = write(100)
		return count(t, b, "portico.requests") > 1300
	})
	if na, nb := count(t, a, "portico.requests"), count(t, b, "portico.requests"); na+nb != written {
		t.Fatalf("a %d + b %d != %d written", na, nb, written)
	}
}

func TestCluster(t *testing.T) {
	servers := clickhousetest.StartCluster(t, 2, "portico_analytics")
	cfg := clickhouse.Config{
		Addrs:   []string{servers[0].Addr(), servers[1].Addr()},
		Cluster: "portico_analytics",
	}
	s := open(t, cfg)
	ctx := context.Background()
	for _, srv := range servers {
		engines := srv.Query(t, "SELECT name, engine FROM system.tables WHERE database = 'portico' ORDER BY name")
		if engines != "requests\tDistributed\nrequests_hourly\tDistributed\nrequests_local\tMergeTree\n"+
			"requests_local_hourly\tSummingMergeTree\nrequests_local_hourly_mv\tMaterializedView" {
			t.Fatalf("%s: tables\n%s", srv.URL, engines)
		}
	}
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	for i := range 4 {
		if err := s.Write(ctx, batch(i*250, 250, at)); err != nil {
			t.Fatal(err)
		}
	}
	// Each batch went to one shard's local table; both shards have some.
	n0, n1 := count(t, servers[0], "portico.requests_local"), count(t, servers[1], "portico.requests_local")
	if n0 == 0 || n1 == 0 || n0+n1 != 1000 {
		t.Fatalf("local tables hold %d and %d, want both > 0, 1000 in all", n0, n1)
	}
	q := portico.AnalyticsQuery{From: at, To: at.Add(time.Hour), GroupBy: portico.DimAPI}
	// A store that knows only one address sees what the other took too.
	for _, srv := range servers {
		one := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}, Cluster: "portico_analytics"})
		rows, err := one.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Requests != 1000 {
			t.Fatalf("query through %s: %+v", srv.URL, rows)
		}
		if n := count(t, srv, "portico.requests"); n != 1000 {
			t.Fatalf("Distributed table on %s counts %d", srv.URL, n)
		}
	}
	// Percentiles over both shards equal those over all records.
	recs := []portico.Record{}
	for i := range 4 {
		recs = append(recs, batch(i*250, 250, at)...)
	}
	rows, err := s.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if want := analyticstest.Aggregate(recs, q); !reflect.DeepEqual(rows, want) {
		t.Fatalf("cluster query %+v, want %+v", rows, want)
	}
	// Top groups over whole hours come from both shards' hourly rollups.
	top := portico.AnalyticsQuery{From: at.Add(-2 * time.Hour), To: at.Add(3 * time.Hour), GroupBy: portico.DimStatus, NoLatency: true, Limit: 3}
	rows, err = s.Query(ctx, top)
	if err != nil {
		t.Fatal(err)
	}
	if want := analyticstest.Aggregate(recs, top); !reflect.DeepEqual(rows, want) || len(rows) == 0 {
		t.Fatalf("cluster top query %+v, want %+v", rows, want)
	}
	if n := servers[0].Query(t, "SELECT sum(requests) FROM portico.requests_hourly WHERE dim = 'node'"); n != "1000" {
		t.Fatalf("the rollups of both shards count %s records, want 1000", n)
	}

	// With a buffer, each shard's local table gets a Buffer table in front.
	cfg.BufferFlush = time.Second
	buffered := open(t, cfg)
	for _, srv := range servers {
		if e := srv.Query(t, "SELECT engine FROM system.tables WHERE database = 'portico' AND name = 'requests_local_buffer'"); e != "Buffer" {
			t.Fatalf("%s: requests_local_buffer engine %q", srv.URL, e)
		}
	}
	for i := range 2 {
		if err := buffered.Write(ctx, batch(1000+i*100, 100, at)); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	within(t, 10*time.Second, "buffered records reach both shards", func() bool {
		rows, err := buffered.Query(ctx, q)
		return err == nil && len(rows) == 1 && rows[0].Requests == 1200
	})
	t.Log("flush seen after", time.Since(t0))
}

func TestWriteContextCanceled(t *testing.T) {
	srv := clickhousetest.Start(t)
	s := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Write(ctx, batch(0, 10, time.Now())); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a canceled context: %v", err)
	}
	// The address was not marked down by the caller's cancellation.
	if err := s.Write(context.Background(), batch(0, 10, time.Now())); err != nil {
		t.Fatal(err)
	}
}

func TestSetAddrs(t *testing.T) {
	a, b := clickhousetest.Start(t), clickhousetest.Start(t)
	s := open(t, clickhouse.Config{Addrs: []string{a.Addr()}})
	ctx := context.Background()
	// b is added at run time: its schema is created before its first batch.
	if err := s.SetAddrs([]string{a.Addr(), b.Addr()}); err != nil {
		t.Fatal(err)
	}
	if got := s.Addrs(); !reflect.DeepEqual(got, []string{a.URL, b.URL}) {
		t.Fatalf("Addrs() = %v", got)
	}
	for i := range 4 {
		if err := s.Write(ctx, batch(i*10, 10, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if na, nb := count(t, a, "portico.requests"), count(t, b, "portico.requests"); na != 20 || nb != 20 {
		t.Fatalf("a %d, b %d, want 20 each", na, nb)
	}
	if err := s.SetAddrs(nil); portico.ErrorCodeOf(err) != portico.EInvalid {
		t.Fatalf("SetAddrs(nil): %v", err)
	}
	if err := s.SetAddrs([]string{b.Addr()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, batch(100, 10, time.Now())); err != nil {
		t.Fatal(err)
	}
	if na, nb := count(t, a, "portico.requests"), count(t, b, "portico.requests"); na != 20 || nb != 30 {
		t.Fatalf("after removing a: a %d, b %d", na, nb)
	}
}

func TestBufferFlush(t *testing.T) {
	srv := clickhousetest.Start(t)
	s := open(t, clickhouse.Config{Addrs: []string{srv.Addr()}, BufferFlush: time.Second})
	ctx := context.Background()
	engines := srv.Query(t, "SELECT name, engine FROM system.tables WHERE database = 'portico' ORDER BY name")
	if engines != "requests\tMergeTree\nrequests_buffer\tBuffer\nrequests_hourly\tSummingMergeTree\nrequests_hourly_mv\tMaterializedView" {
		t.Fatalf("tables:\n%s", engines)
	}
	at := time.Now().UTC()
	if err := s.Write(ctx, batch(0, 500, at)); err != nil {
		t.Fatal(err)
	}
	// The batch reaches the MergeTree table when the buffer flushes, and
	// queries see it then.
	within(t, 10*time.Second, "the buffer flushes", func() bool { return count(t, srv, "portico.requests") == 500 })
	rows, err := s.Query(ctx, portico.AnalyticsQuery{From: at.Add(-time.Minute), To: at.Add(time.Minute)})
	if err != nil || len(rows) != 1 || rows[0].Requests != 500 {
		t.Fatalf("query after flush: %+v, %v", rows, err)
	}
	// A clean shutdown flushes what is buffered.
	if err := s.Write(ctx, batch(500, 300, at)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	srv.Start()
	if n := count(t, srv, "portico.requests"); n != 800 {
		t.Fatalf("after a restart the table has %d records, want 800", n)
	}
	// The hourly rollup took them too, as the buffer flushed.
	if n := srv.Query(t, "SELECT sum(requests) FROM portico.requests_hourly WHERE dim = 'node'"); n != "800" {
		t.Fatalf("the rollup counts %s records, want 800", n)
	}
}

func TestConformance(t *testing.T) {
	srv := clickhousetest.StartWith(t, clickhousetest.Options{Timezone: "America/St_Johns"})
	analyticstest.Run(t, open(t, clickhouse.Config{Addrs: []string{srv.Addr()}}))
}

func TestConformanceCluster(t *testing.T) {
	servers := clickhousetest.StartCluster(t, 2, "conformance")
	analyticstest.Run(t, open(t, clickhouse.Config{
		Addrs:   []string{servers[0].Addr(), servers[1].Addr()},
		Cluster: "conformance",
	}))
}

func TestOpenWithAddressesDown(t *testing.T) {
	a, b := clickhousetest.Start(t), clickhousetest.Start(t)
	b.Stop()
	ctx := context.Background()
	// One address down: Open succeeds and the batches go to the other.
	s := open(t, clickhouse.Config{Addrs: []string{a.Addr(), b.Addr()}, DownFor: time.Minute})
	for i := range 4 {
		if err := s.Write(ctx, batch(i*10, 10, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, a, "portico.requests"); n != 40 {
		t.Fatalf("a has %d, want 40", n)
	}

	// Every address down: Open fails, but the store prepares the address
	// once it is back and writes there.
	only, err := clickhouse.New(clickhouse.Config{Addrs: []string{b.Addr()}, DownFor: 100 * time.Millisecond, RetentionDays: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	if err := only.Open(ctx); portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("Open with every address down: %v, want EUnavailable", err)
	}
	b.Start()
	within(t, 10*time.Second, "a write succeeds once b is back", func() bool {
		return only.Write(ctx, batch(0, 10, time.Now())) == nil
	})
	if n := count(t, b, "portico.requests"); n != 10 {
		t.Fatalf("b has %d, want 10", n)
	}
}
