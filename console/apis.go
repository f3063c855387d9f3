package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

type apisData struct {
	APIs  []portico.API
	Pager pager
	State string
}

func (s *Server) apisPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q, p := listQuery(r, "state")
	var l list[portico.API]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/apis", query: q, token: ss.token}, &l); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	p.Total = l.Total
	s.render(w, r, http.StatusOK, "apis", &page{Title: "APIs", Session: ss, Data: apisData{APIs: l.Items, Pager: p, State: q.Get("state")}})
}

// apiData is what the API page shows: the API (as the form last had it),
// the plans it may offer, the lifecycle, and its targets' health.
type apiData struct {
	API     portico.API
	New     bool
	Form    apiForm // the free-form fields' texts
	Auth    []authChoice
	Plans   []portico.Plan
	States  []portico.Lifecycle
	Actions []string // transitions the API's state allows
	Health  []bool
	Nested  bool
	// Connect and Response are the timeouts as the form shows them ("3s").
	Connect, Response string
	// ReadOnly is set when the user may see the API but not manage it
	// (the admin API then leaves out its endpoint).
	ReadOnly bool
}

// timeoutText shows a timeout as the form takes it back: "1.5s", or ""
// for the default.
func timeoutText(d portico.Duration) string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}

// timeoutValue is a typed timeout as the admin API takes it: a whole
// number is milliseconds, anything else a duration such as "3s".
func timeoutValue(v string) any {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	return v
}

var lifecycle = []portico.Lifecycle{portico.Draft, portico.Published, portico.Deprecated, portico.Retired}

// actionsFrom lists the transitions offered from state l; the admin API
// decides whether one is allowed.
func actionsFrom(l portico.Lifecycle) []string {
	switch l {
	case portico.Draft:
		return []string{"publish"}
	case portico.Published:
		return []string{"deprecate", "retire"}
	case portico.Deprecated:
		return []string{"publish", "retire"}
	}
	return nil
}

func targetsText(ts []portico.Target) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.URL)
		if t.Weight != 0 {
			b.WriteString(" " + strconv.Itoa(t.Weight))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// plansFor lists the plans the form offers (the admin API says which of
// them the user may put on an API).
func (s *Server) plansFor(r *http.Request, ss *session) ([]portico.Plan, error) {
	var l list[portico.Plan]
	err := s.do(r, apiCall{method: http.MethodGet, path: "/plans", query: url.Values{"limit": {"1000"}}, token: ss.token}, &l)
	return l.Items, err
}

func (s *Server) newAPIPage(w http.ResponseWriter, r *http.Request, ss *session) {
	plans, err := s.plansFor(r, ss)
	if err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	d := apiData{New: true, Auth: authChoices, Plans: plans, States: lifecycle, API: portico.API{
		Version: "v1", Visibility: portico.Public, Auth: portico.AuthMethods{portico.AuthAPIKey}, Endpoint: portico.Endpoint{Type: portico.Single},
	}}
	s.render(w, r, http.StatusOK, "api", &page{Title: "New API", Session: ss, Data: d})
}

// readAPIForm reads the API form over a (the API as the admin API shows
// it, for an edit), and returns the admin API's request body and the
// form's texts. The error is the first text of the form that does not
// parse; the body is then not to be sent.
func readAPIForm(r *http.Request, a *portico.API) (map[string]any, apiForm, *apiError) {
	f := r.PostFormValue
	a.Name, a.Version, a.Context = strings.TrimSpace(f("name")), strings.TrimSpace(f("version")), strings.TrimSpace(f("context"))
	a.Description = f("description")
	a.Tags = []string{}
	for _, t := range strings.Split(f("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			a.Tags = append(a.Tags, t)
		}
	}
	a.Visibility = portico.Visibility(f("visibility"))
	a.Endpoint.Type, a.Endpoint.Algorithm = portico.EndpointType(f("endpoint_type")), portico.Algorithm(f("algorithm"))
	a.WebSocket = f("websocket") != ""
	a.Plans = append([]string{}, r.PostForm["plans"]...)
	form := apiForm{Targets: f("targets")}
	text := form.Targets
	a.Endpoint.Targets = []portico.Target{}
	var bad *apiError
	for i, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		t := portico.Target{URL: fields[0]}
		if len(fields) > 1 {
			w, err := strconv.Atoi(fields[1])
			if (err != nil || len(fields) > 2) && bad == nil {
				bad = &apiError{Status: http.StatusBadRequest, Field: "endpoint.targets",
					Message: fmt.Sprintf("line %d of the targets: write a URL, then optionally a whole-number weight", i+1)}
			}
			t.Weight = w
		}
		a.Endpoint.Targets = append(a.Endpoint.Targets, t)
	}
	if e := readAuthForm(r, a, &form); bad == nil {
		bad = e
	}
	// An issuer shown without its secret comes back without it: the admin
	// API keeps the stored secret of an issuer with an empty key (see
	// admin/doc.go).
	body := map[string]any{
		"name": a.Name, "version": a.Version, "context": a.Context, "description": a.Description, "tags": a.Tags,
		"visibility": a.Visibility, "auth": a.Auth, "endpoint": a.Endpoint, "plans": a.Plans,
		"websocket": a.WebSocket, "jwt_issuers": a.JWTIssuers, "forward_credentials": a.ForwardCredentials,
		"identity_headers": a.IdentityHeaders, "policies": a.Policies,
	}
	if a.KeepAlive != nil {
		body["keepalive"] = *a.KeepAlive
	}
	if a.Owner != "" {
		body["owner"] = a.Owner
	}
	timeouts := map[string]any{}
	for _, k := range []string{"connect", "response"} {
		if v := strings.TrimSpace(f("timeout_" + k)); v != "" {
			timeouts[k] = timeoutValue(v)
		}
	}
	body["timeouts"] = timeouts
	if f("allow_nested") != "" {
		body["allow_nested"] = true
	}
	return body, form, bad
}

