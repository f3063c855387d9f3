package admin

import (
	"context"
	"net/http"
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
	Filters map[string]string      `json:"filters"`
	Items   []portico.AnalyticsRow `json:"items"`
}

// analyticsDims are the dimensions a caller may group or filter by.
var analyticsDims = []string{
	portico.DimAPI, portico.DimVersion, portico.DimApplication, portico.DimSubscriber,
	portico.DimPlan, portico.DimStatus, portico.DimMethod, portico.DimResource, portico.DimNode,
}

// maxAnalyticsRange bounds one query.
const maxAnalyticsRange = 400 * 24 * time.Hour

// queryAnalytics answers GET /api/v1/analytics/requests: request and error
// counts, error rate, latency percentiles and bytes over [from, to), as one
// row, a time series (bucket=minute|hour|day), grouped (group_by=<dim>), or
// both; filtered by any dimension (?api=weather&status=500). Admins see
// everything, publishers their own APIs, others their own applications.
func (s *Server) queryAnalytics(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.Analytics == nil {
		return portico.Errorf(portico.EUnavailable, "analytics are not enabled on this node")
	}
	q := r.URL.Query()
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
	for name, vals := range q {
		switch name {
		case "from", "to", "bucket", "group_by":
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
	if rows == nil {
		rows = []portico.AnalyticsRow{}
	}
	writeJSON(w, http.StatusOK, analyticsResult{From: aq.From, To: aq.To, Bucket: aq.Bucket, GroupBy: aq.GroupBy, Filters: aq.Filters, Items: rows})
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

// AnalyticsSettings are the run-time analytics settings of a node.
type AnalyticsSettings struct {
	// Addresses of the ClickHouse servers (host:port); empty means the
	// embedded analytics store.
	Addresses []string `json:"addresses"`
}

// SettingsController reads and changes a node's run-time settings.
// Implementations validate what they are given and answer EInvalid errors
// naming the field.
type SettingsController interface {
	AnalyticsSettings() AnalyticsSettings
	SetAnalyticsSettings(ctx context.Context, s AnalyticsSettings) (AnalyticsSettings, error)
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

func (s *Server) putAnalyticsSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins change settings")
	}
	if s.Settings == nil {
		return portico.Errorf(portico.ENotFound, "this node has no run-time settings")
	}
	var in AnalyticsSettings
	if err := decode(w, r, &in); err != nil {
		return err
	}
	for i, a := range in.Addresses {
		if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " /?#@") {
			return invalid("addresses["+strconv.Itoa(i)+"]", "an address is host:port, like 127.0.0.1:8123")
		}
	}
	out, err := s.Settings.SetAnalyticsSettings(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
