package clickhouse

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// dimColumns maps the dimensions of portico.AnalyticsQuery to columns.
// Only names in this fixed list ever reach SQL as identifiers.
var dimColumns = map[string]string{
	portico.DimAPI:         "api",
	portico.DimVersion:     "api_version",
	portico.DimApplication: "application",
	portico.DimSubscriber:  "subscriber",
	portico.DimPublisher:   "publisher",
	portico.DimPlan:        "plan",
	portico.DimStatus:      "status",
	portico.DimMethod:      "method",
	portico.DimResource:    "resource",
	portico.DimNode:        "node",
}

// bucketSeconds maps the buckets of portico.AnalyticsQuery to their
// length. UTC minutes, hours and days all start at multiples of their
// length since the Unix epoch, so intDiv(time, n) * n is the bucket in
// UTC whatever the server's time zone.
var bucketSeconds = map[portico.Period]int{
	portico.Minute: 60,
	portico.Hour:   3600,
	portico.Day:    86400,
}

// queryParams are the URL parameters of every query: the status code
// tells whether the query succeeded (the server answers only once the
// query has finished).
const queryParams = "wait_end_of_query=1"

// Query implements portico.AnalyticsQuerier: it selects the records in
// [q.From, q.To) that match every filter and aggregates them into one row,
// one row per bucket, per group, or per bucket and group, ordered by
// bucket then group (group values compared as bytes). Buckets are UTC
// minutes, hours or days that have records. Errors count statuses of 400
// and more. Latency percentiles are exact nearest-rank: the latency at
// rank ceil(p × n) of the sorted latencies, computed in ClickHouse from
// the microsecond column (see percentileLevels) and returned in
// milliseconds; with q.NoLatency they are 0 and not computed, with
// q.NoBytes the byte counts. A query that matches nothing returns an empty
// slice. q.Totals is the same query WITH TOTALS (one scan), except for the
// top groups by bucket below, whose total takes a query of its own.
//
// With q.GroupBy and q.Limit, ClickHouse keeps the top groups: without a
// bucket by ORDER BY count DESC, group LIMIT n; with one, the rows of the
// groups that a subquery of the same range and filters ranks first (GLOBAL
// IN, with Cluster), ordered by bucket and then by that rank, which Go
// takes from the rows (a group's rows hold all its requests).
//
// Dimensions come from a fixed list and filter values are always quoted
// string literals (or a checked number for status), so no input reaches
// SQL unescaped. An unknown bucket, group or filter dimension is an
// EInvalid error; grouping by publisher is not offered (it is a filter
// for role scoping). A status filter that is not the decimal text of a
// status code matches nothing. The query runs on one address (round
// robin, failing over as Write does); with Cluster it reads the
// Distributed table and so every shard.
func (s *Store) Query(ctx context.Context, q portico.AnalyticsQuery) ([]portico.AnalyticsRow, error) {
	sql, ok, err := s.buildQuery(q)
	if err != nil {
		return nil, err
	}

	rows := []portico.AnalyticsRow{}
	if !ok {
		return rows, nil
	}
	var out []byte
	err = s.try(ctx, false, func(ep *endpoint) error {
		sql := sql
		// After the address is prepared: the rollup's mark is known.
		if rsql, ok := s.rollupQuery(q); ok {
			sql = rsql
		}
		var err error
		out, err = s.do(ctx, ep, queryParams, []byte(sql))
		return err
	})
	if err != nil {
		return nil, err
	}
	rows, err = parseRows(out, q.Bucket != "", q.GroupBy != "")
	if err != nil {
		return nil, err
	}
	if q.GroupBy != "" && q.Limit > 0 && q.Bucket != "" {
		rankRows(rows)
		if q.Totals && len(rows) > 0 {
			// The rows are those of the top groups only (the IN
			// condition), so the total is a query of its own.
			all := q
			all.Bucket, all.GroupBy, all.Limit, all.Totals = "", "", 0, false
			t, err := s.Query(ctx, all)
			if err != nil {
				return nil, err
			}
			for _, r := range t {
				r.Total = true
				rows = append(rows, r)
			}
		}
	}
	return rows, nil
}

// rankRows orders rows by bucket, then by the rank of their group: most
// requests over all rows first, ties by group value.
func rankRows(rows []portico.AnalyticsRow) {
	totals := make(map[string]int64)
	for _, r := range rows {
		totals[r.Group] += r.Requests
	}
	slices.SortStableFunc(rows, func(a, b portico.AnalyticsRow) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(totals[b.Group], totals[a.Group]), cmp.Compare(a.Group, b.Group))
	})
}

