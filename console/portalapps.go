package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// graceChoice is a grace period the rotation form offers.
type graceChoice struct {
	Seconds int
	Label   string
}

// graces are the rotation form's grace periods, at most
// portico.MaxRotationGrace.
var graces = []graceChoice{
	{0, "none: revoke the old key at once"},
	{5 * 60, "5 minutes"},
	{60 * 60, "1 hour"},
	{6 * 60 * 60, "6 hours"},
	{int(portico.MaxRotationGrace / time.Second), "24 hours"},
}

// appForm is what the application forms send to POST and PUT
// /applications.
type appForm struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func readAppForm(r *http.Request) appForm {
	return appForm{Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description"))}
}

type portalAppsData struct {
	Apps  []portico.Application
	Pager pager
	Form  appForm
	Me    string // the user's ID: only its own applications have links
}

// portalAppsPage lists the applications the admin API lists to the user,
// with the form that creates one.
func (s *Server) portalAppsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	s.portalApps(w, r, ss, http.StatusOK, appForm{}, nil)
}

func (s *Server) portalApps(w http.ResponseWriter, r *http.Request, ss *session, status int, f appForm, e *apiError) {
	q, p := listQuery(r)
	var l list[portico.Application]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/applications", query: q, token: ss.token}, &l); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	p.Total = l.Total
	pg := &portalPage{page{Title: "Applications", Session: ss, Error: e, Data: portalAppsData{Apps: l.Items, Pager: p, Form: f, Me: ss.user.ID}}}
	if r.URL.Query().Get("deleted") != "" {
		pg.Message = "The application is deleted, with its keys and subscriptions."
	}
	s.portalRender(w, r, status, "apps", pg)
}

func (s *Server) portalCreateApp(w http.ResponseWriter, r *http.Request, ss *session) {
	f := readAppForm(r)
	var app portico.Application
	if err := s.do(r, apiCall{method: http.MethodPost, path: "/applications", token: ss.token, body: f}, &app); err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusBadRequest {
			s.portalApps(w, r, ss, e.Status, f, e)
			return
		}
		s.portalFail(w, r, ss, 0, err)
		return
	}
	done(w, r, "/portal/apps/"+url.PathEscape(app.ID)+"?created=1")
}

// portalAppData is what an application's page shows.
type portalAppData struct {
	App    portico.Application
	Form   appForm
	Keys   []keyRow
	Subs   []subscriptionItem
	Graces []graceChoice
	// KeyHeader is the header the gateway takes keys in.
	KeyHeader string
	// NewKey is a key just made or rotated: shown this once.
	NewKey *newKey
}

// keyRow is a key as the application's page lists it.
type keyRow struct {
	portico.Key
	Live    bool
	Expires bool // live until ExpiresAt: a rotated key's grace
}

// newKey is the admin API's answer to creating or rotating a key: the
// only time the key's text is shown.
type newKey struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Prefix string `json:"prefix"`
	// Rotated is the key a rotation replaced, with its expiry.
	Rotated *portico.Key `json:"rotated"`
}

// portalOwnApp reads the user's own application id, or answers the
// browser and returns nil: the portal manages only the user's own
// applications, whatever else the admin API shows it.
func (s *Server) portalOwnApp(w http.ResponseWriter, r *http.Request, ss *session, id string) *portico.Application {
	var app portico.Application
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/applications/" + url.PathEscape(id), token: ss.token}, &app); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return nil
	}
	if app.Owner != ss.user.ID {
		s.portalFail(w, r, ss, http.StatusForbidden, "The portal manages your own applications only.")
		return nil
	}
	return &app
}

func (s *Server) portalAppPage(w http.ResponseWriter, r *http.Request, ss *session) {
	app := s.portalOwnApp(w, r, ss, r.PathValue("id"))
	if app == nil {
		return
	}
	pg := &portalPage{page{Session: ss}}
	switch {
	case r.URL.Query().Get("created") != "":
		pg.Message = "The application is created. Make it a key, then subscribe it to an API from the catalog."
	case r.URL.Query().Get("saved") != "":
		pg.Message = "Saved."
	case r.URL.Query().Get("revoked") != "":
		pg.Message = "The key is revoked: the gateway refuses it now."
	case r.URL.Query().Get("cancelled") != "":
		pg.Message = "The subscription is cancelled."
	}
	s.portalAppRender(w, r, pg, app, appForm{Name: app.Name, Description: app.Description}, nil, http.StatusOK)
}

// portalAppRender shows the application's page.
func (s *Server) portalAppRender(w http.ResponseWriter, r *http.Request, pg *portalPage, app *portico.Application, f appForm, nk *newKey, status int) {
	ss := pg.Session
	d := portalAppData{App: *app, Form: f, Graces: graces, KeyHeader: s.keyHeader(), NewKey: nk}
	var keys list[portico.Key]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/applications/" + url.PathEscape(app.ID) + "/keys",
		query: url.Values{"limit": {"1000"}}, token: ss.token}, &keys); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	now := s.now()
	for _, k := range keys.Items {
		row := keyRow{Key: k, Live: k.Live(now)}
		row.Expires = row.Live && !k.ExpiresAt.IsZero()
		d.Keys = append(d.Keys, row)
	}
	var subs list[subscriptionItem]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/applications/" + url.PathEscape(app.ID) + "/subscriptions",
		query: url.Values{"limit": {"1000"}}, token: ss.token}, &subs); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	d.Subs = subs.Items
	pg.Title, pg.Data = app.Name, d
	s.portalRender(w, r, status, "app", pg)
}

