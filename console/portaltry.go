package console

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portico-gw/portico"
)

// Bounds of the try-it form and of the response it shows. The whole form
// is bounded by maxFormBytes.
const (
	tryMaxPath        = 2048
	tryMaxQuery       = 8 << 10
	tryMaxHeaders     = 50
	tryMaxHeaderBytes = 16 << 10
	tryMaxBody        = 128 << 10
	tryMaxKey         = 256
	tryMaxResponse    = 1 << 20
	tryTimeout        = 60 * time.Second

	// tryParallel bounds the try-it calls a node runs at once: each holds
	// up to tryMaxResponse of the answer, several times over while the
	// page is made (escaped, rendered), and a black-box probe took a node
	// to 2.3 GB with 150 at once.
	tryParallel = 4
)

// tryMethods are the methods the try-it form sends.
var tryMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodHead, http.MethodOptions}

// tryForm is the try-it form as typed. The key is not part of it: a form
// shown again never holds the key.
type tryForm struct {
	Application, Method, Path, Query, Headers, Body string
}

// tryResult is the gateway's answer to a try-it call.
type tryResult struct {
	Method, Target string // what was sent: "GET", "/weather/today?city=x"
	Status         int
	Headers        []headerLine
	Body           string // at most tryMaxResponse bytes of it, as UTF-8
	Bytes          int64  // the body's whole length
	Truncated      bool   // Body holds only the first tryMaxResponse bytes
	Binary         bool   // the body is not UTF-8 text: invalid bytes are shown as U+FFFD
	Aborted        bool   // the gateway cut the response off
	Took           time.Duration
}

// StatusText is the status's reason phrase.
func (t *tryResult) StatusText() string { return http.StatusText(t.Status) }

