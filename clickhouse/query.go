package clickhouse

import (
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
// the microsecond column and returned in milliseconds. A query that
// matches nothing returns an empty slice.
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
		var err error
		out, err = s.do(ctx, ep, queryParams, []byte(sql))
		return err
	})
	if err != nil {
		return nil, err
	}
	return parseRows(out, q.Bucket != "", q.GroupBy != "")
}

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
	sel = append(sel,
		"count() AS _n",
		"countIf(status >= 400) AS _e",
		"sum(request_bytes) AS _rq",
		"sum(response_bytes) AS _rs",
		// Nearest rank ceil(p × n) in integers: ceil(k × n / 100) = intDiv(k × n + 99, 100).
		"arrayElement(arraySort(groupArray(latency_us)) AS _l, intDiv(_n * 50 + 99, 100)) AS _p50",
		"arrayElement(_l, intDiv(_n * 95 + 99, 100)) AS _p95",
		"arrayElement(_l, intDiv(_n * 99 + 99, 100)) AS _p99",
	)

	where, ok, err := whereClause(q)
	if err != nil || !ok {
		return "", ok, err
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(sel, ", "))
	b.WriteString("\nFROM " + s.db + "." + s.table)
	b.WriteString("\nWHERE " + strings.Join(where, "\n  AND "))
	if len(keys) > 0 {
		b.WriteString("\nGROUP BY " + strings.Join(keys, ", "))
		b.WriteString("\nORDER BY " + strings.Join(keys, ", "))
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
	// ranges; the microsecond bounds make the range exact.
	conds = append(conds,
		fmt.Sprintf("time >= toDateTime(%d)", from/1_000_000),
		fmt.Sprintf("time <= toDateTime(%d)", (to-1)/1_000_000),
		fmt.Sprintf("toUInt64(time) * 1000000 + time_us >= %d", from),
		fmt.Sprintf("toUInt64(time) * 1000000 + time_us < %d", to),
	)
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
// p50 p95 p99, in microseconds for the percentiles.
func parseRows(out []byte, bucket, group bool) ([]portico.AnalyticsRow, error) {
	rows := []portico.AnalyticsRow{}
	want := 7
	if bucket {
		want++
	}
	if group {
		want++
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
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
		rows = append(rows, row)
	}
	return rows, nil
}