// portalUpdateApp renames the application and changes its description.
func (s *Server) portalUpdateApp(w http.ResponseWriter, r *http.Request, ss *session) {
	app := s.portalOwnApp(w, r, ss, r.PathValue("id"))
	if app == nil {
		return
	}
	f := readAppForm(r)
	if err := s.do(r, apiCall{method: http.MethodPut, path: "/applications/" + url.PathEscape(app.ID), token: ss.token, body: f}, nil); err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusBadRequest {
			s.portalAppRender(w, r, &portalPage{page{Session: ss, Error: e}}, app, f, nil, e.Status)
			return
		}
		s.portalFail(w, r, ss, 0, err)
		return
	}
	done(w, r, "/portal/apps/"+url.PathEscape(app.ID)+"?saved=1")
}

// portalDeleteApp deletes the application with its keys and
// subscriptions.
func (s *Server) portalDeleteApp(w http.ResponseWriter, r *http.Request, ss *session) {
	app := s.portalOwnApp(w, r, ss, r.PathValue("id"))
	if app == nil {
		return
	}
	if err := s.do(r, apiCall{method: http.MethodDelete, path: "/applications/" + url.PathEscape(app.ID), token: ss.token}, nil); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	done(w, r, "/portal/apps?deleted=1")
}

// portalCreateKey makes a key and shows it, this once. The page is the
// answer to the form's POST (never stored: Cache-Control: no-store), so
// reloading it does not show the key again.
func (s *Server) portalCreateKey(w http.ResponseWriter, r *http.Request, ss *session) {
	app := s.portalOwnApp(w, r, ss, r.PathValue("id"))
	if app == nil {
		return
	}
	var nk newKey
	if err := s.do(r, apiCall{method: http.MethodPost, path: "/applications/" + url.PathEscape(app.ID) + "/keys", token: ss.token}, &nk); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	pg := &portalPage{page{Session: ss, Message: "The new key is shown below this once: copy it now. The portal keeps only its first characters."}}
	s.portalAppRender(w, r, pg, app, appForm{Name: app.Name, Description: app.Description}, &nk, http.StatusCreated)
}

// portalKeyAction revokes a key, or rotates it: a new key that works at
// once, and the old one revoked after the grace period chosen (at most
// 24 hours).
func (s *Server) portalKeyAction(w http.ResponseWriter, r *http.Request, ss *session) {
	app := s.portalOwnApp(w, r, ss, r.PathValue("id"))
	if app == nil {
		return
	}
	keyPath := "/applications/" + url.PathEscape(app.ID) + "/keys/" + url.PathEscape(r.PathValue("key"))
	switch r.PathValue("action") {
	case "revoke":
		if err := s.do(r, apiCall{method: http.MethodDelete, path: keyPath, token: ss.token}, nil); err != nil {
			s.portalFail(w, r, ss, 0, err)
			return
		}
		done(w, r, "/portal/apps/"+url.PathEscape(app.ID)+"?revoked=1#keys")
	case "rotate":
		form := appForm{Name: app.Name, Description: app.Description}
		grace, err := strconv.Atoi(r.PostFormValue("grace"))
		if err != nil || grace < 0 || time.Duration(grace)*time.Second > portico.MaxRotationGrace {
			e := &apiError{Status: http.StatusBadRequest, Field: "grace_seconds", Message: "Choose a grace period of at most 24 hours."}
			s.portalAppRender(w, r, &portalPage{page{Session: ss, Error: e}}, app, form, nil, e.Status)
			return
		}
		var nk newKey
		if err := s.do(r, apiCall{method: http.MethodPost, path: keyPath + "/rotate", token: ss.token,
			body: map[string]int{"grace_seconds": grace}}, &nk); err != nil {
			if e, ok := err.(*apiError); ok && (e.Status == http.StatusBadRequest || e.Status == http.StatusConflict) {
				s.portalAppRender(w, r, &portalPage{page{Session: ss, Error: e}}, app, form, nil, e.Status)
				return
			}
			s.portalFail(w, r, ss, 0, err)
			return
		}
		msg := "The new key is shown below this once: copy it now. The old key is revoked."
		if nk.Rotated != nil && nk.Rotated.RevokedAt == nil && !nk.Rotated.ExpiresAt.IsZero() {
			msg = "The new key is shown below this once: copy it now. The old key keeps working until " +
				nk.Rotated.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC") + ", then the gateway refuses it."
		}
		s.portalAppRender(w, r, &portalPage{page{Session: ss, Message: msg}}, app, form, &nk, http.StatusCreated)
	default:
		s.portalFail(w, r, ss, http.StatusNotFound, "There is no such action.")
	}
}

// portalCancel cancels a subscription of one of the user's applications
// (never evicts one: the admin API would take an admin's or the API
// owner's DELETE for an eviction).
func (s *Server) portalCancel(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	var sub subscriptionItem
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/subscriptions/" + url.PathEscape(id), token: ss.token}, &sub); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	if app := s.portalOwnApp(w, r, ss, sub.ApplicationID); app == nil {
		return
	}
	if err := s.do(r, apiCall{method: http.MethodDelete, path: "/subscriptions/" + url.PathEscape(id), token: ss.token}, nil); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	back := "/portal/apps/" + url.PathEscape(sub.ApplicationID) + "?cancelled=1#subscriptions"
	if r.PostFormValue("back") == "api" {
		back = "/portal/apis/" + url.PathEscape(sub.APIID) + "?cancelled=1#subscriptions"
	}
	done(w, r, back)
}