// percentileLevels are the levels at which quantilesExact picks the
// nearest-rank 50th, 95th and 99th percentiles: each is p − 1e-12.
//
// quantilesExact collects the n values of a group and, for a level below
// 1, returns the element at 0-based index ⌊fl(fl(level) × n)⌋ after
// std::nth_element (ClickHouse 18.16's QuantileExact: the float64 product
// converted to size_t; fl is rounding to float64, exact for n < 2^53). The nearest rank
// is ceil(p × n) (1-based), index r = ceil(p × n) − 1. Let p = k/100 with
// k in {50, 95, 99}, ε = 1e-12, n ≤ 1e9, u = 2^-53 (unit roundoff).
// fl(level) = p − ε + δ with |δ| ≤ u, and the product is
// x = (p·n − ε·n + δ·n)(1 + ρ) with |ρ| ≤ u, so
// |x − (p·n − ε·n)| ≤ n·u + p·n·u ≤ 2·n·u ≤ 2.3e-7.
//   - If p·n is a whole number m, r = m − 1, and
//     x ≤ m − ε·n + 2·n·u = m − n·(1e-12 − 2.3e-16) < m, and
//     x ≥ m − ε·n − 2·n·u ≥ m − 1e-3 − 2.3e-7 > m − 1: ⌊x⌋ = m − 1 = r.
//   - Otherwise p·n = r + f with f = (k·n mod 100)/100 in [0.01, 0.99],
//     and x ≥ r + 0.01 − 1e-3 − 2.3e-7 > r, x ≤ r + 0.99 + 2.3e-7 < r + 1:
//     ⌊x⌋ = r.
//
// So the answer is the reference's nearest rank for every group of up to
// a billion records (TestPercentileLevels checks it on a real server for
// many n, whole p·n among them). quantilesExact runs nth_element, linear
// in n, where sorting the whole array (arraySort(groupArray(…))) took
// 5–8 s a query for 10 M records, 0.7 s with quantilesExact
// (BenchmarkDashboardClickHouse10M in internal/consoletest).
const percentileLevels = "0.499999999999, 0.949999999999, 0.989999999999"

// buildQuery returns the SELECT for q; ok is false when q can match no
// record (then no query is needed).
func (s *Store) buildQuery(q portico.AnalyticsQuery) (sql string, ok bool, err error) {
	var sel, keys []string
	if q.Bucket != "" {
		n, found := bucketSeconds[q.Bucket]
		if !found {
			return "", false, portico.FieldErrorf(portico.EInvalid, "bucket", "unknown bucket %q: use minute, hour or day", q.Bucket)
		}
		sel = append(sel, fmt.Sprintf("intDiv(toUInt32(time), %d) * %d AS _b", n, n))
		keys = append(keys, "_b")
	}
	if q.GroupBy != "" {
		col, found := dimColumns[q.GroupBy]
		if !found || q.GroupBy == portico.DimPublisher {
			return "", false, portico.FieldErrorf(portico.EInvalid, "group_by", "cannot group by %q", q.GroupBy)
		}
		if col == "status" {
			col = "toString(status)"
		}
		// The group goes out hex-encoded (no text escaping to undo) and is
		// ordered by its bytes.
		sel = append(sel, "hex("+col+") AS _g")
		keys = append(keys, col)
	}
	sel = append(sel, "count() AS _n", "countIf(status >= 400) AS _e")
	if q.NoBytes {
		sel = append(sel, "0, 0")
	} else {
		sel = append(sel, "sum(request_bytes) AS _rq", "sum(response_bytes) AS _rs")
	}
	if q.NoLatency {
		sel = append(sel, "0, 0, 0")
	} else {
		sel = append(sel, "arrayElement(quantilesExact("+percentileLevels+")(latency_us) AS _q, 1)", "_q[2]", "_q[3]")
	}

	where, ok, err := whereClause(q)
	if err != nil || !ok {
		return "", ok, err
	}
	from := s.db + "." + s.table
	top := q.GroupBy != "" && q.Limit > 0
	if top && q.Bucket != "" {
		// The rows of the groups with the most requests in the range.
		in := " IN "
		if s.queryName != s.localName {
			in = " GLOBAL IN " // run once, on this node, not again per shard
		}
		col := keys[len(keys)-1]
		where = append(where, fmt.Sprintf("%s%s(SELECT %s FROM %s WHERE %s GROUP BY %s ORDER BY count() DESC, %s LIMIT %d)",
			col, in, col, from, strings.Join(where, " AND "), col, col, q.Limit))
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(sel, ", "))
	b.WriteString("\nFROM " + from)
	b.WriteString("\nWHERE " + strings.Join(where, "\n  AND "))
	if len(keys) > 0 {
		b.WriteString("\nGROUP BY " + strings.Join(keys, ", "))
		if q.Totals && !(top && q.Bucket != "") {
			// The totals row comes after the others, past an empty line.
			b.WriteString(" WITH TOTALS")
		}
		if top && q.Bucket == "" {
			fmt.Fprintf(&b, "\nORDER BY _n DESC, %s LIMIT %d", keys[0], q.Limit)
		} else {
			b.WriteString("\nORDER BY " + strings.Join(keys, ", "))
		}
	}
	b.WriteString("\nFORMAT TabSeparated")
	return b.String(), true, nil
}

