package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/browsertest"
	"github.com/portico-gw/portico/internal/clickhousetest"
	"github.com/portico-gw/portico/internal/redistest"
)

// Users of TestConsoleBrowser besides the admin.
const (
	publisherName = "pat"
	publisherPass = "pat-password-of-the-console"
	subscriberPW  = "sam-password-of-the-console"
)

// TestConsoleBrowser drives the web console in a real headless Chromium
// against a real cluster of three nodes on a real redis-server, with a
// real clickhouse-server for analytics:
//
//   - the admin signs in on node 1's console and watches Cluster →
//     Members, without reloading, show the three nodes up, then a node
//     killed with SIGKILL down, then gone;
//   - the admin adds a ClickHouse address on Analytics settings; the page
//     lists it and node 2's admin API answers it;
//   - the admin creates a publisher on the Users page; the publisher, in
//     a tab of its own, creates a plan and an API balanced over two
//     backends and publishes it; a subscriber's subscription, pending on
//     the plan, is approved on the Subscriptions page; traffic through
//     node 2's gateway reaches both backends and node 1's Dashboard;
//   - a subscriber signed in gets 403 on the admin pages, whose links its
//     menu lacks;
//   - a form posted to the console from another origin, while the admin
//     is signed in in the same browser, is refused and creates no user;
//   - every main page passes CheckLabels and CheckKeyboard and has no CSP
//     violation and no console error.
//
// With PORTICO_UPDATE_SCREENSHOTS=1 it writes the screenshots of
// docs/console/.
func TestConsoleBrowser(t *testing.T) {
	started := time.Now()
	b := browsertest.New(t) // skips the test without Chromium, unless CI=true
	bin := buildInBackground(t)
	rs := redistest.Start(t)
	ch := clickhousetest.Start(t)
	n1 := startAnalyticsNode(t, rs.URL(), "node-1")
	n2 := startAnalyticsNode(t, rs.URL(), "node-2")
	n3 := startBinNode(t, bin(), rs.URL(), "node-3")
	t.Logf("browser, redis-server, clickhouse-server and three nodes up in %v", time.Since(started).Round(time.Millisecond))

	base := "http://" + n1.AdminAddr
	admin1 := client{t, base + "/api/v1", "admin", adminPassword}
	admin2 := client{t, "http://" + n2.AdminAddr + "/api/v1", "admin", adminPassword}
	checks := newPageChecks()

	adminTab := b.NewTab(t)
	signIn(t, adminTab, base, "admin", adminPassword, checks)
	docScreenshotOf(t, b, base+"/console/login", "login")

	consoleMembers(t, adminTab, base, admin1, n3, checks)
	consoleAnalyticsSettings(t, adminTab, base, admin2, ch.Addr(), checks)
	consolePublisherFlow(t, b, adminTab, base, admin1, n2, checks)
	consoleSubscriberPages(t, b, base, checks)
	consoleCrossSiteForm(t, adminTab, base, admin1, checks)

	t.Logf("checked pages: %s", strings.Join(checks.pages, ", "))
	t.Logf("whole test: %v", time.Since(started).Round(time.Millisecond))
}

// docScreenshotOf writes the screenshot name of page, seen signed out, in
// a tab of its own.
func docScreenshotOf(t *testing.T, b *browsertest.Browser, page, name string) {
	t.Helper()
	if os.Getenv(browsertest.UpdateScreenshotsEnv) != "1" {
		return
	}
	tab := b.NewTab(t)
	tab.Go(page)
	docScreenshot(t, tab, name)
}

// membersJS describes the rows of the members table as "name:status,…".
const membersJS = `Array.from(document.querySelectorAll("#members-table tbody tr")).map(r => r.dataset.node + ":" + r.cells[1].textContent.trim()).join(",")`

