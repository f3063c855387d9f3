package jwtauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portico-gw/portico"
)

// MaxTokenBytes bounds the length of a token Verify reads; a longer one is
// Malformed before any decoding.
const MaxTokenBytes = 8 << 10

// maxKIDBytes bounds a token's "kid": real ones are short ids or thumbprints.
const maxKIDBytes = 256

// Defaults for the zero fields of a Verifier.
const (
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultUnknownKIDInterval = 10 * time.Second
	DefaultFetchTimeout       = 5 * time.Second
	DefaultMaxJWKSBytes       = 1 << 20
	DefaultCacheSize          = 100_000
)

var errClosed = errors.New("jwtauth: verifier closed")

// Result is what a verified token says.
type Result struct {
	Issuer      string    // the trusted issuer's Issuer, equal to the token's "iss"
	Application string    // the value of the issuer's application claim
	Expires     time.Time // the token's "exp"
}

// Verifier verifies JWTs of a set of trusted issuers. The zero value
// trusts no issuer and refuses every token; Update sets the issuers.
// Verify and Update are safe for concurrent use. Set the exported fields
// before the first Update and leave them alone afterwards.
//
// A Verifier that has been given a JWKS issuer owns goroutines (a
// refresher and fetches); Close stops them and waits for them.
type Verifier struct {
	// Client fetches JWKS documents. If nil, a client with Timeout
	// FetchTimeout and http.DefaultTransport is used.
	Client *http.Client

	// Logger receives failed fetches (once per failure, with the number
	// of keys kept). If nil, nothing is logged.
	Logger *slog.Logger

	// RefreshInterval is how often each JWKS is fetched again in the
	// background; 0 means DefaultRefreshInterval.
	RefreshInterval time.Duration

	// UnknownKIDInterval is the least time between two fetches of one
	// issuer's JWKS caused by tokens with an unknown kid; 0 means
	// DefaultUnknownKIDInterval.
	UnknownKIDInterval time.Duration

	// FetchTimeout bounds one JWKS fetch, and so the wait of a token with
	// an unknown kid; 0 means DefaultFetchTimeout.
	FetchTimeout time.Duration

	// MaxJWKSBytes bounds a JWKS document; 0 means DefaultMaxJWKSBytes.
	MaxJWKSBytes int64

	// CacheSize bounds the number of verified tokens remembered; 0 means
	// DefaultCacheSize, a negative value remembers none.
	CacheSize int

	issuers atomic.Pointer[map[string]*issuer]
	cache   atomic.Pointer[tokenCache]

	mu      sync.Mutex // serializes Update and Close; guards the fields below
	ctx     context.Context
	cancel  context.CancelCauseFunc
	started bool // the refresher runs
	closed  bool
	wg      sync.WaitGroup
	dflt    *http.Client
}

// issuer is one trusted issuer as Update built it. retired is set when a
// later Update drops or changes it: its cached results are then no
// longer served.
type issuer struct {
	cfg      portico.JWTIssuer
	algs     []string
	audience []string
	leeway   time.Duration
	claim    string
	static   *key        // the static key or secret, when there is no JWKS
	jwks     *jwksSource // nil for a static key
	retired  atomic.Bool
}

// allJOSEAlgorithms is what go-jose is asked to parse; the issuer's own
// pinned list is checked once the issuer is known.
var allJOSEAlgorithms = func() []jose.SignatureAlgorithm {
	var a []jose.SignatureAlgorithm
	for _, alg := range portico.JWTAlgorithms {
		a = append(a, jose.SignatureAlgorithm(alg))
	}
	return a
}()

// Update replaces the trusted issuers. An issuer whose config is Equal to
// the one it had keeps its keys and its cached results; the cached
// results of an issuer that is dropped or changed are no longer served
// from the moment Update returns. A new JWKS issuer's set is fetched at
// once in the background (a token arriving before the fetch ends waits
// for it, see Verify). Update validates the whole set first and changes
// nothing when it returns an error (EInvalid naming the field).
func (v *Verifier) Update(issuers []portico.JWTIssuer) error {
	if err := portico.ValidateJWTIssuers(issuers); err != nil {
		return err
	}
	fetch, err := v.swap(issuers)
	if err != nil {
		return err
	}
	for _, s := range fetch { // after v.mu is released: startFetch takes it
		v.startFetch(s)
	}
	return nil
}

