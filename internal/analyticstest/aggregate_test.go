package analyticstest

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// rec returns a record at t0+offset with the given status and latency in
// microseconds.
func rec(offset time.Duration, status int, us int64) portico.Record {
	return portico.Record{
		Time: t0.Add(offset), API: "weather", Status: status,
		Latency: time.Duration(us) * time.Microsecond, RequestBytes: 10, ResponseBytes: 100,
	}
}

func everything() portico.AnalyticsQuery {
	return portico.AnalyticsQuery{From: t0.Add(-1000 * time.Hour), To: t0.Add(1000 * time.Hour)}
}

func TestAggregatePercentiles(t *testing.T) {
	ms := func(v ...int64) []int64 {
		for i := range v {
			v[i] *= 1000
		}
		return v
	}
	oneTo := func(n int64) []int64 {
		var v []int64
		for i := range n {
			v = append(v, i+1)
		}
		return v
	}
	for _, c := range []struct {
		name          string
		us            []int64
		p50, p95, p99 float64
	}{
		{"1..100ms", ms(oneTo(100)...), 50, 95, 99},
		{"1..100us", oneTo(100), 0.05, 0.095, 0.099},
		{"n=1", []int64{1234}, 1.234, 1.234, 1.234},
		{"n=2", []int64{7, 3}, 0.003, 0.007, 0.007},
		{"ties", []int64{5, 7, 5, 5}, 0.005, 0.007, 0.007},
		{"all equal", []int64{9, 9, 9, 9, 9, 9}, 0.009, 0.009, 0.009},
		{"n=10", ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 50, 100, 100},
		{"n=20", ms(oneTo(20)...), 10, 19, 20},
		{"n=200", oneTo(200), 0.1, 0.19, 0.198},
		{"zero", []int64{0, 0, 1}, 0, 0.001, 0.001},
	} {
		t.Run(c.name, func(t *testing.T) {
			var records []portico.Record
			for i, j := range rand.New(rand.NewPCG(1, 1)).Perm(len(c.us)) {
				records = append(records, rec(time.Duration(i)*time.Second, 200, c.us[j]))
			}
			rows := Aggregate(records, everything())
			if len(rows) != 1 {
				t.Fatalf("got %d rows, want 1", len(rows))
			}
			r := rows[0]
			if r.LatencyP50 != c.p50 || r.LatencyP95 != c.p95 || r.LatencyP99 != c.p99 {
				t.Errorf("p50, p95, p99 = %v, %v, %v; want %v, %v, %v",
					r.LatencyP50, r.LatencyP95, r.LatencyP99, c.p50, c.p95, c.p99)
			}
			if r.Requests != int64(len(c.us)) {
				t.Errorf("requests = %d, want %d", r.Requests, len(c.us))
			}
		})
	}
}

// TestNearestRankIsExact checks the integer rank against its definition:
// the smallest rank k with k >= p × n, that is 100 k >= pct × n.
func TestNearestRankIsExact(t *testing.T) {
	for n := 1; n <= 2000; n++ {
		sorted := make([]int64, n)
		for i := range sorted {
			sorted[i] = int64(i + 1) // the value is its rank
		}
		for _, pct := range []int{1, 50, 95, 99, 100} {
			got := nearestRank(sorted, pct)
			if 100*got < int64(pct*n) || 100*(got-1) >= int64(pct*n) {
				t.Fatalf("n=%d pct=%d: rank %d is not ceil(%d × %d / 100)", n, pct, got, pct, n)
			}
		}
	}
}

func TestAggregateCounts(t *testing.T) {
	records := []portico.Record{
		rec(0, 200, 1), rec(1, 399, 1), rec(2, 400, 1), rec(3, 404, 1), rec(4, 500, 1),
	}
	records[0].RequestBytes, records[0].ResponseBytes = 1<<40, 1<<41
	rows := Aggregate(records, everything())
	want := []portico.AnalyticsRow{{
		Requests: 5, Errors: 3, ErrorRate: 0.6,
		LatencyP50: 0.001, LatencyP95: 0.001, LatencyP99: 0.001,
		RequestBytes: 1<<40 + 40, ResponseBytes: 1<<41 + 400,
	}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("got %+v\nwant %+v", rows, want)
	}
}

