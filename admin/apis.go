package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// apiRequest is the body of POST and PUT /api/v1/apis. In a PUT, an
// issuer of jwt_issuers with an empty key and no jwks_url keeps the secret
// stored for the same issuer (see keepSecrets), so that a GET's redacted
// answer can be sent back.
type apiRequest struct {
	serverFields
	Name        string              `json:"name"`
	Version     string              `json:"version"`
	Context     string              `json:"context"`
	Description string              `json:"description"`
	Tags        []string            `json:"tags"`
	Visibility  portico.Visibility  `json:"visibility"`
	State       json.RawMessage     `json:"state"`
	Auth        portico.AuthMethods `json:"auth"`
	JWTIssuers  []portico.JWTIssuer `json:"jwt_issuers"`
	Forward     bool                `json:"forward_credentials"`
	Identity    bool                `json:"identity_headers"`
	Policies    *portico.Policies   `json:"policies"`
	Endpoint    portico.Endpoint    `json:"endpoint"`
	Plans       []string            `json:"plans"`
	Groups      []string            `json:"groups"`
	Timeouts    timeoutsRequest     `json:"timeouts"`
	WebSocket   bool                `json:"websocket"`
	KeepAlive   *bool               `json:"keepalive"`
	Owner       string              `json:"owner"`
	// Resources left out (or null) on an update keep the API's.
	Resources []portico.Resource `json:"resources"`
	// Document is read back as GET gives it: only the import sets it.
	Document json.RawMessage `json:"document"`

	// AllowNested lets the API's context lie under or over APIs of other
	// owners. Only admins may set it; it is not stored (see
	// portico.Config.ContextClash).
	AllowNested bool `json:"allow_nested"`
}

// timeoutsRequest keeps the durations raw, so that a bad one is reported
// with its field name.
type timeoutsRequest struct {
	Connect  json.RawMessage `json:"connect"`
	Response json.RawMessage `json:"response"`
}

// api returns the API the request describes, without server fields and
// state, not yet validated: an update first takes back the secrets the
// request leaves out (keepSecrets), then calls validateAPI.
func (q *apiRequest) api() (*portico.API, error) {
	a := &portico.API{
		Name:               q.Name,
		Version:            q.Version,
		Context:            q.Context,
		Description:        q.Description,
		Tags:               q.Tags,
		Visibility:         q.Visibility,
		Auth:               q.Auth,
		JWTIssuers:         q.JWTIssuers,
		ForwardCredentials: q.Forward,
		IdentityHeaders:    q.Identity,
		Policies:           q.Policies,
		Endpoint:           q.Endpoint,
		Plans:              q.Plans,
		Groups:             q.Groups,
		WebSocket:          q.WebSocket,
		KeepAlive:          q.KeepAlive,
		Resources:          q.Resources,
	}
	for _, d := range []struct {
		field string
		raw   json.RawMessage
		dst   *portico.Duration
	}{{"timeouts.connect", q.Timeouts.Connect, &a.Timeouts.Connect}, {"timeouts.response", q.Timeouts.Response, &a.Timeouts.Response}} {
		if !given(d.raw) {
			continue
		}
		if err := d.dst.UnmarshalJSON(d.raw); err != nil {
			return nil, invalid(d.field, "%s must be a duration such as \"30s\" or a number of milliseconds", d.field)
		}
	}
	return a, nil
}

// sameDocument accepts, in an update, the document field as GET gives
// it (or left out, or null): only the import changes an API's document.
func sameDocument(raw json.RawMessage, old *portico.DocumentRef) error {
	if !given(raw) {
		return nil
	}
	var d portico.DocumentRef
	if err := json.Unmarshal(raw, &d); err != nil || old == nil || d.SHA256 != old.SHA256 {
		return invalid("document", "an API's document changes only by importing one (POST /api/v1/apis/import); leave document out or send it as GET gives it")
	}
	return nil
}

