package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// catalogData is what the catalog shows.
type catalogData struct {
	APIs  []portico.API
	Pager pager
}

// catalogStates are the states the catalog lists, in its order: what
// serves traffic.
var catalogStates = []portico.Lifecycle{portico.Published, portico.Deprecated}

// catalogPage lists the published, then the deprecated, APIs the visitor
// may see, as the admin API lists them to it (anonymously for a visitor),
// searched with ?q= and paged with ?offset= over both lists.
func (s *Server) catalogPage(w http.ResponseWriter, r *http.Request, ss *session) {
	_, p := listQuery(r)
	d := catalogData{Pager: p}
	token := ""
	if ss != nil {
		token = ss.token
	}
	apis, total, err := s.catalogList(r, token, p.Q, p.Offset)
	if err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusBadRequest {
			s.portalRender(w, r, e.Status, "catalog", &portalPage{page{Title: "API catalog", Session: ss, Error: e, Data: d}})
			return
		}
		s.portalFail(w, r, ss, 0, err)
		return
	}
	d.APIs, d.Pager.Total = apis, total
	s.portalRender(w, r, http.StatusOK, "catalog", &portalPage{page{Title: "API catalog", Session: ss, Data: d}})
}

// catalogList returns the catalog's page at offset: the APIs of each of
// catalogStates in turn, as one list, and the list's length. It asks the
// admin API for a page of each state until the page is full, and for the
// length of those it does not reach (at most three calls).
func (s *Server) catalogList(r *http.Request, token, q string, offset int) ([]portico.API, int, error) {
	var items []portico.API
	total := 0
	for _, st := range catalogStates {
		v := url.Values{"state": {string(st)}}
		if q != "" {
			v.Set("q", q)
		}
		off := max(0, offset-total)
		want := pageSize - len(items)
		if want == 0 {
			off, want = 0, 1 // only its length
		}
		v.Set("offset", strconv.Itoa(off))
		v.Set("limit", strconv.Itoa(want))
		var l list[portico.API]
		if err := s.do(r, apiCall{method: http.MethodGet, path: "/apis", query: v, token: token}, &l); err != nil {
			return nil, 0, err
		}
		if len(items) < pageSize {
			items = append(items, l.Items[:min(len(l.Items), pageSize-len(items))]...)
		}
		total += l.Total
	}
	return items, total, nil
}

// planView is a plan an API offers, with its limits in words.
type planView struct {
	portico.Plan
	Words []string
}

// portalAPIData is what an API's page shows.
type portalAPIData struct {
	API        portico.API
	Deprecated bool
	Plans      []planView
	PlansNote  string   // why plans are not shown
	Resources  []string // the paths its plans and policies name
	// Operations are the API's resources (from its OpenAPI document when
	// imported), at most maxOperations; MoreOperations counts the rest.
	Operations     []operationView
	MoreOperations int
	BaseURL        string // where to call it
	KeyHeader      string
	Auth           []authWay
	Example        string // a curl command

	Apps    []portico.Application // the user's own applications
	Subs    []subscriptionItem    // their subscriptions to the API
	Try     *tryForm              // the try-it form as typed; nil: none offered
	TryNote string                // why there is no try-it form
	Result  *tryResult
	Methods []string // the try-it form's methods
}

// operationView is one of an API's operations on its page.
type operationView struct {
	Method      string // "GET"; "ANY" for a pattern without a method
	Path        string // the document's template, such as "/pets/{id}"
	Summary     string
	OperationID string
	SOAPAction  string
	// Doc is the operation's documentation from the API's OpenAPI
	// document, nil when there is none.
	Doc *openapi.OperationDoc
}

// maxOperations bounds the operations an API's page lists; the OpenAPI
// document has them all.
const maxOperations = 1000

// operationsOf lists a's resources as operations, with their
// documentation from ref when there is one.
func operationsOf(a *portico.API, ref *openapi.Reference) ([]operationView, int) {
	docs := map[string]*openapi.OperationDoc{}
	if ref != nil {
		for i := range ref.Operations {
			o := &ref.Operations[i]
			docs[o.Method+" "+o.Path] = o
		}
	}
	var ops []operationView
	for i, r := range a.Resources {
		if i == maxOperations {
			return ops, len(a.Resources) - i
		}
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok {
			method, path = "ANY", r.Pattern
		}
		if r.Path != "" {
			path = r.Path
		}
		ops = append(ops, operationView{Method: method, Path: path, Summary: r.Summary, OperationID: r.OperationID, SOAPAction: r.SOAPAction,
			Doc: docs[method+" "+path]})
	}
	return ops, 0
}

// authWay is one way of calling an API, in words.
type authWay struct {
	Method portico.AuthType
	Words  string
}

