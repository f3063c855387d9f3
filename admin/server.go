package admin

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
	"golang.org/x/crypto/bcrypt"
)

const (
	// writeTimeout bounds one write (store calls included). A write is not
	// cancelled when its client goes away: it completes or fails as a whole.
	writeTimeout = 15 * time.Second

	// writeRetries is how many times a write is re-validated and retried
	// after the store reports that another node wrote first.
	writeRetries = 5

	// catchUpWait is how long a conflicting write waits for the node's
	// cluster sync to bring a newer Config before loading it in full.
	catchUpWait = 250 * time.Millisecond

	// defaultTokenTTL is how long a bearer token lasts when Server.TokenTTL is 0.
	defaultTokenTTL = 12 * time.Hour
)

// Server is the admin REST API under /api/v1, plus an unauthenticated
// GET /healthz. It is an http.Handler; see the package documentation for
// the routes.
//
// Reads are answered from the in-memory Config; writes are validated
// against it, written to Store in one Apply and then set into Config.
// Writes are serialized by the Server. Only Store is required; the other
// fields have useful zero values. Do not change the fields after the first
// call of a method.
type Server struct {
	// Store persists the configuration. Required. When it is also a
	// portico.SettingStore (both of Portico's stores are), the sign-up
	// setting is kept there, read by every node sharing it; otherwise in
	// this Server's memory.
	Store portico.Store

	// Draining, when it reports true, makes GET /healthz answer 503
	// {"status":"draining"}: the node is shutting down, and front ends that
	// check it send it no new requests. Nil means never draining.
	Draining func() bool

	// Notifications lists notifications for GET /notifications and keeps
	// the notices the Server raises (a subscription waiting for approval).
	// If nil, lists are empty and no notices are kept.
	Notifications portico.NotificationStore

	// Config holds the node's current configuration. The Server loads it
	// from Store when it holds nil and sets a new Config after each
	// successful write. If nil, the Server keeps a private ConfigVar.
	Config *portico.ConfigVar

	// Membership lists the cluster's nodes for GET /cluster/nodes. If nil,
	// the list is empty.
	Membership portico.Membership

	// Analytics answers GET /api/v1/analytics/requests. If nil, that
	// route answers 503.
	Analytics portico.AnalyticsQuerier

	// Documents keeps the APIs' imported documents (see
	// portico.DocumentStore). Nil: Store, when it is one (both of
	// Portico's stores are); otherwise imports answer 503.
	Documents portico.DocumentStore

	// PublicURL is the front door's base URL, such as
	// "https://api.example.com": the server of the OpenAPI documents GET
	// /api/v1/apis/{id}/openapi gives. Empty: the servers are the APIs'
	// contexts, relative to where the document is read.
	PublicURL string

	// Settings reads and changes the node's run-time settings
	// (/api/v1/settings/…). If nil, those routes answer 404.
	Settings SettingsController

	// DatastoreSettings records the node's data store for its next start
	// (/api/v1/settings/datastore). If nil, those routes answer 404.
	DatastoreSettings DatastoreController

	// Logger receives internal errors and data store failures. If nil,
	// nothing is logged.
	Logger *slog.Logger

	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time

	// PasswordCost is the bcrypt cost of new password hashes. If zero,
	// bcrypt.DefaultCost is used. Hashes already stored keep their cost.
	PasswordCost int

	// TokenTTL is how long a bearer token from POST /api/v1/tokens is
	// valid. If zero, 12 hours.
	TokenTTL time.Duration

	// Tokens keeps bearer tokens: with the data store's TokenStore, a
	// token issued by one node works on every node sharing the store, a
	// revocation on any node holds on all of them at once, and tokens
	// survive a restart. Every bearer-authenticated request reads it once;
	// while it cannot answer, those requests get 503. If nil, tokens live
	// in this Server's memory only.
	Tokens portico.TokenStore

	// SignInLimiter counts failed sign-ins (HTTP Basic, bearer tokens,
	// the current password of a password change) per user name and per
	// client address, and refuses further attempts with 429 and
	// Retry-After once either is used up (see the package documentation).
	// Give every node of a cluster the same shared limiter so that the
	// counts add up. If nil, sign-ins are not throttled.
	SignInLimiter portico.Limiter

	// TrustedProxies are the proxies in front of the admin listener (the
	// front door forwarding /portal/) whose report of the client's address
	// (X-Forwarded-For or Forwarded) the sign-in and sign-up throttles
	// believe. If nil, the client is the connection's peer and those
	// headers are ignored: behind a front door every client would then
	// share its address's budget.
	TrustedProxies *policy.TrustedProxies

	// Usage reads the gateway's limit counters for GET
	// /api/v1/subscriptions/{id}/usage: give it the gateway's limiter, so
	// that on a cluster it reads the cluster's count. If nil, that route
	// answers 503.
	Usage portico.UsageReader

	// AllowedOrigins lists origins ("https://admin.example.com") besides
	// the admin listener's own whose browser requests are served; a
	// request with any other Origin header, or with Sec-Fetch-Site:
	// cross-site, is refused with 403. The listener's own origin is the
	// request's scheme and Host header: behind a proxy that terminates
	// TLS or rewrites Host, list the public origin here. No CORS headers
	// are sent, so a page of a listed origin that is not the page's own
	// still cannot read answers. If nil, only the listener's own origin
	// is served. The 403 refusing an origin names the option of portico
	// serve that sets this list, --admin-allowed-origin.
	AllowedOrigins []string

	// ReadBodyTimeout is how long a read of a request body may wait for
	// the client's next byte; a body that stalls longer is answered 408
	// and its connection closed. It replaces the http.Server's ReadTimeout
	// while the body is read. If zero, the http.Server's deadlines apply.
	ReadBodyTimeout time.Duration

	// ReadRequestTimeout bounds, with ReadBodyTimeout set, the time a
	// whole request body may take (ReadBodyTimeout bounds each wait):
	// zero means 30 s, as the admin listener's http.Server reads a whole
	// request; ten times that for the documents of an import or a config
	// apply (up to 16 MiB).
	ReadRequestTimeout time.Duration

	// CheckWebhookURL vets a webhook_url a user sets (for instance that it
	// reaches no internal address); an error answers 400 naming the field,
	// its message shown to the caller. If nil, only the URL's form is
	// checked.
	CheckWebhookURL func(ctx context.Context, rawURL string) error

	once sync.Once
	cv   *portico.ConfigVar
	log  *slog.Logger
	mux  *http.ServeMux

	mu       sync.Mutex // serializes writes and the first load
	auth     authState
	throttle throttle
	orders   orders // the tables in list order, of the newest Config listed

	memSettings memSettings   // run-time settings when Store keeps none
	parses      chan struct{} // the documents being parsed (see parseSlot)
}

