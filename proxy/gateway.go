package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

// Balancer picks targets of one API's endpoint. Implementations are safe
// for concurrent use; balance.Balancer is the one Portico wires in.
type Balancer interface {
	// Pick returns the index of the next target that is neither cooling
	// down nor in the bit mask tried, or ok false when there is none.
	Pick(now time.Time, tried uint64) (i int, ok bool)
	// MarkDown puts target i in cool-down and reports whether it was up.
	MarkDown(i int, now time.Time) bool
	// MarkUp records a success of target i.
	MarkUp(i int)
	// Down reports whether target i is marked down.
	Down(i int) bool
}

// TargetStatus is the health of one endpoint target of a routed API.
type TargetStatus struct {
	API, Version, URL string
	Up                bool
}

// Targets returns the health of every target of the APIs the gateway
// routes, ordered by API context path.
func (g *Gateway) Targets() []TargetStatus {
	s := g.snap.Load()
	if s == nil {
		return nil
	}
	var out []TargetStatus
	for _, ctx := range slices.Sorted(maps.Keys(s.routes)) {
		up := s.routes[ctx].up
		for i, t := range up.targets {
			out = append(out, TargetStatus{API: up.api.Name, Version: up.api.Version, URL: t.Redacted(), Up: !up.balancer.Down(i)})
		}
	}
	return out
}

// Gateway is the data-plane http.Handler. Set its fields before the first
// Update; Update and ServeHTTP may then be called concurrently. Until the
// first Update every request gets 404.
type Gateway struct {
	// Limiter takes requests against plan limits. Nil admits everything.
	Limiter portico.Limiter

	// NewBalancer makes the balancer of an API's endpoint. Nil means plain
	// round robin without health tracking.
	NewBalancer func(portico.Endpoint) Balancer

	// Notify receives notifications raised on the request path (soft quota
	// crossed, hard quota reached, target down). It must not block. Nil
	// drops them.
	Notify func(*portico.Notification)

	// Transport is the template for each API's transport; its dial and
	// response-header timeouts are replaced by the API's. Nil means a
	// transport tuned for proxying (keep-alive pool of 512 per host).
	Transport *http.Transport

	// Logger logs upstream failures. Nil discards.
	Logger *slog.Logger

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	// Recorder receives the analytics record of every response. Nil
	// records nothing.
	Recorder Recorder

	// Node is this node's name, written into analytics records.
	Node string

	// ReadBodyTimeout bounds each read of a request body: a client that
	// sends no byte of its body for this long gets a 408 and its
	// connection closed (slow bodies that keep moving are not cut). Zero
	// means no limit.
	ReadBodyTimeout time.Duration

	// TrustedProxies are the proxies in front of the gateway whose report
	// of the client (X-Forwarded-For or Forwarded) IP rules, header rule
	// variables and analytics believe. Nil trusts no one: the client is
	// the connection's peer.
	TrustedProxies *policy.TrustedProxies

	// NewJWTVerifier makes the verifier of the JWT issuers of an API with
	// jwt auth (jwtauth.NewTokenVerifier), once per change of its issuers;
	// the gateway closes it when the API changes them or goes. Nil: such
	// APIs answer bearer tokens with 503 (logged when the API is routed).
	NewJWTVerifier func([]portico.JWTIssuer) (portico.TokenVerifier, error)

	// OAuth2 verifies the access tokens of the gateway's own token
	// endpoint (oauth2.Verifier), for APIs with oauth2 auth. On an API
	// that also takes jwt, a token it refuses with the reason "malformed"
	// or "unknown_issuer" (not its own) goes to the API's JWT issuers.
	// Nil: oauth2 bearer tokens are refused (401). The gateway does not
	// close it.
	OAuth2 portico.TokenVerifier

	// TokenEndpoint, when set, serves the requests for /oauth2/token and
	// /oauth2/jwks.json, before any API is looked up.
	TokenEndpoint http.Handler

	// Documents holds the APIs' imported documents, which APIs with
	// Policies.ValidateRequests check requests against. The gateway
	// reads each document once per SHA-256, off the request path. Nil:
	// such APIs answer 503.
	Documents portico.DocumentStore

	// DocumentWait bounds how long Update waits for the documents a
	// change brings to be read and compiled before it swaps the change
	// in, so that their APIs do not answer 503 meanwhile (they do when
	// it is over, until the documents are compiled). Zero means
	// DefaultDocumentWait; negative, no wait.
	DocumentWait time.Duration

	// DocumentRetry is the pause between two tries to read a document
	// that could not be read (the store down, the document not there
	// yet); meanwhile its APIs answer 503. Zero means
	// DefaultDocumentRetry.
	DocumentRetry time.Duration

	snap atomic.Pointer[snapshot]

	mu        sync.Mutex // guards upstreams and validators during Update
	upstreams map[string]*upstream

	validators map[string]*docValidator // by document SHA-256
	fresh      []*docValidator          // made by the Update under way
	loadCtx    context.Context          // the loaders' parent, done on Close
	stopLoads  context.CancelFunc
	loaders    sync.WaitGroup

	reqSeq   atomic.Uint64
	inflight sync.WaitGroup // recorded requests being served
}

