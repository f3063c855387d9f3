package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-gw/portico"
)

// maxBody is the largest request body the admin API reads.
const maxBody = 1 << 20

// Page sizes of lists.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

// handler is an authenticated route. A returned error is written as the
// response; a handler that returns nil has written the response itself.
type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// call is what an authenticated request knows: the caller and the Config
// it was authenticated against. Reads use cfg; writes use the Config of
// their tx.
type call struct {
	user  *portico.User
	cfg   *portico.Config
	basic bool   // authenticated with HTTP Basic
	token string // portico.HashKey of the bearer token, when not basic
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.Draining != nil && s.Draining() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	h := func(pattern string, fn handler) { m.Handle(pattern, s.authed(fn)) }

	m.HandleFunc("POST /api/v1/signup", s.signup) // no authentication

	h("POST /api/v1/tokens", s.createToken)
	h("DELETE /api/v1/tokens", s.deleteToken)

	h("GET /api/v1/users/me", s.getMe)
	h("PUT /api/v1/users/me", s.updateMe)
	h("GET /api/v1/users", s.listUsers)
	h("POST /api/v1/users", s.createUser)
	h("GET /api/v1/users/{id}", s.getUser)
	h("PUT /api/v1/users/{id}", s.updateUser)
	h("DELETE /api/v1/users/{id}", s.deleteUser)
	h("DELETE /api/v1/users/{id}/tokens", s.deleteUserTokens)
	h("POST /api/v1/users/{id}/approve", s.approveUser)
	h("GET /api/v1/subscribers", s.listSubscribers)
	h("POST /api/v1/subscribers", s.createSubscriber)

	// Lists and reads of APIs and plans also serve anonymous visitors
	// (the developer portal's catalog): public APIs and their plans.
	pub := func(pattern string, fn handler) { m.Handle(pattern, s.public(fn)) }

	pub("GET /api/v1/plans", s.listPlans)
	h("POST /api/v1/plans", s.createPlan)
	pub("GET /api/v1/plans/{id}", s.getPlan)
	h("PUT /api/v1/plans/{id}", s.updatePlan)
	h("DELETE /api/v1/plans/{id}", s.deletePlan)

	pub("GET /api/v1/apis", s.listAPIs)
	h("POST /api/v1/apis", s.createAPI)
	pub("GET /api/v1/apis/{id}", s.getAPI)
	h("PUT /api/v1/apis/{id}", s.updateAPI)
	h("DELETE /api/v1/apis/{id}", s.deleteAPI)
	h("POST /api/v1/apis/import", s.importAPI)
	pub("GET /api/v1/apis/{id}/openapi", s.exportOpenAPI)
	h("GET /api/v1/apis/{id}/document", s.getDocument)
	h("POST /api/v1/apis/{id}/publish", s.transition("publish", portico.Published))
	h("POST /api/v1/apis/{id}/deprecate", s.transition("deprecate", portico.Deprecated))
	h("POST /api/v1/apis/{id}/retire", s.transition("retire", portico.Retired))

	h("GET /api/v1/applications", s.listApplications)
	h("POST /api/v1/applications", s.createApplication)
	h("GET /api/v1/applications/{id}", s.getApplication)
	h("PUT /api/v1/applications/{id}", s.updateApplication)
	h("DELETE /api/v1/applications/{id}", s.deleteApplication)
	h("GET /api/v1/applications/{id}/keys", s.listKeys)
	h("POST /api/v1/applications/{id}/keys", s.createKey)
	h("GET /api/v1/applications/{id}/keys/{key}", s.getKey)
	h("DELETE /api/v1/applications/{id}/keys/{key}", s.revokeKey)
	h("POST /api/v1/applications/{id}/keys/{key}/rotate", s.rotateKey)
	h("POST /api/v1/applications/{id}/keys/verify", s.verifyKey)
	h("GET /api/v1/applications/{id}/subscriptions", s.listApplicationSubscriptions)
	h("POST /api/v1/applications/{id}/subscriptions", s.createSubscription)

	h("GET /api/v1/subscriptions", s.listSubscriptions)
	h("GET /api/v1/subscriptions/{id}", s.getSubscription)
	h("GET /api/v1/subscriptions/{id}/usage", s.subscriptionUsage)
	h("DELETE /api/v1/subscriptions/{id}", s.cancelSubscription)
	h("POST /api/v1/subscriptions/{id}/approve", s.moderate(portico.ApproveSubscription))
	h("POST /api/v1/subscriptions/{id}/evict", s.moderate(portico.EvictSubscription))
	h("POST /api/v1/subscriptions/{id}/lift", s.moderate(portico.LiftEviction))

	h("GET /api/v1/config", s.exportConfig)
	h("POST /api/v1/config/apply", s.applyConfig)

	h("GET /api/v1/groups", s.listGroups)
	h("POST /api/v1/groups", s.createGroup)
	h("GET /api/v1/groups/{id}", s.getGroup)
	h("PUT /api/v1/groups/{id}", s.updateGroup)
	h("DELETE /api/v1/groups/{id}", s.deleteGroup)
	h("POST /api/v1/groups/{id}/members", s.addGroupMember)
	h("DELETE /api/v1/groups/{id}/members/{user}", s.removeGroupMember)

	h("GET /api/v1/notifications", s.listNotifications)
	h("POST /api/v1/notifications/read", s.readNotifications)
	h("GET /api/v1/cluster/nodes", s.listNodes)

	h("GET /api/v1/analytics/requests", s.queryAnalytics)
	h("GET /api/v1/settings/analytics", s.getAnalyticsSettings)
	h("PUT /api/v1/settings/analytics", s.putAnalyticsSettings)
	h("GET /api/v1/settings/signup", s.getSignupSettings)
	h("PUT /api/v1/settings/signup", s.putSignupSettings)
	h("GET /api/v1/settings/datastore", s.getDatastoreSetting)
	h("PUT /api/v1/settings/datastore", s.putDatastoreSetting)
	return m
}

