package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/console"
	"github.com/portico-gw/portico/internal/consoletest"
)

// TestPortalSession: the portal's session cookie is its own — HttpOnly,
// SameSite=Strict, limited to /portal/ — and a console session is no
// portal session, nor the reverse.
func TestPortalSession(t *testing.T) {
	e := newPortal(t)
	addUser(t, e.Console, subName, "subscriber")
	cl := e.NewClient(t)
	_, body := cl.Get("/portal/login")
	req, _ := http.NewRequest("POST", e.URL+"/portal/login", strings.NewReader(url.Values{
		"form": {consoletest.Field(body, "form")}, "username": {subName}, "password": {subPW}, "next": {"/portal/usage"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := cl.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/usage" {
		t.Fatalf("sign-in: %d to %q, want 303 to /portal/usage", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "portico_portal=") {
			cookie = v
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/portal/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("portal session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("portal session cookie %q is Secure over plain HTTP", cookie)
	}
	if st, _ := cl.Get("/portal/apps"); st != http.StatusOK {
		t.Errorf("signed in to the portal, /portal/apps: %d", st)
	}
	if st, _, loc := cl.Do(mustGet(t, e.URL+"/console/notifications")); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login") {
		t.Errorf("a portal session on the console: %d to %q, want the console's sign-in", st, loc)
	}
	con := e.SignIn(t, subName, subPW)
	if st, _, loc := con.Do(mustGet(t, e.URL+"/portal/apps")); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/portal/login?next=") {
		t.Errorf("a console session on the portal: %d to %q, want the portal's sign-in", st, loc)
	}
	// Sign-in's next never leads off the portal.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/console/users", "/portal/../api/v1/users", "javascript:alert(1)"} {
		cl := e.NewClient(t)
		_, body := cl.Get("/portal/login?next=" + url.QueryEscape(next))
		st, _, loc := cl.Post("/portal/login", url.Values{"form": {consoletest.Field(body, "form")}, "username": {subName}, "password": {subPW}, "next": {next}})
		if st != http.StatusSeeOther || loc != "/portal/" {
			t.Errorf("next=%q: %d to %q, want 303 to /portal/", next, st, loc)
		}
	}
	// Sign-out ends the portal session.
	cl.Get("/portal/apps")
	if st, _, _ := cl.Post("/portal/logout", nil); st != http.StatusSeeOther {
		t.Fatalf("sign out: %d", st)
	}
	if st, _, _ := cl.Do(mustGet(t, e.URL+"/portal/apps")); st != http.StatusSeeOther {
		t.Errorf("after signing out, /portal/apps: %d, want 303 to the sign-in page", st)
	}
}

// TestPortalSignInThrottled: the portal's sign-in is the admin API's,
// throttled the same: a wrong password is 401, the form without its
// cookie 403, and after 10 failures the right password 429.
func TestPortalSignInThrottled(t *testing.T) {
	e := newPortal(t)
	addUser(t, e.Console, subName, "subscriber")
	cl := e.NewClient(t)
	if st, _, _ := cl.Post("/portal/login", url.Values{"form": {"abc"}, "username": {subName}, "password": {subPW}}); st != http.StatusForbidden {
		t.Errorf("sign-in without the form's cookie: %d, want 403", st)
	}
	if st, _ := portalLogin(t, e.NewClient(t), subName, "wrong"); st != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", st)
	}
	for range 9 {
		portalLogin(t, e.NewClient(t), subName, "wrong")
	}
	if st, _ := portalLogin(t, e.NewClient(t), subName, subPW); st != http.StatusTooManyRequests {
		t.Errorf("after 10 failures, the right password: %d, want 429", st)
	}
}

// TestPortalCrossSite: a portal form post from another site, without the
// CSRF token, with another session's token or with the console's token of
// the same user is refused and changes nothing; so is one from the APIs'
// host (PublicURL), whose pages backends write; the portal's host on the
// front door (an AllowedOrigins entry) is the portal's own.
func TestPortalCrossSite(t *testing.T) {
	e := newPortal(t, func(c *console.Server) {
		c.PublicURL = "https://api.example.com"
		c.AllowedOrigins = []string{"https://developer.example.net"}
	})
	addUser(t, e.Console, subName, "subscriber")
	cl := e.portalSignIn(t, subName, subPW)
	other := e.portalSignIn(t, subName, subPW)
	con := e.SignIn(t, subName, subPW)
	cl.Get("/portal/apps")
	other.Get("/portal/apps")
	con.Get("/console/notifications")
	post := func(origin, site string, f url.Values) int {
		req, _ := http.NewRequest("POST", e.URL+"/portal/apps", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		st, _, _ := cl.Do(req)
		return st
	}
	form := func(tok string) url.Values {
		f := url.Values{"name": {"mallory's app"}}
		if tok != "-" {
			f.Set("csrf", tok)
		}
		return f
	}
	for _, tc := range []struct {
		name, origin, site string
		form               url.Values
	}{
		{"other origin", "https://evil.example", "", form(cl.CSRF)},
		{"null origin", "null", "", form(cl.CSRF)},
		{"cross-site fetch", "", "cross-site", form(cl.CSRF)},
		{"the APIs' host, cross-site", "https://api.example.com", "cross-site", form(cl.CSRF)},
		{"the APIs' host, same-origin", "https://api.example.com", "same-origin", form(cl.CSRF)},
		{"the portal's host, cross-site", "https://developer.example.net", "cross-site", form(cl.CSRF)},
		{"no token", e.URL, "", form("-")},
		{"empty token", e.URL, "", form("")},
		{"another session's token", e.URL, "", form(other.CSRF)},
		{"the console's token", e.URL, "", form(con.CSRF)},
	} {
		if st := post(tc.origin, tc.site, tc.form); st != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, st)
		}
	}
	if _, b := e.API(t, subName, subPW, "GET", "/applications", ""); strings.Contains(b, "mallory") {
		t.Fatalf("a refused form created the application: %s", b)
	}
	if st := post("https://developer.example.net", "same-origin", form(cl.CSRF)); st != http.StatusSeeOther {
		t.Errorf("the portal's form through the front door (Origin https://developer.example.net): %d, want 303", st)
	}
	// Another name: an owner's applications have distinct names.
	own := form(cl.CSRF)
	own.Set("name", "mallory's second app")
	if st := post(e.URL, "same-origin", own); st != http.StatusSeeOther {
		t.Errorf("the portal's own form: %d, want 303", st)
	}
}