// reqPrefix starts the request ids of this process; a counter follows.
var reqPrefix = portico.NewID()[:12] + "-"

// via is this process's entry in the Via header of the requests it
// forwards (RFC 9110 §7.6.3): a pseudonym, so that a request that comes
// back through an API whose target leads to the gateway is recognised.
var via = "1.1 portico-" + portico.NewID()[:12]

// maxVia is the number of Portico entries in a request's Via header above
// which it is taken as a loop through several nodes (a target pointing at
// the cluster's front door reaches another node first).
const maxVia = 8

// looped reports whether a request's Via header shows it passed this
// process already, or more Portico gateways than maxVia.
func looped(h http.Header) bool {
	vs, ok := h["Via"]
	if !ok {
		return false
	}
	n := 0
	for _, v := range vs {
		for e := range strings.SplitSeq(v, ",") {
			e = strings.TrimSpace(e)
			if e == via {
				return true
			}
			if strings.Contains(e, " portico-") {
				n++
			}
		}
	}
	return n > maxVia
}

// Update derives the routing snapshot of cfg from the current one and swaps
// it in; its cost follows the changes between the two Configs (see
// portico.Table.Diff). Requests in flight finish on the snapshot they
// started with. When the change brings documents to validate requests
// against that no API used before, Update first waits, up to
// DocumentWait, for each to be read and compiled or to fail a first time.
func (g *Gateway) Update(cfg *portico.Config) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.upstreams == nil {
		g.upstreams = map[string]*upstream{}
	}
	snap, dropped := update(g.snap.Load(), cfg, g.upstreams, g.buildUpstream)
	g.awaitValidators()
	g.snap.Store(snap)
	for _, up := range dropped {
		up.close()
	}
}

// Close closes the token verifiers of the APIs the gateway routes and
// stops the loading of their documents. Call it last, after Wait; the
// gateway must not be updated or serve afterwards.
func (g *Gateway) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, up := range g.upstreams {
		up.closeVerifier()
	}
	g.stopValidators()
}

// Version returns the config version the gateway routes by, or -1 before
// the first Update.
func (g *Gateway) Version() int64 {
	if s := g.snap.Load(); s != nil {
		return s.cfg.Version
	}
	return -1
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// after returns the current time as t, an earlier reading of g.now, plus
// the time since t: one read of the monotonic clock where time.Now reads
// it and the wall clock, each about 50 ns on this project's machines
// (BenchmarkFastPath). The request path stamps a request's steps this
// way; their durations are the monotonic clock's, as with time.Now.
func (g *Gateway) after(t time.Time) time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return t.Add(time.Since(t))
}

func (g *Gateway) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)

// Header names the gateway reads and writes.
const (
	HeaderAPIKey    = "X-Api-Key"
	HeaderRequestID = "X-Request-Id"
	queryAPIKey     = "api_key"
)

