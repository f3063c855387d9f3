package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
)

// Default upstream timeouts, used when an API sets none.
const (
	DefaultConnectTimeout  = 5 * time.Second
	DefaultResponseTimeout = 30 * time.Second
)

// upstream is the proxying half of one API.
type upstream struct {
	api       *portico.API
	targets   []*url.URL
	balancer  Balancer
	transport *http.Transport
	h1        *h1Transport
	proxy     *httputil.ReverseProxy
	g         *Gateway

	auth   routeAuth
	soap   *soapOps       // nil: the API is not a SOAP API
	pol    *routePolicies // nil: the API has no policies
	polErr bool           // the API's policies did not compile: it answers 503
	val    *docValidator  // the API's document's, when it validates requests
	valErr bool           // it validates requests but has no OpenAPI document: it answers 503

	// verifier checks the tokens of an API with jwt auth; nil without
	// jwt or when it could not be made (then such tokens get a 503).
	// verifierMoved, read and written only under Gateway.mu, says the
	// next upstream of the API took it over (its issuers did not change).
	verifier      portico.TokenVerifier
	verifierMoved bool
}

func (g *Gateway) newUpstream(a *portico.API) *upstream { return g.buildUpstream(a, nil) }

// shadowedByTokenEndpoint reports whether an API at context would, but
// for the token endpoint, serve one of its paths.
func shadowedByTokenEndpoint(context string) bool {
	for _, p := range []string{tokenPath, jwksPath} {
		if p == context || strings.HasPrefix(p, context+"/") {
			return true
		}
	}
	return false
}

// buildUpstream makes the upstream of API a, compiling its auth and
// policies; prev is the upstream a had, if any, whose token verifier a
// takes over when its JWT issuers did not change.
func (g *Gateway) buildUpstream(a *portico.API, prev *upstream) *upstream {
	up := &upstream{api: a, g: g, auth: newRouteAuth(a), soap: compileSOAP(a)}
	if g.TokenEndpoint != nil && shadowedByTokenEndpoint(a.Context) {
		// The admin API refuses such a context; one stored before it
		// did is still routed, but not on the token endpoint's paths.
		g.logger().Warn("API context lies on the gateway's OAuth2 paths: requests to /oauth2/token and /oauth2/jwks.json go to the token endpoint, not to this API; give it another context",
			"api", a.Name, "version", a.Version, "context", a.Context)
	}
	if pol, err := compilePolicies(a.Policies); err != nil {
		g.logger().Error("API policies do not compile: the API answers 503", "api", a.Name, "version", a.Version, "err", err)
		up.polErr = true
	} else {
		up.pol = pol
	}
	g.validatorFor(up, a)
	if a.Auth.Has(portico.AuthJWT) {
		switch {
		case prev != nil && prev.verifier != nil && sameIssuers(prev.api.JWTIssuers, a.JWTIssuers):
			up.verifier, prev.verifierMoved = prev.verifier, true
		case g.NewJWTVerifier == nil:
			g.logger().Error("API takes jwt but the gateway has no JWT verifier: its bearer tokens get 503", "api", a.Name, "version", a.Version)
		default:
			v, err := g.NewJWTVerifier(a.JWTIssuers)
			if err != nil {
				g.logger().Error("API's JWT issuers cannot be used: its bearer tokens get 503", "api", a.Name, "version", a.Version, "err", err)
			} else {
				up.verifier = v
			}
		}
	}
	for _, t := range a.Endpoint.Targets {
		u, err := url.Parse(t.URL)
		if err != nil || u.Host == "" {
			// The admin API validates URLs; a bad one here only comes from a
			// store edited by hand. Such a target always fails.
			u = &url.URL{Scheme: "http", Host: "invalid.invalid"}
		}
		up.targets = append(up.targets, u)
	}
	if g.NewBalancer != nil {
		up.balancer = g.NewBalancer(a.Endpoint)
	} else {
		up.balancer = &roundRobin{n: len(up.targets)}
	}
	connect, response := time.Duration(a.Timeouts.Connect), time.Duration(a.Timeouts.Response)
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	if response <= 0 {
		response = DefaultResponseTimeout
	}
	var tr *http.Transport
	if g.Transport != nil {
		tr = g.Transport.Clone()
	} else {
		tr = defaultTransport()
	}
	tr.DialContext = guardedDial(&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second})
	tr.ResponseHeaderTimeout = response
	up.transport = tr
	up.h1 = &h1Transport{
		dialer:          net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second},
		responseTimeout: response,
		idleTimeout:     idleTimeout,
		maxIdle:         512,
		maxHeader:       tr.MaxResponseHeaderBytes,
	}
	if !a.ReusesConnections() {
		tr.DisableKeepAlives = true
		up.h1.maxIdle = 0
	}
	up.proxy = &httputil.ReverseProxy{
		Rewrite:        up.rewrite,
		Transport:      (*balancedTransport)(up),
		ErrorHandler:   up.errorHandler,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(g.logger().Handler(), slog.LevelWarn),
		ModifyResponse: up.modifyResponse,
	}
	return up
}

