package oauth2

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// TokenPath is the path of the token endpoint.
const TokenPath = portico.TokenEndpointPath

// Bounds and default of an access token's lifetime.
const (
	DefaultLifetime = time.Hour
	MinLifetime     = time.Minute
	MaxLifetime     = 24 * time.Hour
)

// Defaults of the issuance limit, per application and node.
const (
	DefaultIssueRate  = 10 // tokens a second
	DefaultIssueBurst = 20
)

// Server is the gateway's OAuth2 authorization server: an http.Handler
// that answers POST /oauth2/token with access tokens of the client
// credentials grant (RFC 6749 §4.4). It matches r.URL.Path itself and
// answers 404 to any other path: mount it at "/oauth2/" without stripping
// the prefix.
//
// Set the fields before serving and do not change them after; a Server
// is safe for concurrent use.
type Server struct {
	// Tokens keeps the tokens issued. It must be set.
	Tokens portico.TokenStore

	// Config returns the current configuration, in which clients are
	// authenticated and scopes checked. It must be set; while it returns
	// nil, requests are answered 503.
	Config func() *portico.Config

	// Lifetime is how long a token is valid; 0 means DefaultLifetime.
	// Values are kept within MinLifetime and MaxLifetime.
	Lifetime time.Duration

	// Now returns the time tokens are issued at. If nil, time.Now is used.
	Now func() time.Time

	// Logger receives the failures of the token store (never a secret or
	// a token). If nil, nothing is logged.
	Logger *slog.Logger

	// IssueRate and IssueBurst bound how fast one application gets tokens
	// from this node: a bucket of IssueBurst tokens refilled at IssueRate
	// a second, so that a client asking in a loop cannot flood the token
	// store. 0 means DefaultIssueRate and DefaultIssueBurst.
	IssueRate  float64
	IssueBurst int

	limits limiter
}

// tokenResponse is the body of a successful token request (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// errorResponse is the body of a refused token request (RFC 6749 §5.2).
type errorResponse struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != TokenPath {
		notFound(w)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeFailure(w, &failure{http.StatusMethodNotAllowed, "invalid_request", "use POST"})
		return
	}
	if f := s.token(w, r); f != nil {
		writeFailure(w, f)
	}
}

// token answers a token request, or returns why it is refused.
func (s *Server) token(w http.ResponseWriter, r *http.Request) *failure {
	req, f := readRequest(w, r)
	if f != nil {
		return f
	}
	cfg := s.Config()
	if cfg == nil {
		return &failure{http.StatusServiceUnavailable, "temporarily_unavailable", "the configuration is not loaded yet"}
	}
	now := s.now()
	key := authenticate(cfg, req.clientID, req.secret, now)
	if key == nil {
		return errClient
	}
	switch req.grantType {
	case "client_credentials":
	case "":
		return invalidRequest("grant_type is missing")
	default:
		return &failure{http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported"}
	}
	scope, ok := parseScope(req.scope)
	if !ok {
		return &failure{http.StatusBadRequest, "invalid_scope", "scope must be plan IDs separated by single spaces"}
	}
	if p := notApproved(cfg, key.ApplicationID, scope); p != "" {
		desc := "the application has no approved subscription under a plan of the scope"
		if len(p) <= 64 {
			desc = "the application has no approved subscription under plan " + p
		}
		return &failure{http.StatusBadRequest, "invalid_scope", desc}
	}
	rate, burst := s.IssueRate, s.IssueBurst
	if rate <= 0 {
		rate = DefaultIssueRate
	}
	if burst <= 0 {
		burst = DefaultIssueBurst
	}
	if ok, wait := s.limits.allow(key.ApplicationID, now, rate, burst); !ok {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
		return &failure{http.StatusTooManyRequests, "slow_down", "too many token requests for this application: retry later"}
	}
	life := s.lifetime()
	if left := key.ExpiresAt.Sub(now); !key.ExpiresAt.IsZero() && left < life {
		life = left.Truncate(time.Second) // a rotated key's token ends with its grace
	}
	tok := newToken()
	t := &portico.Token{
		Hash:                Hash(tok),
		UserID:              key.ApplicationID,
		PasswordFingerprint: key.ID,
		CreatedAt:           now.UTC().Round(0),
		Expires:             now.Add(life).UTC().Round(0),
		Scope:               scope,
	}
	if err := s.Tokens.PutToken(r.Context(), t); err != nil {
		if s.Logger != nil {
			s.Logger.Warn("oauth2: storing an access token", "application", key.ApplicationID, "err", err)
		}
		w.Header().Set("Retry-After", "1")
		return &failure{http.StatusServiceUnavailable, "temporarily_unavailable", "the token cannot be issued now: retry later"}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(tokenResponse{
		AccessToken: tok,
		TokenType:   "Bearer",
		ExpiresIn:   int64(life / time.Second),
		Scope:       strings.Join(scope, " "),
	})
	return nil
}

// authenticate returns the live key (portico.Key.Live at now) of
// application id whose text is secret, or nil. The secret is hashed as the admin API stores keys
// (portico.HashKey) and compared in constant time with each live key of
// the application; an unknown application costs the same hash.
func authenticate(cfg *portico.Config, id, secret string, now time.Time) *portico.Key {
	sum := sha256.Sum256([]byte(secret))
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], sum[:])
	if cfg.Applications.Get(id) == nil {
		return nil
	}
	var found *portico.Key
	for k := range cfg.KeysOf(id).Values() {
		if k.Live(now) && k.ApplicationID == id && subtle.ConstantTimeCompare([]byte(k.Hash), want[:]) == 1 {
			found = k
		}
	}
	return found
}

// notApproved returns the first plan of scope under which application app
// has no approved subscription, "" when there is none.
func notApproved(cfg *portico.Config, app string, scope []string) string {
	if len(scope) == 0 {
		return ""
	}
	approved := map[string]bool{}
	for sub := range cfg.SubscriptionsOf(app).Values() {
		if sub.Status == portico.Approved {
			approved[sub.PlanID] = true
		}
	}
	for _, p := range scope {
		if !approved[p] {
			return p
		}
	}
	return ""
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) lifetime() time.Duration {
	switch l := s.Lifetime; {
	case l == 0:
		return DefaultLifetime
	case l < MinLifetime:
		return MinLifetime
	case l > MaxLifetime:
		return MaxLifetime
	default:
		return l.Truncate(time.Second)
	}
}

// writeFailure answers an RFC 6749 §5.2 error.
func writeFailure(w http.ResponseWriter, f *failure) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if f.code == "invalid_client" {
		h.Set("WWW-Authenticate", `Basic realm="portico"`)
	}
	w.WriteHeader(f.status)
	json.NewEncoder(w).Encode(errorResponse{Error: f.code, Description: f.desc})
}

// notFound answers a path the Server does not serve as the gateway
// answers a path no API matches (proxy/reply.go errorForm).
func notFound(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(`{"error":{"code":"not_found","message":"no API matches this path"}}` + "\n"))
}
