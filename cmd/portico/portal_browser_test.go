package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/browsertest"
)

// TestPortalBrowser drives the developer portal in a real headless
// Chromium against a node (embedded store and analytics) whose API
// "forecast" has a backend of its own:
//
//   - a visitor's catalog lists the public API, not an intranet one, and
//     shows the public API's page;
//   - with sign-up open, a developer signs up on the portal and is signed
//     in; it finds the API in the catalog and reads its plan in words and
//     how to call it;
//   - it creates an application through the form, makes a key (shown
//     once; the copy button, hidden without the script, is shown and
//     answers), subscribes the application on a plan that approves at
//     once;
//   - it tries a call with the key on the API's page: the request goes
//     through the node's gateway in-process and reaches the backend, and
//     the page shows 200 and the backend's body;
//   - it rotates the key with an hour of grace: the new key is shown once,
//     and calls with the old key and the new one both go through;
//   - its usage page counts the calls once the analytics store has them,
//     and shows the quota's and the rate limit's use as the gateway's
//     limiter counted them;
//   - every page passes CheckLabels and CheckKeyboard and has no CSP
//     violation and no console error.
//
// With PORTICO_UPDATE_SCREENSHOTS=1 it writes the screenshots of
// docs/portal/.
func TestPortalBrowser(t *testing.T) {
	started := time.Now()
	b := browsertest.New(t) // skips the test without Chromium, unless CI=true
	m := startNodeWith(t, t.TempDir(), func(c *Config) { c.AnalyticsFlushInterval = 200 * time.Millisecond })
	base := "http://" + m.AdminAddr
	admin := client{t, base + "/api/v1", "admin", adminPassword}
	var mu sync.Mutex
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" key:"+r.Header.Get("X-Api-Key"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"forecast":"sunny","path":"`+r.URL.Path+`"}`)
	}))
	t.Cleanup(backend.Close)
	t.Logf("browser and node up in %v", time.Since(started).Round(time.Millisecond))

	plan := admin.call("POST", "/plans", map[string]any{
		"name": "Starter", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 100, "per": "minute"},
		"quota":      map[string]any{"limit": 10000, "per": "month", "mode": "hard"},
	}, 201)["id"].(string)
	api := admin.call("POST", "/apis", map[string]any{
		"name": "forecast", "version": "v1", "context": "/forecast", "description": "Tomorrow's weather, today.", "tags": []string{"weather", "forecast"},
		"visibility": "public", "auth": []string{"api_key"}, "plans": []string{plan},
		"endpoint": map[string]any{"type": "single", "targets": []map[string]any{{"url": backend.URL}}},
	}, 201)["id"].(string)
	admin.call("POST", "/apis/"+api+"/publish", nil, 200)
	admin.call("PUT", "/settings/signup", map[string]any{"mode": "open"}, 200)
	checks := newPageChecks()

	intranet := admin.call("POST", "/apis", map[string]any{
		"name": "payroll", "version": "v1", "context": "/payroll", "visibility": "intranet", "auth": []string{"api_key"}, "plans": []string{plan},
		"endpoint": map[string]any{"type": "single", "targets": []map[string]any{{"url": backend.URL}}},
	}, 201)["id"].(string)
	admin.call("POST", "/apis/"+intranet+"/publish", nil, 200)

	// A visitor sees the public API, not the intranet one.
	visitor := b.NewTab(t)
	visitor.Go(base + "/portal/")
	checks.check(t, visitor, "catalog (visitor)")
	if got := visitor.Text("main"); !strings.Contains(got, "forecast") || strings.Contains(got, "payroll") {
		t.Errorf("the visitor's catalog reads %q, want forecast and not payroll", got)
	}
	visitor.ClickAndWait(`li[data-api="` + api + `"] h2 a`)
	checks.check(t, visitor, "API (visitor)")
	if got := visitor.Text(`section.plan`); !strings.Contains(got, "Quota of 10,000 requests a month") {
		t.Errorf("the visitor's API page reads %q", got)
	}
	visitor.Go(base + "/portal/apis/" + intranet)
	if st := visitor.Status(); st != http.StatusNotFound {
		t.Errorf("the intranet API's page for a visitor: status %d, want 404", st)
	}

	// The developer signs up, is signed in, and finds the API.
	tab := b.NewTab(t)
	tab.Go(base + "/portal/")
	tab.ClickAndWait(`header a[href="/portal/signup"]`)
	checks.check(t, tab, "sign-up")
	portalScreenshot(t, tab, "signup")
	tab.SetValue("#username", "dev")
	tab.SetValue("#email", "dev@example.com")
	tab.SetValue("#password", subscriberPW)
	tab.SetValue("#password2", subscriberPW)
	tab.ClickAndWait(`form.login button[type="submit"]`)
	if !strings.HasSuffix(tab.URL(), "/portal/apps") || tab.Status() != http.StatusOK {
		t.Fatalf("after signing up: %s, status %d: %s", tab.URL(), tab.Status(), tab.Text("main"))
	}
	if u := findUser(t, admin, "dev"); u == nil || fmt.Sprint(u["roles"]) != "[subscriber]" {
		t.Fatalf("the new user as the admin API has it: %v", u)
	}
	tab.ClickAndWait(`nav a[href="/portal/"]`)
	checks.check(t, tab, "catalog")
	portalScreenshot(t, tab, "catalog")
	tab.ClickAndWait(`li[data-api="` + api + `"] h2 a`)
	checks.check(t, tab, "API")
	if got := tab.Text(`section.plan`); !strings.Contains(got, "Every request: 100 requests a minute, then 429.") ||
		!strings.Contains(got, "Quota of 10,000 requests a month") {
		t.Errorf("the plan reads %q", got)
	}
	if got := tab.Text("#base-url"); got != "http://"+m.GatewayAddr+"/forecast" {
		t.Errorf("the base URL reads %q, want the gateway's", got)
	}

	// An application and a key.
	tab.ClickAndWait(`nav a[href="/portal/apps"]`)
	checks.check(t, tab, "applications")
	tab.SetValue("#name", "dev's app")
	tab.ClickAndWait(`#new-app button[type="submit"]`)
	if !strings.Contains(tab.URL(), "/portal/apps/") || tab.Status() != http.StatusOK {
		t.Fatalf("after creating the application: %s, status %d: %s", tab.URL(), tab.Status(), tab.Text("main"))
	}
	tab.ClickAndWait("#new-key")
	if st := tab.Status(); st != http.StatusCreated {
		t.Fatalf("making a key: status %d: %s", st, tab.Text("main"))
	}
	checks.check(t, tab, "new key")
	key := tab.Text("#new-key-text")
	if !strings.HasPrefix(key, "pk_") {
		t.Fatalf("the new key reads %q", key)
	}
	tab.Click(`button[data-copy="new-key-text"]`) // visible only once the script showed it
	tab.WaitText("#new-key-copied", ".")
	t.Logf("the copy button says %q", tab.Text("#new-key-copied"))
	portalScreenshot(t, tab, "application")

	// Subscribe on the API's page, then try a call.
	tab.Go(base + "/portal/apis/" + api)
	tab.ClickAndWait(`#subscribe button[type="submit"]`)
	if got := tab.Text(`p.notice`); !strings.Contains(got, "Subscribed") {
		t.Fatalf("after subscribing: %q", got)
	}
	if got := tab.Text(`tr[data-subscription]`); !strings.Contains(got, "approved") {
		t.Errorf("the subscription's row reads %q", got)
	}
	checks.check(t, tab, "API (subscribed)")
	tab.SetValue("#try-key", key)
	tab.SetValue("#try-path", "/today")
	tab.SetValue("#try-query", "city=Lyon")
	tab.SetValue("#try-headers", "Accept: application/json")
	waitFor(t, "the gateway to take the new subscription", 10*time.Second, func() bool {
		tab.SetValue("#try-key", key)
		tab.ClickAndWait(`form[action$="/try#try"] button[type="submit"]`)
		return tab.Text("#try-status") == "200 OK"
	})
	if got := tab.Text("#try-body-out"); !strings.Contains(got, `"forecast":"sunny"`) {
		t.Errorf("the response body reads %q", got)
	}
	mu.Lock()
	got := strings.Join(seen, "\n")
	mu.Unlock()
	if !strings.Contains(got, "GET /today?city=Lyon key:") && !strings.Contains(got, "GET /forecast/today?city=Lyon key:") {
		t.Errorf("the backend saw %q", got)
	}
	if strings.Contains(got, key) {
		t.Errorf("the key reached the backend: %q", got)
	}
	t.Logf("the backend saw: %s", got)
	checks.check(t, tab, "API (tried)")
	portalScreenshot(t, tab, "try-it")

	// Rotation with an hour of grace: both keys work.
	tab.ClickAndWait(`tr[data-subscription] td a[href^="/portal/apps/"]`)
	tab.ClickAndWait(`form[action$="/rotate"] button[type="submit"]`) // 1 hour, the default
	if st := tab.Status(); st != http.StatusCreated {
		t.Fatalf("rotating the key: status %d: %s", st, tab.Text("main"))
	}
	checks.check(t, tab, "rotated key")
	newKey := tab.Text("#new-key-text")
	if !strings.HasPrefix(newKey, "pk_") || newKey == key {
		t.Fatalf("the rotated key reads %q", newKey)
	}
	if got := tab.Text("p.notice"); !strings.Contains(got, "The old key keeps working until") {
		t.Errorf("after rotating: %q", got)
	}
	for _, k := range []string{key, newKey} {
		tab.Go(base + "/portal/apis/" + api)
		tab.SetValue("#try-key", k)
		tab.SetValue("#try-path", "/rotated")
		tab.ClickAndWait(`form[action$="/try#try"] button[type="submit"]`)
		if got := tab.Text("#try-status"); got != "200 OK" {
			t.Errorf("a call with the %s key after the rotation: %q", map[bool]string{true: "old", false: "new"}[k == key], got)
		}
	}

	// The calls in the usage page.
	var requests int
	waitFor(t, "the usage page to count the calls", 15*time.Second, func() bool {
		tab.Go(base + "/portal/usage?range=hour")
		requests, _ = strconv.Atoi(tab.Text("#usage-requests"))
		return requests >= 3
	})
	// The quota's use, as the gateway's limiter counted the calls that
	// went through (three at least: the tries before the subscription
	// reached the gateway were refused, and not counted).
	limits := tab.Text(`section.limits[aria-label="forecast v1"]`)
	used := regexp.MustCompile(`Used: (\d+) of 10,000 this month`).FindStringSubmatch(limits)
	if !strings.Contains(limits, "Quota: 10,000 requests a month.") || used == nil {
		t.Errorf("the usage page's limits read %q", limits)
	} else if n, _ := strconv.Atoi(used[1]); n < 3 || n > requests {
		t.Errorf("the quota's use reads %d, want from 3 to the %d requests counted", n, requests)
	}
	if !regexp.MustCompile(`Used: \d+ of 100 this minute`).MatchString(limits) {
		t.Errorf("the rate limit's use is not shown: %q", limits)
	}
	t.Logf("%d requests counted; limits: %q", requests, limits)
	checks.check(t, tab, "usage")
	portalScreenshot(t, tab, "usage")
	t.Logf("checked pages: %s", strings.Join(checks.pages, ", "))
	t.Logf("whole test: %v", time.Since(started).Round(time.Millisecond))
}

// portalScreenshot writes the documentation's screenshot name.png of tab
// under docs/portal when PORTICO_UPDATE_SCREENSHOTS=1, and fails the
// test when the file is over 300 KB.
func portalScreenshot(t *testing.T, tab *browsertest.Tab, name string) {
	t.Helper()
	if os.Getenv(browsertest.UpdateScreenshotsEnv) != "1" {
		return
	}
	path := filepath.Join("..", "..", "docs", "portal", name+".png")
	tab.Eval(`document.activeElement?.blur()`, nil)
	if !browsertest.SaveScreenshot(t, tab, path) {
		return
	}
	if st, err := os.Stat(path); err != nil {
		t.Error(err)
	} else if st.Size() > 300<<10 {
		t.Errorf("%s is %d KB, want at most 300 KB", path, st.Size()>>10)
	}
}