// authed authenticates a request and runs fn with the caller.
func (s *Server) authed(fn handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg, err := s.current(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.authenticate(r, cfg)
		if err == nil {
			err = fn(w, r, c)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// public serves a request without an Authorization header as from an
// anonymous visitor: fn gets a call with a nil user, which every rule
// takes as someone with no role who owns nothing (portico.Config.CanSeeAPI
// shows such a visitor public APIs only). A request with credentials is
// authenticated as by authed.
func (s *Server) public(fn handler) http.Handler {
	authed := s.authed(fn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, has := r.Header["Authorization"]; has {
			authed.ServeHTTP(w, r)
			return
		}
		cfg, err := s.current(r.Context())
		if err == nil {
			err = fn(w, r, &call{cfg: cfg})
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// notRouted answers a request that matches no route: 404, or 405 with the
// Allow header when the path exists for other methods.
func (s *Server) notRouted(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.code == http.StatusMethodNotAllowed {
		allow := rec.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code:    "method_not_allowed",
			Message: fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow),
		}})
		return
	}
	writeJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{
		Code:    string(portico.ENotFound),
		Message: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path),
	}})
}

// statusRecorder keeps the status and headers of the ServeMux's own 404 and
// 405 answers and drops their plain-text bodies.
type statusRecorder struct {
	header http.Header
	code   int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *statusRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return len(b), nil
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// statusOf maps an error code to its HTTP status. This is the only place
// where the admin API turns codes into statuses.
func statusOf(code portico.ErrorCode) int {
	switch code {
	case portico.EInvalid:
		return http.StatusBadRequest
	case portico.EUnauthorized:
		return http.StatusUnauthorized
	case portico.EForbidden:
		return http.StatusForbidden
	case portico.ENotFound:
		return http.StatusNotFound
	case portico.EConflict:
		return http.StatusConflict
	case portico.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case portico.EUnsupported:
		return http.StatusUnsupportedMediaType
	case portico.ERateLimited, portico.EQuotaExceeded:
		return http.StatusTooManyRequests
	case portico.EBadGateway:
		return http.StatusBadGateway
	case portico.EUnavailable:
		return http.StatusServiceUnavailable
	case portico.EGatewayTimeout:
		return http.StatusGatewayTimeout
	case portico.ERequestTimeout:
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

// writeError writes err as a JSON error response. Internal errors are
// logged here, once, and shown to the client only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := portico.ErrorCodeOf(err)
	status := statusOf(code)
	if status == http.StatusInternalServerError {
		code = portico.EInternal
		s.log.Error("admin: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	switch status {
	case http.StatusUnauthorized:
		// Not Basic: a Basic challenge makes browsers ask for a password
		// and then send it with every request to this origin, including
		// those other sites make them send. HTTP Basic is still taken
		// from clients that send it unasked (curl -u, most libraries).
		w.Header().Set("WWW-Authenticate", `Bearer realm="portico"`)
	case http.StatusTooManyRequests:
		var t *throttled
		if errors.As(err, &t) {
			w.Header().Set("Retry-After", retryAfter(t.after))
		}
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, errorBody{Error: errorDetail{
		Code:    string(code),
		Message: portico.ErrorMessageOf(err),
		Field:   portico.ErrorFieldOf(err),
	}})
}

// writeJSON writes v as the JSON response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug can get here: every response type marshals.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeCreated writes v with 201 Created and a Location header.
func writeCreated(w http.ResponseWriter, location string, v any) {
	w.Header().Set("Location", location)
	writeJSON(w, http.StatusCreated, v)
}

// decode reads the request body, at most maxBody bytes of exactly one JSON
// value, into v, rejecting unknown fields. Its errors are client errors
// that name the offending field where there is one.
//
// A body that could not be read (too slow, cut off, too large) is answered
// by readError, without the reason of the failed read, and closes the
// connection: what is left of the body cannot be told from the next
// request.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, maxBody)}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if err = dec.Decode(&json.RawMessage{}); err == io.EOF {
			return nil
		}
		if body.err == nil {
			return portico.Errorf(portico.EInvalid, "request body must hold exactly one JSON object; found data after it")
		}
	}
	if body.err != nil {
		w.Header().Set("Connection", "close")
		return readError(body.err)
	}
	return decodeError(err, v)
}

