// Package consoletest starts Portico's web console for tests, like
// httptest: an admin API on a real embedded store (sqlitestore), with the
// embedded analytics store, and the console in front of it on one
// loopback listener; and a browser-like Client that signs in through the
// sign-in form and sends the forms' CSRF tokens.
package consoletest

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/console"
	"github.com/portico-gw/portico/ratelimit"
	"github.com/portico-gw/portico/sqlitestore"
	"golang.org/x/crypto/bcrypt"
)

// AdminPassword is the password of the user "admin" of a new Console.
const AdminPassword = "console-admin-password"

// Console is a running console with its admin API.
type Console struct {
	URL       string // http://127.0.0.1:port
	Admin     *admin.Server
	Console   *console.Server
	DB        *sqlitestore.DB
	Analytics *sqlitestore.Analytics
	Server    *httptest.Server
}

// New starts a console on a fresh embedded store with the admin user and
// stops it when the test ends. configure, when given, changes the admin
// and console Servers before they serve.
func New(t testing.TB, configure ...func(*admin.Server, *console.Server)) *Console {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlitestore.Open(ctx, filepath.Join(dir, "portico.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	an, err := sqlitestore.OpenAnalytics(ctx, filepath.Join(dir, "analytics.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { an.Close() })
	a := &admin.Server{Store: db, Tokens: db, Analytics: an, PasswordCost: bcrypt.MinCost,
		SignInLimiter: new(ratelimit.Memory), Notifications: db}
	c := &console.Server{API: a}
	for _, f := range configure {
		f(a, c)
	}
	if err := a.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.EnsureAdmin(ctx, AdminPassword); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", a)
	mux.Handle("/console/", c)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &Console{URL: ts.URL, Admin: a, Console: c, DB: db, Analytics: an, Server: ts}
}

// Options change a Console from New's defaults; zero fields keep them.
// Tests of packages that may not import admin or console (see
// layout_test.go) use these rather than New's configure functions.
type Options struct {
	Now         func() time.Time         // the clock of the admin API and console
	IdleTimeout time.Duration            // console.Server.IdleTimeout
	MaxAge      time.Duration            // console.Server.MaxAge
	Analytics   portico.AnalyticsQuerier // instead of the embedded analytics store
}

// NewWith starts a console as New does, changed by o.
func NewWith(t testing.TB, o Options) *Console {
	t.Helper()
	return New(t, func(a *admin.Server, c *console.Server) {
		if o.Now != nil {
			a.Now, c.Now = o.Now, o.Now
		}
		c.IdleTimeout, c.MaxAge = o.IdleTimeout, o.MaxAge
		if o.Analytics != nil {
			a.Analytics = o.Analytics
		}
	})
}

// API calls the admin API as user:pass with a JSON body (or none) and
// returns the status and body.
func (c *Console) API(t testing.TB, user, pass, method, path, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.URL+"/api/v1"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Client is a browser-like client of the console: it keeps cookies,
// follows no redirect by itself, and remembers the CSRF token of the last
// page it read.
type Client struct {
	t    testing.TB
	base string
	HTTP *http.Client
	CSRF string
}

// NewClient returns a client with no session.
func (c *Console) NewClient(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, base: c.URL, HTTP: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// SignIn returns a client signed in as user through the sign-in form; the
// test fails if it is not.
func (c *Console) SignIn(t testing.TB, user, pass string) *Client {
	t.Helper()
	cl := c.NewClient(t)
	if st, loc := cl.Login(user, pass); st != http.StatusSeeOther || strings.Contains(loc, "/login") {
		t.Fatalf("signing in as %s: status %d, Location %q", user, st, loc)
	}
	return cl
}

// Login fills in and sends the sign-in form and returns the status and
// the Location of the answer.
func (cl *Client) Login(user, pass string) (int, string) {
	cl.t.Helper()
	_, body := cl.Get("/console/login")
	form := Field(body, "form")
	st, _, loc := cl.Post("/console/login", url.Values{"form": {form}, "username": {user}, "password": {pass}, "next": {"/console/"}})
	return st, loc
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// Field returns the value of the first hidden input named name in body.
func Field(body, name string) string {
	re := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`)
	if m := re.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// Do sends req with the client's cookies and returns the status, body and
// Location.
func (cl *Client) Do(req *http.Request) (int, string, string) {
	cl.t.Helper()
	resp, err := cl.HTTP.Do(req)
	if err != nil {
		cl.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(b); m != nil {
		cl.CSRF = string(m[1])
	}
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// Get reads a page and returns its status and body.
func (cl *Client) Get(path string) (int, string) {
	cl.t.Helper()
	req, err := http.NewRequest(http.MethodGet, cl.base+path, nil)
	if err != nil {
		cl.t.Fatal(err)
	}
	st, body, _ := cl.Do(req)
	return st, body
}

// Post sends a form as the console's pages do: with the CSRF token of the
// last page read unless form has one, and the console's Origin.
func (cl *Client) Post(path string, form url.Values) (int, string, string) {
	cl.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") && cl.CSRF != "" {
		form.Set("csrf", cl.CSRF)
	}
	req, err := http.NewRequest(http.MethodPost, cl.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		cl.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", cl.base)
	return cl.Do(req)
}

var _ portico.TokenStore = (*sqlitestore.DB)(nil)

// For returns a copy of the client that reports to t, sharing its cookies:
// for a client made once and used by many tests (fuzzing).
func (cl *Client) For(t testing.TB) *Client {
	c := *cl
	c.t = t
	return &c
}

// SessionCookie signs in as user through the sign-in form and returns the
// session's cookie, for requests sent straight to a handler.
func (c *Console) SessionCookie(t testing.TB, user, pass string) *http.Cookie {
	t.Helper()
	cl := c.SignIn(t, user, pass)
	u, _ := url.Parse(c.URL + "/console/")
	for _, k := range cl.HTTP.Jar.Cookies(u) {
		if k.Name == "portico_console" {
			return k
		}
	}
	t.Fatalf("signing in as %s set no session cookie", user)
	return nil
}