func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		MaxIdleConns:           0,
		MaxIdleConnsPerHost:    512,
		IdleConnTimeout:        idleTimeout,
		DisableCompression:     true,
		ExpectContinueTimeout:  time.Second,
		WriteBufferSize:        32 << 10,
		ReadBufferSize:         32 << 10,
		MaxResponseHeaderBytes: maxResponseHeader,
	}
}

// maxResponseHeader bounds a backend's response headers (informational
// responses included) on both clients; a larger one is a 502.
const maxResponseHeader = 1 << 20

// idleTimeout closes keep-alive connections to backends that were idle this
// long: shorter than the keep-alive timeouts of common servers (nginx 75s,
// Go's none), to rarely meet a connection the backend just closed.
const idleTimeout = 30 * time.Second

// close releases what the upstream holds once it is out of use. Under
// Gateway.mu.
func (up *upstream) close() {
	up.transport.CloseIdleConnections()
	up.h1.closeIdle()
	up.closeVerifier()
	if up.val != nil {
		up.g.releaseValidator(up.val, up.api.ID)
		up.val = nil
	}
}

// closeVerifier closes the upstream's token verifier unless the next
// upstream of the API took it over. Under Gateway.mu.
func (up *upstream) closeVerifier() {
	if up.verifier != nil && !up.verifierMoved {
		up.verifier.Close()
		up.verifierMoved = true // closed once
	}
}

// sameIssuers reports whether two lists of JWT issuers are equal, entry by
// entry.
func sameIssuers(a, b []portico.JWTIssuer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(&b[i]) {
			return false
		}
	}
	return true
}

// rewrite sets the forwarding headers and the path inside the API; the
// target's scheme, host and base path are set per attempt by
// balancedTransport.
func (up *upstream) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	if xff := in.Header["X-Forwarded-For"]; len(xff) > 0 {
		out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
	oh := out.Header
	// Set after ReverseProxy removed the headers the client's Connection
	// header named: a client must not keep these from the backend.
	oh[HeaderRequestID] = in.Header[HeaderRequestID]
	oh["Via"] = append(oh["Via"][:len(oh["Via"]):len(oh["Via"])], via)
	delete(oh, "Proxy") // httpoxy: CGI backends read it as HTTP_PROXY
	if !up.api.ReusesConnections() {
		out.Close = true // "Connection: close", and no reuse on either client
	}
	switch in.Body.(type) {
	case *requestBody, *checkedBody:
		if out.Body != nil {
			out.Body = in.Body // unwrapped, for errorHandler; its Close does nothing
		}
	}
	if _, ok := out.Header["Upgrade"]; ok && !up.upgradeAllowed(in) {
		// ReverseProxy kept the upgrade (it set exactly "Connection:
		// Upgrade" and the Upgrade asked for): drop both.
		delete(out.Header, "Upgrade")
		delete(out.Header, "Connection")
	}
	ctx := up.api.Context
	out.URL.Path = strings.TrimPrefix(in.URL.Path, ctx)
	if in.URL.RawPath != "" {
		out.URL.RawPath = strings.TrimPrefix(in.URL.RawPath, ctx)
	}
	out.Host = ""
}