func decodeError(err error, v any) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return portico.Errorf(portico.EInvalid, "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return portico.Errorf(portico.EInvalid, "request body is not valid JSON: it ends early")
	case errors.As(err, &syn):
		return portico.Errorf(portico.EInvalid, "request body is not valid JSON: %s (at byte %d)",
			strings.TrimPrefix(syn.Error(), "json: "), syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return portico.Errorf(portico.EInvalid, "request body must be a JSON object, not %s", typ.Value)
		}
		return portico.FieldErrorf(portico.EInvalid, typ.Field, "%s must be %s, not %s",
			typ.Field, kindName(typ.Type), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return portico.FieldErrorf(portico.EInvalid, name, "unknown field %q", name)
	}
	var ie *json.InvalidUnmarshalError
	if errors.As(err, &ie) {
		return fmt.Errorf("admin: decoding into %T: %w", v, err)
	}
	// Errors of a field's own UnmarshalJSON method.
	return portico.Errorf(portico.EInvalid, "invalid request body: %v", err)
}

// kindName describes a Go type in JSON terms.
func kindName(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return "a different type"
}

// page is a window of a list: the ?limit= and ?offset= parameters.
type page struct {
	limit, offset int
}

// pageOf reads ?limit= (1..1000, default 50) and ?offset= (>= 0).
func pageOf(r *http.Request) (page, error) {
	p := page{limit: defaultLimit}
	q := r.URL.Query()
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxLimit {
			return p, portico.FieldErrorf(portico.EInvalid, "limit", "limit must be an integer from 1 to %d", maxLimit)
		}
		p.limit = n
	}
	if q.Has("offset") {
		n, err := strconv.Atoi(q.Get("offset"))
		if err != nil || n < 0 {
			return p, portico.FieldErrorf(portico.EInvalid, "offset", "offset must be an integer of 0 or more")
		}
		p.offset = n
	}
	return p, nil
}

