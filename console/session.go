package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/portico-gw/portico"
)

const (
	sessionCookie = "portico_console"
	loginCookie   = "portico_login" // the sign-in form's CSRF value
	cookiePath    = "/console/"
)

// session is a signed-in browser: its token and its user as the admin API
// answered GET /users/me.
type session struct {
	token string
	user  *portico.User
}

// csrf is the CSRF token of the session's forms: an HMAC of a fixed
// message under the session's token, which only this browser holds.
func (ss *session) csrf() string {
	m := hmac.New(sha256.New, []byte(ss.token))
	m.Write([]byte("portico console form"))
	return hex.EncodeToString(m.Sum(nil))
}

func (ss *session) has(r portico.Role) bool { return ss.user.HasRole(r) }

// pageFunc serves a page for a signed-in user.
type pageFunc func(w http.ResponseWriter, r *http.Request, ss *session)

// authed finds the request's session and runs fn with it; without one it
// sends the browser to the sign-in page. A POST must carry the session's
// CSRF token.
func (s *Server) authed(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" || len(c.Value) > 256 {
			s.toLogin(w, r)
			return
		}
		ss := &session{token: c.Value}
		var u portico.User
		if err := s.do(r, apiCall{method: http.MethodGet, path: "/users/me", token: ss.token}, &u); err != nil {
			if e, ok := err.(*apiError); ok && e.Status == http.StatusUnauthorized {
				s.clearCookie(w, r, sessionCookie)
				s.toLogin(w, r)
				return
			}
			s.fail(w, r, nil, 0, err)
			return
		}
		ss.user = &u
		if r.Method == http.MethodPost {
			if uploads[r.URL.Path] {
				if st, msg := parseUpload(w, r); st != 0 {
					s.fail(w, r, ss, st, msg)
					return
				}
			} else if !s.readForm(w, r, ss) {
				return
			}
			if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(ss.csrf())) {
				s.fail(w, r, ss, http.StatusForbidden, "This form has expired or was not sent from the console; reload the page and try again.")
				return
			}
		}
		fn(w, r, ss)
	})
}

// toLogin sends the browser to the sign-in page, to come back to the page
// it asked for (a GET) afterwards.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	next := "/console/"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/console/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// localNext returns next if it is a console page, else the console's home:
// the sign-in page never sends a browser off the console, not even by
// dot segments ("/console/../api/v1/users").
func localNext(next string) string { return localNextUnder(cookiePath, next) }

// localNextUnder returns next if it is a page under prefix (a path ending
// in "/"), else prefix.
func localNextUnder(prefix, next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return prefix
	}
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	if !strings.HasPrefix(clean, prefix) || clean != u.Path || u.RawPath != "" {
		return prefix
	}
	return u.RequestURI()
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     cookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	s.setCookie(w, r, name, "", -1)
}

type loginData struct {
	Next     string
	Username string
	Form     string // the form's CSRF value
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, loginData{Next: localNext(r.URL.Query().Get("next"))}, "")
}

// renderLogin shows the sign-in form with a fresh CSRF value, set in a
// cookie too.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData, msg string) {
	var b [16]byte
	rand.Read(b[:])
	d.Form = hex.EncodeToString(b[:])
	s.setCookie(w, r, loginCookie, d.Form, 3600)
	s.render(w, r, status, "login", &page{Title: "Sign in", Message: msg, Data: d})
}

// tokenAnswer is the admin API's answer to POST /tokens.
type tokenAnswer struct {
	Token string `json:"token"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r, nil) {
		return
	}
	d := loginData{Next: localNext(r.PostFormValue("next")), Username: r.PostFormValue("username")}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !hmac.Equal([]byte(c.Value), []byte(r.PostFormValue("form"))) {
		s.renderLogin(w, r, http.StatusForbidden, d, "The sign-in form expired; please try again.")
		return
	}
	var tok tokenAnswer
	err = s.do(r, apiCall{
		method: http.MethodPost, path: "/tokens",
		basic: &[2]string{d.Username, r.PostFormValue("password")},
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
			s.renderLogin(w, r, e.Status, d, "Signing in is blocked for now: "+e.Message+".")
		case ok && e.Status == http.StatusUnauthorized:
			s.renderLogin(w, r, e.Status, d, "The user name or the password is wrong, or the user is disabled.")
		default:
			s.fail(w, r, nil, 0, err)
		}
		return
	}
	s.clearCookie(w, r, loginCookie)
	s.setCookie(w, r, sessionCookie, tok.Token, int(s.maxAge().Seconds()))
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// readForm reads a form post: URL-encoded (the console's forms send
// nothing else), at most maxFormBytes. It answers the browser and reports
// false when the form cannot be read.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, ss *session) bool {
	if st, msg := parseForm(w, r, "The console"); st != 0 {
		s.fail(w, r, ss, st, msg)
		return false
	}
	return true
}

// uploads are the console's pages whose forms send a file, as
// multipart/form-data, of at most maxUploadBytes.
var uploads = map[string]bool{"/console/apis/import": true}

// maxUploadBytes bounds an upload form: the largest document the admin
// API imports, and room for the other fields.
const maxUploadBytes = portico.MaxDocumentBytes + 64<<10

// parseUpload parses r's multipart form of at most maxUploadBytes, in
// memory, into r.PostForm and r.MultipartForm, or returns the status
// and the message that say why it cannot.
func parseUpload(w http.ResponseWriter, r *http.Request) (int, string) {
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if strings.TrimSpace(strings.ToLower(mt)) != "multipart/form-data" {
		return http.StatusUnsupportedMediaType, "This form is sent as multipart/form-data."
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	if err := r.ParseMultipartForm(maxUploadBytes + 1<<20); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return http.StatusRequestEntityTooLarge, "The document is larger than " + strconv.Itoa(portico.MaxDocumentBytes>>20) + " MiB."
		}
		return http.StatusBadRequest, "The form could not be read."
	}
	return 0, ""
}

// parseForm parses r's URL-encoded form of at most maxFormBytes into
// r.Form, or returns the status and the message (of who, "The console"
// or "The portal") that say why it cannot.
func parseForm(w http.ResponseWriter, r *http.Request, who string) (int, string) {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/x-www-form-urlencoded" {
		return http.StatusUnsupportedMediaType, who + " takes forms sent as application/x-www-form-urlencoded only."
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return http.StatusRequestEntityTooLarge, "The form is larger than " + strconv.Itoa(maxFormBytes>>10) + " KiB."
		}
		return http.StatusBadRequest, "The form could not be read."
	}
	return 0, ""
}

// logout revokes the session's token, or with everywhere=1 every token of
// the user, on every node.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, ss *session) {
	q := url.Values{}
	if r.PostFormValue("everywhere") != "" {
		q.Set("everywhere", "true")
	}
	if err := s.do(r, apiCall{method: http.MethodDelete, path: "/tokens", query: q, token: ss.token}, nil); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	s.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// sameOrigin reports whether a form post comes from the console's own
// pages: not Sec-Fetch-Site: cross-site, and an Origin, when sent, that is
// the listener's own or an allowed one.
func (s *Server) sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if strings.EqualFold(origin, scheme+"://"+r.Host) {
		return true
	}
	for _, o := range s.AllowedOrigins {
		if strings.EqualFold(origin, strings.TrimSuffix(o, "/")) {
			return true
		}
	}
	return false
}

// User is the signed-in user, for the templates.
func (ss *session) User() *portico.User { return ss.user }

// Is reports whether the user holds role r, for the templates.
func (ss *session) Is(r string) bool { return ss.user.HasRole(portico.Role(r)) }