// upgradeAllowed reports whether r may switch protocols at the backend
// (never in HTTP/1.0, which has no upgrades, RFC 9110 §7.8):
// only to WebSocket (a GET with one Upgrade field, "websocket"), and only
// on APIs that allow it. Any other upgrade (h2c, …) would let a backend
// open a raw tunnel that the gateway neither limits nor records.
func (up *upstream) upgradeAllowed(r *http.Request) bool {
	u := r.Header["Upgrade"]
	return up.api.WebSocket && r.Method == http.MethodGet && r.ProtoAtLeast(1, 1) && len(u) == 1 && strings.EqualFold(strings.TrimSpace(u[0]), "websocket")
}

// errUnaskedSwitch refuses a 101 answer to a request that asked for no
// (allowed) upgrade.
var errUnaskedSwitch = errors.New("the backend switched protocols unasked")

// balancedTransport is an upstream seen as an http.RoundTripper: it picks
// a target per attempt and retries on the next one when that is safe.
type balancedTransport upstream

func (bt *balancedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return bt.roundTrip(req, time.Time{}, nil)
}

// roundTrip is RoundTrip with the current time when the caller has it
// (zero: read it here; see Gateway.after) and, when not nil, what the
// lean client reads a response into (see leanResp).
func (bt *balancedTransport) roundTrip(req *http.Request, now time.Time, scratch *leanResp) (*http.Response, error) {
	up := (*upstream)(bt)
	if now.IsZero() {
		now = up.g.now()
	}
	// The lean client's idle timeouts run on the real clock, not on a
	// Gateway.Now of tests.
	h1now := now
	if up.g.Now != nil {
		h1now = time.Now()
	}
	rest, restRaw := req.URL.Path, req.URL.RawPath
	body := req.Body
	retryable := len(up.targets) > 1
	if _, ok := body.(*requestBody); !ok && retryable && body != nil && body != http.NoBody {
		req.Body = noClose{body}
	}
	var tried uint64
	var lastErr error
	for attempt := 0; attempt < len(up.targets) && attempt < 64; attempt++ {
		if attempt > 0 {
			now = up.g.after(now)
		}
		i, ok := up.balancer.Pick(now, tried)
		if !ok {
			break
		}
		tried |= 1 << uint(i)
		t := up.targets[i]
		req.URL.Scheme, req.URL.Host = t.Scheme, t.Host
		req.URL.Path = joinPath(t.Path, rest)
		if restRaw != "" {
			req.URL.RawPath = joinPath(t.EscapedPath(), restRaw)
		}
		var resp *http.Response
		var err error
		if canUseH1(req) {
			resp, err = up.h1.roundTripAt(req, h1now, scratch)
		} else if up.transport.DisableKeepAlives {
			resp, err = up.transport.RoundTrip(req) // no reuse: nothing to guard
		} else {
			resp, err = up.transport.RoundTrip(guarded(req))
		}
		if err == nil {
			up.balancer.MarkUp(i)
			return resp, nil
		}
		lastErr = err
		if req.Context().Err() != nil {
			break // the client went away: not the target's fault
		}
		if !isDialError(err) {
			if !retryable || !isIdempotent(req) || req.Context().Err() != nil || isTimeout(err) {
				break
			}
		} else {
			up.markDown(i, t)
		}
	}
	if body != nil && req.Body != body {
		body.Close()
	}
	if lastErr == nil {
		lastErr = errAllTargetsDown
	}
	return nil, lastErr
}