// consoleMembers: Cluster → Members shows the three nodes up; node 3 is
// killed and the page, refreshing itself, shows it down, then gone.
func consoleMembers(t *testing.T, tab *browsertest.Tab, base string, admin client, n3 *binNode, checks *pageChecks) {
	t.Helper()
	waitFor(t, "three nodes up in the admin API", 15*time.Second, func() bool {
		return slices.Equal(memberNames(admin, false), []string{"node-1", "node-2", "node-3"})
	})
	tab.Go(base + "/console/cluster")
	checks.check(t, tab, "cluster")
	// Every content the live refresh puts in #members is logged with its
	// time; the log lasts only as long as the page is not reloaded.
	tab.Eval(`(() => {
		const rows = () => `+membersJS+`;
		window.__members = [{t: Date.now(), rows: rows()}];
		new MutationObserver(() => window.__members.push({t: Date.now(), rows: rows()}))
			.observe(document.getElementById("members"), {childList: true});
	})()`, nil)
	const all = "node-1:up,node-2:up,node-3:up"
	pollPage(t, tab, "the three nodes up on the page", 10*time.Second,
		`window.__members !== undefined && `+membersJS+` === "`+all+`"`, membersJS)
	for _, name := range []string{"node-1", "node-2", "node-3"} {
		if got := tab.Text(`#members-table tr[data-node="` + name + `"] td`); got != name {
			t.Errorf("the first cell of %s's row reads %q", name, got)
		}
	}
	docScreenshot(t, tab, "cluster")

	// A node is listed down from 2 s to 3 s after its last heartbeat (of
	// a 1 s interval), then no more: a 1 s window, which the page's
	// refresh (every 0.8 s) falls into at least once. Killing node 3 just
	// after a refresh landed keeps the wait short.
	var refreshed bool
	tab.Eval(`new Promise(done => {
		const o = new MutationObserver(() => { o.disconnect(); done(true); });
		o.observe(document.getElementById("members"), {childList: true});
	})`, &refreshed)
	n3.cmd.Process.Kill() // SIGKILL: no chance to leave cleanly
	killed := time.Now()

	var log []struct {
		T    int64  `json:"t"`
		Rows string `json:"rows"`
	}
	deadline := killed.Add(30 * time.Second)
	for {
		tab.Eval(`window.__members || null`, &log)
		if log == nil {
			t.Fatal("the cluster page was reloaded: its log of refreshes is gone")
		}
		if last := log[len(log)-1].Rows; last == "node-1:up,node-2:up" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node-3 still listed 30 s after it was killed; the page shows %q", log[len(log)-1].Rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	gone := time.Since(killed)
	var seen []string
	down := false
	for _, e := range log {
		if len(seen) == 0 || seen[len(seen)-1] != e.Rows {
			seen = append(seen, e.Rows)
		}
		down = down || strings.Contains(e.Rows, "node-3:down")
	}
	t.Logf("node-3 killed: gone from the page after %v, without a reload; the page showed %q", gone.Round(time.Millisecond), seen)
	if !down {
		t.Errorf("the cluster page never showed node-3 down before it left the list; it showed %q", seen)
	}
}

// consoleAnalyticsSettings: an address added on Analytics settings is
// listed by the page and answered by another node's admin API.
func consoleAnalyticsSettings(t *testing.T, tab *browsertest.Tab, base string, other client, addr string, checks *pageChecks) {
	t.Helper()
	tab.Go(base + "/console/settings/analytics")
	checks.check(t, tab, "analytics settings")
	tab.SetValue("#add", addr)
	tab.ClickAndWait("#add + button")
	if st := tab.Status(); st != http.StatusOK {
		t.Fatalf("adding the address: status %d: %s", st, tab.Text("main"))
	}
	var listed []string
	tab.Eval(`Array.from(document.querySelectorAll('input[name="address"]')).map(e => e.value)`, &listed)
	// The page lists the address as PUT takes it, so that saving the
	// form again as it stands is taken.
	want := addr
	if !slices.Equal(listed, []string{want}) {
		t.Errorf("after adding %s the page lists %q, want [%s]", addr, listed, want)
	}
	tab.ClickAndWait(`main form button[type="submit"]`)
	if st := tab.Status(); st != http.StatusOK || tab.HTML() == "" || strings.Contains(tab.Text("main"), "field") {
		t.Errorf("saving the settings page unchanged: status %d: %s", st, tab.Text("main"))
	}
	waitFor(t, "node 2 to answer the address", 10*time.Second, func() bool {
		as, _ := other.call("GET", "/settings/analytics", nil, 200)["addresses"].([]any)
		return len(as) == 1 && as[0] == want
	})
}

// consolePublisherFlow: the admin creates a publisher in the browser; the
// publisher creates a plan and an API over two backends and publishes it;
// a subscriber's pending subscription is approved on the Subscriptions
// page; traffic through node 2 reaches both backends and the dashboard.
func consolePublisherFlow(t *testing.T, b *browsertest.Browser, adminTab *browsertest.Tab, base string, admin client, gw *Main, checks *pageChecks) {
	t.Helper()
	var hits [2]atomic.Int64
	var backends [2]string
	for i := range backends {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			fmt.Fprintf(w, "backend %d", i)
		}))
		t.Cleanup(s.Close)
		backends[i] = s.URL
	}

	// The admin creates the publisher through the Users page.
	adminTab.Go(base + "/console/users")
	checks.check(t, adminTab, "users")
	adminTab.ClickAndWait(`main a[href="/console/users/new"]`)
	checks.check(t, adminTab, "user form")
	adminTab.SetValue("#username", publisherName)
	adminTab.SetValue("#email", "pat@example.com")
	adminTab.Click(`input[name="roles"][value="subscriber"]`) // checked by default
	adminTab.Click(`input[name="roles"][value="publisher"]`)
	adminTab.SetValue("#password", publisherPass)
	adminTab.ClickAndWait(`main form.stack button[type="submit"]`)
	if st := adminTab.Status(); st != http.StatusOK {
		t.Fatalf("creating the publisher: status %d: %s", st, adminTab.Text("main"))
	}
	if u := findUser(t, admin, publisherName); u == nil || fmt.Sprint(u["roles"]) != "[publisher]" {
		t.Fatalf("the publisher as the admin API has it: %v", u)
	}

	// The publisher, in a browser context of its own.
	pub := b.NewTab(t)
	signIn(t, pub, base, publisherName, publisherPass, nil)
	pub.Go(base + "/console/plans")
	checks.check(t, pub, "plans")
	pub.ClickAndWait(`main a[href="/console/plans/new"]`)
	checks.check(t, pub, "plan form")
	pub.SetValue("#name", "hundred a minute")
	pub.Click(`input[name="rate_limit"]`)
	pub.SetValue("#rate_limit_limit", "100")
	pub.SetValue("#rate_limit_per", "minute")
	pub.ClickAndWait(`main form.stack button[type="submit"]`)
	planID := idFrom(t, pub, "/console/plans/")
	if got := pub.Text("ul.describe"); !strings.Contains(got, "100 requests a minute") {
		t.Errorf("the plan's page describes it as %q", got)
	}
	docScreenshot(t, pub, "plan")

	pub.Go(base + "/console/apis")
	checks.check(t, pub, "APIs")
	pub.ClickAndWait(`main a[href="/console/apis/new"]`)
	checks.check(t, pub, "API form")
	pub.SetValue("#name", "weather")
	pub.SetValue("#version", "v1")
	pub.SetValue("#context", "/weather")
	var keyAuth bool
	pub.Eval(`document.querySelector("#auth_api_key").checked`, &keyAuth)
	if !keyAuth {
		t.Fatal("a new API's form does not take API keys by default")
	}
	pub.SetValue("#endpoint_type", "load_balancer")
	pub.SetValue("#targets", backends[0]+" 1\n"+backends[1]+" 1\n")
	pub.Click(`input[name="plans"][value="` + planID + `"]`)
	pub.ClickAndWait(`main form.stack button[type="submit"]`)
	apiID := idFrom(t, pub, "/console/apis/")
	pub.ClickAndWait(`form[action$="/publish"] button`)
	if got := pub.Text(`ol.states [aria-current="step"]`); got != "published" {
		t.Fatalf("the API's state after publishing: %q", got)
	}
	docScreenshot(t, pub, "api")

	// A subscriber, through the admin API: the plan does not approve by
	// itself, so the subscription waits.
	admin.call("POST", "/users", map[string]any{"username": "sam", "password": subscriberPW, "roles": []string{"subscriber"}}, 201)
	sam := client{t, admin.base, "sam", subscriberPW}
	app := sam.call("POST", "/applications", map[string]any{"name": "sam's app"}, 201)["id"].(string)
	key := sam.call("POST", "/applications/"+app+"/keys", nil, 201)["key"].(string)
	sub := sam.call("POST", "/applications/"+app+"/subscriptions", map[string]any{"api": apiID, "plan": planID}, 201)
	if sub["status"] != "pending" {
		t.Fatalf("the subscription is %v, want pending", sub["status"])
	}
	subID := sub["id"].(string)

	pub.Go(base + "/console/subscriptions?status=pending")
	checks.check(t, pub, "subscriptions")
	row := `tr[data-subscription="` + subID + `"]`
	if got := pub.Text(row); !strings.Contains(got, "sam's app") || !strings.Contains(got, "pending") {
		t.Fatalf("the pending subscription's row reads %q", got)
	}
	docScreenshot(t, pub, "subscriptions")
	pub.ClickAndWait(row + ` form[action$="/approve"] button`)
	if got := admin.call("GET", "/subscriptions/"+subID, nil, 200)["status"]; got != "approved" {
		t.Fatalf("the subscription is %v after the approval", got)
	}

	// Traffic through node 2's gateway.
	api := "http://" + gw.GatewayAddr + "/weather/today"
	sent := 0
	waitFor(t, "node 2 to admit the key", 10*time.Second, func() bool {
		sent++
		code, _, _ := gatewayGet(t, api, key)
		return code == 200
	})
	before := [2]int64{hits[0].Load(), hits[1].Load()}
	for i := range 20 {
		if code, _, body := gatewayGet(t, api, key); code != 200 {
			t.Errorf("request %d through node 2: %d %s", i, code, body)
		}
	}
	sent += 20
	if d0, d1 := hits[0].Load()-before[0], hits[1].Load()-before[1]; d0 == 0 || d1 == 0 || d0+d1 != 20 {
		t.Errorf("20 requests reached the backends %d and %d times", d0, d1)
	}

	pub.Go(base + "/console/notifications")
	checks.check(t, pub, "notifications")
	var total int
	start := time.Now()
	for {
		pub.Go(base + "/console/dashboard")
		total, _ = strconv.Atoi(strings.ReplaceAll(pub.Text("#total-requests"), ",", ""))
		if total >= 20 {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the dashboard's requests card reads %d 30 s after the traffic, want at least 20", total)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("the dashboard counted %d requests (%d sent) after %v", total, sent, time.Since(start).Round(time.Millisecond))
	checks.check(t, pub, "dashboard")
	docScreenshot(t, pub, "dashboard")
}

// consoleSubscriberPages: a subscriber signed in gets 403 on the admin
// pages and its menu lacks them.
func consoleSubscriberPages(t *testing.T, b *browsertest.Browser, base string, checks *pageChecks) {
	t.Helper()
	tab := b.NewTab(t)
	signIn(t, tab, base, "sam", subscriberPW, nil)
	links := navLinks(t, tab)
	for _, p := range []string{"/console/users", "/console/cluster", "/console/settings/analytics"} {
		if slices.Contains(links, p) {
			t.Errorf("the subscriber's menu links to %s: %q", p, links)
		}
		tab.Go(base + p)
		if st := tab.Status(); st != http.StatusForbidden {
			t.Errorf("GET %s as a subscriber: status %d, want 403: %s", p, st, tab.Text("main"))
		}
	}
	checks.skip(tab) // the browser logs each 403 as a failed load
}

// consoleCrossSiteForm: a page of another origin posts a form to the
// console while the admin is signed in in the same browser context; the
// console refuses it and no user is created. The other origin is another
// port of 127.0.0.1 (same site: the SameSite=Strict cookie goes along,
// only the Origin check stands in the way) and 127.0.0.2 (another site).
func consoleCrossSiteForm(t *testing.T, tab *browsertest.Tab, base string, admin client, checks *pageChecks) {
	t.Helper()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		name := "mallory-" + strings.ReplaceAll(host, ".", "-")
		evil := evilSite(t, host, base+"/console/users/new", name)
		tab.Go(evil + "/")
		tab.ClickAndWait("#go")
		st, at := tab.Status(), tab.URL()
		u, _ := url.Parse(at)
		switch {
		case st == http.StatusForbidden:
		case st == http.StatusOK && u.Path == "/console/login":
		default:
			t.Errorf("a form posted from %s: status %d at %s, want 403 or the sign-in page: %s", evil, st, at, tab.Text("main"))
		}
		if u := findUser(t, admin, name); u != nil {
			t.Errorf("a form posted from %s created the user %v", evil, u)
		}
		t.Logf("a form posted from %s to the console on port %s: status %d at %s", evil, port, st, at)
	}
	checks.skip(tab)
	// The admin's session is still good.
	tab.Go(base + "/console/users")
	if st := tab.Status(); st != http.StatusOK {
		t.Errorf("the admin's users page after the refused posts: %d", st)
	}
}

