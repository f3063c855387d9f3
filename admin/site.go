package admin

import (
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/portico-gw/portico"
)

// Cross-site defences. A browser holding a session with the admin API (it
// never gets a Basic challenge to cache, see writeError, but a console may
// keep a token) must not be made to call it from another site. Three
// checks, before routing and authentication:
//
//   - a request with Sec-Fetch-Site: cross-site is refused (403);
//   - a request with an Origin header other than the listener's own or one
//     of Server.AllowedOrigins is refused (403);
//   - a request that has a body or a Content-Type must say
//     application/json (optionally with charset=utf-8), else 415: the
//     bodies a page can send another site without a CORS preflight
//     (forms, text/plain) are never read.

// checkSite refuses a cross-site request.
func (s *Server) checkSite(r *http.Request) error {
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return portico.FieldErrorf(portico.EForbidden, "Sec-Fetch-Site",
			"cross-site requests are refused: the admin API serves only its own origin")
	}
	origins := r.Header.Values("Origin")
	if len(origins) == 0 {
		return nil
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	own := normOrigin(scheme + "://" + r.Host)
	for _, o := range origins {
		n := normOrigin(o)
		if n == "" || (n != own && !s.allowedOrigin(n)) {
			return portico.FieldErrorf(portico.EForbidden, "Origin",
				"requests from origin %.100q are refused: the admin API serves only its own origin (%s) and those given to portico serve --admin-allowed-origin", o, own)
		}
	}
	return nil
}

func (s *Server) allowedOrigin(n string) bool {
	for _, a := range s.AllowedOrigins {
		if normOrigin(a) == n {
			return true
		}
	}
	return false
}

// normOrigin returns origin as "scheme://host[:port]" in lower case without
// the scheme's default port, or "" if it is not an http or https origin
// ("null" included).
func normOrigin(origin string) string {
	u, err := url.Parse(strings.TrimSpace(origin))
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	switch scheme {
	case "http":
		host = strings.TrimSuffix(host, ":80")
	case "https":
		host = strings.TrimSuffix(host, ":443")
	default:
		return ""
	}
	return scheme + "://" + host
}

// documentTypes are the content types POST /api/v1/apis/import takes.
var documentTypes = []string{"application/json", "application/yaml", "application/x-yaml", "text/yaml",
	"application/openapi+json", "application/openapi+yaml", "text/xml", "application/xml", "application/wsdl+xml"}

// configTypes are the content types POST /api/v1/config/apply takes.
var configTypes = []string{"application/json", "application/yaml", "application/x-yaml", "text/yaml"}

// checkContentType refuses a request body that is not JSON.
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		return nil
	}
	how, types := "request bodies must be sent as Content-Type: application/json", []string{"application/json"}
	switch r.URL.Path {
	case "/api/v1/apis/import":
		// Documents: none of these types may a cross-site form send.
		how, types = "documents must be sent as Content-Type: application/json, application/yaml or text/xml", documentTypes
	case "/api/v1/config/apply":
		how, types = "configuration files must be sent as Content-Type: application/yaml or application/json", configTypes
	}
	if ct == "" {
		return portico.FieldErrorf(portico.EUnsupported, "Content-Type", "%s; this request has a body and no Content-Type", how)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(types, mt) {
		return portico.FieldErrorf(portico.EUnsupported, "Content-Type", "%s, not %.100q", how, ct)
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return portico.FieldErrorf(portico.EUnsupported, "Content-Type", "%s, with no parameter but charset=utf-8, not %.100q", how, ct)
		}
	}
	return nil
}