func (up *upstream) markDown(i int, t *url.URL) {
	now := up.g.now()
	if up.balancer.MarkDown(i, now) {
		up.g.logger().Warn("endpoint target down", "api", up.api.Name, "version", up.api.Version, "target", t.Redacted())
		if up.g.Notify != nil {
			up.g.Notify(&portico.Notification{
				ID: portico.NewID(), Time: now.UTC(), Kind: portico.NotifyEndpointDown,
				Message: "target " + t.Redacted() + " of API " + up.api.Name + " " + up.api.Version + " refuses connections; it is skipped for a cool-down",
				APIID:   up.api.ID, Publisher: up.api.Owner,
			})
		}
	}
}

func joinPath(base, rest string) string {
	if base == "" || base == "/" {
		if rest == "" {
			return "/"
		}
		return rest
	}
	if rest == "" {
		return base
	}
	return strings.TrimSuffix(base, "/") + rest
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isIdempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return r.Body == nil || r.Body == http.NoBody
	}
	return false
}

// modifyResponse refuses (502) a malformed status code and a 101 to a
// request that asked for no allowed upgrade; it rewrites Location and
// Content-Location to the API's public path (see publicLocation), drops
// the backend's own request id and, on APIs whose limits the gateway
// enforces, its RateLimit headers, so that clients see one of each: the
// gateway's.
func (up *upstream) modifyResponse(resp *http.Response) error {
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return errBadStatus // http.Transport passes 000-999; the server panics below 100
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// rewrite left an Upgrade on the request only when it is allowed.
		if resp.Request == nil || resp.Request.Header["Upgrade"] == nil {
			return errUnaskedSwitch
		}
	}
	h := resp.Header
	if _, ok := h[HeaderRequestID]; ok {
		delete(h, HeaderRequestID)
	}
	for _, name := range [...]string{"Location", "Content-Location"} {
		if v := h[name]; len(v) == 1 {
			if pub, ok := up.publicLocation(v[0], resp.Request); ok {
				h[name] = []string{pub}
			}
		}
	}
	if _, ok := h["Ratelimit-Limit"]; ok && !up.api.Auth.Open() {
		delete(h, "Ratelimit-Limit")
		delete(h, "Ratelimit-Remaining")
		delete(h, "Ratelimit-Reset")
	}
	if up.pol != nil && resp.Request != nil {
		// httputil.ReverseProxy's requests carry the state in their
		// context; forward applies it itself.
		if st := stateOf(resp.Request.Context()); st != nil {
			return st.response(resp)
		}
	}
	return nil
}

// errorHandler is the ReverseProxy's ErrorHandler: backendError, with
// the policies' state the request carries in its context.
func (up *upstream) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	up.backendError(w, r, stateOf(r.Context()), err)
}

// backendError maps a failed upstream call to 502 or 504, or to 400 or
// 408 when reading the client's body failed, in the form of r's errors
// (st, when not nil, is the request's policies' state).
func (up *upstream) backendError(w http.ResponseWriter, r *http.Request, st *reqState, err error) {
	form := up.formOf(r, st)
	if violationError(w, r, form) || clientBodyError(w, r, form) {
		return
	}
	var bad *badResponse
	if errors.As(err, &bad) {
		up.g.logger().Warn("backend response refused", "api", up.api.Name, "version", up.api.Version, "err", err)
		form.write(w, http.StatusBadGateway, portico.EBadGateway, bad.msg)
		return
	}
	if r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		// The client went away; nobody reads the answer.
		w.WriteHeader(499)
		return
	}
	if isTimeout(err) && !isDialError(err) {
		form.write(w, http.StatusGatewayTimeout, portico.EGatewayTimeout, "the backend did not answer in time")
		return
	}
	up.g.logger().Warn("upstream failed", "api", up.api.Name, "version", up.api.Version, "err", err)
	if errors.Is(err, errAllTargetsDown) || isDialError(err) {
		form.write(w, http.StatusBadGateway, portico.EBadGateway, "the backend is unreachable")
		return
	}
	form.write(w, http.StatusBadGateway, portico.EBadGateway, "the backend failed to answer")
}

