package console

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

// analyticsAnswer is the admin API's GET /analytics/requests.
type analyticsAnswer struct {
	From  time.Time              `json:"from"`
	To    time.Time              `json:"to"`
	Items []portico.AnalyticsRow `json:"items"`
	Total *portico.AnalyticsRow  `json:"total"`
}

// dashRange is a time range the dashboard offers.
type dashRange struct {
	Key, Label string
	Span       time.Duration
	Bucket     portico.Period
}

var dashRanges = []dashRange{
	{"hour", "Last hour", time.Hour, portico.Minute},
	{"day", "Last day", 24 * time.Hour, portico.Hour},
	{"week", "Last week", 7 * 24 * time.Hour, portico.Hour},
}

// dashboardParallel is how many of the dashboard's queries run at once:
// two keep both cores busy on the embedded store, where a query runs on
// one, and spare ClickHouse, which gives each query every core, the
// contention of five at once (BenchmarkPages,
// BenchmarkDashboardClickHouse10M).
const dashboardParallel = 2

// topN is how many items each top list shows.
const topN = 10

// topQuery asks the admin API for the top groups only, without their
// latency percentiles and byte counts, which the bars do not show.
var topQuery = []string{"limit", strconv.Itoa(topN), "latency", "false", "bytes", "false"}

type dashboardData struct {
	Ranges         []dashRange
	Range          string
	From, To       string // the custom range, as typed (datetime-local)
	API            string
	Total          portico.AnalyticsRow
	Requests       template.HTML
	Latency        template.HTML
	Tops           []chartBox
	Unavailable    string // why there is nothing to show
	FromAt, ToAt   time.Time
	BucketName     string
	DimensionNames map[string]string
}

// dashboardPage draws requests, errors and latency over time and the top
// APIs, applications, status codes, resources and nodes, all from GET
// /api/v1/analytics/requests: an admin sees everything, a publisher its
// own APIs, as the admin API scopes them.
func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request, ss *session) {
	if !ss.has(portico.RoleAdmin) && !ss.has(portico.RolePublisher) {
		// The menu has no dashboard for them either: a subscriber's usage
		// belongs to the developer portal.
		s.fail(w, r, ss, http.StatusForbidden, "The dashboard is for admins and publishers.")
		return
	}
	in := r.URL.Query()
	d := dashboardData{Ranges: dashRanges, Range: in.Get("range"), API: strings.TrimSpace(in.Get("api")),
		From: in.Get("from"), To: in.Get("to")}
	now := s.now().UTC().Truncate(time.Minute).Add(time.Minute)
	rg := dashRanges[0]
	for _, x := range dashRanges {
		if x.Key == d.Range {
			rg = x
		}
	}
	d.FromAt, d.ToAt = now.Add(-rg.Span), now
	bucket := rg.Bucket
	if d.Range == "custom" {
		var bad *apiError
		d.FromAt, d.ToAt, bad = customRange(d.From, d.To)
		if bad != nil {
			s.render(w, r, bad.Status, "dashboard", &page{Title: "Dashboard", Session: ss, Error: bad, Data: d})
			return
		}
		switch span := d.ToAt.Sub(d.FromAt); {
		case span <= 3*time.Hour:
			bucket = portico.Minute
		case span <= 14*24*time.Hour:
			bucket = portico.Hour
		default:
			bucket = portico.Day
		}
	} else {
		d.Range = rg.Key
	}
	d.BucketName = string(bucket)
	q := url.Values{"from": {d.FromAt.Format(time.RFC3339)}, "to": {d.ToAt.Format(time.RFC3339)}}
	if d.API != "" {
		q.Set(portico.DimAPI, d.API)
	}
	query := func(extra ...string) (analyticsAnswer, error) {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		var a analyticsAnswer
		err := s.do(r, apiCall{method: http.MethodGet, path: "/analytics/requests", query: v, token: ss.token}, &a)
		return a, err
	}
	// The queries run two at a time: each is a scan of the range in the
	// analytics store; the totals come with the series, in the same scan
	// (BenchmarkPages, BenchmarkDashboardClickHouse10M).
	tops := []struct{ dim, title string }{
		{portico.DimAPI, "Top APIs"}, {portico.DimApplication, "Top applications"}, {portico.DimStatus, "Status codes"},
		{portico.DimResource, "Top resources"}, {portico.DimNode, "Nodes"},
	}
	queries := [][]string{{"bucket", string(bucket), "totals", "true"}}
	for _, t := range tops {
		if t.dim == portico.DimAPI && d.API != "" {
			// One API's top APIs are that API: its totals, below.
			queries = append(queries, nil)
			continue
		}
		queries = append(queries, append([]string{"group_by", t.dim}, topQuery...))
	}
	results := make([]analyticsAnswer, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	slots := make(chan struct{}, dashboardParallel)
	for i, extra := range queries {
		if extra != nil {
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				results[i], errs[i] = query(extra...)
			})
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			continue
		}
		if e, ok := err.(*apiError); ok && e.Status == http.StatusServiceUnavailable {
			d.Unavailable = e.Message
			s.render(w, r, http.StatusOK, "dashboard", &page{Title: "Dashboard", Session: ss, Data: d})
			return
		}
		if e, ok := err.(*apiError); ok && e.Status == http.StatusBadRequest {
			s.render(w, r, e.Status, "dashboard", &page{Title: "Dashboard", Session: ss, Error: e, Data: d})
			return
		}
		s.fail(w, r, ss, 0, err)
		return
	}
	if t := results[0].Total; t != nil {
		d.Total = *t
	}
	d.Requests, d.Latency = timeCharts(results[0].Items, bucket, d.FromAt, d.ToAt)
	for i, t := range tops {
		rows := results[1+i].Items
		if queries[1+i] == nil && d.Total.Requests > 0 {
			one := d.Total
			one.Group = d.API
			rows = []portico.AnalyticsRow{one}
		}
		d.Tops = append(d.Tops, chartBox{t.title, s.topChart(r, ss, t.dim, t.title, rows)})
	}
	s.render(w, r, http.StatusOK, "dashboard", &page{Title: "Dashboard", Session: ss, Data: d})
}