// swap installs the issuers and returns the JWKS sources to fetch now.
func (v *Verifier) swap(issuers []portico.JWTIssuer) ([]*jwksSource, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, errClosed
	}
	if v.ctx == nil {
		v.ctx, v.cancel = context.WithCancelCause(context.Background())
	}
	if v.cache.Load() == nil && v.CacheSize >= 0 {
		size := v.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		v.cache.Store(newTokenCache(size))
	}
	var old map[string]*issuer
	if p := v.issuers.Load(); p != nil {
		old = *p
	}
	next := make(map[string]*issuer, len(issuers))
	var fetch []*jwksSource
	for i := range issuers {
		cfg := &issuers[i]
		if o := old[cfg.Issuer]; o != nil && o.cfg.Equal(cfg) {
			next[cfg.Issuer] = o
			continue
		}
		is, err := newIssuer(cfg)
		if err != nil {
			return nil, err
		}
		if is.jwks != nil {
			if o := old[cfg.Issuer]; o != nil && o.jwks != nil && o.jwks.url == is.jwks.url {
				is.jwks.set.Store(o.jwks.set.Load()) // same keys until the fetch below answers
			}
			fetch = append(fetch, is.jwks)
		}
		next[cfg.Issuer] = is
	}
	for name, o := range old {
		if next[name] != o {
			o.retired.Store(true)
		}
	}
	v.issuers.Store(&next)
	if len(fetch) > 0 && !v.started {
		v.started = true
		v.wg.Add(1)
		go v.refresh()
	}
	return fetch, nil
}

func newIssuer(cfg *portico.JWTIssuer) (*issuer, error) {
	is := &issuer{
		cfg:      *cfg,
		algs:     append([]string(nil), cfg.Algorithms...),
		audience: append([]string(nil), cfg.Audience...),
		leeway:   cfg.LeewayOrDefault(),
		claim:    cfg.ClaimOrDefault(),
	}
	is.cfg.Algorithms, is.cfg.Audience = is.algs, is.audience
	if cfg.JWKSURL != "" {
		is.jwks = &jwksSource{issuer: cfg.Issuer, url: cfg.JWKSURL}
		return is, nil
	}
	k, err := cfg.StaticKey()
	if err != nil {
		return nil, err
	}
	is.static = &key{pub: k}
	return is, nil
}

// refresh fetches every JWKS each RefreshInterval until Close.
func (v *Verifier) refresh() {
	defer v.wg.Done()
	every := v.RefreshInterval
	if every <= 0 {
		every = DefaultRefreshInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-t.C:
			if p := v.issuers.Load(); p != nil {
				for _, is := range *p {
					if is.jwks != nil {
						v.startFetch(is.jwks)
					}
				}
			}
		}
	}
}

// startFetch starts a fetch of s unless one runs, and returns the channel
// closed when the running fetch ends; nil once the Verifier is closed.
func (v *Verifier) startFetch(s *jwksSource) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight
	}
	if !v.goOwned(func(ctx context.Context) { s.fetch(ctx, v) }, func() {
		s.mu.Lock()
		close(s.inflight)
		s.inflight = nil
		s.mu.Unlock()
	}) {
		return nil
	}
	s.inflight = make(chan struct{})
	return s.inflight
}

// goOwned runs f on a goroutine that Close waits for, then done; it
// reports false, running nothing, once the Verifier is closed.
func (v *Verifier) goOwned(f func(context.Context), done func()) bool {
	v.mu.Lock()
	ok := !v.closed && v.ctx != nil
	if ok {
		v.wg.Add(1)
	}
	ctx := v.ctx
	v.mu.Unlock()
	if !ok {
		return false
	}
	go func() {
		defer v.wg.Done()
		defer done()
		f(ctx)
	}()
	return true
}