// showAPIForm shows the API form again with the error that refused it and
// what the user typed, but for secrets (apiForm.redactTyped).
func (s *Server) showAPIForm(w http.ResponseWriter, r *http.Request, ss *session, err error, a portico.API, form apiForm, isNew bool) {
	plans, perr := s.plansFor(r, ss)
	if perr != nil {
		s.fail(w, r, ss, 0, perr)
		return
	}
	title := "API " + a.Name
	if isNew {
		title = "New API"
	}
	form.redactTyped()
	a.JWTIssuers = nil // shown from form.Issuers only
	d := apiData{API: a, New: isNew, Form: form, Auth: authChoices, Plans: plans, States: lifecycle, Actions: actionsFrom(a.State), Nested: r.PostFormValue("allow_nested") != "",
		Connect: r.PostFormValue("timeout_connect"), Response: r.PostFormValue("timeout_response")}
	s.formFailed(w, r, ss, err, "api", title, d)
}

func (s *Server) createAPI(w http.ResponseWriter, r *http.Request, ss *session) {
	var a portico.API
	body, form, bad := readAPIForm(r, &a)
	if bad != nil {
		s.showAPIForm(w, r, ss, bad, a, form, true)
		return
	}
	var out portico.API
	if err := s.do(r, apiCall{method: http.MethodPost, path: "/apis", token: ss.token, body: body}, &out); err != nil {
		s.showAPIForm(w, r, ss, err, a, form, true)
		return
	}
	done(w, r, "/console/apis/"+out.ID+"?saved=1")
}

func (s *Server) apiPage(w http.ResponseWriter, r *http.Request, ss *session) {
	var a portico.API
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/apis/" + r.PathValue("id"), token: ss.token}, &a); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	plans, err := s.plansFor(r, ss)
	if err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	form := apiFormOf(&a)
	a.JWTIssuers = nil // shown from form.Issuers only, redacted
	d := apiData{API: a, Form: form, Auth: authChoices, Plans: plans, States: lifecycle, Actions: actionsFrom(a.State),
		Connect: timeoutText(a.Timeouts.Connect), Response: timeoutText(a.Timeouts.Response), ReadOnly: a.Endpoint.Type == ""}
	if s.TargetHealth != nil && len(a.Endpoint.Targets) > 0 {
		d.Health = s.TargetHealth(a.Name, a.Version)
	}
	p := &page{Title: "API " + a.Name, Session: ss, Data: d}
	switch q := r.URL.Query(); {
	case q.Get("saved") != "":
		p.Message = "Saved; every node routes by it now."
	case q.Get("done") != "":
		p.Message = "The API is now " + string(a.State) + "."
	}
	s.render(w, r, http.StatusOK, "api", p)
}

func (s *Server) updateAPI(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	var a portico.API
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/apis/" + id, token: ss.token}, &a); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	body, form, bad := readAPIForm(r, &a)
	if bad != nil {
		s.showAPIForm(w, r, ss, bad, a, form, false)
		return
	}
	if err := s.do(r, apiCall{method: http.MethodPut, path: "/apis/" + id, token: ss.token, body: body}, nil); err != nil {
		s.showAPIForm(w, r, ss, err, a, form, false)
		return
	}
	done(w, r, "/console/apis/"+id+"?saved=1")
}

// transitionAPI publishes, deprecates or retires an API, or deletes it.
func (s *Server) transitionAPI(w http.ResponseWriter, r *http.Request, ss *session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	c := apiCall{method: http.MethodPost, path: "/apis/" + id + "/" + action, token: ss.token}
	to := "/console/apis/" + id + "?done=1"
	switch action {
	case "publish", "deprecate", "retire":
	case "delete":
		c = apiCall{method: http.MethodDelete, path: "/apis/" + id, token: ss.token}
		to = "/console/apis"
	default:
		s.fail(w, r, ss, http.StatusNotFound, "There is no such action.")
		return
	}
	if err := s.do(r, c, nil); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	done(w, r, to)
}