// TestPortalCatalog: the catalog lists the published APIs, then the
// deprecated ones (with a notice), never drafts; it searches and pages
// through both lists; an API's page shows its plans' limits in words, its
// resources and how to call it; a draft's page is not found. Every page
// has the console's security headers.
func TestPortalCatalog(t *testing.T) {
	e := newPortal(t, func(c *console.Server) { c.PublicURL = "https://api.example.com/" })
	f := seedCatalog(t, e)
	cl := e.portalSignIn(t, subName, subPW)
	st, body := cl.Get("/portal/")
	if st != http.StatusOK {
		t.Fatalf("catalog: %d", st)
	}
	cards := regexp.MustCompile(`data-api="([0-9a-f]+)"`).FindAllStringSubmatch(body, -1)
	var ids []string
	for _, m := range cards {
		ids = append(ids, m[1])
	}
	if want := []string{f.Weather, f.Basic, f.Old}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("catalog lists %v, want published weather and basicapi, then deprecated oldweather %v", ids, want)
	}
	if !strings.Contains(between(body, `data-api="`+f.Old+`"`, "</li>"), "Deprecated") {
		t.Error("the deprecated API's card has no deprecation notice")
	}
	if strings.Contains(between(body, `data-api="`+f.Weather+`"`, "</li>"), "Deprecated") {
		t.Error("a published API's card says deprecated")
	}
	if !strings.Contains(body, "Forecasts &lt;b&gt;and&lt;/b&gt; observations") {
		t.Error("the description is not shown, escaped")
	}
	_, body = cl.Get("/portal/?q=OLDWEATHER")
	if !strings.Contains(body, `data-api="`+f.Old+`"`) || strings.Contains(body, `data-api="`+f.Weather+`"`) {
		t.Errorf("search for OLDWEATHER: want only oldweather")
	}
	_, body = cl.Get("/portal/?q=" + strings.Repeat("x", 201))
	if !strings.Contains(body, "field-error") && !strings.Contains(body, `class="error"`) {
		t.Errorf("a 201-byte search is not refused with the admin API's error")
	}

	st, body = cl.Get("/portal/apis/" + f.Weather)
	if st != http.StatusOK {
		t.Fatalf("API page: %d", st)
	}
	for _, want := range []string{
		"Other requests: 100 requests a minute, then 429.",
		"POST /orders: 5 requests a second, then 429.",
		"Quota of 10,000 requests a month (UTC calendar), then 429 until the month ends.",
		"Subscriptions wait for the approval of the API&#39;s owner.",
		`<code id="base-url">https://api.example.com/weather</code>`,
		"curl -H &#39;X-API-Key: YOUR_API_KEY&#39; &#39;https://api.example.com/weather/&#39;",
		"<code>POST /orders</code>",
		"in the X-API-Key header",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the API page lacks %q", want)
		}
	}
	_, body = cl.Get("/portal/apis/" + f.Old)
	if !strings.Contains(body, `class="deprecated"`) {
		t.Error("the deprecated API's page has no deprecation notice")
	}
	_, body = cl.Get("/portal/apis/" + f.Basic)
	if !strings.Contains(body, "HTTP Basic authentication: your application&#39;s ID as the user name") {
		t.Error("the Basic API's page does not say how to call it")
	}
	if st, _ := cl.Get("/portal/apis/" + f.Draft); st != http.StatusNotFound {
		t.Errorf("a draft's page: %d, want 404", st)
	}
	if st, _ := cl.Get("/portal/apis/..%2F..%2Fusers"); st != http.StatusNotFound {
		t.Errorf("an API id with escaped slashes: %d, want 404", st)
	}
	for _, p := range []string{"/portal/", "/portal/apis/" + f.Weather, "/portal/apps", "/portal/usage", "/portal/login", "/portal/signup", "/portal/nope"} {
		resp, err := cl.HTTP.Get(e.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: security headers %v", p, h)
		}
	}
}