// ServeHTTP implements http.Handler: route, policies, auth, subscription,
// limits, proxy, in the order doc.go gives; then the analytics record,
// when there is a Recorder.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.Recorder == nil {
		g.serve(w, r, nil)
		return
	}
	g.inflight.Add(1)
	defer g.inflight.Done()
	ex := exchanges.Get().(*exchange)
	ex.ResponseWriter, ex.g, ex.start = w, g, g.now()
	defer func() {
		if p := recover(); p != nil {
			// ReverseProxy aborts a response cut off mid-body (client or
			// backend gone) with http.ErrAbortHandler: record it, then let
			// the server handle the panic. ex is not reused: the server's
			// goroutines may still hold it.
			if ex.errCode == "" {
				ex.errCode = "aborted"
			}
			g.record(ex, r)
			panic(p)
		}
	}()
	g.serve(ex, r, ex)
	g.record(ex, r)
	if ex.hijacked {
		return // the connection lives on with ex in it
	}
	*ex = exchange{}
	exchanges.Put(ex)
}

// Wait waits until the requests in flight (hijacked connections such as
// WebSockets included) have finished or ctx is done, and reports whether
// they finished. Call it after the server stopped accepting requests and
// before closing the Recorder, so that every record reaches it.
func (g *Gateway) Wait(ctx context.Context) bool {
	done := make(chan struct{})
	go func() { g.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
}

// serve answers r; ex, when not nil, is w and collects what the analytics
// record needs.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, ex *exchange) {
	h := w.Header()
	// One slice of capacity one serves the request and the response:
	// nothing appends to it in place.
	ids := r.Header[HeaderRequestID]
	if len(ids) == 1 && validRequestID(ids[0]) {
		ids = ids[:1:1]
	} else {
		var buf [40]byte
		ids = []string{string(strconv.AppendUint(append(buf[:0], reqPrefix...), g.reqSeq.Add(1), 36))}
		r.Header[HeaderRequestID] = ids
	}
	h[HeaderRequestID] = ids
	if r.Body != nil && r.Body != http.NoBody {
		// Per request, not pooled: the transport may still read the body
		// after ServeHTTP returned.
		b := &requestBody{ReadCloser: r.Body, ctl: http.NewResponseController(w), timeout: g.ReadBodyTimeout, expect: r.Header["Expect"] != nil}
		defer b.end()
		r.Body = b
		if ex != nil {
			ex.body = b
		}
	}
	if g.TokenEndpoint != nil && (r.URL.Path == tokenPath || r.URL.Path == jwksPath) {
		g.TokenEndpoint.ServeHTTP(w, r)
		return
	}
	// No key is forwarded, whatever the API's auth type, unless the API
	// forwards credentials; nor any X-Portico-* field the client sent.
	key := takeKey(r)

	snap := g.snap.Load()
	var rt *route
	if snap != nil {
		rt = snap.lookup(r.URL.Path)
	}
	// The gateway's errors to a SOAP API's requests are SOAP faults of
	// the request's version, those refusing its paths below included
	// (reply.go); act is the request's SOAP action, read once.
	form := jsonErrors
	var act reqAction
	if rt != nil && rt.up.soap != nil {
		form.fault = act.of(r.Header).faultVersion(r.Header)
	}
	if strings.EqualFold(r.Method, http.MethodConnect) || strings.EqualFold(r.Method, http.MethodTrace) {
		// CONNECT would ask a backend for a tunnel, TRACE would echo the
		// request's headers (credentials included) back to a script; in
		// any case, as some backends read methods case-insensitively.
		form.write(w, http.StatusMethodNotAllowed, portico.ENotAllowed, "the gateway does not forward CONNECT or TRACE requests")
		return
	}
	if looped(r.Header) {
		form.write(w, http.StatusLoopDetected, portico.ELoopDetected, "the request came back to the gateway through an API's target: check the API's endpoint")
		return
	}
	if !cleanPath(r.URL.Path) {
		form.write(w, http.StatusBadRequest, portico.EInvalid, "the path must not contain empty, \".\" or \"..\" segments")
		return
	}
	if ambiguousPath(r.URL) {
		form.write(w, http.StatusBadRequest, portico.EInvalid, "the path must not contain an encoded \"/\", a \"\\\", control characters or a doubly encoded \".\", \"/\" or \"\\\"")
		return
	}
	if rt == nil {
		jsonErrors.write(w, http.StatusNotFound, portico.ENotFound, "no API matches this path")
		return
	}
	if ex != nil {
		ex.rt = rt
	}
	api, up := rt.api, rt.up
	if api.State == portico.Deprecated {
		h["Deprecation"] = []string{"true"}
	}
	pol := up.pol
	var client netip.Addr
	if pol != nil {
		if pol.ip != nil {
			client = g.clientAddr(r)
			if !pol.ip.Allowed(client) {
				form.write(w, http.StatusForbidden, portico.EForbidden, "the client's address may not call this API")
				return
			}
		}
		if pol.cors != nil {
			if policy.IsPreflight(r.Method, r.Header) {
				if err := pol.cors.Preflight(r.Header, h); err != nil {
					form.writePolicy(w, err)
				} else {
					w.WriteHeader(http.StatusNoContent)
				}
				return
			}
			// On every response, the gateway's errors included.
			pol.cors.Response(r.Header, h)
		}
	}
	if up.polErr || up.valErr {
		form.write(w, http.StatusServiceUnavailable, portico.EUnavailable, "this API's policies cannot be applied")
		return
	}
	var (
		app *portico.Application
		se  *subEntry
		ps  *planSpecs
	)
	if !api.Auth.Open() {
		a, scope, ok := g.authenticate(w, r, snap, up, key, form)
		if !ok {
			return
		}
		app = a
		if ex != nil {
			ex.app = app
		}
		se = snap.sub(app.ID, api.ID)
		if se == nil {
			form.write(w, http.StatusForbidden, portico.EForbidden, "the application has no subscription to this API")
			return
		}
		if ex != nil {
			ex.se = se
		}
		switch se.sub.Status {
		case portico.Approved:
		case portico.Evicted:
			form.write(w, http.StatusForbidden, portico.EForbidden, "the application's subscription to this API was evicted")
			return
		case portico.Cancelled:
			form.write(w, http.StatusForbidden, portico.EForbidden, "the application's subscription to this API was cancelled")
			return
		default:
			form.write(w, http.StatusForbidden, portico.EForbidden, "the application's subscription to this API is waiting for approval")
			return
		}
		if scope != nil && !slices.Contains(scope, se.sub.PlanID) {
			h["Www-Authenticate"] = insufficientScope
			form.write(w, http.StatusForbidden, portico.EForbidden, "insufficient scope: the token was not issued for this subscription's plan")
			return
		}
		ps = snap.plans[se.sub.PlanID]
		if ps == nil {
			form.write(w, http.StatusForbidden, portico.EForbidden, "the subscription's plan no longer exists")
			return
		}
	}
	if up.soap != nil && !up.soap.admit(w, r, strings.TrimPrefix(r.URL.Path, api.Context), ex, act.of(r.Header), form) {
		return
	}
	if app != nil {
		if !g.limit(w, r, rt, app, se, ps, ex, &act, form) {
			return
		}
		if api.ForwardCredentials {
			if key != "" {
				r.Header[HeaderAPIKey] = []string{key}
			}
		} else if up.auth.authzOwned {
			delete(r.Header, "Authorization")
		}
	}
	if !up.auth.authzOwned {
		// The API does not read Authorization and passes it on as the
		// client's own, but never when it carries the gateway's
		// credentials: its publisher could use them on every API the
		// application subscribes to.
		if vs := r.Header["Authorization"]; len(vs) > 0 && gatewayCredential(snap, vs) {
			delete(r.Header, "Authorization")
		}
	}
	if app != nil && api.IdentityHeaders {
		r.Header[headerApplication] = []string{app.ID}
		r.Header[headerSubscriber] = []string{app.Owner}
	}
	var st *reqState
	if pol != nil {
		path := strings.TrimPrefix(r.URL.Path, api.Context)
		st = &reqState{
			body: pol.body(r.Method, path),
			cors: pol.cors != nil,
			head: r.Method == http.MethodHead,
			val:  up.val,
			path: path,
			form: form,
		}
		if st.body.headers != nil {
			if !client.IsValid() {
				client = g.clientAddr(r)
			}
			st.vars = policy.Vars{RequestID: ids[0], API: api.ID}
			if client.IsValid() {
				st.vars.ClientIP = client.String()
			}
			if app != nil {
				st.vars.Application, st.vars.Subscriber = app.ID, app.Owner
			}
		}
		if !g.requestPolicies(w, r, st) {
			return
		}
	}
	if ex != nil {
		ex.proxied = g.after(ex.start)
	}
	up.serveProxy(w, r, ex, st)
}