// chartBox is a chart with its caption.
type chartBox struct {
	Title string
	SVG   template.HTML
}

// customRange reads the custom range's from and to (datetime-local, UTC).
func customRange(from, to string) (time.Time, time.Time, *apiError) {
	parse := func(field, v string) (time.Time, *apiError) {
		for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, &apiError{Status: http.StatusBadRequest, Field: field, Message: field + " must be a date and time such as 2026-05-01T12:00 (UTC)"}
	}
	f, bad := parse("from", from)
	if bad != nil {
		return f, f, bad
	}
	t, bad := parse("to", to)
	return f, t, bad
}

// timeCharts draws requests and errors, and latency percentiles, per
// bucket; buckets without requests are drawn as zero requests and as gaps
// in latency.
func timeCharts(rows []portico.AnalyticsRow, bucket portico.Period, from, to time.Time) (template.HTML, template.HTML) {
	step := bucket.Duration()
	byTime := map[time.Time]portico.AnalyticsRow{}
	for _, r := range rows {
		byTime[r.Bucket.UTC()] = r
	}
	var req, errs, p50, p95, p99 []LineChartPoint
	nan := func() float64 { var z float64; return z / z }
	start := from.Truncate(step)
	for t, n := start, 0; t.Before(to) && n < 20000; t, n = t.Add(step), n+1 {
		r, ok := byTime[t]
		req = append(req, LineChartPoint{At: t, Value: float64(r.Requests)})
		errs = append(errs, LineChartPoint{At: t, Value: float64(r.Errors)})
		if ok && r.Requests > 0 {
			p50 = append(p50, LineChartPoint{At: t, Value: r.LatencyP50})
			p95 = append(p95, LineChartPoint{At: t, Value: r.LatencyP95})
			p99 = append(p99, LineChartPoint{At: t, Value: r.LatencyP99})
		} else {
			for _, s := range []*[]LineChartPoint{&p50, &p95, &p99} {
				*s = append(*s, LineChartPoint{At: t, Value: nan()})
			}
		}
	}
	per := "per " + string(bucket)
	requests := LineChart(LineChartSpec{Title: "Requests and errors " + per, Width: 560, Height: 240,
		Series: []LineChartSeries{{Name: "requests", Points: req}, {Name: "errors", Points: errs}}})
	latency := LineChart(LineChartSpec{Title: "Latency " + per, Unit: "ms", Width: 560, Height: 240,
		Series: []LineChartSeries{{Name: "p50", Points: p50}, {Name: "p95", Points: p95}, {Name: "p99", Points: p99}}})
	return requests, latency
}

// topChart draws the topN groups by requests, errors as the overlay;
// applications are named (the analytics store keeps their IDs).
func (s *Server) topChart(r *http.Request, ss *session, dim, title string, rows []portico.AnalyticsRow) template.HTML {
	slices.SortFunc(rows, func(a, b portico.AnalyticsRow) int {
		if a.Requests != b.Requests {
			if a.Requests > b.Requests {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Group, b.Group)
	})
	rows = rows[:min(len(rows), topN)]
	items := make([]BarChartItem, 0, len(rows))
	for _, row := range rows {
		label := row.Group
		if dim == portico.DimApplication && label != "" {
			var app struct {
				Name string `json:"name"`
			}
			if s.do(r, apiCall{method: http.MethodGet, path: "/applications/" + url.PathEscape(label), token: ss.token}, &app) == nil && app.Name != "" {
				label = app.Name
			}
		}
		if label == "" {
			label = "(none)"
		}
		items = append(items, BarChartItem{Label: label, Value: float64(row.Requests), Secondary: float64(row.Errors)})
	}
	return BarChart(BarChartSpec{Title: title, Width: 560, Items: items, ValueName: "requests", SecondaryName: "errors"})
}
