package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

// portalUsageData is what the usage page shows: one application's
// requests and errors over time, for all its APIs or one, and the limits
// of each subscription with their use.
type portalUsageData struct {
	Apps         []portico.Application // the user's own
	App          string                // the application shown
	Subs         []subscriptionItem    // its subscriptions, for the API choice
	API          string                // the API shown, "" for all
	Ranges       []dashRange
	Range        string
	FromAt, ToAt time.Time
	BucketName   string
	Total        portico.AnalyticsRow
	Requests     template.HTML
	Latency      template.HTML
	ByAPI        []portico.AnalyticsRow // per API name, most requests first
	Unavailable  string                 // why there are no figures
	Limits       []limitRow
}

// limitRow is the quota and rate limit of one subscription.
type limitRow struct {
	API, Plan   string
	Quota, Rate string // in words: "10,000 requests a month", "" without one
	// QuotaUsed and RateUsed are the use of the current windows, "7,412 of
	// 10,000 this month"; Note says why they are not shown.
	QuotaUsed, RateUsed, Note string
}

// portalUsagePage shows the usage of one of the user's applications (the
// first when none is chosen) over the last hour, day or week, from GET
// /api/v1/analytics/requests, which shows a subscriber only its own
// applications' records.
func (s *Server) portalUsagePage(w http.ResponseWriter, r *http.Request, ss *session) {
	in := r.URL.Query()
	apps, err := s.ownApps(r, ss)
	if err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	d := portalUsageData{Apps: apps, App: in.Get("application"), API: in.Get("api"), Ranges: dashRanges, Range: in.Get("range")}
	pg := &portalPage{page{Title: "Usage", Session: ss, Data: &d}}
	if len(apps) == 0 {
		s.portalRender(w, r, http.StatusOK, "usage", pg)
		return
	}
	known := false
	for _, a := range apps {
		known = known || a.ID == d.App
	}
	if !known {
		d.App = apps[0].ID
	}
	var subs list[subscriptionItem]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/applications/" + url.PathEscape(d.App) + "/subscriptions",
		query: url.Values{"limit": {"1000"}}, token: ss.token}, &subs); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	d.Subs = subs.Items
	rg := dashRanges[1]
	for _, x := range dashRanges {
		if x.Key == d.Range {
			rg = x
		}
	}
	d.Range, d.BucketName = rg.Key, string(rg.Bucket)
	now := s.now().UTC().Truncate(time.Minute).Add(time.Minute)
	d.FromAt, d.ToAt = now.Add(-rg.Span), now
	q := url.Values{"from": {d.FromAt.Format(time.RFC3339)}, "to": {d.ToAt.Format(time.RFC3339)}, portico.DimApplication: {d.App}}
	var chosen *subscriptionItem
	for i := range d.Subs {
		if d.Subs[i].APIID == d.API && d.Subs[i].APIName != "" {
			chosen = &d.Subs[i]
		}
	}
	if chosen == nil {
		d.API = ""
	} else {
		q.Set(portico.DimAPI, chosen.APIName)
		q.Set(portico.DimVersion, chosen.APIVersion)
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
	// The two queries run at once, each a scan of the range in the
	// analytics store (BenchmarkPortalPages).
	var (
		series, byAPI analyticsAnswer
		errByAPI      error
		wg            sync.WaitGroup
	)
	if chosen == nil {
		wg.Go(func() {
			byAPI, errByAPI = query("group_by", portico.DimAPI, "limit", strconv.Itoa(usageAPIs), "latency", "false", "bytes", "false")
		})
	}
	series, err = query("bucket", d.BucketName, "totals", "true")
	wg.Wait()
	if err == nil {
		err = errByAPI
	}
	if err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusServiceUnavailable {
			d.Unavailable = e.Message
		} else {
			s.portalFail(w, r, ss, 0, err)
			return
		}
	} else {
		if series.Total != nil {
			d.Total = *series.Total
		}
		d.Requests, d.Latency = timeCharts(series.Items, rg.Bucket, d.FromAt, d.ToAt)
		d.ByAPI = byAPI.Items
	}
	if d.Limits, err = s.limitRows(r, ss, d.Subs, chosen); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	s.portalRender(w, r, http.StatusOK, "usage", pg)
}

// usageAPIs is how many APIs the usage page lists for an application.
const usageAPIs = 50

// limitRows describes the quota and the plan-wide rate limit of each live
// subscription of app (only chosen's, when not nil) whose plan has one:
// the plan's limits in words, and for an approved subscription how much
// of each current window the application has used, from GET
// /api/v1/subscriptions/{id}/usage (the gateway's counters: on a cluster,
// the cluster's count).
func (s *Server) limitRows(r *http.Request, ss *session, subs []subscriptionItem, chosen *subscriptionItem) ([]limitRow, error) {
	var out []limitRow
	for _, sub := range subs {
		if !sub.Status.Live() || chosen != nil && sub.ID != chosen.ID {
			continue
		}
		var p portico.Plan
		if err := s.do(r, apiCall{method: http.MethodGet, path: "/plans/" + url.PathEscape(sub.PlanID), token: ss.token}, &p); err != nil {
			if e, ok := err.(*apiError); ok && e.Status == http.StatusNotFound {
				continue
			}
			return nil, err
		}
		if p.Quota == nil && p.RateLimit == nil {
			continue
		}
		row := limitRow{API: sub.APIName + " " + sub.APIVersion, Plan: p.Name}
		if q := p.Quota; q != nil {
			row.Quota = thousands(q.Limit) + " requests a " + string(q.Per)
		}
		if rl := p.RateLimit; rl != nil {
			row.Rate = thousands(rl.Limit) + " requests a " + string(rl.Per)
		}
		if sub.Status != portico.Approved {
			row.Note = "The subscription waits for approval."
			out = append(out, row)
			continue
		}
		var u usageAnswer
		err := s.do(r, apiCall{method: http.MethodGet, path: "/subscriptions/" + url.PathEscape(sub.ID) + "/usage", token: ss.token}, &u)
		if e, ok := err.(*apiError); ok && e.Status == http.StatusServiceUnavailable {
			row.Note = "Use is not available right now: " + e.Message + "."
		} else if err != nil {
			return nil, err
		}
		if c := u.Quota; c != nil {
			row.QuotaUsed = thousands(c.Used) + " of " + thousands(c.Limit) + " this " + string(c.Per)
		}
		if c := u.RateLimit; c != nil {
			row.RateUsed = c.words()
		}
		out = append(out, row)
	}
	return out, nil
}

// usageAnswer is the admin API's GET /subscriptions/{id}/usage.
type usageAnswer struct {
	Quota     *counterAnswer `json:"quota"`
	RateLimit *counterAnswer `json:"rate_limit"`
}

// counterAnswer is one counter's current window.
type counterAnswer struct {
	Limit  int64          `json:"limit"`
	Used   int64          `json:"used"`
	Per    portico.Period `json:"per"`
	Window portico.Window `json:"window"`
}

// words says how much of the window is used: "12 of 100 this minute", "12
// of 100 in the last minute" (rolling).
func (c *counterAnswer) words() string {
	when := " this " + string(c.Per)
	if c.Window == portico.Rolling {
		when = " in the last " + string(c.Per)
	}
	return thousands(c.Used) + " of " + thousands(c.Limit) + when
}

// thousands writes n with its thousands separated by commas: 10,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
