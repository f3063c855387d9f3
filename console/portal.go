package console

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/portico-gw/portico"
)

// The portal's paths and cookies. Its session cookie is its own, limited
// to /portal/: the front door forwards /portal/ (wsconfig --portal) but
// never /console/, and a console session is no portal session.
const (
	portalPath        = "/portal/"
	portalCookie      = "portico_portal"
	portalLoginCookie = "portico_portal_login" // the sign-in and sign-up forms' CSRF value
	defaultKeyHeader  = "X-API-Key"
)

// portalSite is what the portal builds once: its pages, routes and
// assets.
type portalSite struct {
	pages  map[string]*template.Template
	mux    *http.ServeMux
	static http.Handler
}

func (s *Server) newPortalSite() portalSite {
	sub, _ := fs.Sub(staticFS, "static")
	return portalSite{
		pages:  parsePortalPages(),
		mux:    s.portalRoutes(),
		static: http.StripPrefix("/portal/static/", http.FileServerFS(sub)),
	}
}

// isPortal reports whether r is for the portal.
func isPortal(r *http.Request) bool {
	return r.URL.Path == "/portal" || strings.HasPrefix(r.URL.Path, portalPath)
}

// servePortal serves a portal request; ServeHTTP has set the security
// headers.
func (s *Server) servePortal(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && !s.portalSameOrigin(r) {
		s.portalFail(w, r, nil, http.StatusForbidden, "This form was sent from another site; it was refused.")
		return
	}
	s.portal.mux.ServeHTTP(w, r)
}

func (s *Server) portalRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /portal/static/", func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, s.portal.static) })
	m.HandleFunc("GET /portal/login", s.portalLoginPage)
	m.HandleFunc("POST /portal/login", s.portalLogin)
	m.HandleFunc("GET /portal/signup", s.portalSignupPage)
	m.HandleFunc("POST /portal/signup", s.portalSignup)
	m.Handle("POST /portal/logout", s.portalAuthed(s.portalLogout))

	open := func(pattern string, fn pageFunc) { m.Handle(pattern, s.portalOpen(fn)) }
	open("GET /portal/{$}", s.catalogPage)
	open("GET /portal/apis/{id}", s.portalAPIPage)
	open("GET /portal/apis/{id}/openapi.json", s.portalOpenAPI)

	p := func(pattern string, fn pageFunc) { m.Handle(pattern, s.portalAuthed(fn)) }
	p("POST /portal/apis/{id}/subscribe", s.portalSubscribe)
	p("POST /portal/apis/{id}/try", s.portalTry)
	p("GET /portal/apps", s.portalAppsPage)
	p("POST /portal/apps", s.portalCreateApp)
	p("GET /portal/apps/{id}", s.portalAppPage)
	p("POST /portal/apps/{id}", s.portalUpdateApp)
	p("POST /portal/apps/{id}/delete", s.portalDeleteApp)
	p("POST /portal/apps/{id}/keys", s.portalCreateKey)
	p("POST /portal/apps/{id}/keys/{key}/{action}", s.portalKeyAction)
	p("POST /portal/subscriptions/{id}/cancel", s.portalCancel)
	p("GET /portal/usage", s.portalUsagePage)

	m.HandleFunc("/portal/", func(w http.ResponseWriter, r *http.Request) {
		s.portalFail(w, r, nil, http.StatusNotFound, "There is no such page.")
	})
	return m
}

// portalSameOrigin reports whether a form post comes from the portal's
// own pages, as the console's do (sameOrigin: the listener's origin and
// AllowedOrigins, where the portal's host on the front door goes). Never
// from PublicURL's: that is the APIs' host, whose pages the APIs'
// backends write.
func (s *Server) portalSameOrigin(r *http.Request) bool { return s.sameOrigin(r) }

