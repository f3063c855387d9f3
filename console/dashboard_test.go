package console_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/analyticstest"
	"github.com/portico-gw/portico/internal/consoletest"
)

// TestDashboardTotals: the dashboard's totals — requests, errors and the
// latency percentiles of the whole range, which come with the series in
// one query — are those of every record in the range, as the reference
// aggregation counts them, also when a top list leaves groups out; the
// top APIs of one API's dashboard are that API.
func TestDashboardTotals(t *testing.T) {
	records := analyticstest.Records()
	last := records[0].Time
	for _, r := range records {
		if r.Time.After(last) {
			last = r.Time
		}
	}
	now := last.Add(time.Hour).Truncate(time.Minute)
	c := consoletest.NewWith(t, consoletest.Options{Now: func() time.Time { return now }})
	if err := c.Analytics.Write(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	cl := c.SignIn(t, admin, adminPW)
	// The dashboard's week ends at the next whole minute.
	to := now.Add(time.Minute)
	for _, api := range []string{"", records[0].API} {
		q := portico.AnalyticsQuery{From: to.Add(-7 * 24 * time.Hour), To: to, Filters: map[string]string{}}
		if api != "" {
			q.Filters[portico.DimAPI] = api
		}
		want := analyticstest.Aggregate(records, q)
		if len(want) != 1 || want[0].Requests < 100 {
			t.Fatalf("the reference records give %+v over the week", want)
		}
		st, body := cl.Get("/console/dashboard?range=week&api=" + api)
		if st != http.StatusOK {
			t.Fatalf("dashboard of %q: %d", api, st)
		}
		w := want[0]
		ms := func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + " ms" }
		for _, s := range []string{
			`id="total-requests">` + strconv.FormatInt(w.Requests, 10) + "<",
			`id="total-errors">` + strconv.FormatInt(w.Errors, 10) + "<",
			ms(w.LatencyP50) + " / " + ms(w.LatencyP95) + " / " + ms(w.LatencyP99),
		} {
			if !strings.Contains(body, s) {
				t.Errorf("dashboard of %q lacks %q:\n%s", api, s, mainOf(body))
			}
		}
		// One API's top APIs are that API alone, drawn from the totals.
		if top := "Top APIs, 1 bars, largest " + api + " "; api != "" && !strings.Contains(body, top) {
			t.Errorf("dashboard of %q lacks %q:\n%s", api, top, mainOf(body))
		}
	}
}
