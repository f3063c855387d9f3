package analyticstest

import (
	"time"

	"github.com/portico-gw/portico"
)

// Queries returns the queries that Run asks of a store holding Records:
// every bucket; every dimension that rows are grouped by (publisher is a
// filter only); buckets and groups together; a filter on every dimension,
// with the awkward strings of the records, the empty string, and values
// that only a sloppy match (LIKE, case folding, a status as a number)
// would find; several filters at once; empty and inverted ranges; and
// ranges that start or end exactly on a record, to the microsecond and
// between microseconds, and in zones other than UTC; top lists (Limit),
// with and without buckets and with ties at the cut; and queries without
// latency percentiles (NoLatency).
func Queries() []portico.AnalyticsQuery {
	var (
		all  = portico.AnalyticsQuery{From: start, To: end}
		busy = portico.AnalyticsQuery{From: start.Add(9 * time.Hour), To: start.Add(10 * time.Hour)}
		tie  = edges[len(edges)-1]
	)
	with := func(q portico.AnalyticsQuery, bucket portico.Period, group string, filters ...string) portico.AnalyticsQuery {
		q.Bucket, q.GroupBy = bucket, group
		if len(filters) > 0 {
			q.Filters = make(map[string]string)
			for i := 0; i+1 < len(filters); i += 2 {
				q.Filters[filters[i]] = filters[i+1]
			}
		}
		return q
	}
	span := func(from, to time.Time) portico.AnalyticsQuery {
		return portico.AnalyticsQuery{From: from, To: to}
	}
	filter := func(filters ...string) portico.AnalyticsQuery { return with(all, "", "", filters...) }

	qs := []portico.AnalyticsQuery{
		// Everything, in one row.
		all,
		span(time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)),

		// Buckets.
		with(busy, portico.Minute, ""),
		with(all, portico.Minute, ""),
		with(all, portico.Hour, ""),
		with(all, portico.Day, ""),

		// Groups.
		with(all, "", portico.DimAPI),
		with(all, "", portico.DimVersion),
		with(all, "", portico.DimApplication),
		with(all, "", portico.DimSubscriber),
		with(all, "", portico.DimPlan),
		with(all, "", portico.DimStatus),
		with(all, "", portico.DimMethod),
		with(all, "", portico.DimResource),
		with(all, "", portico.DimNode),

		// Buckets and groups.
		with(all, portico.Hour, portico.DimAPI),
		with(all, portico.Day, portico.DimStatus),
		with(busy, portico.Minute, portico.DimNode),
		with(all, portico.Day, portico.DimResource, portico.DimAPI, "weather"),
		with(all, portico.Minute, portico.DimApplication, portico.DimStatus, "200"),

		// A filter on every dimension.
		filter(portico.DimAPI, "weather"),
		filter(portico.DimAPI, `books "o'reilly"`),
		filter(portico.DimAPI, ""),
		filter(portico.DimAPI, "weather "),
		filter(portico.DimAPI, "WEATHER"),
		filter(portico.DimVersion, "v2"),
		filter(portico.DimVersion, `v1\beta`),
		filter(portico.DimApplication, "app-o'neil"),
		filter(portico.DimApplication, "app-日本"),
		filter(portico.DimApplication, ""),
		filter(portico.DimSubscriber, `sub "3"`),
		filter(portico.DimSubscriber, "sub-1"),
		filter(portico.DimPublisher, `pub\2`),
		filter(portico.DimPublisher, "pub-1"),
		filter(portico.DimPublisher, ""),
		filter(portico.DimPlan, "plan-%free_"),
		filter(portico.DimPlan, "plan-%"),
		filter(portico.DimPlan, ""),
		filter(portico.DimStatus, "500"),
		filter(portico.DimStatus, "404"),
		filter(portico.DimStatus, "0404"),
		filter(portico.DimStatus, "404.0"),
		filter(portico.DimStatus, "abc"),
		filter(portico.DimStatus, ""),
		filter(portico.DimMethod, "POST"),
		filter(portico.DimMethod, "get"),
		filter(portico.DimResource, `/search?q="x"`),
		filter(portico.DimResource, `/path\to`),
		filter(portico.DimResource, "/ünïcødé/日本"),
		filter(portico.DimResource, "/o'brien"),
		filter(portico.DimResource, "/%_%"),
		filter(portico.DimResource, "%"),
		filter(portico.DimResource, ""),
		filter(portico.DimNode, "nöde-ç"),
		filter(portico.DimNode, "NODE-A"),

		// Several filters.
		with(all, portico.Hour, portico.DimApplication, portico.DimAPI, "weather", portico.DimVersion, "v1", portico.DimStatus, "200"),
		with(all, "", portico.DimAPI, portico.DimPublisher, `pub\2`, portico.DimSubscriber, "sub-2"),
		with(all, portico.Day, portico.DimStatus, portico.DimApplication, "app-1", portico.DimMethod, "GET", portico.DimNode, "Node-B"),
		with(all, "", portico.DimResource, portico.DimAPI, "weather", portico.DimVersion, `v1\beta`),

		// Empty ranges.
		span(start.Add(9*time.Hour), start.Add(9*time.Hour)),
		span(end, start),
		with(span(end, start), portico.Hour, portico.DimAPI),
		span(start.Add(-24*time.Hour), start),
		with(span(end, end.Add(time.Hour)), portico.Minute, portico.DimNode),

		// Edges: From is in the range, To is not.
		span(start, start.Add(time.Microsecond)),
		with(span(start.Add(9*time.Hour), start.Add(9*time.Hour+time.Minute)), portico.Minute, ""),
		with(span(start.Add(9*time.Hour+time.Minute-time.Microsecond), start.Add(9*time.Hour+time.Minute+time.Microsecond)), portico.Minute, portico.DimStatus),
		span(start.Add(9*time.Hour+time.Nanosecond), start.Add(9*time.Hour+time.Minute)),
		span(start.Add(9*time.Hour+time.Minute-time.Microsecond), start.Add(9*time.Hour+time.Minute+time.Nanosecond)),
		span(start.Add(9*time.Hour+time.Minute-time.Microsecond-time.Nanosecond), start.Add(9*time.Hour+time.Minute-time.Nanosecond)),
		with(span(start.Add(24*time.Hour), end), portico.Day, ""),
		span(end.Add(-time.Microsecond), end),
		span(start, end.Add(-time.Microsecond)),
		with(span(tie, tie.Add(time.Microsecond)), "", portico.DimAPI),
		span(tie.Add(-time.Microsecond), tie),

		// Ranges given in other zones: the same instants, buckets in UTC.
		with(span(start.Add(13*time.Hour).In(time.FixedZone("IST", 5*3600+1800)),
			start.Add(14*time.Hour).In(time.FixedZone("PDT", -7*3600))), portico.Minute, ""),
		with(span(start.Add(-time.Hour).In(time.FixedZone("CET", 3600)), end), portico.Day, portico.DimMethod),

		// Top groups: ordered by requests, ties by value; with buckets,
		// the groups with the most requests in the whole range.
		top(with(all, "", portico.DimApplication), 3),
		top(with(all, "", portico.DimStatus), 1),
		top(with(all, "", portico.DimStatus), 3), // 400 and 403 tie at the cut
		top(with(all, "", portico.DimResource), 1000),
		top(with(all, "", portico.DimAPI, portico.DimStatus, "200"), 2),
		top(with(all, portico.Hour, portico.DimNode), 2),
		top(with(busy, portico.Minute, portico.DimStatus), 3),
		top(with(quiet, "", portico.DimStatus), 2),
		top(with(quiet, "", portico.DimMethod), 3),
		top(with(quiet, portico.Hour, portico.DimResource), 4),
		top(with(span(tie, tie.Add(time.Microsecond)), "", portico.DimNode), 1),
		top(with(span(end, start), "", portico.DimAPI), 3),
		top(all, 5), // no groups: the limit does nothing

		// No latency percentiles.
		noLatency(all),
		noLatency(with(all, portico.Hour, portico.DimAPI)),
		noLatency(top(with(all, "", portico.DimApplication), 2)),
		noLatency(top(with(busy, portico.Minute, portico.DimResource), 3)),

		// No byte counts; totals beside the rows.
		noBytes(top(with(all, "", portico.DimApplication), 2)),
		noBytes(noLatency(with(all, portico.Hour, ""))),
		totals(with(all, portico.Hour, "")),
		totals(with(busy, portico.Minute, portico.DimResource)),
		totals(top(with(all, "", portico.DimAPI), 2)),
		totals(top(with(busy, portico.Minute, portico.DimApplication), 3)),
		totals(noLatency(with(quiet, "", portico.DimStatus))),
		totals(all), // no buckets or groups: the one row is the total
		totals(with(span(end, end.Add(time.Hour)), portico.Hour, "")), // nothing selected: no rows
	}
	return qs
}

// quiet is a range of a quiet hour in which groups hold few records, so
// that many have the same number of requests.
var quiet = portico.AnalyticsQuery{From: start.Add(30 * time.Hour), To: start.Add(31*time.Hour + 30*time.Minute)}

// top returns q with Limit n.
func top(q portico.AnalyticsQuery, n int) portico.AnalyticsQuery {
	q.Limit = n
	return q
}

// noBytes returns q with NoBytes.
func noBytes(q portico.AnalyticsQuery) portico.AnalyticsQuery {
	q.NoBytes = true
	return q
}

// totals returns q with Totals.
func totals(q portico.AnalyticsQuery) portico.AnalyticsQuery {
	q.Totals = true
	return q
}

// noLatency returns q with NoLatency.
func noLatency(q portico.AnalyticsQuery) portico.AnalyticsQuery {
	q.NoLatency = true
	return q
}