type noClose struct{ io.ReadCloser }

func (noClose) Close() error { return nil }

// roundRobin is the balancer used when Gateway.NewBalancer is nil.
type roundRobin struct {
	n    int
	next atomic.Uint64
}

func (rr *roundRobin) Pick(_ time.Time, tried uint64) (int, bool) {
	for range rr.n {
		i := int((rr.next.Add(1) - 1) % uint64(rr.n))
		if tried&(1<<uint(i)) == 0 {
			return i, true
		}
	}
	return 0, false
}
func (rr *roundRobin) MarkDown(int, time.Time) bool { return false }
func (rr *roundRobin) MarkUp(int)                   {}
func (rr *roundRobin) Down(int) bool                { return false }

// bufferPool recycles the 32 KiB buffers that copy response bodies.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// publicLocation maps loc, a Location or Content-Location of a backend's
// answer to req, to the API's public path when it points at the API's
// target: an absolute URL with the scheme and host (default port or not)
// of one of the API's targets and a path under its base path, or an
// absolute path under the base path of the target req went to. The
// result is a path-absolute reference (context path, rest, query,
// fragment): it needs no trust in the Host or X-Forwarded-* fields the
// client sent, and holds behind any proxy in front. Other locations are
// left as they are (ok false).
func (up *upstream) publicLocation(loc string, req *http.Request) (string, bool) {
	if loc == "" || (loc[0] != '/' && !strings.Contains(loc, "://")) {
		return "", false // relative to the request: already public
	}
	u, err := url.Parse(loc)
	if err != nil || u.User != nil || u.Opaque != "" {
		return "", false
	}
	p := u.EscapedPath()
	var rest string
	var ok bool
	if u.Host == "" && u.Scheme == "" { // an absolute path
		if req == nil || !strings.HasPrefix(p, "/") {
			return "", false
		}
		for _, t := range up.targets {
			if sameOrigin(t, req.URL.Scheme, req.URL.Host) {
				rest, ok = underBase(p, t.EscapedPath())
				break
			}
		}
	} else {
		for _, t := range up.targets {
			if sameOrigin(t, u.Scheme, u.Host) {
				if rest, ok = underBase(p, t.EscapedPath()); ok {
					break
				}
			}
		}
	}
	if !ok {
		return "", false
	}
	pub := joinPath((&url.URL{Path: up.api.Context}).EscapedPath(), rest)
	if strings.HasPrefix(pub, "//") {
		return "", false // would name another host
	}
	if u.ForceQuery || u.RawQuery != "" {
		pub += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		pub += "#" + u.EscapedFragment()
	}
	return pub, true
}

// sameOrigin reports whether scheme (empty: t's own) and host name t's
// scheme and host, default ports aside.
func sameOrigin(t *url.URL, scheme, host string) bool {
	if scheme != "" && !strings.EqualFold(scheme, t.Scheme) {
		return false
	}
	return strings.EqualFold(defaultPortless(t.Scheme, host), defaultPortless(t.Scheme, t.Host))
}

func defaultPortless(scheme, host string) string {
	switch strings.ToLower(scheme) {
	case "http":
		return strings.TrimSuffix(host, ":80")
	case "https":
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// underBase returns the rest of the escaped path p after base and whether
// p is base or lies under it.
func underBase(p, base string) (string, bool) {
	base = strings.TrimSuffix(base, "/")
	switch {
	case p == base:
		return "", true
	case strings.HasPrefix(p, base+"/"):
		return p[len(base):], true
	case p == "" && base == "":
		return "", true
	}
	return "", false
}
