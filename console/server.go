package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const (
	// defaultIdleTimeout ends a session unused this long.
	defaultIdleTimeout = 30 * time.Minute
	// defaultMaxAge ends a session this long after sign-in, used or not.
	defaultMaxAge = 12 * time.Hour
	// maxFormBytes bounds a form post.
	maxFormBytes = 256 << 10
	// pageSize is the number of items a list page shows.
	pageSize = 50
)

// TargetHealth reports whether the gateway takes each target of an API as
// up, in the order of the API's targets; nil when it does not route the
// API.
type TargetHealth func(api, version string) []bool

// Server is the web console and the developer portal, an http.Handler
// for /console/ and /portal/ on the admin listener. Only API is required;
// the other fields have useful zero values. Do not change the fields
// after the first request.
type Server struct {
	// API is the admin API's handler; every page is made of its answers
	// (see the package documentation). Required.
	API http.Handler

	// IdleTimeout ends a session that has not been used for this long.
	// If zero, 30 minutes.
	IdleTimeout time.Duration

	// MaxAge ends a session this long after sign-in. If zero, 12 hours;
	// the admin API caps it at its own token lifetime.
	MaxAge time.Duration

	// AllowedOrigins lists origins besides the console's own whose form
	// posts are served (as the admin API's AllowedOrigins). If nil, only
	// the listener's own origin.
	AllowedOrigins []string

	// TargetHealth shows, on an API's page, which of its targets this
	// node's gateway takes as up. If nil, health is not shown.
	TargetHealth TargetHealth

	// Logger receives what the console cannot show a user (template
	// failures). If nil, nothing is logged.
	Logger *slog.Logger

	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time

	// The fields below serve the developer portal at /portal/ (see the
	// package documentation); the console does not use them.

	// PublicURL is the front door's base URL, where callers reach the
	// gateway (and browsers the portal, when the front door forwards it),
	// such as https://api.example.com: the portal shows it in how to call
	// an API and takes the portal's form posts from its origin. If empty,
	// the portal shows http://GatewayAddr.
	PublicURL string

	// GatewayAddr is the gateway listener's address (host:port), the
	// base URL the portal shows when PublicURL is empty. If both are
	// empty, the portal shows API paths without a host.
	GatewayAddr string

	// KeyHeader is the request header the gateway takes API keys in. If
	// empty, X-API-Key.
	KeyHeader string

	// Gateway is the gateway's handler, which the portal's "try it" form
	// calls in-process with the signed-in user's key: no other host is
	// ever dialed. If nil, the portal has no "try it" form.
	Gateway http.Handler

	once   sync.Once
	mux    *http.ServeMux
	pages  map[string]*template.Template
	log    *slog.Logger
	static http.Handler
	portal portalSite
	tries  chan struct{} // the try-it calls running (tryParallel at most)
	refs   refCache      // the operations' documentation, by document
}

var _ http.Handler = (*Server)(nil)

func (s *Server) init() {
	s.once.Do(func() {
		s.log = s.Logger
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		s.pages = parsePages()
		s.tries = make(chan struct{}, tryParallel)
		sub, _ := fs.Sub(staticFS, "static")
		s.static = http.StripPrefix("/console/static/", http.FileServerFS(sub))
		s.mux = s.routes()
		s.portal = s.newPortalSite()
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return defaultIdleTimeout
}

func (s *Server) maxAge() time.Duration {
	if s.MaxAge > 0 {
		return s.MaxAge
	}
	return defaultMaxAge
}

// securityHeaders are sent with every answer of the console.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
	"X-Frame-Options":         "DENY",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "same-origin",
	"Cache-Control":           "no-store",
}

// ServeHTTP serves the console's pages and assets.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	h := w.Header()
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
	if isPortal(r) {
		s.servePortal(w, r)
		return
	}
	if r.Method == http.MethodPost && !s.sameOrigin(r) {
		s.fail(w, r, nil, http.StatusForbidden, "This form was sent from another site; it was refused.")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// serveAsset serves an embedded asset with files, which lists no
// directory (404).
func serveAsset(w http.ResponseWriter, r *http.Request, files http.Handler) {
	if strings.HasSuffix(r.URL.Path, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	files.ServeHTTP(w, r)
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /console/static/", func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, s.static) })
	m.HandleFunc("GET /console/login", s.loginPage)
	m.HandleFunc("POST /console/login", s.login)
	m.Handle("POST /console/logout", s.authed(s.logout))

	p := func(pattern string, fn pageFunc) { m.Handle(pattern, s.authed(fn)) }
	p("GET /console/{$}", s.home)
	p("GET /console/cluster", s.clusterPage)
	p("GET /console/cluster/members", s.clusterMembers)
	p("POST /console/cluster/datastore", s.setDatastore)
	p("GET /console/settings/analytics", s.analyticsSettingsPage)
	p("POST /console/settings/analytics", s.setAnalyticsSettings)

	p("GET /console/users", s.usersPage)
	p("GET /console/users/new", s.newUserPage)
	p("POST /console/users/new", s.createUser)
	p("GET /console/users/{id}", s.userPage)
	p("POST /console/users/{id}", s.updateUser)
	p("POST /console/users/{id}/signout", s.signOutUser)

	p("GET /console/apis", s.apisPage)
	p("GET /console/apis/new", s.newAPIPage)
	p("POST /console/apis/new", s.createAPI)
	p("GET /console/apis/import", s.importPage)
	p("POST /console/apis/import", s.importAPI)
	p("GET /console/apis/{id}", s.apiPage)
	p("POST /console/apis/{id}", s.updateAPI)
	p("POST /console/apis/{id}/{action}", s.transitionAPI)

	p("GET /console/plans", s.plansPage)
	p("GET /console/plans/new", s.newPlanPage)
	p("POST /console/plans/new", s.createPlan)
	p("GET /console/plans/{id}", s.planPage)
	p("POST /console/plans/{id}", s.updatePlan)

	p("GET /console/subscriptions", s.subscriptionsPage)
	p("POST /console/subscriptions/{id}/{action}", s.moderate)

	p("GET /console/notifications", s.notificationsPage)
	p("POST /console/notifications/read", s.markRead)

	p("GET /console/dashboard", s.dashboardPage)
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusNotFound, "There is no such page.")
	})
	return m
}
