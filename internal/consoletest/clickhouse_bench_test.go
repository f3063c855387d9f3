package consoletest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	adminapi "github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/clickhouse"
	"github.com/portico-gw/portico/console"
	"github.com/portico-gw/portico/internal/clickhousetest"
	"github.com/portico-gw/portico/internal/consoletest"
)

// chRecords is how many records BenchmarkDashboardClickHouse10M loads, all
// of one API, spread evenly over the last week.
const chRecords = 10_000_000

// chAPI is the name of that API.
const chAPI = "ch-api"

// chDashboardGoal is the most server time the dashboard of an API with
// 10 M records may take.
const chDashboardGoal = time.Second

// BenchmarkDashboardClickHouse10M measures the console's dashboard of one
// API with 10 million records in a real clickhouse-server, over the last
// week and the last day, as an admin and as the API's publisher, and logs
// the time of each of the dashboard's queries. The records are made by
// the server (INSERT … SELECT FROM numbers(), in the store's table, made
// by the store), a million at a time. It takes minutes, so it runs only
// with PORTICO_CH_10M=1:
//
//	PORTICO_CH_10M=1 go test ./console -run '^$' -bench DashboardClickHouse10M -benchtime 3x -timeout 30m
func BenchmarkDashboardClickHouse10M(b *testing.B) {
	if os.Getenv("PORTICO_CH_10M") != "1" {
		b.Skip("set PORTICO_CH_10M=1 to load 10 M records into a clickhouse-server and measure the dashboard")
	}
	ctx := context.Background()
	srv := clickhousetest.Start(b)
	ch, err := clickhouse.New(clickhouse.Config{Addrs: []string{srv.Addr()}, RetentionDays: -1, Timeout: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ch.Close() })
	if err := ch.Open(ctx); err != nil { // creates the table
		b.Fatal(err)
	}
	c := consoletest.New(b, func(a *adminapi.Server, _ *console.Server) { a.Analytics = ch })
	st, body := c.API(b, "admin", consoletest.AdminPassword, "POST", "/users",
		`{"username":"publisher","password":"`+consoletest.PublisherPassword+`","roles":["publisher"]}`)
	var pub portico.User
	if st != http.StatusCreated || json.Unmarshal([]byte(body), &pub) != nil {
		b.Fatalf("creating the publisher: %d %s", st, body)
	}

	now := time.Now().UTC()
	start := time.Now()
	const step = 1_000_000
	for from := 0; from < chRecords; from += step {
		srv.Query(b, chInsert(now, pub.ID, from, min(step, chRecords-from)))
	}
	if n := srv.Query(b, "SELECT count() FROM portico.requests WHERE api = '"+chAPI+"'"); n != fmt.Sprint(chRecords) {
		b.Fatalf("loaded %s records, want %d", n, chRecords)
	}
	// Merge the parts now, as ClickHouse does within minutes of the
	// inserts: otherwise its background merges share the two cores with
	// the first pages measured, and admin and publisher would not be
	// measured alike.
	srv.Query(b, "OPTIMIZE TABLE portico.requests FINAL")
	b.Logf("loaded %d records of API %s in %v; %s parts after OPTIMIZE FINAL", chRecords, chAPI, time.Since(start).Round(time.Millisecond),
		srv.Query(b, "SELECT count() FROM system.parts WHERE database = 'portico' AND table = 'requests' AND active"))

	// The dashboard's queries one by one over the last week, as an admin
	// (no publisher filter) and as the API's publisher.
	week := portico.AnalyticsQuery{From: now.Add(-7 * 24 * time.Hour).Truncate(time.Minute), To: now.Add(time.Minute),
		Filters: map[string]string{portico.DimAPI: chAPI}}
	for _, q := range []struct {
		name string
		q    func(portico.AnalyticsQuery) portico.AnalyticsQuery
	}{
		{"totals", func(q portico.AnalyticsQuery) portico.AnalyticsQuery { return q }},
		{"series by hour", func(q portico.AnalyticsQuery) portico.AnalyticsQuery { q.Bucket = portico.Hour; return q }},
		{"group by api", func(q portico.AnalyticsQuery) portico.AnalyticsQuery { q.GroupBy = portico.DimAPI; return q }},
		{"group by application", func(q portico.AnalyticsQuery) portico.AnalyticsQuery {
			q.GroupBy = portico.DimApplication
			return q
		}},
		{"group by status", func(q portico.AnalyticsQuery) portico.AnalyticsQuery { q.GroupBy = portico.DimStatus; return q }},
		{"group by resource", func(q portico.AnalyticsQuery) portico.AnalyticsQuery { q.GroupBy = portico.DimResource; return q }},
		{"group by node", func(q portico.AnalyticsQuery) portico.AnalyticsQuery { q.GroupBy = portico.DimNode; return q }},
	} {
		for _, who := range []string{"admin", "publisher"} {
			wq := q.q(week)
			if who == "publisher" {
				// As the admin API scopes a publisher's queries.
				wq.Filters = map[string]string{portico.DimAPI: chAPI, portico.DimPublisher: pub.ID}
			}
			t0 := time.Now()
			rows, err := ch.Query(ctx, wq)
			if err != nil {
				b.Fatalf("%s: %v", q.name, err)
			}
			b.Logf("query %s over the week as %s: %v, %d rows", q.name, who, time.Since(t0).Round(time.Millisecond), len(rows))
		}
	}

	cookies := map[string]*http.Cookie{
		"admin":     c.SessionCookie(b, "admin", consoletest.AdminPassword),
		"publisher": c.SessionCookie(b, "publisher", consoletest.PublisherPassword),
	}
	for _, who := range []string{"admin", "publisher"} {
		for _, rg := range []string{"week", "day"} {
			path := "/console/dashboard?range=" + rg + "&api=" + chAPI
			b.Run(who+"/"+rg, func(b *testing.B) {
				get := func() *httptest.ResponseRecorder {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					req.AddCookie(cookies[who])
					w := httptest.NewRecorder()
					c.Console.ServeHTTP(w, req)
					return w
				}
				if w := get(); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Top applications") {
					b.Fatalf("GET %s as %s: %d, want 200 with the charts:\n%s", path, who, w.Code, mainOf(w.Body.String()))
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if w := get(); w.Code != http.StatusOK {
						b.Fatalf("GET %s as %s: %d", path, who, w.Code)
					}
				}
				ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
				b.ReportMetric(ms, "ms/page")
				b.Logf("dashboard of %s (%d records) over the last %s as %s: %.0f ms (goal %d ms)",
					chAPI, chRecords, rg, who, ms, chDashboardGoal.Milliseconds())
			})
		}
	}
}