// Time is how long the gateway took, in milliseconds.
func (t *tryResult) Time() string {
	return strconv.FormatFloat(float64(t.Took.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// headerLine is one field of a response's header.
type headerLine struct{ Name, Value string }

// tryable reports whether the try-it form can call a: it sends an API key
// (api_key, or basic with the application's ID) or nothing (none).
func tryable(a *portico.API) bool {
	return a.Auth.Has(portico.AuthAPIKey) || a.Auth.Has(portico.AuthBasic) || a.Auth.Has(portico.AuthNone)
}

// portalTry sends the try-it form's request through the gateway's handler,
// in-process, with a key of one of the user's own applications, and shows
// the answer on the API's page. The request goes nowhere else: its path
// is joined under the API's context and may not leave it, and no host,
// scheme or URL of the form is ever used.
func (s *Server) portalTry(w http.ResponseWriter, r *http.Request, ss *session) {
	a := s.portalAPI(w, r, ss, r.PathValue("id"))
	if a == nil {
		return
	}
	if s.Gateway == nil {
		s.portalFail(w, r, ss, http.StatusNotFound, "Trying calls is not available on this node.")
		return
	}
	if !tryable(a) {
		s.portalFail(w, r, ss, http.StatusBadRequest, "Calls to this API need a token (JWT or OAuth2); the form sends API keys only.")
		return
	}
	f := tryForm{
		Application: r.PostFormValue("application"),
		Method:      r.PostFormValue("method"),
		Path:        r.PostFormValue("path"),
		Query:       r.PostFormValue("query"),
		Headers:     r.PostFormValue("headers"),
		Body:        r.PostFormValue("body"),
	}
	req, err := s.tryRequest(r, ss, a, f, r.PostFormValue("key"))
	if err != nil {
		if e, ok := err.(*apiError); ok && e.Status != http.StatusUnauthorized && e.Status < 500 {
			s.portalAPIAgain(w, r, ss, a, e, &f, nil)
			return
		}
		s.portalFail(w, r, ss, 0, err)
		return
	}
	select {
	case s.tries <- struct{}{}:
		defer func() { <-s.tries }()
	default:
		w.Header().Set("Retry-After", "1")
		s.portalFail(w, r, ss, http.StatusServiceUnavailable, "Too many calls are being tried on this node at once; send the form again in a moment.")
		return
	}
	res := s.tryCall(req)
	s.portalAPIAgain(w, r, ss, a, nil, &f, res)
}

// tryRefused is a refusal of the try-it form naming its field.
func tryRefused(status int, field, format string, args ...any) *apiError {
	return &apiError{Status: status, Field: field, Message: fmt.Sprintf(format, args...)}
}

// tryRequest checks the try-it form and builds the gateway's request, or
// returns an *apiError naming the field it refuses.
func (s *Server) tryRequest(from *http.Request, ss *session, a *portico.API, f tryForm, key string) (*http.Request, error) {
	if !slices.Contains(tryMethods, f.Method) {
		return nil, tryRefused(http.StatusBadRequest, "method", "Choose one of the methods offered.")
	}
	p, e := tryPath(a.Context, f.Path)
	if e != nil {
		return nil, e
	}
	q, e := tryQuery(f.Query)
	if e != nil {
		return nil, e
	}
	h, e := tryHeaders(f.Headers, s.keyHeader())
	if e != nil {
		return nil, e
	}
	if len(f.Body) > tryMaxBody {
		return nil, tryRefused(http.StatusRequestEntityTooLarge, "body", "The body may be at most %d KiB.", tryMaxBody>>10)
	}
	switch {
	case a.Auth.Has(portico.AuthAPIKey):
		if err := s.tryKey(from, ss, f.Application, key); err != nil {
			return nil, err
		}
		h.Set(s.keyHeader(), strings.TrimSpace(key))
	case a.Auth.Has(portico.AuthBasic):
		if err := s.tryKey(from, ss, f.Application, key); err != nil {
			return nil, err
		}
		h.Set("Authorization", "Basic "+basicAuth(f.Application, strings.TrimSpace(key)))
	}
	// The gateway takes the client's address as it would from the front
	// door: the connection's peer and the forwarding fields the front
	// door set on the browser's request, never fields typed in the form.
	for _, name := range []string{"X-Forwarded-For", "Forwarded"} {
		if v := from.Header.Values(name); len(v) > 0 {
			h[name] = slices.Clone(v)
		}
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", "Portico portal (try it)")
	}
	u := &url.URL{Path: p, RawQuery: q}
	req, err := http.NewRequestWithContext(from.Context(), f.Method, u.RequestURI(), strings.NewReader(f.Body))
	if err != nil {
		return nil, tryRefused(http.StatusBadRequest, "path", "This path cannot be sent.")
	}
	if f.Body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header = h
	req.RequestURI = u.RequestURI()
	req.RemoteAddr = from.RemoteAddr
	req.Host = tryHost(s.PublicURL, s.GatewayAddr, from.Host)
	return req, nil
}

// tryHost is the Host the gateway's request carries: the front door's, the
// gateway's address, or the portal's own.
func tryHost(public, gateway, own string) string {
	if p, err := url.Parse(public); err == nil && p.Host != "" {
		return p.Host
	}
	if gateway != "" {
		return gateway
	}
	return own
}

// tryPath joins p under the API's context: p is decoded, then cleaned of
// dot segments, and must stay within the context. URLs ("://"), encoded
// slashes and backslashes, control characters (CR, LF, NUL, …) raw or
// encoded, and "?" or "#" (the query has a field of its own) are refused.
func tryPath(context, p string) (string, *apiError) {
	const field = "path"
	switch {
	case len(p) > tryMaxPath:
		return "", tryRefused(http.StatusBadRequest, field, "The path may be at most %d bytes.", tryMaxPath)
	case hasControl(p):
		return "", tryRefused(http.StatusBadRequest, field, "The path may not hold control characters (CR, LF, NUL, …).")
	case strings.Contains(p, "://"):
		return "", tryRefused(http.StatusBadRequest, field, "Type a path under the API's context, not a URL: the form calls this API only.")
	case strings.ContainsAny(p, "?#"):
		return "", tryRefused(http.StatusBadRequest, field, "Type the query in its own field, without \"?\"; fragments (\"#\") are not sent.")
	case strings.Contains(p, "\\"), containsFold(p, "%2f"), containsFold(p, "%5c"):
		return "", tryRefused(http.StatusBadRequest, field, "The path may not hold backslashes or encoded slashes.")
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		return "", tryRefused(http.StatusBadRequest, field, "The path has a malformed %%-escape.")
	}
	if hasControl(dec) || !utf8.ValidString(dec) {
		return "", tryRefused(http.StatusBadRequest, field, "The path may not hold encoded control characters or invalid UTF-8.")
	}
	joined := path.Join(context, "/"+dec)
	if strings.HasSuffix(dec, "/") && !strings.HasSuffix(joined, "/") {
		joined += "/"
	}
	under := strings.TrimSuffix(context, "/") + "/"
	if joined != context && !strings.HasPrefix(joined, under) {
		return "", tryRefused(http.StatusBadRequest, field, "The path leaves the API's context %s: the form calls this API only.", context)
	}
	return joined, nil
}

// tryQuery checks the query text ("a=1&b=two") and returns it encoded
// again, parameter by parameter in its order. Raw control characters,
// spaces and "#" are refused, and so is an api_key parameter: the portal
// sends the key itself.
func tryQuery(q string) (string, *apiError) {
	const field = "query"
	q = strings.TrimPrefix(strings.TrimSpace(q), "?")
	switch {
	case len(q) > tryMaxQuery:
		return "", tryRefused(http.StatusBadRequest, field, "The query may be at most %d KiB.", tryMaxQuery>>10)
	case hasControl(q):
		return "", tryRefused(http.StatusBadRequest, field, "The query may not hold control characters (CR, LF, NUL, …).")
	case strings.ContainsAny(q, "# "):
		return "", tryRefused(http.StatusBadRequest, field, "The query may not hold spaces or \"#\": escape them (%%20, %%23).")
	}
	var out []string
	for piece := range strings.SplitSeq(q, "&") {
		if piece == "" {
			continue
		}
		rawName, rawValue, hasValue := strings.Cut(piece, "=")
		name, err1 := url.QueryUnescape(rawName)
		value, err2 := url.QueryUnescape(rawValue)
		if err1 != nil || err2 != nil {
			return "", tryRefused(http.StatusBadRequest, field, "The query has a malformed %%-escape in %.50q.", piece)
		}
		if isKeyParam(name) {
			return "", tryRefused(http.StatusBadRequest, field, "The portal sends your key itself; leave out the %q parameter.", name)
		}
		enc := url.QueryEscape(name)
		if hasValue {
			enc += "=" + url.QueryEscape(value)
		}
		out = append(out, enc)
	}
	return strings.Join(out, "&"), nil
}

// isKeyParam reports whether a query parameter named name could be taken
// for an API key (api_key in any case, with "-", "." or " " for "_").
func isKeyParam(name string) bool {
	n := strings.ToLower(strings.NewReplacer("-", "_", ".", "_", " ", "_").Replace(name))
	n, _, _ = strings.Cut(n, "[")
	return n == "api_key"
}

// tryRefusedHeaders are the header fields the form may not set: those of
// the connection and the message's framing, the credentials (the portal
// sends the key) and the client's address (the gateway's trusted
// proxies' report).
var tryRefusedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Proxy-Connection": true, "Proxy-Authorization": true, "Te": true, "Trailer": true, "Upgrade": true,
	"Expect": true, "Authorization": true, "Forwarded": true, "X-Real-Ip": true,
}

// tryHeaders reads the headers text, one "Name: value" per line (lines end
// in LF or CRLF, as a textarea sends them). A name that is no HTTP token,
// a value with a control character (a CR within a line, NUL, …), a folded
// line, a field the form may not set (tryRefusedHeaders, X-Forwarded-*,
// X-Portico-*, the key header) and more than tryMaxHeaders fields are
// refused.
func tryHeaders(text, keyHeader string) (http.Header, *apiError) {
	const field = "headers"
	h := http.Header{}
	if len(text) > tryMaxHeaderBytes {
		return nil, tryRefused(http.StatusBadRequest, field, "The headers may be at most %d KiB.", tryMaxHeaderBytes>>10)
	}
	n := 0
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		at := i + 1
		if line[0] == ' ' || line[0] == '\t' {
			return nil, tryRefused(http.StatusBadRequest, field, "Line %d starts with a space: folded header lines are not sent.", at)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, tryRefused(http.StatusBadRequest, field, "Line %d: write each header as Name: value.", at)
		}
		if !validHeaderName(name) {
			return nil, tryRefused(http.StatusBadRequest, field, "Line %d: %.60q is not a header name (letters, digits and !#$%%&'*+-.^_`|~ only).", at, name)
		}
		value = strings.Trim(value, " \t")
		if !validHeaderValue(value) {
			return nil, tryRefused(http.StatusBadRequest, field, "Line %d: the value of %s holds a control character (CR, LF, NUL, …).", at, name)
		}
		canon := http.CanonicalHeaderKey(name)
		if tryRefusedHeaders[canon] || strings.HasPrefix(canon, "X-Forwarded-") || strings.HasPrefix(canon, "X-Portico-") ||
			strings.EqualFold(canon, keyHeader) || strings.EqualFold(strings.ReplaceAll(canon, "_", "-"), keyHeader) {
			return nil, tryRefused(http.StatusBadRequest, field, "Line %d: %s is set by the portal or the connection, not by the form.", at, canon)
		}
		if n++; n > tryMaxHeaders {
			return nil, tryRefused(http.StatusBadRequest, field, "At most %d headers.", tryMaxHeaders)
		}
		h.Add(canon, value)
	}
	return h, nil
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s may be a field value: no control
// character but tab, valid UTF-8.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

// hasControl reports whether s holds an ASCII control character.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func containsFold(s, sub string) bool { return strings.Contains(strings.ToLower(s), sub) }

// basicAuth is the credentials of HTTP Basic for user and password.
func basicAuth(user, password string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, password)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// tryKey checks that key is a live API key of application appID, which
// the user owns: the admin API's POST /applications/{id}/keys/verify,
// which compares the key's hash with those of the application's keys.
func (s *Server) tryKey(r *http.Request, ss *session, appID, key string) error {
	key = strings.TrimSpace(key)
	switch {
	case appID == "":
		return tryRefused(http.StatusBadRequest, "application", "Choose one of your applications.")
	case key == "":
		return tryRefused(http.StatusBadRequest, "key", "Paste one of the application's API keys (the portal never keeps them).")
	case len(key) > tryMaxKey || hasControl(key) || strings.ContainsAny(key, " :"):
		return tryRefused(http.StatusBadRequest, "key", "This is no API key.")
	}
	var app portico.Application
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/applications/" + url.PathEscape(appID), token: ss.token}, &app); err != nil {
		if e, ok := err.(*apiError); ok && (e.Status == http.StatusNotFound || e.Status == http.StatusForbidden) {
			return tryRefused(http.StatusForbidden, "application", "You have no such application.")
		}
		return err
	}
	if app.Owner != ss.user.ID {
		return tryRefused(http.StatusForbidden, "application", "You may try calls only with the keys of your own applications.")
	}
	var k portico.Key
	err := s.do(r, apiCall{method: http.MethodPost, path: "/applications/" + url.PathEscape(app.ID) + "/keys/verify",
		body: map[string]string{"key": key}, token: ss.token}, &k)
	if e, ok := err.(*apiError); ok && (e.Status == http.StatusNotFound || e.Status == http.StatusBadRequest) {
		return tryRefused(http.StatusForbidden, "key", "This is not a live key of the application %s.", app.Name)
	}
	if err != nil {
		return err
	}
	if k.ApplicationID != app.ID || !k.Live(s.now()) {
		return tryRefused(http.StatusForbidden, "key", "This is not a live key of the application %s.", app.Name)
	}
	return nil
}

// tryCall sends req through the gateway's handler and reads its answer.
func (s *Server) tryCall(req *http.Request) *tryResult {
	ctx, cancel := context.WithTimeout(req.Context(), tryTimeout)
	defer cancel()
	req = req.WithContext(ctx)
	rec := &tryRecorder{header: http.Header{}}
	res := &tryResult{Method: req.Method, Target: req.RequestURI}
	start := time.Now()
	func() {
		defer func() {
			// The gateway aborts a response its backend cut off with
			// http.ErrAbortHandler, after it recorded it.
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					panic(p)
				}
				res.Aborted = true
			}
		}()
		s.Gateway.ServeHTTP(rec, req)
	}()
	res.Took = time.Since(start)
	res.Status = rec.code
	if res.Status == 0 {
		res.Status = http.StatusOK
	}
	for name, vs := range rec.header {
		for _, v := range vs {
			res.Headers = append(res.Headers, headerLine{name, v})
		}
	}
	sort.SliceStable(res.Headers, func(i, j int) bool { return res.Headers[i].Name < res.Headers[j].Name })
	body := rec.body.Bytes()
	res.Bytes, res.Truncated = rec.n, rec.n > int64(len(body))
	res.Binary = !utf8.Valid(body)
	res.Body = strings.ToValidUTF8(string(body), "\uFFFD")
	return res
}

// tryRecorder is the http.ResponseWriter of a try-it call: it keeps the
// first tryMaxResponse bytes of the body and counts the rest.
type tryRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
	n      int64
}

func (t *tryRecorder) Header() http.Header { return t.header }

func (t *tryRecorder) WriteHeader(code int) {
	if t.code == 0 && code >= 200 {
		t.code = code
	}
}

func (t *tryRecorder) Write(p []byte) (int, error) {
	t.WriteHeader(http.StatusOK)
	t.n += int64(len(p))
	if room := tryMaxResponse - t.body.Len(); room > 0 {
		t.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Flush does nothing: the whole answer is shown at once.
func (t *tryRecorder) Flush() {}