// Paths the gateway's TokenEndpoint serves.
const (
	tokenPath = portico.TokenEndpointPath
	jwksPath  = portico.OAuth2Path + "/jwks.json"
)

// Identity fields the gateway sets on the requests of APIs with
// IdentityHeaders; every X-Portico-* field a client sends is removed.
const (
	headerApplication = "X-Portico-Application"
	headerSubscriber  = "X-Portico-Subscriber"
	porticoPrefix     = "X-Portico-"
)

// limit takes the request against the subscription's limits, writes the
// RateLimit headers and, when the request is over a limit, the 429. It
// reports whether the request may go on. act is the request's SOAP
// action, read when an override with an action needs it; the analytics
// record names the override that matched (with its action, one the plan
// declares) unless serve named the SOAP operation already.
func (g *Gateway) limit(w http.ResponseWriter, r *http.Request, rt *route, app *portico.Application, se *subEntry, ps *planSpecs, ex *exchange, act *reqAction, form errorForm) bool {
	if g.Limiter == nil {
		return true
	}
	specs, res := se.limitSpecs(ps, r.Method, strings.TrimPrefix(r.URL.Path, rt.api.Context), r.Header, act)
	if ex != nil && res >= 0 && ex.resource == "" {
		ex.resource = ps.resources[res].label
	}
	if len(specs) == 0 {
		return true
	}
	var now time.Time
	if ex != nil {
		now = ex.start // the request's arrival, read once (BenchmarkFastPath)
	} else {
		now = g.now()
	}
	d, err := g.Limiter.Take(r.Context(), now, specs)
	if err != nil {
		g.logger().Error("limiter failed", "err", err, "api", rt.api.Name)
		form.write(w, http.StatusServiceUnavailable, portico.EUnavailable, "rate limiter unavailable")
		return false
	}
	h := w.Header()
	if d.Limit > 0 {
		// The three numbers in one string, and the three values in one
		// slice: two allocations instead of four (BenchmarkFastPath).
		var buf [60]byte
		b := strconv.AppendInt(buf[:0], d.Limit, 10)
		l := len(b)
		b = strconv.AppendInt(b, max(d.Remaining, 0), 10)
		m := len(b)
		s := string(strconv.AppendInt(b, ceilSeconds(d.Reset), 10))
		vs := []string{s[:l], s[l:m], s[m:]}
		h["Ratelimit-Limit"], h["Ratelimit-Remaining"], h["Ratelimit-Reset"] = vs[0:1:1], vs[1:2:2], vs[2:3:3]
	}
	for _, k := range d.Crossed {
		g.notify(now, portico.NotifyQuotaThreshold, rt, app, se, k,
			"subscription of application %q to API %s %s crossed %d%% of its %s quota",
			app.Name, rt.api.Name, rt.api.Version, thresholdOf(specs, k), perOf(specs, k))
	}
	for _, k := range d.Reached {
		if !strings.HasSuffix(k, "/quota") {
			continue // a filled rate-limit window is routine, not news
		}
		g.notify(now, portico.NotifyQuotaReached, rt, app, se, k,
			"subscription of application %q to API %s %s used up its %s limit",
			app.Name, rt.api.Name, rt.api.Version, perOf(specs, k))
	}
	if d.Allowed {
		return true
	}
	h["Retry-After"] = []string{strconv.FormatInt(max(ceilSeconds(d.RetryAfter), 1), 10)}
	if d.Unavailable {
		delete(h, "Ratelimit-Limit")
		delete(h, "Ratelimit-Remaining")
		delete(h, "Ratelimit-Reset")
		form.write(w, http.StatusServiceUnavailable, portico.EUnavailable,
			"the plan's limits cannot be checked while the data store is unreachable (on_datastore_error: closed); retry later")
		return false
	}
	if strings.HasSuffix(d.Rejected, "/quota") {
		form.write(w, http.StatusTooManyRequests, portico.EQuotaExceeded, "quota exceeded")
	} else {
		form.write(w, http.StatusTooManyRequests, portico.ERateLimited, "rate limit exceeded")
	}
	return false
}

