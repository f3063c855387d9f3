package policy

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// CORS field names.
const (
	hOrigin         = "Origin"
	hRequestMethod  = "Access-Control-Request-Method"
	hRequestHeaders = "Access-Control-Request-Headers"
	hAllowOrigin    = "Access-Control-Allow-Origin"
	hAllowCreds     = "Access-Control-Allow-Credentials"
	hAllowMethods   = "Access-Control-Allow-Methods"
	hAllowHeaders   = "Access-Control-Allow-Headers"
	hExposeHeaders  = "Access-Control-Expose-Headers"
	hMaxAge         = "Access-Control-Max-Age"
	hVary           = "Vary"
)

// corsResponseFields are the fields a CORS policy owns in a response; a
// backend's are dropped.
var corsResponseFields = [...]string{hAllowOrigin, hAllowCreds, hAllowMethods, hAllowHeaders, hExposeHeaders, hMaxAge}

// Shared field values. Each has length and capacity 1, so a caller's
// append copies it; callers never write into a header value in place.
var (
	valueStar     = []string{"*"}
	valueTrue     = []string{"true"}
	valueOrigin   = []string{hOrigin}
	varyPreflight = []string{hOrigin + ", " + hRequestMethod + ", " + hRequestHeaders}
)

// CORS is the compiled form of an API's portico.CORS: origins in a map,
// the answer's field values made once, so that adding the fields to a
// response costs a map lookup and no allocation for an exact origin
// (BenchmarkCORSResponse). It is safe for concurrent use. A nil *CORS
// adds no fields and refuses every preflight.
type CORS struct {
	anyOrigin   bool                // "*"
	exact       map[string][]string // origin → its Access-Control-Allow-Origin value
	wild        []wildOrigin
	methods     map[string]bool // beyond GET, HEAD and POST
	anyHeader   bool
	headers     map[string]bool // lowercase
	credentials bool

	allowMethods, allowHeaders, expose, maxAge []string // answer values; nil: no field
}

// wildOrigin is "scheme://*.domain[:port]": prefix "scheme://", suffix
// ".domain[:port]".
type wildOrigin struct{ prefix, suffix string }

// NewCORS validates c and compiles it.
func NewCORS(c *portico.CORS) (*CORS, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &CORS{exact: map[string][]string{}, credentials: c.AllowCredentials}
	for _, o := range c.AllowedOrigins {
		switch {
		case o == "*":
			p.anyOrigin = true
		case strings.Contains(o, "://*."):
			scheme, rest, _ := strings.Cut(o, "://*")
			p.wild = append(p.wild, wildOrigin{prefix: scheme + "://", suffix: rest})
		default:
			p.exact[o] = []string{o}
		}
	}
	p.methods = map[string]bool{}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost}
	for _, m := range c.AllowedMethods {
		if m != http.MethodGet && m != http.MethodHead && m != http.MethodPost {
			p.methods[m] = true
			methods = append(methods, m)
		}
	}
	p.allowMethods = []string{strings.Join(methods, ", ")}
	p.headers = map[string]bool{}
	for _, h := range c.AllowedHeaders {
		if h == "*" {
			p.anyHeader = true
			continue
		}
		p.headers[strings.ToLower(h)] = true
	}
	if len(c.AllowedHeaders) > 0 && !p.anyHeader {
		p.allowHeaders = []string{strings.Join(c.AllowedHeaders, ", ")}
	}
	if len(c.ExposedHeaders) > 0 {
		p.expose = []string{strings.Join(c.ExposedHeaders, ", ")}
	}
	if s := int64(time.Duration(c.MaxAge) / time.Second); s > 0 {
		p.maxAge = []string{strconv.FormatInt(s, 10)}
	}
	return p, nil
}

// IsPreflight reports whether a request with method and header h is a
// CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.
// The gateway answers those itself (Preflight), before authentication,
// as browsers send them without credentials; any other OPTIONS request is
// an actual request.
func IsPreflight(method string, h http.Header) bool {
	return method == http.MethodOptions && len(h[hOrigin]) > 0 && len(h[hRequestMethod]) > 0
}