// Close stops the refresher and any fetch, and waits for them. Verify
// still answers afterwards from the keys and results it has, but fetches
// nothing; Update fails.
func (v *Verifier) Close() error {
	v.mu.Lock()
	if !v.closed {
		v.closed = true
		if v.cancel != nil {
			v.cancel(errClosed)
		}
	}
	v.mu.Unlock()
	v.wg.Wait()
	return nil
}

// Verify checks token at now and returns what it says. A token seen
// before and still valid at now is answered from the cache (no parsing:
// see BenchmarkVerifyCached). A token whose kid the issuer's last JWKS
// lacks waits for one fetch (at most FetchTimeout, or until ctx ends),
// when none ran for that reason in the last UnknownKIDInterval; no other
// token ever waits.
//
// Errors are *portico.Error, code EUnauthorized (EUnavailable for
// KeysUnavailable) with a client-safe Message; ReasonOf(err) says why.
func (v *Verifier) Verify(ctx context.Context, token string, now time.Time) (Result, error) {
	if len(token) > MaxTokenBytes {
		return Result{}, refuse(Malformed, "the token is longer than 8192 bytes", nil)
	}
	c := v.cache.Load()
	var sum [sha256.Size]byte
	if c != nil {
		// Hot path (BenchmarkVerifyCached): hash the string's bytes in
		// place; sha256 only reads them.
		sum = sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
		if r, ok := c.get(&sum, now); ok {
			return r, nil
		}
	}
	e, err := v.verify(ctx, token, now)
	if err != nil {
		return Result{}, err
	}
	if c != nil {
		c.put(&sum, e)
	}
	return e.res, nil
}

func (v *Verifier) verify(ctx context.Context, token string, now time.Time) (*entry, error) {
	if err := checkCompact(token); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(token, allJOSEAlgorithms)
	if err != nil {
		var unexpected *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &unexpected) {
			return nil, refuse(AlgNotAllowed, "the token's algorithm is not accepted", err)
		}
		return nil, refuse(Malformed, "the token is not a well-formed JWT", err)
	}
	h := jws.Signatures[0].Protected
	if _, crit := h.ExtraHeaders["crit"]; crit {
		return nil, refuse(UnsupportedHeader, "the token has a crit header, which is not supported", nil)
	}
	if _, b64 := h.ExtraHeaders["b64"]; b64 {
		return nil, refuse(UnsupportedHeader, "the token has a b64 header, which is not supported", nil)
	}
	if len(h.KeyID) > maxKIDBytes {
		return nil, refuse(Malformed, "the token's kid is too long", nil)
	}
	cl, err := parseClaims(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, err
	}
	is := v.lookup(cl.iss)
	if is == nil {
		if cl.iss == "" {
			return nil, refuse(UnknownIssuer, "the token names no issuer (iss)", nil)
		}
		return nil, refuse(UnknownIssuer, "the token's issuer is not trusted", nil)
	}
	alg := h.Algorithm
	if !contains(is.algs, alg) {
		return nil, refuse(AlgNotAllowed, "the token's algorithm is not accepted for its issuer", nil)
	}
	k, err := v.key(ctx, is, h.KeyID, alg, now)
	if err != nil {
		return nil, err
	}
	if _, err := jws.Verify(k.pub); err != nil {
		return nil, refuse(BadSignature, "the token's signature does not verify", err)
	}
	return cl.check(is, k, now)
}

// checkCompact refuses anything but three base64url segments: no
// whitespace, padding or other bytes that lenient decoders skip.
func checkCompact(token string) error {
	dots, start := 0, 0
	for i := 0; i <= len(token); i++ {
		if i == len(token) || token[i] == '.' {
			if !canonicalSegment(token[start:i]) {
				return refuse(Malformed, "the token is not a well-formed JWT (base64url segments only)", nil)
			}
			if i < len(token) {
				dots++
			}
			start = i + 1
		}
	}
	if dots != 2 {
		return refuse(Malformed, "the token is not a well-formed JWT (three segments)", nil)
	}
	return nil
}