func specOf(specs []portico.LimitSpec, key string) *portico.LimitSpec {
	for i := range specs {
		if specs[i].Key == key {
			return &specs[i]
		}
	}
	return &portico.LimitSpec{}
}

func thresholdOf(specs []portico.LimitSpec, key string) int { return specOf(specs, key).Threshold }
func perOf(specs []portico.LimitSpec, key string) string {
	s := specOf(specs, key)
	if strings.HasSuffix(key, "/quota") {
		return "per-" + string(s.Per)
	}
	return "rate (per " + string(s.Per) + ")"
}

func (g *Gateway) notify(now time.Time, kind portico.NotificationKind, rt *route, app *portico.Application, se *subEntry, key, format string, args ...any) {
	if g.Notify == nil {
		return
	}
	g.Notify(&portico.Notification{
		ID: portico.NewID(), Time: now.UTC(), Kind: kind, Message: fmt.Sprintf(format, args...),
		APIID: rt.api.ID, ApplicationID: app.ID, SubscriptionID: se.sub.ID,
		Publisher: rt.owner, Subscriber: app.Owner,
	})
}

// takeKey returns the request's API key, from the X-API-Key header or
// else the api_key query parameter, removes the client's X-Portico-*
// fields (see isPorticoField), and removes from the request every
// field and parameter that a backend could take for a key, so that no key
// is forwarded whatever the API's auth type: header fields named
// X-API-Key in any case or with "_" for "-", and query parameters whose
// name decodes, in any case, to api_key, also with PHP's mangling ("." or
// " " for "_", a trailing "[…]"), separated by "&" or ";". Only an exact
// api_key (after percent-decoding) is taken as the key. The rest of the
// query is left exactly as it was sent.
func takeKey(r *http.Request) string {
	var key string
	if v, ok := r.Header[HeaderAPIKey]; ok {
		if len(v) > 0 {
			key = v[0]
		}
		delete(r.Header, HeaderAPIKey)
	}
	for name := range r.Header {
		if len(name) == len(HeaderAPIKey) && strings.IndexByte(name, '_') >= 0 &&
			strings.EqualFold(strings.ReplaceAll(name, "_", "-"), HeaderAPIKey) {
			delete(r.Header, name)
		} else if len(name) > len(porticoPrefix) && name[0]|0x20 == 'x' && isPorticoField(name) {
			delete(r.Header, name)
		}
	}
	q := r.URL.RawQuery
	if !mayHoldKey(q) {
		return key
	}
	var kept strings.Builder
	removed, first := false, true
	for start, i := 0, 0; i <= len(q); i++ {
		if i < len(q) && q[i] != '&' && q[i] != ';' {
			continue
		}
		piece := q[start:i]
		sep := start - 1 // the separator before piece, if any
		start = i + 1
		rawName, value, _ := strings.Cut(piece, "=")
		name := rawName
		if strings.ContainsAny(name, "%+") {
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
		}
		if isKeyName(name) {
			if key == "" && name == queryAPIKey {
				key, _ = url.QueryUnescape(value)
			}
			removed = true
			continue
		}
		if !first {
			kept.WriteByte(q[sep])
		}
		kept.WriteString(piece)
		first = false
	}
	if removed {
		r.URL.RawQuery = kept.String()
	}
	return key
}

