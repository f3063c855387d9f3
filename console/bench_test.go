package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/consoletest"
)

// pagesScale is the size the console's pages are measured at: the scale
// the console must stay fast at (every page within 50 ms of server time).
var pagesScale = consoletest.Scale{
	Publishers:    100,
	Subscribers:   1000,
	APIs:          10_000,
	Plans:         200,
	Applications:  100_000,
	Subscriptions: 100_000,
	Notifications: 2000,
}

// pagesRecords is how many analytics records the dashboard is measured
// over, spread over the last day.
const pagesRecords = 100_000

// pageGoal is the most server time a page may take at pagesScale.
const pageGoal = 50 * time.Millisecond

// benchPage is a page measured by BenchmarkPages, as one user.
type benchPage struct {
	name, path string
	publisher  bool   // as publisher-000 instead of admin
	want       string // text the page must show
}

// BenchmarkPages measures the server time of each console page, a whole
// GET through the console's handler (session check, the admin API calls,
// the template) with the network left out, as an admin and, for the
// pages a publisher has, as a publisher, on a real embedded store seeded
// with pagesScale and, for the dashboard, 100,000 analytics records over
// the last day. The store is seeded once, then shared by the
// sub-benchmarks. Each reports ms/page; the goal is 50 ms (pageGoal), a
// measure of this benchmark, not a test assertion:
//
//	go test ./console -run '^$' -bench Pages -benchtime 20x
func BenchmarkPages(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	var seeded consoletest.Seeded
	c := consoletest.New(b, consoletest.Seed(b, pagesScale, start, &seeded))
	seededAt := time.Since(start)
	if err := consoletest.SeedAnalytics(ctx, c.Analytics, &seeded, pagesRecords, start.Add(-23*time.Hour), start.Add(-time.Minute)); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d APIs, %d applications, %d subscriptions in %v; %d analytics records in %v",
		pagesScale.APIs, pagesScale.Applications, pagesScale.Subscriptions, seededAt.Round(time.Millisecond),
		pagesRecords, (time.Since(start) - seededAt).Round(time.Millisecond))

	cookies := map[bool]*http.Cookie{
		false: c.SessionCookie(b, "admin", consoletest.AdminPassword),
		true:  c.SessionCookie(b, consoletest.PublisherName(0), consoletest.PublisherPassword),
	}
	own := seeded.APIs[0] // publisher-000's
	pages := []benchPage{
		{"apis", "/console/apis", false, consoletest.APIName(0)},
		{"apis-deep", "/console/apis?offset=9950", false, consoletest.APIName(9950)},
		{"apis-search", "/console/apis?q=" + url.QueryEscape("api-07"), false, consoletest.APIName(7000)},
		{"api-edit", "/console/apis/" + seeded.APIs[5000], false, consoletest.APIName(5000)},
		{"plans", "/console/plans", false, "plan-000"},
		{"subscriptions-pending", "/console/subscriptions?status=pending", false, "app-000000"},
		{"subscriptions", "/console/subscriptions", false, "app-000000"},
		{"users", "/console/users", false, "publisher-000"},
		{"users-search", "/console/users?q=subscriber-09", false, "subscriber-0900"},
		{"dashboard-day", "/console/dashboard?range=day", false, "Top applications"},
		{"dashboard-day-api", "/console/dashboard?range=day&api=" + consoletest.APIName(0), false, "Top applications"},
		{"cluster", "/console/cluster", false, "Members"},
		{"notifications", "/console/notifications", false, "asks to subscribe"},

		{"apis", "/console/apis", true, consoletest.APIName(0)},
		// publisher-000 sees its 100 APIs and the 7,500 published or
		// deprecated ones: 7,525.
		{"apis-deep", "/console/apis?offset=7475", true, "api-"},
		{"apis-search", "/console/apis?q=" + url.QueryEscape("api-07"), true, consoletest.APIName(7000)},
		{"api-edit", "/console/apis/" + own, true, consoletest.APIName(0)},
		{"plans", "/console/plans", true, "plan-000"},
		{"subscriptions-pending", "/console/subscriptions?status=pending", true, "app-"},
		{"subscriptions", "/console/subscriptions", true, "app-"},
		{"dashboard-day", "/console/dashboard?range=day", true, "Top applications"},
		{"notifications", "/console/notifications", true, "asks to subscribe"},
	}
	for _, p := range pages {
		who := "admin"
		if p.publisher {
			who = "publisher"
		}
		b.Run(who+"/"+p.name, func(b *testing.B) {
			cookie := cookies[p.publisher]
			get := func() *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.AddCookie(cookie)
				w := httptest.NewRecorder()
				c.Console.ServeHTTP(w, req)
				return w
			}
			if w := get(); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), p.want) {
				b.Fatalf("GET %s as %s: %d, want 200 with %q:\n%s", p.path, who, w.Code, p.want, mainOf(w.Body.String()))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if w := get(); w.Code != http.StatusOK {
					b.Fatalf("GET %s as %s: %d", p.path, who, w.Code)
				}
			}
			ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(ms, "ms/page")
			if b.N > 1 {
				b.Logf("page %s as %s: %.1f ms (goal %d ms)", p.name, who, ms, pageGoal.Milliseconds())
			}
		})
	}
}

// mainOf returns the start of the main part of a page, for a failure.
func mainOf(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	return body[:min(len(body), 2000)]
}