var _ http.Handler = (*Server)(nil)

// defaultReadRequestTimeout is ReadRequestTimeout's zero value, and
// documentTimeFactor what it is multiplied by for a document.
const (
	defaultReadRequestTimeout = 30 * time.Second
	documentTimeFactor        = 10
)

// documents returns the document store in use, nil when there is none.
func (s *Server) documents() portico.DocumentStore {
	if s.Documents != nil {
		return s.Documents
	}
	ds, _ := s.Store.(portico.DocumentStore)
	return ds
}

func (s *Server) init() {
	s.once.Do(func() {
		s.cv = s.Config
		if s.cv == nil {
			s.cv = new(portico.ConfigVar)
		}
		s.log = s.Logger
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		s.mux = s.routes()
		s.parses = make(chan struct{}, maxParses)
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) passwordCost() int {
	if s.PasswordCost != 0 {
		return s.PasswordCost
	}
	return bcrypt.DefaultCost
}

func (s *Server) tokenTTL() time.Duration {
	if s.TokenTTL > 0 {
		return s.TokenTTL
	}
	return defaultTokenTTL
}

// Open loads the configuration from Store into Config if Config holds nil.
// Calling Open is optional: a request that finds no configuration loads it
// the same way. An unreachable store gives an EUnavailable error.
func (s *Server) Open(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.loadLocked(ctx)
	return err
}

// EnsureAdmin bootstraps an empty store: if there are no users at all, it
// creates the user "admin" with the admin role and password, or with a
// random password when password is empty. It reports whether it created
// the user and returns the generated password, which the caller should
// show once; pw is empty when password was given or nothing was created.
func (s *Server) EnsureAdmin(ctx context.Context, password string) (created bool, pw string, err error) {
	s.init()
	if cur, err := s.current(ctx); err != nil || cur.Users.Len() > 0 {
		return false, "", err
	}
	if password == "" {
		pw = randomBase62(24)
		password = pw
	} else if err := checkPassword(password); err != nil {
		return false, "", err
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return false, "", err
	}
	err = s.update(ctx, "", func(t *tx) error {
		created = false
		if t.cfg.Users.Len() > 0 {
			return nil
		}
		u := &portico.User{
			ID:           portico.NewID(),
			Username:     "admin",
			Roles:        []portico.Role{portico.RoleAdmin},
			PasswordHash: hash,
			CreatedAt:    t.now,
			UpdatedAt:    t.now,
		}
		t.put(u)
		created = true
		return nil
	})
	if err != nil || !created {
		return false, "", err
	}
	return true, pw, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	if err := s.checkSite(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkContentType(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.notRouted(w, r)
		return
	}
	if s.ReadBodyTimeout > 0 && r.Body != nil && r.Body != http.NoBody {
		whole := cmp.Or(s.ReadRequestTimeout, defaultReadRequestTimeout)
		if r.URL.Path == "/api/v1/apis/import" || r.URL.Path == "/api/v1/config/apply" {
			whole *= documentTimeFactor // up to 16 MiB rather than 1 MiB
		}
		r.Body = &idleBody{ReadCloser: r.Body, ctl: http.NewResponseController(w), timeout: s.ReadBodyTimeout, end: time.Now().Add(whole)}
	}
	s.mux.ServeHTTP(w, r)
}

// current returns the current Config, loading it first if there is none.
func (s *Server) current(ctx context.Context) (*portico.Config, error) {
	if c := s.cv.Load(); c != nil {
		return c, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx)
}

// loadLocked is current for callers holding s.mu.
func (s *Server) loadLocked(ctx context.Context) (*portico.Config, error) {
	if c := s.cv.Load(); c != nil {
		return c, nil
	}
	if s.Store == nil {
		return nil, portico.Errorf(portico.EInternal, "admin: Server.Store is nil")
	}
	c, err := s.Store.Load(ctx)
	if err != nil {
		return nil, s.storeError("loading the configuration", err)
	}
	s.cv.Set(c, false)
	return s.cv.Load(), nil
}

// storeError turns a failed store call into the EUnavailable error a client
// sees, and logs it: this is where store failures are handled.
func (s *Server) storeError(doing string, err error) error {
	s.log.Warn("admin: data store call failed", "doing", doing, "err", err)
	return &portico.Error{
		Code:    portico.EUnavailable,
		Message: "the data store is unavailable: " + doing + " failed; try again later",
		Err:     err,
	}
}

// applyError is storeError for a failed Apply. A store that says it is
// unavailable wrote nothing; after any other failure the change may or may
// not have been written (a later write finds out, through EConflict).
func (s *Server) applyError(err error) error {
	s.log.Warn("admin: data store write failed", "err", err)
	msg := "the data store is unavailable: the change was not saved; try again later"
	if portico.ErrorCodeOf(err) != portico.EUnavailable {
		msg = "the data store failed: the change may not have been saved; check and try again later"
	}
	return &portico.Error{Code: portico.EUnavailable, Message: msg, Err: err}
}

// tx is one attempt at a write: fn reads cfg, checks the caller me, and
// collects changes. Entities in cfg are shared and must never be modified:
// copy, modify the copy, put the copy.
type tx struct {
	cfg     *portico.Config
	me      *portico.User // the caller as of cfg; nil for internal writes
	now     time.Time
	changes []portico.Change
}

func (t *tx) put(e any)                     { t.changes = append(t.changes, portico.Put(e)) }
func (t *tx) del(k portico.Kind, id string) { t.changes = append(t.changes, portico.Delete(k, id)) }

// update runs one serialized write. fn validates against the current
// Config and collects changes, which are applied to Store in one call and
// then set into Config. When another writer got there first, the Config is
// reloaded from Store and fn runs again (it must be safe to rerun; results
// it hands out through variables are those of the last run). callerID, when
// set, is looked up in each attempt's Config as t.me.
//
// The write runs to its end even if ctx is cancelled, bounded by
// writeTimeout, so that Store and Config never disagree about its outcome.
func (s *Server) update(ctx context.Context, callerID string, fn func(*tx) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.loadLocked(ctx)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		t := &tx{cfg: cur, now: s.now()}
		if callerID != "" {
			if t.me = cur.Users.Get(callerID); t.me == nil {
				return portico.Errorf(portico.EUnauthorized, "the authenticated user no longer exists")
			}
			if t.me.Disabled {
				return errDisabled
			}
		}
		if err := fn(t); err != nil {
			return err
		}
		if len(t.changes) == 0 {
			return nil
		}
		v, err := s.Store.Apply(ctx, cur.Version, t.changes)
		if err == nil {
			s.cv.Set(cur.With(v, t.changes...), false)
			return nil
		}
		if portico.ErrorCodeOf(err) != portico.EConflict {
			return s.applyError(err)
		}
		if attempt == writeRetries {
			s.log.Warn("admin: write still conflicting after retries", "err", err)
			return &portico.Error{
				Code:    portico.EUnavailable,
				Message: "the configuration is being changed by other nodes: the change was not saved; try again",
				Err:     err,
			}
		}
		if cur, err = s.newer(ctx, cur); err != nil {
			return err
		}
	}
}

// newer returns a Config newer than cur after a write conflicted. In a
// cluster the node's sync applies the other node's change within
// milliseconds, so it waits for that first; only then does it load the
// whole configuration from the store. A store older than cur is not taken:
// the cluster sync reconciles that case (see cluster.Sync).
func (s *Server) newer(ctx context.Context, cur *portico.Config) (*portico.Config, error) {
	deadline := time.Now().Add(catchUpWait)
	for time.Now().Before(deadline) {
		if c := s.cv.Load(); c.Version > cur.Version {
			return c, nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	fresh, err := s.Store.Load(ctx)
	if err != nil {
		return nil, s.storeError("reloading the configuration", err)
	}
	if fresh.Version < cur.Version {
		return nil, &portico.Error{
			Code: portico.EUnavailable,
			Message: fmt.Sprintf("the data store holds an older configuration (version %d) than this node (version %d); "+
				"the cluster is reconciling them: the change was not saved; try again in a few seconds", fresh.Version, cur.Version),
		}
	}
	s.cv.Set(fresh, false)
	return s.cv.Load(), nil
}
