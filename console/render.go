package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// page is what every template gets.
type page struct {
	Title   string
	Session *session
	Nav     []navItem
	Active  string // the nav item's path
	Message string // a notice at the top of the page
	Error   *apiError
	Data    any
}

// CSRF is the token every form of the page carries.
func (p *page) CSRF() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.csrf()
}

// FieldError is the error message for the form input of fields, when the
// admin API named one of them (or one of its parts: "endpoint.targets"
// matches "endpoint.targets[1].url").
func (p *page) FieldError(fields ...string) string {
	if p.Error == nil || p.Error.Field == "" {
		return ""
	}
	f := p.Error.Field
	for _, field := range fields {
		if f == field || strings.HasPrefix(f, field+".") || strings.HasPrefix(f, field+"[") {
			return p.Error.Message
		}
	}
	return ""
}

type navItem struct {
	Path, Label string
}

// navFor lists the pages a user's roles lead to. It only shapes the menu:
// what each page shows is what the admin API answers the user.
func navFor(ss *session) []navItem {
	admin, pub := ss.has(portico.RoleAdmin), ss.has(portico.RolePublisher)
	var nav []navItem
	if admin || pub {
		nav = append(nav, navItem{"/console/dashboard", "Dashboard"})
	}
	if admin {
		nav = append(nav,
			navItem{"/console/cluster", "Cluster"},
			navItem{"/console/settings/analytics", "Analytics settings"},
			navItem{"/console/users", "Users"})
	}
	if admin || pub {
		nav = append(nav,
			navItem{"/console/apis", "APIs"},
			navItem{"/console/plans", "Plans"},
			navItem{"/console/subscriptions", "Subscriptions"})
	}
	return append(nav, navItem{"/console/notifications", "Notifications"}, navItem{"/console/users/me", "Account"})
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		d := time.Since(t).Round(time.Second)
		if d < 0 {
			d = 0
		}
		return d.String() + " ago"
	},
	"join": func(sep string, v any) string {
		switch x := v.(type) {
		case []string:
			return strings.Join(x, sep)
		case []portico.Role:
			s := make([]string, len(x))
			for i, r := range x {
				s[i] = string(r)
			}
			return strings.Join(s, sep)
		case portico.AuthMethods:
			s := make([]string, len(x))
			for i, t := range x {
				s[i] = string(t)
			}
			return strings.Join(s, sep)
		}
		return fmt.Sprint(v)
	},
	"list": func(v ...string) []string { return v },
	"rate": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"pct":  func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + " %" },
	"ms":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + " ms" },
	"has": func(list any, v string) bool {
		switch x := list.(type) {
		case []string:
			for _, s := range x {
				if s == v {
					return true
				}
			}
		case []portico.Role:
			for _, s := range x {
				if string(s) == v {
					return true
				}
			}
		case portico.AuthMethods:
			for _, t := range x {
				if string(t) == v {
					return true
				}
			}
		}
		return false
	},
}

// parsePages parses each page of templates/ with the layout.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
	}
	return pages
}

// render writes the page named name (templates/name.html) in the layout;
// a template whose name ends in "_fragment" is written alone.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t := s.pages[name]
	if t == nil {
		s.log.Error("console: no such template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if p.Session != nil {
		p.Nav = navFor(p.Session)
		for _, n := range p.Nav {
			if strings.HasPrefix(r.URL.Path, n.Path) && len(n.Path) > len(p.Active) {
				p.Active = n.Path
			}
		}
	}
	root := "layout"
	if strings.HasSuffix(name, "_fragment") {
		root = name
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, root, p); err != nil {
		s.log.Error("console: rendering a page failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail shows an error page: for an *apiError its status and message (a
// 401 sends the browser to sign in again), for another error a 500 whose
// cause is logged, never shown; a string is shown with the given status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ss *session, status int, err any) {
	status, msg, signIn := s.failure(r, "console", status, err)
	if signIn {
		s.clearCookie(w, r, sessionCookie)
		s.toLogin(w, r)
		return
	}
	s.render(w, r, status, "error", &page{Title: http.StatusText(status), Session: ss, Message: msg, Data: status})
}

// failure returns the status and the message of an error page for err,
// as fail takes it, or signIn when the admin API no longer takes the
// session (401): the page is then the sign-in page. An error that is not
// the admin API's is logged (by area, "console" or "portal") and shown as
// a 500 without its text.
func (s *Server) failure(r *http.Request, area string, status int, err any) (int, string, bool) {
	msg := ""
	switch e := err.(type) {
	case string:
		msg = e
	case error:
		var ae *apiError
		if !errors.As(e, &ae) {
			s.log.Error(area+": a page failed", "path", r.URL.Path, "err", e)
			return http.StatusInternalServerError, "Something went wrong; the node's log says what.", false
		}
		if ae.Status == http.StatusUnauthorized {
			return 0, "", true
		}
		status, msg = ae.Status, ae.Message
		if ae.Status == http.StatusForbidden {
			msg = "You may not do this: " + ae.Message
		}
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return status, msg, false
}

// done sends the browser on after a form succeeded (post/redirect/get).
func done(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