// publicOrigin is the origin (scheme://host[:port]) of base URL u, or ""
// when u is not an absolute http or https URL.
func publicOrigin(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// gatewayBase is the base URL the portal shows callers: PublicURL, else
// http://GatewayAddr, else "" (paths only).
func (s *Server) gatewayBase() string {
	if o := publicOrigin(s.PublicURL); o != "" {
		p, _ := url.Parse(s.PublicURL)
		return o + strings.TrimSuffix(p.EscapedPath(), "/")
	}
	if s.GatewayAddr != "" {
		return "http://" + s.GatewayAddr
	}
	return ""
}

func (s *Server) keyHeader() string {
	if s.KeyHeader != "" {
		return s.KeyHeader
	}
	return defaultKeyHeader
}

// portalCSRF is the CSRF token of the session's portal forms, apart from
// its console forms' (csrf).
func (ss *session) portalCSRF() string {
	m := hmac.New(sha256.New, []byte(ss.token))
	m.Write([]byte("portico portal form"))
	return hex.EncodeToString(m.Sum(nil))
}

// portalSession finds the request's portal session: nil without one (an
// ended session's cookie is cleared). It reports false when it answered
// the browser itself (the admin API failed).
func (s *Server) portalSession(w http.ResponseWriter, r *http.Request) (*session, bool) {
	c, err := r.Cookie(portalCookie)
	if err != nil || c.Value == "" || len(c.Value) > 256 {
		return nil, true
	}
	ss := &session{token: c.Value}
	var u portico.User
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/users/me", token: ss.token}, &u); err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusUnauthorized {
			s.portalSetCookie(w, r, portalCookie, "", -1)
			return nil, true
		}
		s.portalFail(w, r, nil, 0, err)
		return nil, false
	}
	ss.user = &u
	return ss, true
}

// portalOpen runs fn for visitors too: with the session when there is
// one, else with nil. It serves GETs only.
func (s *Server) portalOpen(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, ok := s.portalSession(w, r)
		if ok {
			fn(w, r, ss)
		}
	})
}

// portalAuthed runs fn with the request's session; without one it sends
// the browser to the portal's sign-in page. A POST must carry the
// session's portal CSRF token.
func (s *Server) portalAuthed(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, ok := s.portalSession(w, r)
		if !ok {
			return
		}
		if ss == nil {
			s.portalToLogin(w, r)
			return
		}
		if r.Method == http.MethodPost {
			if !s.portalReadForm(w, r, ss) {
				return
			}
			if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(ss.portalCSRF())) {
				s.portalFail(w, r, ss, http.StatusForbidden, "This form has expired or was not sent from the portal; reload the page and try again.")
				return
			}
		}
		fn(w, r, ss)
	})
}

// portalToLogin sends the browser to the portal's sign-in page, to come
// back to the page it asked for (a GET) afterwards.
func (s *Server) portalToLogin(w http.ResponseWriter, r *http.Request) {
	next := portalPath
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/portal/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// portalSecure reports whether the portal's cookies are Secure: when
// served over TLS, or through a front door on https (PublicURL) whose
// Host the request carries.
func (s *Server) portalSecure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	p, err := url.Parse(s.PublicURL)
	return err == nil && p.Scheme == "https" && p.Host != "" && strings.EqualFold(p.Host, r.Host)
}

func (s *Server) portalSetCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     portalPath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.portalSecure(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// portalReadForm reads a form post as readForm does, answering with the
// portal's pages.
func (s *Server) portalReadForm(w http.ResponseWriter, r *http.Request, ss *session) bool {
	if st, msg := parseForm(w, r, "The portal"); st != 0 {
		s.portalFail(w, r, ss, st, msg)
		return false
	}
	return true
}

// portalPage is what every portal template gets: a console page whose
// forms carry the portal's CSRF token.
type portalPage struct{ page }

// CSRF is the token every form of the page carries.
func (p *portalPage) CSRF() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.portalCSRF()
}

// portalNav is the portal's menu.
func portalNav(ss *session) []navItem {
	nav := []navItem{{"/portal/", "Catalog"}}
	if ss != nil {
		nav = append(nav, navItem{"/portal/apps", "Applications"}, navItem{"/portal/usage", "Usage"})
	}
	return nav
}

// parsePortalPages parses each page of templates/portal_*.html with the
// portal's layout and the console's partials (the pager, the search and
// CSRF fields, field errors: in layout.html).
func parsePortalPages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS,
		"templates/layout.html", "templates/partials.html", "templates/portal_layout.html"))
	files, err := fs.Glob(templateFS, "templates/portal_*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "portal_layout" {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
	}
	return pages
}