// whereClause returns the conditions of q's time range and filters, in a
// stable order; ok is false when no record can match.
func whereClause(q portico.AnalyticsQuery) (conds []string, ok bool, err error) {
	from, to := clampMicro(q.From), clampMicro(q.To)
	if to <= from {
		return nil, false, nil
	}
	// The whole-second bounds let ClickHouse skip partitions and index
	// ranges; the microsecond conditions make the range exact, and are
	// left out for a bound on a whole second (the console's ranges start
	// and end on whole minutes), where the seconds alone are exact: they
	// cost a comparison of every record.
	first, last := from/1_000_000, (to-1)/1_000_000
	conds = append(conds,
		fmt.Sprintf("time >= toDateTime(%d)", first),
		fmt.Sprintf("time <= toDateTime(%d)", last),
	)
	if us := from % 1_000_000; us != 0 {
		conds = append(conds, fmt.Sprintf("(time != toDateTime(%d) OR time_us >= %d)", first, us))
	}
	if us := (to - 1) % 1_000_000; us != 999_999 {
		conds = append(conds, fmt.Sprintf("(time != toDateTime(%d) OR time_us <= %d)", last, us))
	}
	dims := make([]string, 0, len(q.Filters))
	for d := range q.Filters {
		dims = append(dims, d)
	}
	slices.Sort(dims)
	for _, d := range dims {
		v := q.Filters[d]
		col, found := dimColumns[d]
		if !found {
			return nil, false, portico.FieldErrorf(portico.EInvalid, "filters", "unknown filter dimension %q", d)
		}
		if col == "status" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > math.MaxUint16 || strconv.Itoa(n) != v {
				return nil, false, nil // no stored status reads as v
			}
			conds = append(conds, "status = "+strconv.Itoa(n))
			continue
		}
		conds = append(conds, col+" = "+quoteString(v))
	}
	return conds, true, nil
}

// maxMicro is the end of the range a DateTime column holds, in
// microseconds since the epoch.
const maxMicro = (maxDateTime + 1) * 1_000_000

// clampMicro returns t in microseconds since the epoch, rounded up and
// clamped to [0, maxMicro]. Stored times are whole microseconds, so a
// stored time s is at or after t exactly when s >= clampMicro(t): both
// ends of [From, To) are exact for bounds between microseconds too.
func clampMicro(t time.Time) int64 {
	switch {
	case !t.After(time.Unix(0, 0)):
		return 0
	case !t.Before(time.Unix(maxDateTime+1, 0)):
		return maxMicro
	}
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// parseRows parses the TabSeparated answer of a query built by
// buildQuery: [bucket] [hex group] n errors request_bytes response_bytes
// p50 p95 p99, in microseconds for the percentiles. A row after an empty
// line is the totals row of WITH TOTALS: it gets Total, and no bucket or
// group.
func parseRows(out []byte, bucket, group bool) ([]portico.AnalyticsRow, error) {
	rows := []portico.AnalyticsRow{}
	want := 7
	if bucket {
		want++
	}
	if group {
		want++
	}
	totals := false
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			totals = true
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != want {
			return nil, fmt.Errorf("clickhouse: unexpected query answer %q", line)
		}
		var row portico.AnalyticsRow
		var nums [8]uint64
		i := 0
		if bucket {
			sec, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("clickhouse: bad bucket %q", f[0])
			}
			row.Bucket = time.Unix(sec, 0).UTC()
			i++
		}
		if group {
			g, err := hex.DecodeString(f[i])
			if err != nil {
				return nil, fmt.Errorf("clickhouse: bad group %q", f[i])
			}
			row.Group = string(g)
			i++
		}
		for j := range 7 {
			n, err := strconv.ParseUint(f[i+j], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("clickhouse: bad number %q in query answer", f[i+j])
			}
			nums[j] = n
		}
		if nums[0] == 0 {
			continue // the one row of an aggregate over nothing
		}
		row.Requests = int64(nums[0])
		row.Errors = int64(nums[1])
		row.ErrorRate = float64(nums[1]) / float64(nums[0])
		row.RequestBytes = int64(nums[2])
		row.ResponseBytes = int64(nums[3])
		row.LatencyP50 = float64(nums[4]) / 1000
		row.LatencyP95 = float64(nums[5]) / 1000
		row.LatencyP99 = float64(nums[6]) / 1000
		if totals {
			row.Bucket, row.Group, row.Total = time.Time{}, "", true
		}
		rows = append(rows, row)
	}
	return rows, nil
}