func TestAggregateRangeAndFilters(t *testing.T) {
	a := rec(0, 200, 1)
	b := rec(time.Minute, 404, 1)
	b.API, b.Resource = "", ""
	c := rec(2*time.Minute, 200, 1)
	c.Resource = `/o'brien\"`
	records := []portico.Record{a, b, c}
	count := func(q portico.AnalyticsQuery) int64 {
		rows := Aggregate(records, q)
		if len(rows) == 0 {
			return 0
		}
		return rows[0].Requests
	}
	for _, c := range []struct {
		name     string
		from, to time.Duration
		filters  map[string]string
		want     int64
	}{
		{"From is in", 0, time.Minute, nil, 1},
		{"To is out", 0, 2 * time.Minute, nil, 2},
		{"a nanosecond after", time.Nanosecond, 2*time.Minute + time.Nanosecond, nil, 2},
		{"empty range", time.Minute, time.Minute, nil, 0},
		{"inverted range", 3 * time.Minute, 0, nil, 0},
		{"status", 0, time.Hour, map[string]string{portico.DimStatus: "404"}, 1},
		{"status with a leading zero", 0, time.Hour, map[string]string{portico.DimStatus: "0404"}, 0},
		{"empty API", 0, time.Hour, map[string]string{portico.DimAPI: ""}, 1},
		{"empty resource", 0, time.Hour, map[string]string{portico.DimResource: ""}, 2},
		{"awkward resource", 0, time.Hour, map[string]string{portico.DimResource: `/o'brien\"`}, 1},
		{"two filters", 0, time.Hour, map[string]string{portico.DimAPI: "weather", portico.DimStatus: "200"}, 2},
		{"two filters, one misses", 0, time.Hour, map[string]string{portico.DimAPI: "weather", portico.DimStatus: "404"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := portico.AnalyticsQuery{From: t0.Add(c.from), To: t0.Add(c.to), Filters: c.filters}
			if got := count(q); got != c.want {
				t.Errorf("got %d requests, want %d", got, c.want)
			}
		})
	}
}

