package console_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portico-gw/portico/console"
	"github.com/portico-gw/portico/internal/consoletest"
)

// portalUsers are the users of a portal test besides the admin: a
// publisher, two subscribers.
const (
	pubName, pubPW   = "pat", "pat-password-1"
	subName, subPW   = "sam", "sam-password-1"
	sub2Name, sub2PW = "sue", "sue-password-1"
)

// gatewayCall is a request the portal handed to the gateway's handler.
type gatewayCall struct {
	Method, RequestURI, Host, RemoteAddr string
	Header                               http.Header
	Body                                 string
}

// handlerGateway stands in for the gateway's handler in the console's
// tests (console may not import proxy; cmd/portico's browser test runs the
// real one): it keeps every request the portal hands it and answers with
// answer, or by default 200 and a JSON echo of the path.
type handlerGateway struct {
	mu     sync.Mutex
	calls  []gatewayCall
	answer http.HandlerFunc
}

func (g *handlerGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.calls = append(g.calls, gatewayCall{r.Method, r.RequestURI, r.Host, r.RemoteAddr, r.Header.Clone(), string(b)})
	answer := g.answer
	g.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Backend", "yes")
	io.WriteString(w, `{"path":"`+r.URL.Path+`"}`)
}

func (g *handlerGateway) Calls() []gatewayCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatewayCall(nil), g.calls...)
}

// portalEnv is a running admin API, console and portal, on one listener
// as on the admin listener of a node.
type portalEnv struct {
	*consoletest.Console
	Gateway *handlerGateway
}

// newPortal starts the admin API, the console and the portal, with a
// stand-in gateway; set changes the console's Server before it serves.
func newPortal(t testing.TB, set ...func(*console.Server)) *portalEnv {
	t.Helper()
	return newPortalWith(t, consoletest.Options{}, set...)
}

// newPortalWith is newPortal with the options o of consoletest.NewWith.
func newPortalWith(t testing.TB, o consoletest.Options, set ...func(*console.Server)) *portalEnv {
	t.Helper()
	c := consoletest.NewWith(t, o)
	for _, f := range set {
		f(c.Console)
	}
	return newPortalOn(t, c)
}