// Preflight answers the preflight with request header req, writing the
// answer's fields into dst. When it returns nil, the gateway answers 204
// No Content with dst. Otherwise — an origin, a method or a header field
// the policy does not allow — it returns a portico.Error with code
// EForbidden naming the field at fault, dst gets Vary alone, and the
// gateway answers 403 (without CORS fields browsers refuse the answer
// either way; the 403 shows why in the browser's network log and in the
// gateway's analytics).
func (c *CORS) Preflight(req, dst http.Header) error {
	dst[hVary] = varyPreflight
	o := origin(req)
	allow, ok := c.match(o)
	if !ok {
		return portico.FieldErrorf(portico.EForbidden, hOrigin, "CORS: origin %.100q may not call this API", o)
	}
	if m := single(req[hRequestMethod]); !c.allowsMethod(m) {
		return portico.FieldErrorf(portico.EForbidden, hRequestMethod, "CORS: method %.50q is not allowed", m)
	}
	for _, line := range req[hRequestHeaders] {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.Trim(name, " \t")
			if name != "" && !c.allowsHeader(name) {
				return portico.FieldErrorf(portico.EForbidden, hRequestHeaders, "CORS: header field %.100q is not allowed", name)
			}
		}
	}
	dst[hAllowOrigin] = allow
	if c.credentials {
		dst[hAllowCreds] = valueTrue
	}
	dst[hAllowMethods] = c.allowMethods
	if c.anyHeader {
		if rh := req[hRequestHeaders]; len(rh) > 0 {
			dst[hAllowHeaders] = []string{strings.Join(rh, ", ")}
		}
	} else if c.allowHeaders != nil {
		dst[hAllowHeaders] = c.allowHeaders
	}
	if c.maxAge != nil {
		dst[hMaxAge] = c.maxAge
	}
	return nil
}

// Response sets the CORS fields of the response to an actual request with
// header req in dst, the response's header: Access-Control-Allow-Origin
// (and -Allow-Credentials, -Expose-Headers as configured) when the
// request's origin is allowed, none otherwise. Any CORS fields dst
// already holds (the backend's) are dropped first: the policy wins. Unless
// the policy allows every origin, it adds "Origin" to Vary even when the
// origin is missing or refused, since the response depends on it: a
// shared cache must not give one origin's answer to another.
//
// The gateway calls it for every response of the API, its own errors
// (401, 403, 429) included: a page sees those only with the fields.
func (c *CORS) Response(req, dst http.Header) {
	if c == nil {
		return
	}
	for _, k := range corsResponseFields {
		delete(dst, k)
	}
	if !c.anyOrigin {
		addVaryOrigin(dst)
	}
	allow, ok := c.match(origin(req))
	if !ok {
		return
	}
	dst[hAllowOrigin] = allow
	if c.credentials {
		dst[hAllowCreds] = valueTrue
	}
	if c.expose != nil {
		dst[hExposeHeaders] = c.expose
	}
}

// match returns the Access-Control-Allow-Origin value for origin o, or
// false when o may not call.
func (c *CORS) match(o string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	if c.anyOrigin {
		return valueStar, true
	}
	if o == "" {
		return nil, false
	}
	if v, ok := c.exact[o]; ok {
		return v, true
	}
	for _, w := range c.wild {
		if w.match(o) {
			return []string{o}, true
		}
	}
	return nil, false
}

// match reports whether o is w's scheme, one or more labels of lowercase
// letters, digits, '-' and '_', and w's domain and port.
func (w wildOrigin) match(o string) bool {
	if len(o) <= len(w.prefix)+len(w.suffix) || !strings.HasPrefix(o, w.prefix) || !strings.HasSuffix(o, w.suffix) {
		return false
	}
	sub := o[len(w.prefix) : len(o)-len(w.suffix)]
	dot := true // at the start of a label
	for i := 0; i < len(sub); i++ {
		switch c := sub[i]; {
		case c == '.':
			if dot {
				return false
			}
			dot = true
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			dot = false
		default:
			return false
		}
	}
	return !dot
}

func (c *CORS) allowsMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost:
		return true
	case "":
		return false
	}
	return c.methods[m]
}

// allowsHeader reports whether a preflight may ask for the field name.
// Browsers send the names in lowercase; others are lowered first.
func (c *CORS) allowsHeader(name string) bool {
	if c.anyHeader {
		return isToken(name)
	}
	if c.headers[name] {
		return true
	}
	for i := 0; i < len(name); i++ {
		if b := name[i]; b >= 'A' && b <= 'Z' {
			return c.headers[strings.ToLower(name)]
		}
	}
	return false
}

// origin returns the request's Origin, or "" when it has none or several.
func origin(h http.Header) string { return single(h[hOrigin]) }

func single(vs []string) string {
	if len(vs) != 1 {
		return ""
	}
	return vs[0]
}

// addVaryOrigin adds "Origin" to the Vary field of h unless it is there
// already (or Vary is "*").
func addVaryOrigin(h http.Header) {
	vs := h[hVary]
	if len(vs) == 0 {
		h[hVary] = valueOrigin
		return
	}
	for _, v := range vs {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.Trim(tok, " \t"); tok == "*" || strings.EqualFold(tok, hOrigin) {
				return
			}
		}
	}
	h[hVary] = append(vs[:len(vs):len(vs)], hOrigin)
}

// isToken reports whether s is a token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