// portalRender writes the portal page named name
// (templates/portal_name.html) in the portal's layout.
func (s *Server) portalRender(w http.ResponseWriter, r *http.Request, status int, name string, p *portalPage) {
	t := s.portal.pages["portal_"+name]
	if t == nil {
		s.log.Error("portal: no such template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.Nav = portalNav(p.Session)
	for _, n := range p.Nav {
		if (r.URL.Path == n.Path || n.Path != portalPath && strings.HasPrefix(r.URL.Path, n.Path)) && len(n.Path) > len(p.Active) {
			p.Active = n.Path
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "portal", p); err != nil {
		s.log.Error("portal: rendering a page failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// portalFail shows an error page as fail does, in the portal: a 401 sends
// the browser to the portal's sign-in page.
func (s *Server) portalFail(w http.ResponseWriter, r *http.Request, ss *session, status int, err any) {
	status, msg, signIn := s.failure(r, "portal", status, err)
	if signIn {
		s.portalSetCookie(w, r, portalCookie, "", -1)
		s.portalToLogin(w, r)
		return
	}
	s.portalRender(w, r, status, "error", &portalPage{page{Title: http.StatusText(status), Session: ss, Message: msg, Data: status}})
}

// portalNext returns next if it is a portal page, else the portal's home
// (see localNext).
func portalNext(next string) string { return localNextUnder(portalPath, next) }

type portalLoginData struct {
	Next     string
	Username string
	Email    string
	Form     string // the form's CSRF value
}

func (s *Server) portalLoginPage(w http.ResponseWriter, r *http.Request) {
	s.portalRenderForm(w, r, http.StatusOK, "login", "Sign in", portalLoginData{Next: portalNext(r.URL.Query().Get("next"))}, "", nil)
}

// portalRenderForm shows the sign-in or sign-up form with a fresh CSRF
// value, set in a cookie too.
func (s *Server) portalRenderForm(w http.ResponseWriter, r *http.Request, status int, name, title string, d portalLoginData, msg string, e *apiError) {
	var b [16]byte
	rand.Read(b[:])
	d.Form = hex.EncodeToString(b[:])
	s.portalSetCookie(w, r, portalLoginCookie, d.Form, 3600)
	s.portalRender(w, r, status, name, &portalPage{page{Title: title, Message: msg, Error: e, Data: d}})
}

// portalFormCookie reports whether a sign-in or sign-up post carries the
// value of its form's cookie.
func portalFormCookie(r *http.Request) bool {
	c, err := r.Cookie(portalLoginCookie)
	return err == nil && c.Value != "" && hmac.Equal([]byte(c.Value), []byte(r.PostFormValue("form")))
}

func (s *Server) portalLogin(w http.ResponseWriter, r *http.Request) {
	if !s.portalReadForm(w, r, nil) {
		return
	}
	d := portalLoginData{Next: portalNext(r.PostFormValue("next")), Username: r.PostFormValue("username")}
	if !portalFormCookie(r) {
		s.portalRenderForm(w, r, http.StatusForbidden, "login", "Sign in", d, "The sign-in form expired; please try again.", nil)
		return
	}
	s.portalSignIn(w, r, d, r.PostFormValue("password"))
}

// portalSignIn asks the admin API for a session token for the user and
// password, as the console's sign-in does (same throttling), and sends
// the browser on to d.Next.
func (s *Server) portalSignIn(w http.ResponseWriter, r *http.Request, d portalLoginData, password string) {
	var tok tokenAnswer
	err := s.do(r, apiCall{
		method: http.MethodPost, path: "/tokens",
		basic: &[2]string{d.Username, password},
		body: map[string]int64{
			"idle_timeout": int64(s.idleTimeout().Seconds()),
			"ttl":          int64(s.maxAge().Seconds()),
		},
	}, &tok)
	if err != nil {
		e, ok := err.(*apiError)
		switch {
		case ok && e.Status == http.StatusTooManyRequests:
			if e.RetryAfter != "" {
				w.Header().Set("Retry-After", e.RetryAfter)
			}
			s.portalRenderForm(w, r, e.Status, "login", "Sign in", d, "Signing in is blocked for now: "+e.Message+".", nil)
		case ok && e.Status == http.StatusUnauthorized:
			s.portalRenderForm(w, r, e.Status, "login", "Sign in", d, "The user name or the password is wrong, or the account is disabled or awaits approval.", nil)
		default:
			s.portalFail(w, r, nil, 0, err)
		}
		return
	}
	s.portalSetCookie(w, r, portalLoginCookie, "", -1)
	s.portalSetCookie(w, r, portalCookie, tok.Token, int(s.maxAge().Seconds()))
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// portalLogout revokes the session's token, or with everywhere=1 every
// token of the user, on every node.
func (s *Server) portalLogout(w http.ResponseWriter, r *http.Request, ss *session) {
	q := url.Values{}
	if r.PostFormValue("everywhere") != "" {
		q.Set("everywhere", "true")
	}
	if err := s.do(r, apiCall{method: http.MethodDelete, path: "/tokens", query: q, token: ss.token}, nil); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	s.portalSetCookie(w, r, portalCookie, "", -1)
	http.Redirect(w, r, portalPath, http.StatusSeeOther)
}

func (s *Server) portalSignupPage(w http.ResponseWriter, r *http.Request) {
	s.portalRenderForm(w, r, http.StatusOK, "signup", "Sign up", portalLoginData{}, "", nil)
}

// signupRequest is the body of the admin API's POST /signup.
type signupRequest struct {
	Username string `json:"username"`
	Email    string `json:"email,omitempty"`
	Password string `json:"password"`
}

// portalSignup registers a subscriber through the admin API's POST
// /signup, which decides whether sign-up is open (off answers 403) and
// what a valid user is, then signs the new user in; an account that
// awaits an admin's approval cannot sign in yet, and the page says so.
func (s *Server) portalSignup(w http.ResponseWriter, r *http.Request) {
	if !s.portalReadForm(w, r, nil) {
		return
	}
	d := portalLoginData{Next: "/portal/apps", Username: strings.TrimSpace(r.PostFormValue("username")),
		Email: strings.TrimSpace(r.PostFormValue("email"))}
	if !portalFormCookie(r) {
		s.portalRenderForm(w, r, http.StatusForbidden, "signup", "Sign up", d, "The sign-up form expired; please try again.", nil)
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		s.portalRenderForm(w, r, http.StatusBadRequest, "signup", "Sign up", d, "",
			&apiError{Status: http.StatusBadRequest, Field: "password2", Message: "The two passwords differ."})
		return
	}
	var created struct {
		PendingApproval bool `json:"pending_approval"`
	}
	err := s.do(r, apiCall{method: http.MethodPost, path: "/signup", body: signupRequest{Username: d.Username, Email: d.Email, Password: pw}}, &created)
	if err != nil {
		e, ok := err.(*apiError)
		switch {
		case ok && e.Status == http.StatusForbidden && e.Field == "":
			s.portalRenderForm(w, r, e.Status, "signup", "Sign up", d, "Signing up is closed here: ask an admin for an account.", nil)
		case ok && e.Status == http.StatusTooManyRequests:
			if e.RetryAfter != "" {
				w.Header().Set("Retry-After", e.RetryAfter)
			}
			s.portalRenderForm(w, r, e.Status, "signup", "Sign up", d, "Signing up is blocked for now: "+e.Message+".", nil)
		case ok && e.Status < 500 && e.Status != http.StatusUnauthorized:
			s.portalRenderForm(w, r, e.Status, "signup", "Sign up", d, "", e)
		default:
			s.portalFail(w, r, nil, 0, err)
		}
		return
	}
	if created.PendingApproval {
		s.portalRenderForm(w, r, http.StatusCreated, "login", "Sign in", portalLoginData{Next: portalPath, Username: d.Username},
			"Your account is created. An admin approves it before you can sign in.", nil)
		return
	}
	s.portalSignIn(w, r, d, pw)
}