// newPortalOn serves the portal of c, which has served no request yet,
// beside its admin API and console, with a stand-in gateway unless c has
// a gateway.
func newPortalOn(t testing.TB, c *consoletest.Console) *portalEnv {
	t.Helper()
	gw := &handlerGateway{}
	if c.Console.Gateway == nil {
		c.Console.Gateway = gw
	}
	if c.Console.Logger == nil {
		c.Console.Logger = slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if c.Console.GatewayAddr == "" {
		c.Console.GatewayAddr = "gateway.test:8080"
	}
	mux := http.NewServeMux()
	mux.Handle("/", c.Admin)
	mux.Handle("/console/", c.Console)
	mux.Handle("/portal/", c.Console)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	pc := *c
	pc.URL, pc.Server = ts.URL, ts
	return &portalEnv{Console: &pc, Gateway: gw}
}

// tlog writes a server's log lines to the test's log.
type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// portalSignIn signs user in through the portal's sign-in form; the test
// fails if it is not.
func (e *portalEnv) portalSignIn(t testing.TB, user, pass string) *consoletest.Client {
	t.Helper()
	cl := e.NewClient(t)
	if st, loc := portalLogin(t, cl, user, pass); st != http.StatusSeeOther || strings.Contains(loc, "/login") {
		t.Fatalf("signing in to the portal as %s: status %d, Location %q", user, st, loc)
	}
	return cl
}

// portalLogin fills in and sends the portal's sign-in form.
func portalLogin(t testing.TB, cl *consoletest.Client, user, pass string) (int, string) {
	t.Helper()
	_, body := cl.Get("/portal/login")
	st, _, loc := cl.Post("/portal/login", url.Values{"form": {consoletest.Field(body, "form")},
		"username": {user}, "password": {pass}, "next": {"/portal/apps"}})
	return st, loc
}

// catalogFixture is what seedCatalog made.
type catalogFixture struct {
	Free, Gold             string // plans: Free auto-approves, Gold waits for approval with a quota
	Weather, Old, Draft    string // APIs: published, deprecated, draft
	Basic                  string // a published API with basic auth only
	App, OtherApp          string // sam's and sue's applications
	Key, OtherKey          string // a live key of each
	KeyPrefix, OtherPrefix string
}

// seedCatalog makes, through the admin API: pat's plans and APIs (weather
// published at /weather with both plans, old deprecated, draft a draft,
// basic published with Basic auth), the subscribers sam and sue with an
// application and a key each.
func seedCatalog(t *testing.T, e *portalEnv) catalogFixture { return seedCatalogTB(t, e) }

// seedCatalogTB is seedCatalog for benchmarks and fuzz targets too.
func seedCatalogTB(t testing.TB, e *portalEnv) catalogFixture {
	t.Helper()
	var f catalogFixture
	api := func(user, pass, method, path, body string, want int) map[string]any {
		t.Helper()
		st, b := e.API(t, user, pass, method, path, body)
		if st != want {
			t.Fatalf("%s %s as %s: %d %s, want %d", method, path, user, st, b, want)
		}
		var out map[string]any
		json.Unmarshal([]byte(b), &out)
		return out
	}
	for _, u := range [][3]string{{pubName, pubPW, "publisher"}, {subName, subPW, "subscriber"}, {sub2Name, sub2PW, "subscriber"}} {
		api(admin, adminPW, "POST", "/users", `{"username":"`+u[0]+`","password":"`+u[1]+`","roles":["`+u[2]+`"]}`, http.StatusCreated)
	}
	f.Free = api(pubName, pubPW, "POST", "/plans", `{"name":"Free","auto_approve":true,"rate_limit":{"limit":100,"per":"minute","window":"fixed","resources":[{"pattern":"POST /orders","limit":5,"per":"second","window":"fixed"}]}}`, 201)["id"].(string)
	f.Gold = api(pubName, pubPW, "POST", "/plans", `{"name":"Gold","quota":{"limit":10000,"per":"month","mode":"hard"}}`, 201)["id"].(string)
	mk := func(name, context, auth, desc string) string {
		return api(pubName, pubPW, "POST", "/apis", `{"name":"`+name+`","version":"v1","context":"`+context+`","description":"`+desc+`","tags":["géo","`+name+` tag"],
			"visibility":"public","auth":`+auth+`,"endpoint":{"type":"single","targets":[{"url":"http://127.0.0.1:9"}]},
			"plans":["`+f.Free+`","`+f.Gold+`"]}`, 201)["id"].(string)
	}
	f.Weather = mk("weather", "/weather", `["api_key"]`, "Forecasts <b>and</b> observations")
	f.Old = mk("oldweather", "/oldweather", `["api_key"]`, "The first forecasts")
	f.Draft = mk("drafty", "/drafty", `["api_key"]`, "Not yet")
	f.Basic = mk("basicapi", "/basicapi", `["basic"]`, "Basic only")
	for _, id := range []string{f.Weather, f.Old, f.Basic} {
		api(pubName, pubPW, "POST", "/apis/"+id+"/publish", "", 200)
	}
	api(pubName, pubPW, "POST", "/apis/"+f.Old+"/deprecate", "", 200)
	f.App = api(subName, subPW, "POST", "/applications", `{"name":"sam's app"}`, 201)["id"].(string)
	f.OtherApp = api(sub2Name, sub2PW, "POST", "/applications", `{"name":"sue's app"}`, 201)["id"].(string)
	k := api(subName, subPW, "POST", "/applications/"+f.App+"/keys", "", 201)
	f.Key, f.KeyPrefix = k["key"].(string), k["prefix"].(string)
	k = api(sub2Name, sub2PW, "POST", "/applications/"+f.OtherApp+"/keys", "", 201)
	f.OtherKey, f.OtherPrefix = k["key"].(string), k["prefix"].(string)
	return f
}

// between returns the text of body from the first start to the next end
// after it, or "" when start is not found.
func between(body, start, end string) string {
	i := strings.Index(body, start)
	if i < 0 {
		return ""
	}
	body = body[i+len(start):]
	if j := strings.Index(body, end); j >= 0 {
		return body[:j]
	}
	return body
}