// isPorticoField reports whether a field name is X-Portico-*, in any
// case and with "_" for "-" (CGI backends read both alike): the gateway's
// own fields, which a client must not set.
func isPorticoField(name string) bool {
	for i := range len(porticoPrefix) {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		p := porticoPrefix[i]
		if 'a' <= p && p <= 'z' {
			p -= 'a' - 'A'
		}
		if c != p {
			return false
		}
	}
	return true
}

// mayHoldKey reports whether query q may hold a key parameter: it has a
// percent sign or "key" in any case. Most queries are let through by this
// quick look.
func mayHoldKey(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '%':
			return true
		case 'k', 'K':
			if i+2 < len(q) && q[i+1]|0x20 == 'e' && q[i+2]|0x20 == 'y' {
				return true
			}
		}
	}
	return false
}

// isKeyName reports whether a decoded query parameter name is, for some
// backend, the api_key parameter: in any case, with leading spaces, with
// "." or " " for "_" or an unmatched "[" for "_", or with a "[…]" suffix
// (PHP reads all of these as api_key).
func isKeyName(name string) bool {
	name = strings.TrimLeft(name, " ")
	if len(name) < len(queryAPIKey) {
		return false
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		if strings.IndexByte(name[i:], ']') > 0 {
			name = name[:i]
		}
	}
	if len(name) != len(queryAPIKey) {
		return false
	}
	for i := range len(name) {
		c := name[i]
		switch {
		case c == '.' || c == ' ' || c == '[':
			c = '_'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != queryAPIKey[i] {
			return false
		}
	}
	return true
}

// validRequestID reports whether a client's request id may be kept: 1 to
// 128 token characters (RFC 9110 §5.6.2), so that it is safe to log, to
// forward and to echo.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if !isTokenChar(id[i]) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool { return charClass[c]&classToken != 0 }

// charClass holds, for each byte, the classes it belongs to: one load
// where a switch and a search of the punctuation would run for every
// byte of every field name the fast path reads and writes
// (BenchmarkFastPath).
var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0 {
			t[c] |= classToken
		}
		if alnum || strings.IndexByte("-_.~$&+,/:;=@", byte(c)) >= 0 {
			t[c] |= classPlainPath
		}
	}
	return t
}()