// chInsert returns the INSERT that makes records from to from+n of API
// chAPI on the server, in the columns of the store's table (see
// clickhouse/schema.go): record i arrives i × 7 days / chRecords before
// now, with 10,000 applications of 1,000 subscribers, a mix of statuses,
// resources, methods and nodes, and latencies up to half a second.
func chInsert(now time.Time, publisher string, from, n int) string {
	const week = 7 * 24 * 3600
	return fmt.Sprintf(`INSERT INTO portico.requests
  (time, time_us, request_id, api, api_version, api_id, publisher, subscriber, application, plan, resource, method,
   status, error_code, request_bytes, response_bytes, request_type, response_type, latency_us, upstream_latency_us,
   client_ip, node)
SELECT
  toDateTime(%d - intDiv(number * %d, %d)), number %% 1000000, concat('req', toString(number)),
  '%s', 'v1', 'chapi', '%s', concat('sub', toString(number %% 1000)), concat('app', toString(number %% 10000)), 'plan',
  arrayElement(['', '/items', '/items/{id}', 'POST /orders', '/search'], number %% 5 + 1),
  arrayElement(['GET', 'GET', 'GET', 'POST', 'PUT'], number %% 5 + 1),
  arrayElement([200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 429, 500, 502], number %% 14 + 1),
  '', 100 + number %% 900, 500 + number %% 9000, 'application/json', 'application/json',
  137 + (number * 7919) %% 500000, 100 + (number * 7919) %% 400000, '192.0.2.1', concat('node-', toString(number %% 3))
FROM numbers(%d, %d)`, now.Unix()-1, week, chRecords, chAPI, publisher, from, n)
}

// mainOf returns the start of the main part of a page, for a failure.
func mainOf(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	return body[:min(len(body), 2000)]
}