// list is the JSON shape of every paginated list.
type list[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// readPage reads the page parameters and writes the window of the items
// of all that keep selects, in creation order (see portico.Sorted), mapped
// through view. It orders only what the window needs — the first
// offset+limit items, by a bounded heap — so a page of a table of a
// million entries costs one pass over it, not a sort of all of them.
func readPage[T, V any](w http.ResponseWriter, r *http.Request, all portico.Table[T], created func(*T) (int64, string), keep func(*T) bool, view func(*T) V) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	first := firstN[T]{n: p.offset + p.limit, created: created}
	total := 0
	for x := range all.Values() {
		if keep == nil || keep(x) {
			total++
			first.offer(x)
		}
	}
	window := first.sorted()
	window = window[min(p.offset, len(window)):]
	items := make([]V, len(window))
	for i, x := range window {
		items[i] = view(x)
	}
	writeJSON(w, http.StatusOK, list[V]{Items: items, Total: total, Limit: p.limit, Offset: p.offset})
	return nil
}

// firstN keeps the n earliest items offered, in creation order then ID:
// a max-heap whose root is the latest of those kept.
type firstN[T any] struct {
	n       int
	created func(*T) (int64, string)
	heap    []*T
}

func (f *firstN[T]) before(a, b *T) bool {
	ta, ia := f.created(a)
	tb, ib := f.created(b)
	if ta != tb {
		return ta < tb
	}
	return ia < ib
}

func (f *firstN[T]) offer(x *T) {
	h := f.heap
	switch {
	case len(h) < f.n:
		h = append(h, x)
		for i := len(h) - 1; i > 0; { // sift up
			parent := (i - 1) / 2
			if !f.before(h[parent], h[i]) {
				break
			}
			h[parent], h[i] = h[i], h[parent]
			i = parent
		}
		f.heap = h
	case len(h) > 0 && f.before(x, h[0]):
		h[0] = x
		for i := 0; ; { // sift down
			big, l, r := i, 2*i+1, 2*i+2
			if l < len(h) && f.before(h[big], h[l]) {
				big = l
			}
			if r < len(h) && f.before(h[big], h[r]) {
				big = r
			}
			if big == i {
				break
			}
			h[i], h[big] = h[big], h[i]
			i = big
		}
	}
}

// sorted returns the items kept, earliest first.
func (f *firstN[T]) sorted() []*T {
	slices.SortFunc(f.heap, func(a, b *T) int {
		if f.before(a, b) {
			return -1
		}
		if f.before(b, a) {
			return 1
		}
		return 0
	})
	return f.heap
}

// same is the identity view.
func same[T any](x *T) *T { return x }

// given reports whether a read-only field was sent (null counts as absent).
func given(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// serverFields are the read-only fields of a resource. A create body must
// leave them out; a PUT body may echo them (a client that GETs, edits and
// PUTs), but its id must match the path's.
type serverFields struct {
	ID        json.RawMessage `json:"id"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

// forCreate rejects server-set fields in a create body.
func (f *serverFields) forCreate() error {
	for _, x := range []struct {
		name string
		raw  json.RawMessage
	}{{"id", f.ID}, {"created_at", f.CreatedAt}, {"updated_at", f.UpdatedAt}} {
		if given(x.raw) {
			return portico.FieldErrorf(portico.EInvalid, x.name, "%s is set by the server", x.name)
		}
	}
	return nil
}

// forUpdate rejects an id that differs from the path's.
func (f *serverFields) forUpdate(id string) error {
	if !given(f.ID) {
		return nil
	}
	var s string
	if err := json.Unmarshal(f.ID, &s); err != nil || s != id {
		return portico.FieldErrorf(portico.EInvalid, "id", "id must be left out or match the id in the path")
	}
	return nil
}

func notFound(what, id string) error {
	return portico.Errorf(portico.ENotFound, "no %s with id %q", what, id)
}

func forbidden(format string, args ...any) error {
	return portico.Errorf(portico.EForbidden, format, args...)
}
