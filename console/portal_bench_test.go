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

// BenchmarkPortalPages measures the server time of the developer portal's
// pages as the seeded subscriber-0000 (100 applications), a whole GET
// through the handler (session check, the admin API calls, the template)
// with the network left out, on the scale of BenchmarkPages: 10,000 APIs
// (5,000 published, 2,500 deprecated), 100,000 applications and
// subscriptions, 100,000 analytics records over the last day. Each
// reports ms/page; the goal is 50 ms (pageGoal), a measure of this
// benchmark, not a test assertion:
//
//	go test ./console -run '^$' -bench PortalPages -benchtime 20x
func BenchmarkPortalPages(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	var seeded consoletest.Seeded
	c := consoletest.New(b, consoletest.Seed(b, pagesScale, start, &seeded))
	if err := consoletest.SeedAnalytics(ctx, c.Analytics, &seeded, pagesRecords, start.Add(-23*time.Hour), start.Add(-time.Minute)); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d APIs, %d applications, %d subscriptions, %d analytics records in %v",
		pagesScale.APIs, pagesScale.Applications, pagesScale.Subscriptions, pagesRecords, time.Since(start).Round(time.Millisecond))
	e := newPortalOn(b, c)
	cl := e.portalSignIn(b, "subscriber-0000", consoletest.SubscriberPassword)
	u, _ := url.Parse(e.URL + "/portal/")
	var cookie *http.Cookie
	for _, k := range cl.HTTP.Jar.Cookies(u) {
		if k.Name == "portico_portal" {
			cookie = k
		}
	}
	if cookie == nil {
		b.Fatal("no portal session cookie")
	}
	// subscriber-0000 owns applications 0, 1000, 2000, …
	app := seeded.Applications[0]
	pages := []struct{ name, path, want string }{
		{"catalog", "/portal/", consoletest.APIName(0)},
		// Past the 5,000 published APIs, into the deprecated ones.
		{"catalog-deep", "/portal/?offset=7450", "Deprecated"},
		{"catalog-search", "/portal/?q=" + url.QueryEscape("api-07"), consoletest.APIName(7000)},
		{"catalog-search-none", "/portal/?q=" + url.QueryEscape("no such api"), "No API matches"},
		{"api", "/portal/apis/" + seeded.APIs[5000], "How to call it"},
		{"apps", "/portal/apps", "app-000000"},
		{"app", "/portal/apps/" + app, "API keys"},
		{"usage-day", "/portal/usage?range=day&application=" + app, "usage-requests"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			get := func() *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.AddCookie(cookie)
				w := httptest.NewRecorder()
				c.Console.ServeHTTP(w, req)
				return w
			}
			if w := get(); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), p.want) {
				b.Fatalf("GET %s: %d, want 200 with %q:\n%s", p.path, w.Code, p.want, mainOf(w.Body.String()))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if w := get(); w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", p.path, w.Code)
				}
			}
			ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(ms, "ms/page")
			if b.N > 1 {
				b.Logf("portal page %s: %.1f ms (goal %d ms)", p.name, ms, pageGoal.Milliseconds())
			}
		})
	}
}
