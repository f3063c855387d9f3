package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// analyticsResult is the body of GET /api/v1/analytics/requests.
type analyticsResult struct {
	From    time.Time              `json:"from"`
	To      time.Time              `json:"to"`
	Bucket  portico.Period         `json:"bucket,omitempty"`
	GroupBy string                 `json:"group_by,omitempty"`
	Limit   int                    `json:"limit,omitempty"`
	Latency bool                   `json:"latency"` // false: the percentiles were left out
	Bytes   bool                   `json:"bytes"`   // false: the byte counts were left out
	Filters map[string]string      `json:"filters"`
	Items   []portico.AnalyticsRow `json:"items"`
	// Total is the aggregate over every selected record, with totals=true
	// and some record selected.
	Total *portico.AnalyticsRow `json:"total,omitempty"`
}

// analyticsDims are the dimensions a caller may group or filter by.
var analyticsDims = []string{
	portico.DimAPI, portico.DimVersion, portico.DimApplication, portico.DimSubscriber,
	portico.DimPlan, portico.DimStatus, portico.DimMethod, portico.DimResource, portico.DimNode,
}

// maxAnalyticsRange bounds one query.
const maxAnalyticsRange = 400 * 24 * time.Hour

// maxFilterValue bounds every parameter's value.
const maxFilterValue = 1024

// MaxAnalyticsLimit is the largest limit (top groups) a query may ask for.
const MaxAnalyticsLimit = 1000