// portalAPI reads the API id for its page, or answers the browser and
// returns nil: an API the catalog does not list (a draft, a retired one,
// one the visitor may not see) is not found.
func (s *Server) portalAPI(w http.ResponseWriter, r *http.Request, ss *session, id string) *portico.API {
	token := ""
	if ss != nil {
		token = ss.token
	}
	var a portico.API
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/apis/" + url.PathEscape(id), token: token}, &a); err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusUnauthorized && ss == nil {
			s.portalToLogin(w, r)
			return nil
		}
		s.portalFail(w, r, ss, 0, err)
		return nil
	}
	if !slices.Contains(catalogStates, a.State) {
		s.portalFail(w, r, ss, http.StatusNotFound, "This API is not in the catalog.")
		return nil
	}
	return &a
}

// portalAPIPage shows an API: what it is, its plans in words, how to call
// it, and for a signed-in user its subscriptions and the try-it form.
func (s *Server) portalAPIPage(w http.ResponseWriter, r *http.Request, ss *session) {
	a := s.portalAPI(w, r, ss, r.PathValue("id"))
	if a == nil {
		return
	}
	d, err := s.portalAPIData(r, ss, a)
	if err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	pg := &portalPage{page{Title: a.Name + " " + a.Version, Session: ss, Data: d}}
	switch r.URL.Query().Get("subscribed") {
	case string(portico.Approved):
		pg.Message = "Subscribed: your application may call the API now."
	case string(portico.Pending):
		pg.Message = "Subscription requested: it waits for the approval of the API's owner."
	}
	if r.URL.Query().Get("cancelled") != "" {
		pg.Message = "The subscription is cancelled."
	}
	s.portalRender(w, r, http.StatusOK, "api", pg)
}

// portalAPIData gathers what the API's page shows besides the API.
func (s *Server) portalAPIData(r *http.Request, ss *session, a *portico.API) (*portalAPIData, error) {
	d := &portalAPIData{API: *a, Deprecated: a.State == portico.Deprecated, KeyHeader: s.keyHeader(),
		BaseURL: s.gatewayBase() + a.Context, Methods: tryMethods}
	token := ""
	if ss != nil {
		token = ss.token
	}
	seen := map[string]bool{}
	addResource := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			d.Resources = append(d.Resources, p)
		}
	}
	for _, id := range a.Plans {
		var p portico.Plan
		err := s.do(r, apiCall{method: http.MethodGet, path: "/plans/" + url.PathEscape(id), token: token}, &p)
		if e, ok := err.(*apiError); ok && (e.Status == http.StatusUnauthorized || e.Status == http.StatusNotFound || e.Status == http.StatusForbidden) {
			if ss == nil {
				d.PlansNote = "Sign in to see the plans and their limits."
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		d.Plans = append(d.Plans, planView{Plan: p, Words: p.Describe()})
		if p.RateLimit != nil {
			for _, rl := range p.RateLimit.Resources {
				addResource(rl.Pattern)
			}
		}
	}
	if a.Policies != nil {
		for _, rp := range a.Policies.Resources {
			addResource(rp.Pattern)
		}
	}
	ref, err := s.reference(r, token, a)
	if err != nil {
		// The page still shows the operations' list; the log says why
		// their documentation is missing.
		s.log.Warn("the portal shows an API without its operations' documentation", "api", a.ID, "err", err)
	}
	d.Operations, d.MoreOperations = operationsOf(a, ref)
	d.Auth = authWays(a, d.KeyHeader, s.gatewayBase())
	d.Example = curlExample(a, d.BaseURL+"/", d.KeyHeader)
	if ss == nil {
		return d, nil
	}
	apps, err := s.ownApps(r, ss)
	if err != nil {
		return nil, err
	}
	d.Apps = apps
	var subs list[subscriptionItem]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/subscriptions",
		query: url.Values{"api": {a.ID}, "limit": {"1000"}}, token: ss.token}, &subs); err != nil {
		return nil, err
	}
	for _, sub := range subs.Items {
		if slices.ContainsFunc(apps, func(x portico.Application) bool { return x.ID == sub.ApplicationID }) {
			d.Subs = append(d.Subs, sub)
		}
	}
	switch {
	case s.Gateway == nil:
		d.TryNote = "Trying calls is not available on this node."
	case !tryable(a):
		d.TryNote = "Calls to this API need a token (JWT or OAuth2); the form sends API keys only."
	default:
		d.Try = &tryForm{Method: http.MethodGet}
		if len(apps) > 0 {
			d.Try.Application = apps[0].ID
		}
		// An operation's Try link fills the form in.
		q := r.URL.Query()
		if m := q.Get("try_method"); slices.Contains(tryMethods, m) {
			d.Try.Method = m
		}
		if p := q.Get("try_path"); strings.HasPrefix(p, "/") && len(p) <= 2048 {
			d.Try.Path = p
		}
	}
	return d, nil
}