// keepSecrets gives each JWT issuer of a that comes without a key and
// without a JWKS URL the key stored for the issuer of the same name in
// old, when that key is one answers hide (portico.JWTIssuer.Redacted):
// a body read with GET, where an HS256 secret shows as "", can be sent
// back with PUT and keeps the secret. A new secret in the body replaces
// the stored one; an issuer renamed in the same PUT needs its secret again.
// The issuers are copied before they change: a's may share the request's.
func keepSecrets(a, old *portico.API) {
	var kept []portico.JWTIssuer
	for i, j := range a.JWTIssuers {
		if j.Key != "" || j.JWKSURL != "" {
			continue
		}
		for _, o := range old.JWTIssuers {
			if o.Issuer == j.Issuer && o.Key != "" && o.Redacted().Key == "" {
				if kept == nil {
					kept = slices.Clone(a.JWTIssuers)
				}
				kept[i].Key = o.Key
				break
			}
		}
	}
	if kept != nil {
		a.JWTIssuers = kept
	}
}

// state returns the request's state, or "" when it has none.
func (q *apiRequest) state() (portico.Lifecycle, error) {
	if !given(q.State) {
		return "", nil
	}
	var st portico.Lifecycle
	if err := json.Unmarshal(q.State, &st); err != nil {
		return "", invalid("state", "state must be a string")
	}
	return st, nil
}

func apiCreated(a *portico.API) (int64, string) { return a.CreatedAt.UnixNano(), a.ID }