// canonicalSegment reports whether seg is unpadded base64url in the one
// encoding of its bytes: only the alphabet, a length that is not 1 more
// than a multiple of 4, and zero unused bits in the last character. A
// lenient decoder ignores those bits, and go-jose verifies the signature
// over its own re-encoding, so without this check a token the issuer
// never wrote (a cache key, a log line, a revocation list entry of its
// own) would pass as the one it did.
func canonicalSegment(seg string) bool {
	last := 0
	for i := 0; i < len(seg); i++ {
		v := b64value(seg[i])
		if v < 0 {
			return false
		}
		last = v
	}
	switch len(seg) % 4 {
	case 1:
		return false
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}

// b64value is c's value in the base64url alphabet, or -1.
func b64value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

func (v *Verifier) lookup(iss string) *issuer {
	p := v.issuers.Load()
	if p == nil || iss == "" {
		return nil
	}
	return (*p)[iss]
}

// key finds the key for kid and alg, fetching the issuer's JWKS again
// when the kid is unknown and the rate limit allows.
func (v *Verifier) key(ctx context.Context, is *issuer, kid, alg string, now time.Time) (*key, error) {
	if is.static != nil {
		if !is.static.fits(alg) {
			return nil, refuse(AlgNotAllowed, "the token's algorithm does not fit its issuer's key", nil)
		}
		return is.static, nil
	}
	src := is.jwks
	if k := src.set.Load().find(kid, alg); k != nil {
		return k, nil
	}
	src.mu.Lock()
	// A fetch that ended since the lookup above has stored its set by now
	// (fetch stores it before inflight is cleared): look again, so that
	// it does not count as unknown.
	if k := src.set.Load().find(kid, alg); k != nil {
		src.mu.Unlock()
		return k, nil
	}
	ch := src.inflight
	if ch == nil && src.allowUnknownKID(now, v.unknownKIDInterval()) {
		src.mu.Unlock()
		ch = v.startFetch(src)
	} else {
		src.mu.Unlock()
	}
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
	set := src.set.Load()
	if set == nil {
		return nil, refuse(KeysUnavailable, "the token's issuer keys are not available yet; try again", nil)
	}
	if k := set.find(kid, alg); k != nil {
		return k, nil
	}
	return nil, refuse(UnknownKID, "no key of the token's issuer matches its kid and algorithm", nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// IssuerStatus is the state of one trusted issuer's keys.
type IssuerStatus struct {
	Issuer    string
	JWKSURL   string    // "" for a static key
	Keys      int       // keys in the last good set (1 for a static key)
	Fetched   time.Time // last successful fetch
	Attempted time.Time // last fetch, successful or not
	Err       error     // the last fetch's error, nil after a success
}

// Status returns the state of every trusted issuer, by Issuer, for the
// admin API and health checks.
func (v *Verifier) Status() []IssuerStatus {
	p := v.issuers.Load()
	if p == nil {
		return nil
	}
	out := make([]IssuerStatus, 0, len(*p))
	for _, is := range *p {
		st := IssuerStatus{Issuer: is.cfg.Issuer, JWKSURL: is.cfg.JWKSURL, Keys: 1}
		if s := is.jwks; s != nil {
			st.Keys = 0
			if set := s.set.Load(); set != nil {
				st.Keys = set.n
			}
			s.mu.Lock()
			st.Fetched, st.Attempted, st.Err = s.fetched, s.attempted, s.lastErr
			s.mu.Unlock()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Issuer < out[j].Issuer })
	return out
}

func (v *Verifier) logger() *slog.Logger {
	if v.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return v.Logger
}

func (v *Verifier) client() *http.Client {
	if v.Client != nil {
		return v.Client
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.dflt == nil {
		v.dflt = &http.Client{Timeout: v.fetchTimeout()}
	}
	return v.dflt
}

func (v *Verifier) fetchTimeout() time.Duration {
	if v.FetchTimeout > 0 {
		return v.FetchTimeout
	}
	return DefaultFetchTimeout
}

func (v *Verifier) unknownKIDInterval() time.Duration {
	if v.UnknownKIDInterval > 0 {
		return v.UnknownKIDInterval
	}
	return DefaultUnknownKIDInterval
}

func (v *Verifier) maxJWKSBytes() int64 {
	if v.MaxJWKSBytes > 0 {
		return v.MaxJWKSBytes
	}
	return DefaultMaxJWKSBytes
}