// portalOpenAPI serves an API's OpenAPI document (GET
// /api/v1/apis/{id}/openapi) to whoever may see its page, for download.
func (s *Server) portalOpenAPI(w http.ResponseWriter, r *http.Request, ss *session) {
	a := s.portalAPI(w, r, ss, r.PathValue("id"))
	if a == nil {
		return
	}
	token := ""
	if ss != nil {
		token = ss.token
	}
	var doc json.RawMessage
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/apis/" + url.PathEscape(a.ID) + "/openapi", token: token}, &doc); err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Header().Set("Content-Disposition", `attachment; filename="openapi.json"`)
	w.Write(doc)
}

// ownApps lists the user's own applications (up to 1000): those the
// admin API lists to it that it owns.
func (s *Server) ownApps(r *http.Request, ss *session) ([]portico.Application, error) {
	var l list[portico.Application]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/applications", query: url.Values{"limit": {"1000"}}, token: ss.token}, &l); err != nil {
		return nil, err
	}
	var out []portico.Application
	for _, a := range l.Items {
		if a.Owner == ss.user.ID {
			out = append(out, a)
		}
	}
	return out, nil
}

// authWays says how a caller authenticates to a, one sentence per method
// it takes, in its order.
func authWays(a *portico.API, keyHeader, base string) []authWay {
	var out []authWay
	for _, m := range a.Auth {
		var words string
		switch m {
		case portico.AuthAPIKey:
			words = "An API key of your application in the " + keyHeader + " header (or the api_key query parameter)."
		case portico.AuthBasic:
			words = "HTTP Basic authentication: your application's ID as the user name, one of its API keys as the password."
		case portico.AuthOAuth2:
			words = "An OAuth2 access token as Authorization: Bearer, from POST " + base + portico.TokenEndpointPath +
				" (client credentials: your application's ID and one of its API keys)."
		case portico.AuthJWT:
			words = "A JWT from an issuer the API trusts, as Authorization: Bearer."
		case portico.AuthNone:
			words = "No credentials: the API is open to everyone."
		default:
			continue
		}
		out = append(out, authWay{Method: m, Words: words})
	}
	return out
}

// curlExample is a curl command that calls the API at u.
func curlExample(a *portico.API, u, keyHeader string) string {
	cmd := "curl"
	switch {
	case a.Auth.Has(portico.AuthAPIKey):
		cmd += " -H '" + keyHeader + ": YOUR_API_KEY'"
	case a.Auth.Has(portico.AuthBasic):
		cmd += " -u 'YOUR_APPLICATION_ID:YOUR_API_KEY'"
	case a.Auth.Has(portico.AuthOAuth2), a.Auth.Has(portico.AuthJWT):
		cmd += " -H 'Authorization: Bearer YOUR_TOKEN'"
	}
	return cmd + " '" + u + "'"
}

// portalSubscribe subscribes one of the user's applications to the API
// on a plan; the admin API decides whether it may and whether the
// subscription waits for approval.
func (s *Server) portalSubscribe(w http.ResponseWriter, r *http.Request, ss *session) {
	a := s.portalAPI(w, r, ss, r.PathValue("id"))
	if a == nil {
		return
	}
	app, plan := r.PostFormValue("application"), r.PostFormValue("plan")
	if app == "" {
		s.portalAPIAgain(w, r, ss, a, &apiError{Status: http.StatusBadRequest, Field: "application", Message: "Choose one of your applications."}, nil, nil)
		return
	}
	var sub portico.Subscription
	err := s.do(r, apiCall{method: http.MethodPost, path: "/applications/" + url.PathEscape(app) + "/subscriptions",
		token: ss.token, body: map[string]string{"api": a.ID, "plan": plan}}, &sub)
	if err != nil {
		e, ok := err.(*apiError)
		if !ok || e.Status == http.StatusUnauthorized || e.Status >= 500 {
			s.portalFail(w, r, ss, 0, err)
			return
		}
		if e.Status == http.StatusNotFound && e.Field == "" {
			e.Field = "application"
		}
		s.portalAPIAgain(w, r, ss, a, e, nil, nil)
		return
	}
	done(w, r, "/portal/apis/"+url.PathEscape(a.ID)+"?subscribed="+url.QueryEscape(string(sub.Status))+"#subscriptions")
}

// portalAPIAgain shows the API's page again after a form on it: with the
// error the form got, or the try-it form as typed and its result.
func (s *Server) portalAPIAgain(w http.ResponseWriter, r *http.Request, ss *session, a *portico.API, e *apiError, f *tryForm, res *tryResult) {
	d, err := s.portalAPIData(r, ss, a)
	if err != nil {
		s.portalFail(w, r, ss, 0, err)
		return
	}
	if f != nil && d.Try != nil {
		d.Try = f
	}
	d.Result = res
	status := http.StatusOK
	if e != nil {
		status = e.Status
	}
	s.portalRender(w, r, status, "api", &portalPage{page{Title: a.Name + " " + a.Version, Session: ss, Error: e, Data: d}})
}