// apiListing is an API as callers who may not manage it see it: without
// its endpoint and timeouts, which tell where the backend is, its JWT
// issuers, credential settings and policies.
type apiListing struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Version     string              `json:"version"`
	Context     string              `json:"context"`
	Description string              `json:"description,omitempty"`
	Tags        []string            `json:"tags,omitempty"`
	Visibility  portico.Visibility  `json:"visibility"`
	State       portico.Lifecycle   `json:"state"`
	Auth        portico.AuthMethods `json:"auth"`
	Plans       []string            `json:"plans"`
	WebSocket   bool                `json:"websocket,omitempty"`
	// ForwardCredentials shows subscribers that the backend gets their
	// keys and tokens.
	ForwardCredentials bool      `json:"forward_credentials,omitempty"`
	Owner              string    `json:"owner"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Resources are the API's operations, as its OpenAPI export gives
	// them to whoever may see it; Document says it was imported.
	Resources []portico.Resource   `json:"resources,omitempty"`
	Document  *portico.DocumentRef `json:"document,omitempty"`
}

// viewAPI returns a as u may see it: whole for who may manage it, else as
// an apiListing.
func viewAPI(u *portico.User, a *portico.API) any {
	if canManageAPI(u, a) {
		return a.Redacted()
	}
	plans := a.Plans
	if plans == nil {
		plans = []string{}
	}
	return apiListing{
		ID: a.ID, Name: a.Name, Version: a.Version, Context: a.Context, Description: a.Description, Tags: a.Tags,
		Visibility: a.Visibility, State: a.State, Auth: a.Auth, Plans: plans, WebSocket: a.WebSocket,
		ForwardCredentials: a.ForwardCredentials, Owner: a.Owner,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Resources: a.Resources, Document: a.Document,
	}
}

// validates reports whether a checks requests against its document.
func validates(a *portico.API) bool {
	return a != nil && a.Policies != nil && a.Policies.ValidateRequests && a.Document != nil
}

// checkValidator checks that the gateway's request validator compiles
// doc, the OpenAPI document (as stored: JSON) of an API that validates
// requests, as the gateway will (openapi.NewValidator): a document it
// cannot compile would answer every request to the API 503. It names
// field, where the problem is; the caller holds a parse slot.
func checkValidator(doc []byte, field string) error {
	if _, err := openapi.NewValidator(doc); err != nil {
		return portico.FieldErrorf(portico.EInvalid, field, "request validation (policies.validate_requests) cannot use the document: %s; "+
			"fix the document or turn validation off", portico.ErrorMessageOf(err))
	}
	return nil
}

// turnsOnValidation reports whether a request changing old (nil: none)
// with policies turns request validation on for a document old already
// has, which the gateway has not compiled for validation yet.
func turnsOnValidation(old *portico.API, policies *portico.Policies) bool {
	return old != nil && old.Document != nil && policies != nil && policies.ValidateRequests && !validates(old)
}

// checkAPIRefs checks a against the rest of the Config: its context
// clashes with no other API's (portico.Config.ContextClash), its groups
// exist (portico.Config.CheckAPIGroups), its plans may be offered
// (portico.Config.CheckAPIPlans), and its name and version are no other
// API's (portico.Config.CheckAPIName). Only admins may allow nesting
// across owners, and turn on forward_credentials: a backend that gets an
// application's key or token could use it on every API the application
// subscribes to. old is the API as stored, nil for a new one.
func checkAPIRefs(cfg *portico.Config, me *portico.User, a, old *portico.API, allowNested bool) error {
	if allowNested && !isAdmin(me) {
		return portico.FieldErrorf(portico.EForbidden, "allow_nested", "only an admin may nest an API with APIs of other owners")
	}
	if a.ForwardCredentials && !isAdmin(me) && (old == nil || !old.ForwardCredentials) {
		return portico.FieldErrorf(portico.EForbidden, "forward_credentials",
			"only an admin may forward callers' credentials to a backend: it could use them on every API the application subscribes to")
	}
	if validates(a) && !isAdmin(me) && (!validates(old) || old.Document.SHA256 != a.Document.SHA256) {
		return portico.FieldErrorf(portico.EForbidden, "policies.validate_requests",
			"only an admin may turn on request validation or change the document of an API that validates: a document's schemas cost the gateway CPU and memory on every request, without a bound yet")
	}
	if cl := cfg.ContextClash(a, allowNested); cl != nil {
		return contextClashError(cfg, me, a, cl)
	}
	if err := cfg.CheckAPIGroups(a); err != nil {
		return err
	}
	if err := cfg.CheckAPIPlans(a, isAdmin(me)); err != nil {
		return err
	}
	return cfg.CheckAPIName(a)
}

// contextClashError says what clashes, naming the other API only to who
// may see it.
func contextClashError(cfg *portico.Config, me *portico.User, a *portico.API, cl *portico.ContextClash) error {
	const f = "context"
	o := cl.API
	other := "another owner's API"
	if cfg.CanSeeAPI(me, o) {
		other = fmt.Sprintf("API %q (%s), of another owner,", o.Name, o.ID)
	}
	how := "; an API's context may not lie under or over an API of another owner, who would lose traffic to it — only an admin may allow that, with \"allow_nested\": true"
	switch cl.Nesting {
	case portico.Same:
		if !cfg.CanSeeAPI(me, o) {
			return portico.FieldErrorf(portico.EConflict, f, "context %q is already taken", a.Context)
		}
		return portico.FieldErrorf(portico.EConflict, f, "context %q is already used by API %q (%s)", a.Context, o.Name, o.ID)
	case portico.Under:
		return portico.FieldErrorf(portico.EConflict, f, "context %q lies under context %q of %s%s", a.Context, o.Context, other, how)
	}
	if cfg.CanSeeAPI(me, o) {
		return portico.FieldErrorf(portico.EConflict, f, "context %q lies over context %q of %s%s", a.Context, o.Context, other, how)
	}
	return portico.FieldErrorf(portico.EConflict, f, "context %q lies over the context of %s%s", a.Context, other, how)
}

func (s *Server) listAPIs(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	state := portico.Lifecycle(q.Get("state"))
	if q.Has("state") {
		if err := oneOf("state", state, portico.Draft, portico.Published, portico.Deprecated, portico.Retired); err != nil {
			return err
		}
	}
	vis := portico.Visibility(q.Get("visibility"))
	if q.Has("visibility") {
		if err := oneOf("visibility", vis, portico.Public, portico.Intranet, portico.Partner); err != nil {
			return err
		}
	}
	search, err := searchOf(r)
	if err != nil {
		return err
	}
	tag := q.Get("tag")
	keep := func(a *portico.API, text string) bool {
		return c.cfg.CanSeeAPI(c.user, a) && (state == "" || a.State == state) && (vis == "" || a.Visibility == vis) &&
			(tag == "" || slices.ContainsFunc(a.Tags, func(t string) bool { return strings.EqualFold(t, tag) })) &&
			search.text(text, func() bool { return search.api(a) })
	}
	if isAdmin(c.user) && state == "" && vis == "" && tag == "" && search.q == "" {
		keep = nil // every API: a page costs only its window
	}
	// Lists leave resources out (an imported API may have thousands):
	// GET /api/v1/apis/{id} gives them.
	view := func(a *portico.API) any {
		if a.Resources != nil {
			lean := *a
			lean.Resources = nil
			a = &lean
		}
		return viewAPI(c.user, a)
	}
	return readOrdered(w, r, s.apiOrder(c.cfg), keep, view)
}

func (s *Server) getAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	a := c.cfg.APIs.Get(id)
	if a == nil || !c.cfg.CanSeeAPI(c.user, a) {
		return notFound("API", id)
	}
	writeJSON(w, http.StatusOK, viewAPI(c.user, a))
	return nil
}

func (s *Server) createAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	if !canPublish(c.user) {
		return forbidden("only publishers and admins create APIs")
	}
	var req apiRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forCreate(); err != nil {
		return err
	}
	if given(req.State) {
		return invalid("state", "a new API is always a draft; leave state out and publish it with POST /api/v1/apis/{id}/publish")
	}
	if given(req.Document) {
		return invalid("document", "an API's document is set by importing it: POST /api/v1/apis/import")
	}
	a, err := req.api()
	if err != nil {
		return err
	}
	if err := validateAPI(a); err != nil {
		return err
	}
	var out *portico.API
	err = s.update(r.Context(), c.user.ID, func(t *tx) error {
		owner, err := ownerFor(t, req.Owner, t.me.ID, true)
		if err != nil {
			return err
		}
		n := *a
		n.ID, n.State, n.Owner, n.CreatedAt, n.UpdatedAt = portico.NewID(), portico.Draft, owner, t.now, t.now
		if err := checkAPIRefs(t.cfg, t.me, &n, nil, req.AllowNested); err != nil {
			return err
		}
		t.put(&n)
		out = &n
		return nil
	})
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/apis/"+out.ID, out.Redacted())
	return nil
}

// updateAPI replaces an API's settings; fields left out get their
// defaults, but for the secrets keepSecrets takes back and the groups,
// kept when left out. The state changes
// only through the lifecycle routes.
func (s *Server) updateAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	var req apiRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.forUpdate(id); err != nil {
		return err
	}
	state, err := req.state()
	if err != nil {
		return err
	}
	a, err := req.api()
	if err != nil {
		return err
	}
	// Turning validation on: the stored document must compile for the
	// gateway's validator, checked before the write (it reads the
	// document and may take seconds).
	compiled := ""
	if cur := c.cfg.APIs.Get(id); turnsOnValidation(cur, a.Policies) && canManageAPI(c.user, cur) && isAdmin(c.user) {
		if err := s.checkStoredValidator(r.Context(), cur); err != nil {
			return err
		}
		compiled = cur.Document.SHA256
	}
	var out *portico.API
	err = s.update(r.Context(), c.user.ID, func(t *tx) error {
		old := t.cfg.APIs.Get(id)
		if old == nil || !t.cfg.CanSeeAPI(t.me, old) {
			return notFound("API", id)
		}
		if !canManageAPI(t.me, old) {
			return forbidden("only the API's owner or an admin may change it")
		}
		if state != "" && state != old.State {
			return invalid("state", "state changes through POST /api/v1/apis/{id}/publish, /deprecate or /retire; leave it out or send %q", old.State)
		}
		n := *a
		keepSecrets(&n, old)
		if req.Groups == nil {
			// Left out (or null): kept, so that a client written before
			// groups existed does not hide a partner API from its
			// partners by saving it; [] takes them all off.
			n.Groups = old.Groups
		}
		if req.Resources == nil {
			n.Resources = old.Resources
		}
		if err := sameDocument(req.Document, old.Document); err != nil {
			return err
		}
		n.Document = old.Document
		if err := validateAPI(&n); err != nil {
			return err
		}
		owner, err := ownerFor(t, req.Owner, old.Owner, true)
		if err != nil {
			return err
		}
		n.ID, n.State, n.Owner, n.CreatedAt, n.UpdatedAt = old.ID, old.State, owner, old.CreatedAt, t.now
		if err := checkAPIRefs(t.cfg, t.me, &n, old, req.AllowNested); err != nil {
			return err
		}
		if turnsOnValidation(old, n.Policies) && compiled != old.Document.SHA256 {
			return portico.Errorf(portico.EConflict, "the API changed while its document was checked for request validation; send the change again")
		}
		if err := t.cfg.CheckPlansInUse(&n); err != nil {
			return err
		}
		t.put(&n)
		out = &n
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out.Redacted())
	return nil
}

// deleteAPI deletes an API and all its subscriptions. An API with approved
// subscriptions must be retired first.
func (s *Server) deleteAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	var doc *portico.DocumentRef
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		a := t.cfg.APIs.Get(id)
		if a == nil || !t.cfg.CanSeeAPI(t.me, a) {
			return notFound("API", id)
		}
		if !canManageAPI(t.me, a) {
			return forbidden("only the API's owner or an admin may delete it")
		}
		if err := t.cfg.CheckDeleteAPI(a); err != nil {
			return err
		}
		t.del(portico.KindAPI, id)
		for _, sub := range portico.Sorted(t.cfg.SubscriptionsTo(id), subCreated) {
			t.del(portico.KindSubscription, sub.ID)
		}
		doc = a.Document
		return nil
	})
	if err != nil {
		return err
	}
	if doc != nil {
		s.dropDocument(id, doc.SHA256)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// transition returns the handler of a lifecycle route: it moves an API
// to state to, from a state of to.MovesFrom().
func (s *Server) transition(verb string, to portico.Lifecycle) handler {
	from := to.MovesFrom()
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		id := r.PathValue("id")
		var out *portico.API
		err := s.update(r.Context(), c.user.ID, func(t *tx) error {
			a := t.cfg.APIs.Get(id)
			if a == nil || !t.cfg.CanSeeAPI(t.me, a) {
				return notFound("API", id)
			}
			if !canManageAPI(t.me, a) {
				return forbidden("only the API's owner or an admin may %s it", verb)
			}
			if !slices.Contains(from, a.State) {
				return portico.Errorf(portico.EConflict, "cannot %s an API that is %s; only a %s API can be %s",
					verb, a.State, joinStates(from), to)
			}
			if to == portico.Published && !a.Auth.Open() && len(a.Plans) == 0 {
				return portico.Errorf(portico.EConflict, "an api_key API needs at least one plan before it can be published; add a plan with PUT /api/v1/apis/%s", id)
			}
			n := *a
			n.State, n.UpdatedAt = to, t.now
			t.put(&n)
			out = &n
			return nil
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out.Redacted())
		return nil
	}
}

func joinStates(states []portico.Lifecycle) string {
	s := ""
	for i, st := range states {
		switch {
		case i == 0:
		case i == len(states)-1:
			s += " or "
		default:
			s += ", "
		}
		s += string(st)
	}
	return s
}