func TestAggregateBucketsAndGroups(t *testing.T) {
	at := func(s string, status int, api string) portico.Record {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return portico.Record{Time: tm, Status: status, API: api, Latency: time.Millisecond}
	}
	records := []portico.Record{
		at("2026-01-01T00:59:59.999999Z", 200, "b"),
		at("2026-01-01T01:00:00Z", 500, "a"),
		at("2026-01-01T01:00:00.000001Z", 200, "b"),
		at("2026-01-02T00:00:00Z", 200, "a"),
		at("1969-12-31T23:59:30Z", 200, "a"), // floors down, not towards zero
	}
	from := time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	type cell struct {
		bucket   string
		group    string
		requests int64
	}
	for _, c := range []struct {
		bucket portico.Period
		group  string
		want   []cell
	}{
		{portico.Hour, "", []cell{
			{"1969-12-31T23:00:00Z", "", 1}, {"2026-01-01T00:00:00Z", "", 1},
			{"2026-01-01T01:00:00Z", "", 2}, {"2026-01-02T00:00:00Z", "", 1}}},
		{portico.Minute, "", []cell{
			{"1969-12-31T23:59:00Z", "", 1}, {"2026-01-01T00:59:00Z", "", 1},
			{"2026-01-01T01:00:00Z", "", 2}, {"2026-01-02T00:00:00Z", "", 1}}},
		{portico.Day, portico.DimAPI, []cell{
			{"1969-12-31T00:00:00Z", "a", 1}, {"2026-01-01T00:00:00Z", "a", 1},
			{"2026-01-01T00:00:00Z", "b", 2}, {"2026-01-02T00:00:00Z", "a", 1}}},
		{"", portico.DimStatus, []cell{{"", "200", 4}, {"", "500", 1}}},
		{"", portico.DimAPI, []cell{{"", "a", 3}, {"", "b", 2}}},
		{"", "", []cell{{"", "", 5}}},
	} {
		t.Run(string(c.bucket)+"_"+c.group, func(t *testing.T) {
			rows := Aggregate(records, portico.AnalyticsQuery{From: from, To: to, Bucket: c.bucket, GroupBy: c.group})
			var got []cell
			for _, r := range rows {
				b := ""
				if !r.Bucket.IsZero() {
					if r.Bucket.Location() != time.UTC {
						t.Errorf("bucket %v is not in UTC", r.Bucket)
					}
					b = r.Bucket.Format(time.RFC3339Nano)
				}
				got = append(got, cell{b, r.Group, r.Requests})
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestAggregateTopGroups(t *testing.T) {
	at := func(min int, api string, us int64) portico.Record {
		r := rec(time.Duration(min)*time.Minute, 200, us)
		r.API = api
		return r
	}
	// c has the most requests; a and b tie, a wins by name; d has fewest.
	// In the first hour b leads, so the rank is over the whole range.
	records := []portico.Record{
		at(0, "b", 1), at(1, "b", 2), at(2, "d", 3), at(3, "c", 4),
		at(60, "c", 5), at(61, "c", 6), at(62, "a", 7), at(63, "a", 8),
	}
	type cell struct {
		hour     int
		group    string
		requests int64
	}
	for _, c := range []struct {
		name   string
		bucket portico.Period
		limit  int
		want   []cell
	}{
		{"all by value", "", 0, []cell{{0, "a", 2}, {0, "b", 2}, {0, "c", 3}, {0, "d", 1}}},
		{"top 1", "", 1, []cell{{0, "c", 3}}},
		{"top 2, tie by name", "", 2, []cell{{0, "c", 3}, {0, "a", 2}}},
		{"top 3", "", 3, []cell{{0, "c", 3}, {0, "a", 2}, {0, "b", 2}}},
		{"top 10 of 4", "", 10, []cell{{0, "c", 3}, {0, "a", 2}, {0, "b", 2}, {0, "d", 1}}},
		{"hours, top 2", portico.Hour, 2, []cell{{0, "c", 1}, {1, "c", 2}, {1, "a", 2}}},
		{"hours, top 3", portico.Hour, 3, []cell{{0, "c", 1}, {0, "b", 2}, {1, "c", 2}, {1, "a", 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := everything()
			q.Bucket, q.GroupBy, q.Limit = c.bucket, portico.DimAPI, c.limit
			var got []cell
			for _, r := range Aggregate(records, q) {
				h := 0
				if !r.Bucket.IsZero() {
					h = int(r.Bucket.Sub(t0).Hours())
				}
				got = append(got, cell{h, r.Group, r.Requests})
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
	// Without a group the limit does nothing.
	q := everything()
	q.Limit = 1
	if rows := Aggregate(records, q); len(rows) != 1 || rows[0].Requests != 8 {
		t.Errorf("Limit without GroupBy: %+v", rows)
	}
}

func TestAggregateNoLatency(t *testing.T) {
	records := []portico.Record{rec(0, 200, 1000), rec(1, 500, 3000)}
	q := everything()
	q.NoLatency = true
	want := []portico.AnalyticsRow{{Requests: 2, Errors: 1, ErrorRate: 0.5, RequestBytes: 20, ResponseBytes: 200}}
	if rows := Aggregate(records, q); !reflect.DeepEqual(rows, want) {
		t.Errorf("got %+v\nwant %+v", rows, want)
	}
}

func TestAggregateNoRecords(t *testing.T) {
	for _, q := range []portico.AnalyticsQuery{
		everything(),
		{From: t0, To: t0.Add(time.Hour), Bucket: portico.Hour, GroupBy: portico.DimAPI},
	} {
		rows := Aggregate(nil, q)
		if rows == nil || len(rows) != 0 {
			t.Errorf("Aggregate(nil, %s) = %#v, want an empty slice", Name(q), rows)
		}
	}
}

func TestAggregatePanicsOnUnknownNames(t *testing.T) {
	for _, q := range []portico.AnalyticsQuery{
		{Bucket: portico.Week},
		{GroupBy: "colour"},
		{Filters: map[string]string{"colour": "red"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Aggregate(%s) did not panic", Name(q))
				}
			}()
			Aggregate(nil, q)
		}()
	}
}

func TestRecords(t *testing.T) {
	a, b := Records(), Records()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Records is not deterministic")
	}
	if len(a) < 2000 {
		t.Fatalf("%d records, want at least 2000", len(a))
	}
	ids := make(map[string]bool)
	var awkward int
	for _, r := range a {
		if r.Time.Location() != time.UTC || r.Time.Nanosecond()%1000 != 0 {
			t.Fatalf("record %s: time %v is not UTC in whole microseconds", r.RequestID, r.Time)
		}
		if r.Time.Before(start) || !r.Time.Before(end) {
			t.Fatalf("record %s: time %v outside [%v, %v)", r.RequestID, r.Time, start, end)
		}
		if r.Latency%time.Microsecond != 0 || r.UpstreamLatency%time.Microsecond != 0 {
			t.Fatalf("record %s: latencies %v, %v not whole microseconds", r.RequestID, r.Latency, r.UpstreamLatency)
		}
		if ids[r.RequestID] {
			t.Fatalf("request ID %s twice", r.RequestID)
		}
		ids[r.RequestID] = true
		if strings.ContainsAny(r.API+r.Resource+r.Application+r.Subscriber, `"'\`) {
			awkward++
		}
	}
	if awkward < 100 {
		t.Errorf("only %d records with awkward strings", awkward)
	}
	if g := Generate(100); !reflect.DeepEqual(g, Generate(100)) || len(g) != 100 {
		t.Error("Generate is not deterministic")
	}
}

// TestQueries checks that the queries are valid, distinct and mostly find
// something, and that the edge queries find exactly the edge records.
func TestQueries(t *testing.T) {
	records := Records()
	names := make(map[string]bool)
	var empty int
	for _, q := range Queries() {
		n := Name(q)
		if names[n] {
			t.Errorf("query %s twice", n)
		}
		names[n] = true
		rows := Aggregate(records, q)
		if len(rows) == 0 {
			empty++
		}
		if q.Bucket != "" || q.GroupBy != "" {
			continue
		}
		if len(rows) > 1 {
			t.Errorf("query %s: %d rows without bucket and group", n, len(rows))
		}
	}
	if empty > 20 {
		t.Errorf("%d queries find nothing", empty)
	}

	// Top lists must be checked where the order by requests alone does not
	// decide: two groups with as many requests on both sides of the cut.
	var tiedAtCut, bucketedTops, noLatency int
	for _, q := range Queries() {
		if q.NoLatency {
			noLatency++
		}
		if q.GroupBy == "" || q.Limit == 0 {
			continue
		}
		if q.Bucket != "" {
			bucketedTops++
		}
		all := q
		all.Limit, all.Bucket = 0, ""
		totals := Aggregate(records, all)
		slices.SortFunc(totals, func(a, b portico.AnalyticsRow) int { return cmp.Compare(b.Requests, a.Requests) })
		if q.Limit < len(totals) && totals[q.Limit-1].Requests == totals[q.Limit].Requests {
			tiedAtCut++
		}
	}
	if tiedAtCut < 2 || bucketedTops < 2 || noLatency < 3 {
		t.Errorf("queries with a tie at the cut of a top list: %d, top lists with buckets: %d, without latency: %d; want at least 2, 2 and 3",
			tiedAtCut, bucketedTops, noLatency)
	}

	tie := edges[len(edges)-1]
	for _, c := range []struct {
		from, to time.Time
		want     int64
	}{
		{start, start.Add(time.Microsecond), 1},
		{end.Add(-time.Microsecond), end, 1},
		{tie, tie.Add(time.Microsecond), 3},
		{start.Add(9 * time.Hour), start.Add(9*time.Hour + time.Microsecond), 1},
	} {
		rows := Aggregate(records, portico.AnalyticsQuery{From: c.from, To: c.to})
		if len(rows) != 1 || rows[0].Requests != c.want {
			t.Errorf("[%v, %v): %+v, want %d requests", c.from, c.to, rows, c.want)
		}
	}
}

func TestDiff(t *testing.T) {
	row := portico.AnalyticsRow{Bucket: t0, Group: "a", Requests: 1, LatencyP50: 1}
	if d := diff([]portico.AnalyticsRow{row}, []portico.AnalyticsRow{row}); d != "" {
		t.Errorf("equal rows differ:\n%s", d)
	}
	if d := diff(nil, []portico.AnalyticsRow{}); d != "" {
		t.Errorf("nil and empty differ:\n%s", d)
	}
	other := row
	other.LatencyP99 = 0.001
	local := row
	local.Bucket = row.Bucket.In(time.FixedZone("X", 3600))
	for _, got := range [][]portico.AnalyticsRow{{other}, {local}, {row, row}, nil} {
		if d := diff([]portico.AnalyticsRow{row}, got); d == "" {
			t.Errorf("%+v and %+v do not differ", row, got)
		}
	}
}