// queryAnalytics answers GET /api/v1/analytics/requests: request and error
// counts, error rate, latency percentiles and bytes over [from, to), as one
// row, a time series (bucket=minute|hour|day), grouped (group_by=<dim>), or
// both; filtered by any dimension (?api=weather&status=500). With
// group_by, limit=n (1 to MaxAnalyticsLimit) keeps the n groups with the
// most requests, most first; latency=false leaves the percentiles out (0),
// which saves the store most of its work, and bytes=false the byte counts;
// totals=true adds the aggregate over every selected record as "total",
// computed in the same pass where the store can. Admins see everything,
// publishers their own APIs, others their own applications. A parameter
// given twice, a malformed query string or a filter value over
// maxFilterValue bytes is a 400: no value is silently dropped.
func (s *Server) queryAnalytics(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.Analytics == nil {
		return portico.Errorf(portico.EUnavailable, "analytics are not enabled on this node")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return invalid("query", "the query string is malformed: separate parameters with \"&\" and escape \";\" and \"%%\"")
	}
	for name, vals := range q {
		switch {
		case name == "":
			return invalid("query", "the query string has a parameter without a name")
		case len(vals) > 1:
			return invalid(name, "%s is given %d times; give it once", name, len(vals))
		case len(vals[0]) > maxFilterValue:
			return invalid(name, "%s must be at most %d bytes", name, maxFilterValue)
		}
	}
	now := s.now()
	aq := portico.AnalyticsQuery{To: now, Filters: map[string]string{}}
	aq.From = now.Add(-24 * time.Hour)
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &aq.From}, {"to", &aq.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return invalid(p.name, "%s must be a time such as 2026-05-01T12:00:00Z", p.name)
			}
			*p.t = t.UTC()
		}
	}
	if !aq.From.Before(aq.To) {
		return invalid("from", "from must be before to")
	}
	if aq.To.Sub(aq.From) > maxAnalyticsRange {
		return invalid("from", "the time range must not exceed 400 days")
	}
	switch b := portico.Period(q.Get("bucket")); b {
	case "", portico.Minute, portico.Hour, portico.Day:
		aq.Bucket = b
	default:
		return invalid("bucket", "bucket must be minute, hour or day")
	}
	if g := q.Get("group_by"); g != "" {
		if !isDim(g) {
			return invalid("group_by", "group_by must be one of %s", strings.Join(analyticsDims, ", "))
		}
		aq.GroupBy = g
	}
	if aq.Bucket == portico.Minute && aq.To.Sub(aq.From) > 7*24*time.Hour {
		return invalid("bucket", "minute buckets cover at most 7 days; use hour or day")
	}
	if _, ok := q["limit"]; ok {
		v := q.Get("limit")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAnalyticsLimit || strconv.Itoa(n) != v {
			return invalid("limit", "limit must be a whole number from 1 to %d", MaxAnalyticsLimit)
		}
		if aq.GroupBy == "" {
			return invalid("limit", "limit needs group_by: it keeps the groups with the most requests")
		}
		aq.Limit = n
	}
	for _, p := range []struct {
		name string
		set  *bool
		when string // the value that sets it
	}{{"latency", &aq.NoLatency, "false"}, {"bytes", &aq.NoBytes, "false"}, {"totals", &aq.Totals, "true"}} {
		if _, ok := q[p.name]; !ok {
			continue
		}
		v := q.Get(p.name)
		if v != "true" && v != "false" {
			return invalid(p.name, "%s must be true or false", p.name)
		}
		*p.set = v == p.when
	}
	for name, vals := range q {
		switch name {
		case "from", "to", "bucket", "group_by", "limit", "latency", "bytes", "totals":
			continue
		}
		if !isDim(name) {
			return invalid(name, "unknown parameter %q: filter by one of %s", name, strings.Join(analyticsDims, ", "))
		}
		aq.Filters[name] = vals[0]
	}
	// Scope by role: a filter the caller cannot lift.
	switch {
	case isAdmin(c.user):
	case isPublisher(c.user):
		aq.Filters[portico.DimPublisher] = c.user.ID
	default:
		aq.Filters[portico.DimSubscriber] = c.user.ID
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	rows, err := s.Analytics.Query(ctx, aq)
	if err != nil {
		if portico.ErrorCodeOf(err) == portico.EInternal {
			s.log.Error("admin: analytics query failed", "err", err)
			return &portico.Error{Code: portico.EUnavailable, Message: "the analytics store cannot be queried; try again later", Err: err}
		}
		return err
	}
	res := analyticsResult{From: aq.From, To: aq.To, Bucket: aq.Bucket, GroupBy: aq.GroupBy,
		Limit: aq.Limit, Latency: !aq.NoLatency, Bytes: !aq.NoBytes, Filters: aq.Filters, Items: []portico.AnalyticsRow{}}
	for i := range rows {
		switch {
		case !rows[i].Total:
			res.Items = append(res.Items, rows[i])
		case res.Total == nil:
			res.Total = &rows[i]
		}
	}
	if aq.Totals && res.Total == nil && aq.Bucket == "" && aq.GroupBy == "" && len(res.Items) == 1 {
		// Without buckets or groups the one row is the total.
		res.Total = &res.Items[0]
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func isDim(s string) bool {
	for _, d := range analyticsDims {
		if d == s {
			return true
		}
	}
	return false
}

// AnalyticsSettings are the run-time analytics settings: in a cluster,
// every node applies the same ones (GET and PUT /api/v1/settings/analytics).
type AnalyticsSettings struct {
	// Addresses of the ClickHouse servers (host:port); empty means the
	// embedded analytics store.
	Addresses []string `json:"addresses"`
	// FlushInterval is the longest a record waits in memory before its
	// batch is written.
	FlushInterval portico.Duration `json:"flush_interval"`
	// BatchSize is the number of records that makes a batch be written at
	// once.
	BatchSize int `json:"batch_size"`
	// MaxConcurrentBatches caps the batch writes in flight at once.
	MaxConcurrentBatches int `json:"max_concurrent_batches"`
	// RetentionDays is how many days records are kept, in the embedded
	// store and in ClickHouse.
	RetentionDays int `json:"retention_days"`
}

// The bounds PUT /api/v1/settings/analytics takes.
const (
	MinFlushInterval        = 100 * time.Millisecond
	MaxFlushInterval        = time.Minute
	MaxBatchSize            = 100_000
	MaxMaxConcurrentBatches = 64
	MaxRetentionDays        = 3650
)

// AnalyticsSettingsChange is a change of the run-time analytics settings,
// the body of PUT /api/v1/settings/analytics: a nil field (left out of
// the body, or null) keeps its current value.
type AnalyticsSettingsChange struct {
	Addresses            *[]string
	FlushInterval        *time.Duration
	BatchSize            *int
	MaxConcurrentBatches *int
	RetentionDays        *int
}

// Validate checks the fields c sets against the bounds above and answers
// an EInvalid error naming the first field out of them.
func (c AnalyticsSettingsChange) Validate() error {
	if c.Addresses != nil {
		for i, a := range *c.Addresses {
			if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " /?#@") {
				return invalid("addresses["+strconv.Itoa(i)+"]", "an address is host:port, like 127.0.0.1:8123")
			}
		}
	}
	if d := c.FlushInterval; d != nil && (*d < MinFlushInterval || *d > MaxFlushInterval) {
		return invalid("flush_interval", "flush_interval must be from %v to %v", MinFlushInterval, MaxFlushInterval)
	}
	for _, f := range []struct {
		name string
		v    *int
		max  int
	}{
		{"batch_size", c.BatchSize, MaxBatchSize},
		{"max_concurrent_batches", c.MaxConcurrentBatches, MaxMaxConcurrentBatches},
		{"retention_days", c.RetentionDays, MaxRetentionDays},
	} {
		if f.v != nil && (*f.v < 1 || *f.v > f.max) {
			return invalid(f.name, "%s must be from 1 to %d", f.name, f.max)
		}
	}
	return nil
}

// Apply returns s with the fields c sets changed.
func (c AnalyticsSettingsChange) Apply(s AnalyticsSettings) AnalyticsSettings {
	s.Addresses = slices.Clone(s.Addresses)
	if c.Addresses != nil {
		s.Addresses = append([]string{}, *c.Addresses...)
	}
	if c.FlushInterval != nil {
		s.FlushInterval = portico.Duration(*c.FlushInterval)
	}
	for _, f := range []struct{ from, to *int }{
		{c.BatchSize, &s.BatchSize},
		{c.MaxConcurrentBatches, &s.MaxConcurrentBatches},
		{c.RetentionDays, &s.RetentionDays},
	} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	return s
}

// analyticsSettingsBody is the JSON of PUT /api/v1/settings/analytics.
type analyticsSettingsBody struct {
	Addresses            *[]string `json:"addresses"`
	FlushInterval        *string   `json:"flush_interval"`
	BatchSize            *int      `json:"batch_size"`
	MaxConcurrentBatches *int      `json:"max_concurrent_batches"`
	RetentionDays        *int      `json:"retention_days"`
}

// SettingsController reads and changes the run-time settings. Its
// methods are safe for concurrent use. SetAnalyticsSettings applies a
// change that Validate accepted to the current settings (in a cluster,
// those every node applies) and answers the settings now in force, or an
// error: EInvalid naming the field for a value the node cannot use.
type SettingsController interface {
	AnalyticsSettings() AnalyticsSettings
	SetAnalyticsSettings(ctx context.Context, c AnalyticsSettingsChange) (AnalyticsSettings, error)
}

func (s *Server) getAnalyticsSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins read settings")
	}
	if s.Settings == nil {
		return portico.Errorf(portico.ENotFound, "this node has no run-time settings")
	}
	writeJSON(w, http.StatusOK, s.Settings.AnalyticsSettings())
	return nil
}

// putAnalyticsSettings answers PUT /api/v1/settings/analytics. Unlike
// other PUTs, fields left out keep their current values.
func (s *Server) putAnalyticsSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins change settings")
	}
	if s.Settings == nil {
		return portico.Errorf(portico.ENotFound, "this node has no run-time settings")
	}
	var in analyticsSettingsBody
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ch := AnalyticsSettingsChange{Addresses: in.Addresses, BatchSize: in.BatchSize,
		MaxConcurrentBatches: in.MaxConcurrentBatches, RetentionDays: in.RetentionDays}
	if in.FlushInterval != nil {
		d, err := time.ParseDuration(*in.FlushInterval)
		if err != nil {
			return invalid("flush_interval", "flush_interval must be a duration such as \"1s\" or \"500ms\"")
		}
		ch.FlushInterval = &d
	}
	if err := ch.Validate(); err != nil {
		return err
	}
	out, err := s.Settings.SetAnalyticsSettings(r.Context(), ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