// TestPortalCatalogPages: with more APIs than a page, the catalog pages
// through the published ones, then the deprecated ones, each listed once.
func TestPortalCatalogPages(t *testing.T) {
	var seeded consoletest.Seeded
	c := consoletest.New(t, consoletest.Seed(t, consoletest.Scale{Publishers: 2, Subscribers: 1, APIs: 130, Plans: 2}, time.Now(), &seeded))
	// The seeded store has published (i mod 4 is 0 or 1), deprecated (2)
	// and draft (3) APIs: 66 published, 32 deprecated.
	pe := newPortalOn(t, c)
	cl := pe.portalSignIn(t, "subscriber-0000", consoletest.SubscriberPassword)
	seen := map[string]int{}
	var order []string
	next := "/portal/"
	for pages := 0; next != "" && pages < 10; pages++ {
		st, body := cl.Get(next)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d", next, st)
		}
		for _, m := range regexp.MustCompile(`<a href="/portal/apis/[^"]+">(api-\d+)</a>`).FindAllStringSubmatch(body, -1) {
			seen[m[1]]++
			order = append(order, m[1])
		}
		next = ""
		if m := regexp.MustCompile(`<a href="(\?[^"]*)" rel="next">`).FindStringSubmatch(body); m != nil {
			next = "/portal/" + strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(order) != 98 {
		t.Fatalf("the catalog's pages list %d APIs, want 98 (66 published, 32 deprecated)", len(order))
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", name, n)
		}
	}
	// Published first: api-00000, 00001, 00004, …; the first deprecated
	// (api-00002) comes after the 66 published.
	if order[0] != "api-00000" || order[65] != "api-00129" || order[66] != "api-00002" {
		t.Errorf("order: first %s, 66th %s, 67th %s; want api-00000, api-00129, api-00002", order[0], order[65], order[66])
	}
}