// Classes of charClass.
const (
	classToken     = 1 << iota // RFC 9110 tchar
	classPlainPath             // see plainPathChar
)

// cleanPath reports whether p is absolute and has no empty, "." or ".."
// segments (a trailing slash is fine), also when a segment's ";"
// parameters are left out (servlet containers read "/..;x/" as "/../").
// Such paths could reach outside an API's context path or its target's
// base path at a backend that cleans them, and could dodge per-resource
// limits.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 1; i <= len(p); {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			j = len(p) - i
		}
		seg := p[i : i+j]
		last := i+j == len(p)
		if k := strings.IndexByte(seg, ';'); k >= 0 {
			seg = seg[:k]
			last = false // "/a/;x" is an empty segment too
		}
		if (seg == "" && !last) || seg == "." || seg == ".." {
			return false
		}
		i += j + 1
	}
	return true
}

// ambiguousPath reports whether backends could read u's path otherwise
// than the gateway, which routes and limits by the decoded path: an
// encoded "/" (one segment to the gateway, two to a backend that decodes
// before routing), a "\" (a separator to some servers), control
// characters (NUL ends a path in C), or a doubly encoded ".", "/" or "\"
// (a backend that decodes twice sees dot segments or separators).
func ambiguousPath(u *url.URL) bool {
	p := u.Path
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c < 0x20 || c == 0x7f || c == '\\':
			return true
		case c == '%' && i+2 < len(p):
			if h, l := p[i+1], p[i+2]|0x20; (h == '2' && (l == 'e' || l == 'f')) || (h == '5' && l == 'c') {
				return true
			}
		}
	}
	// Path cannot hold an encoded "/": RawPath is set then.
	raw := u.RawPath
	return raw != "" && (strings.Contains(raw, "%2f") || strings.Contains(raw, "%2F"))
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

var errAllTargetsDown = errors.New("every target of the endpoint is down")