// evilSite serves, on host, a page whose button posts a form creating an
// admin named name to action, and returns its base URL.
func evilSite(t *testing.T, host, action, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Win a prize</title></head><body>
<form method="post" action="%s">
<input type="hidden" name="username" value="%s">
<input type="hidden" name="password" value="mallory-password-123">
<input type="hidden" name="roles" value="admin">
<input type="hidden" name="csrf" value="guessed">
<button id="go" type="submit">Claim</button>
</form></body></html>`, action, name)
	}))
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s.URL
}

// findUser returns the user named name as the admin API lists it, or nil.
func findUser(t *testing.T, admin client, name string) map[string]any {
	t.Helper()
	for _, u := range admin.call("GET", "/users?q="+url.QueryEscape(name), nil, 200)["items"].([]any) {
		if m := u.(map[string]any); m["username"] == name {
			return m
		}
	}
	return nil
}

// idFrom returns the id in the URL tab shows, /console/<kind>/<id>?…,
// after a form created it.
func idFrom(t *testing.T, tab *browsertest.Tab, prefix string) string {
	t.Helper()
	u, err := url.Parse(tab.URL())
	if err != nil || !strings.HasPrefix(u.Path, prefix) || tab.Status() != http.StatusOK {
		t.Fatalf("after the form: status %d at %s: %s", tab.Status(), tab.URL(), tab.Text("main"))
	}
	id := strings.TrimPrefix(u.Path, prefix)
	if id == "" || id == "new" || strings.Contains(id, "/") {
		t.Fatalf("after the form: at %s, want %s<id>: %s", tab.URL(), prefix, tab.Text("main"))
	}
	return id
}
