package analyticstest

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/portico-gw/portico"
)

// Aggregate answers q over records the way every analytics store must,
// in plain Go; it is the reference that Run compares stores with.
//
// A record is selected when From <= Time < To and, for every filter, the
// record's value of the dimension equals the filter's value exactly
// (status as a decimal string such as "404"; "" matches records without a
// value). Selected records are counted into one row per bucket — the
// record's time rounded down to a whole minute, hour or day of UTC — and
// per value of GroupBy; without a Bucket every row has the zero Bucket,
// without a GroupBy the empty Group. Only buckets and groups that hold a
// record get a row, so no selected records means no rows, also without a
// Bucket and GroupBy. Rows are ordered by bucket, then by group (byte-wise).
//
// In a row, Errors counts records with status 400 or more and ErrorRate is
// Errors / Requests. The latency percentiles are nearest-rank: of the n
// latencies in whole microseconds, sorted, the value at rank ceil(p × n)
// (1-based, computed exactly in integers), reported as
// float64(microseconds) / 1000 milliseconds.
//
// With a GroupBy and a Limit above 0, only the Limit groups with the most
// requests over all selected records are kept (ties broken by group value,
// the byte-wise smaller first), and rows are ordered by bucket, then by
// that rank of their group. With NoLatency the three percentiles are 0,
// with NoBytes the two byte counts. With Totals and a Bucket or GroupBy,
// the rows end with the row that q without Bucket, GroupBy, Limit and
// Totals gives, if any, with Total set.
//
// Aggregate expects times and latencies in whole microseconds, as stores
// keep them. It panics on a Bucket, GroupBy or filter dimension that is not
// one of the documented ones: queries are the test's own, so that is a
// bug of the test.
func Aggregate(records []portico.Record, q portico.AnalyticsQuery) []portico.AnalyticsRow {
	size := bucketMicros(q.Bucket)
	if q.GroupBy != "" {
		mustDimension(q.GroupBy)
	}
	for dim := range q.Filters {
		mustDimension(dim)
	}

	type key struct {
		bucket int64 // Unix microseconds of the bucket's start
		group  string
	}
	type acc struct {
		row       portico.AnalyticsRow
		latencies []int64 // microseconds
	}
	accs := make(map[key]*acc)
	for i := range records {
		r := &records[i]
		if r.Time.Before(q.From) || !r.Time.Before(q.To) || !matches(r, q.Filters) {
			continue
		}
		var k key
		if size > 0 {
			k.bucket = floorDiv(r.Time.UnixMicro(), size) * size
		}
		if q.GroupBy != "" {
			k.group = value(r, q.GroupBy)
		}
		a := accs[k]
		if a == nil {
			a = &acc{row: portico.AnalyticsRow{Group: k.group}}
			if size > 0 {
				a.row.Bucket = time.UnixMicro(k.bucket).UTC()
			}
			accs[k] = a
		}
		a.row.Requests++
		if r.IsError() {
			a.row.Errors++
		}
		if !q.NoBytes {
			a.row.RequestBytes += r.RequestBytes
			a.row.ResponseBytes += r.ResponseBytes
		}
		a.latencies = append(a.latencies, r.Latency.Microseconds())
	}

	// rank orders the groups: by value, or with a Limit by requests (most
	// first), then value.
	rank := func(a, b string) int { return cmp.Compare(a, b) }
	if q.GroupBy != "" && q.Limit > 0 {
		totals := make(map[string]int64)
		for k, a := range accs {
			totals[k.group] += a.row.Requests
		}
		groups := make([]string, 0, len(totals))
		for g := range totals {
			groups = append(groups, g)
		}
		slices.SortFunc(groups, func(a, b string) int {
			return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b))
		})
		pos := make(map[string]int, len(groups))
		for i, g := range groups {
			pos[g] = i
		}
		for k := range accs {
			if pos[k.group] >= q.Limit {
				delete(accs, k)
			}
		}
		rank = func(a, b string) int { return cmp.Compare(pos[a], pos[b]) }
	}

	keys := make([]key, 0, len(accs))
	for k := range accs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.bucket, b.bucket), rank(a.group, b.group))
	})
	rows := make([]portico.AnalyticsRow, 0, len(keys))
	for _, k := range keys {
		a := accs[k]
		row := a.row
		row.ErrorRate = float64(row.Errors) / float64(row.Requests)
		if !q.NoLatency {
			slices.Sort(a.latencies)
			row.LatencyP50 = millis(nearestRank(a.latencies, 50))
			row.LatencyP95 = millis(nearestRank(a.latencies, 95))
			row.LatencyP99 = millis(nearestRank(a.latencies, 99))
		}
		rows = append(rows, row)
	}
	if q.Totals && (q.Bucket != "" || q.GroupBy != "") {
		all := q
		all.Bucket, all.GroupBy, all.Limit, all.Totals = "", "", 0, false
		for _, t := range Aggregate(records, all) {
			t.Total = true
			rows = append(rows, t)
		}
	}
	return rows
}

// nearestRank returns the pct-th percentile (0 < pct <= 100) of sorted, a
// non-empty ascending slice, by the nearest-rank method: the element at
// 1-based rank ceil(pct × n / 100), computed in integers so that no
// floating-point rounding moves the rank.
func nearestRank(sorted []int64, pct int) int64 {
	n := len(sorted)
	return sorted[(pct*n+99)/100-1]
}

// millis converts microseconds to milliseconds as every store must:
// float64(us) / 1000.
func millis(us int64) float64 { return float64(us) / 1000 }

// bucketMicros returns the length of a bucket in microseconds, 0 for none.
func bucketMicros(p portico.Period) int64 {
	switch p {
	case "":
		return 0
	case portico.Minute:
		return int64(time.Minute / time.Microsecond)
	case portico.Hour:
		return int64(time.Hour / time.Microsecond)
	case portico.Day:
		return int64(24 * time.Hour / time.Microsecond)
	}
	panic(fmt.Sprintf("analyticstest: Aggregate: bucket %q is not minute, hour or day", p))
}

// floorDiv returns a / b rounded towards negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// dimensions are the documented dimensions.
var dimensions = []string{
	portico.DimAPI, portico.DimVersion, portico.DimApplication, portico.DimSubscriber,
	portico.DimPublisher, portico.DimPlan, portico.DimStatus, portico.DimMethod,
	portico.DimResource, portico.DimNode,
}

func mustDimension(dim string) {
	if !slices.Contains(dimensions, dim) {
		panic(fmt.Sprintf("analyticstest: Aggregate: unknown dimension %q", dim))
	}
}

// value returns the value of dimension dim of r.
func value(r *portico.Record, dim string) string {
	switch dim {
	case portico.DimAPI:
		return r.API
	case portico.DimVersion:
		return r.APIVersion
	case portico.DimApplication:
		return r.Application
	case portico.DimSubscriber:
		return r.Subscriber
	case portico.DimPublisher:
		return r.Publisher
	case portico.DimPlan:
		return r.Plan
	case portico.DimStatus:
		return strconv.Itoa(r.Status)
	case portico.DimMethod:
		return r.Method
	case portico.DimResource:
		return r.Resource
	case portico.DimNode:
		return r.Node
	}
	panic(fmt.Sprintf("analyticstest: unknown dimension %q", dim))
}

// matches reports whether r has every value of filters.
func matches(r *portico.Record, filters map[string]string) bool {
	for dim, v := range filters {
		if value(r, dim) != v {
			return false
		}
	}
	return true
}