// TestPortalOperations: an API's page lists its operations, escaped,
// each with a Try link that fills the form in, and offers its OpenAPI
// document, which names the front door and not the backend.
func TestPortalOperations(t *testing.T) {
	e := newPortal(t, func(c *console.Server) { c.PublicURL = "https://api.example.com/" })
	f := seedCatalog(t, e)
	st, b := e.API(t, pubName, pubPW, "GET", "/apis/"+f.Weather, "")
	if st != http.StatusOK {
		t.Fatalf("GET the API: %d %s", st, b)
	}
	var a map[string]any
	json.Unmarshal([]byte(b), &a)
	a["resources"] = []map[string]any{
		{"pattern": "GET /forecast/*", "path": "/forecast/{city}", "operation_id": "forecast", "summary": "The forecast <script>alert(1)</script>"},
		{"pattern": "POST /orders", "operation_id": "order"},
		{"pattern": "/anything"},
	}
	body, _ := json.Marshal(a)
	if st, b := e.API(t, pubName, pubPW, "PUT", "/apis/"+f.Weather, string(body)); st != http.StatusOK {
		t.Fatalf("PUT resources: %d %s", st, b)
	}

	cl := e.portalSignIn(t, subName, subPW)
	_, page := cl.Get("/portal/apis/" + f.Weather)
	ops := between(page, `<h2 id="operations">`, `<p><a href="/portal/apis/`)
	for _, want := range []string{
		`<details class="operation" data-operation="forecast"><summary><code class="method">GET</code> <code class="path">/forecast/{city}</code> <span class="op-summary">The forecast &lt;script&gt;alert(1)&lt;/script&gt;</span>`,
		`<a class="try-link" href="?try_method=GET&amp;try_path=%2fforecast%2f%7bcity%7d#try">Try it</a>`,
		`<code class="method">POST</code> <code class="path">/orders</code>`,
		`<code class="method">ANY</code> <code class="path">/anything</code>`,
	} {
		if !strings.Contains(ops, want) {
			t.Errorf("the operations lack %q:\n%s", want, ops)
		}
	}
	if strings.Contains(between(page, `<code class="path">/anything</code>`, "</details>"), "try-link") {
		t.Error("an operation of any method has a Try link")
	}
	if strings.Contains(page, "<script>alert") {
		t.Fatal("a summary reached the page unescaped")
	}
	_, page = cl.Get("/portal/apis/" + f.Weather + "?try_method=POST&try_path=/orders")
	form := between(page, `<form class="stack" method="post" action="/portal/apis/`+f.Weather+`/try#try">`, "</form>")
	if !strings.Contains(form, `<option selected>POST</option>`) || !strings.Contains(form, `value="/orders"`) {
		t.Errorf("a Try link does not fill the form in:\n%s", form)
	}
	_, page = cl.Get("/portal/apis/" + f.Weather + "?try_method=TRACE&try_path=http://evil.example/")
	form = between(page, `action="/portal/apis/`+f.Weather+`/try#try">`, "</form>")
	if !strings.Contains(form, `<option selected>GET</option>`) || strings.Contains(form, "evil.example") {
		t.Errorf("the form took a method or path it does not offer:\n%s", form)
	}

	// The document, anonymously too: the API is public.
	anon := e.NewClient(t)
	for _, c := range []*consoletest.Client{cl, anon} {
		resp, err := c.HTTP.Get(e.URL + "/portal/apis/" + f.Weather + "/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
			!strings.Contains(string(doc), `"/forecast/{city}"`) ||
			strings.Contains(string(doc), "127.0.0.1:9") {
			t.Errorf("openapi.json: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), doc)
		}
	}
	if st, _ := cl.Get("/portal/apis/" + f.Draft + "/openapi.json"); st != http.StatusNotFound {
		t.Errorf("a draft's document: %d, want 404", st)
	}
}

// TestPortalOperationDocs: the page of an API imported from an OpenAPI
// document shows each operation's parameters, bodies' schemas and
// examples, and responses, rendered on the server, the document's texts
// escaped.
func TestPortalOperationDocs(t *testing.T) {
	e := newPortal(t)
	f := seedCatalog(t, e)
	doc, err := os.ReadFile("../openapi/testdata/petstore-openapi30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.Replace(doc, []byte("summary: List all pets"), []byte("summary: List all pets <img src=x onerror=alert(1)>"), 1)
	req, _ := http.NewRequest("POST", e.URL+"/api/v1/apis/import?context=/petstore&api="+f.Weather, bytes.NewReader(doc))
	req.Header.Set("Content-Type", "application/yaml")
	req.SetBasicAuth(pubName, pubPW)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import: %d %s", resp.StatusCode, b)
	}
	for _, cl := range []*consoletest.Client{e.NewClient(t), e.portalSignIn(t, subName, subPW)} {
		st, page := cl.Get("/portal/apis/" + f.Weather)
		if st != http.StatusOK {
			t.Fatalf("API page: %d", st)
		}
		list := between(page, `data-operation="listPets"`, "</details>")
		for _, want := range []string{
			"List all pets &lt;img src=x onerror=alert(1)&gt;",
			"<td><code>limit</code></td><td>query</td><td>integer (int32)</td><td>no</td><td>How many items to return at one time (max 100)</td>",
			"<h4>Response <code>200</code></h4><p>A paged array of pets</p>",
			"<h4>Response <code>default</code></h4><p>unexpected error</p>",
			`&#34;required&#34;: [`,
		} {
			if !strings.Contains(list, want) {
				t.Errorf("listPets lacks %q:\n%s", want, list)
			}
		}
		show := between(page, `data-operation="showPetById"`, "</details>")
		if !strings.Contains(show, "<td><code>petId</code></td><td>path</td><td>string</td><td>yes</td>") {
			t.Errorf("showPetById's path parameter:\n%s", show)
		}
		if strings.Contains(page, "<img src=x") {
			t.Fatal("the document's text reached the page unescaped")
		}
	}
}

// countingAPI counts the admin API calls of one path suffix.
type countingAPI struct {
	http.Handler
	suffix string
	n      atomic.Int64
}

func (c *countingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, c.suffix) {
		c.n.Add(1)
	}
	c.Handler.ServeHTTP(w, r)
}

// TestPortalReferenceOnce: the operations' documentation of an imported
// API is made once — concurrent first views wait for one description of
// the document, later views use it — and again after a new import.
func TestPortalReferenceOnce(t *testing.T) {
	var exports *countingAPI
	e := newPortal(t, func(c *console.Server) {
		exports = &countingAPI{Handler: c.API, suffix: "/openapi"}
		c.API = exports
	})
	f := seedCatalog(t, e)
	doc, err := os.ReadFile("../openapi/testdata/petstore-openapi30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	imp := func(doc []byte) {
		req, _ := http.NewRequest("POST", e.URL+"/api/v1/apis/import?context=/petstore&api="+f.Weather, bytes.NewReader(doc))
		req.Header.Set("Content-Type", "application/yaml")
		req.SetBasicAuth(pubName, pubPW)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("import: %d", resp.StatusCode)
		}
	}
	imp(doc)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, err := http.Get(e.URL + "/portal/apis/" + f.Weather)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(b), `data-operation="listPets"`) {
					t.Error("a page lacks the operations")
				}
			}
		})
	}
	wg.Wait()
	e.NewClient(t).Get("/portal/apis/" + f.Weather)
	if n := exports.n.Load(); n != 1 {
		t.Errorf("9 views made %d descriptions, want 1", n)
	}
	imp(bytes.Replace(doc, []byte("List all pets"), []byte("List every pet"), 1))
	if _, page := e.NewClient(t).Get("/portal/apis/" + f.Weather); !strings.Contains(page, "List every pet") || exports.n.Load() != 2 {
		t.Errorf("after a new import: %d descriptions, new summary shown: %v", exports.n.Load(), strings.Contains(page, "List every pet"))
	}
}
