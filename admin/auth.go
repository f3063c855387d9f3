package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico"
	"golang.org/x/crypto/bcrypt"
)

// maxVerified bounds the cache of verified passwords; when it is full it
// is emptied.
const maxVerified = 1024

// authState is a Server's in-memory authentication state: passwords that
// bcrypt already verified, and the bearer tokens of a Server without a
// TokenStore. Both live in this node only.
type authState struct {
	mu       sync.Mutex
	verified map[[32]byte]verified // by sha256(username + ":" + password)
	tokens   memTokens
	slid     map[string]time.Time // by token hash: when this node last moved its expiry

	dummyOnce sync.Once
	dummy     []byte // a hash to compare against for unknown users
}

// verified remembers that a password matched the user's hash. The entry
// counts only while the user still has that hash: changing a password
// invalidates it.
type verified struct {
	userID, hash string
}

// memTokens is the portico.TokenStore of a Server whose Tokens is nil:
// this node's memory. Issuing a token drops those that had expired.
type memTokens struct {
	mu sync.Mutex
	m  map[string]portico.Token // by hash
}

func (m *memTokens) PutToken(ctx context.Context, t *portico.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]portico.Token{}
	}
	for h, old := range m.m {
		if !t.CreatedAt.Before(old.Expires) {
			delete(m.m, h)
		}
	}
	m.m[t.Hash] = *t
	return nil
}

func (m *memTokens) Token(ctx context.Context, hash string) (*portico.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.m[hash]; ok {
		return &t, nil
	}
	return nil, nil
}

func (m *memTokens) TouchToken(ctx context.Context, hash string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.m[hash]; ok {
		t.Expires = expires
		m.m[hash] = t
	}
	return nil
}

func (m *memTokens) DeleteToken(ctx context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, hash)
	return nil
}

// tokens returns where the Server keeps bearer tokens.
func (s *Server) tokens() portico.TokenStore {
	if s.Tokens != nil {
		return s.Tokens
	}
	return &s.auth.tokens
}

func unauthorized(msg string) error { return portico.Errorf(portico.EUnauthorized, "%s", msg) }

// errDisabled refuses a bearer token, or a write, of a disabled user. It
// is not counted as a failed sign-in: whoever holds the token once signed
// in with the password, and a console that polls with it must not use up
// its address's sign-ins.
var errDisabled = &portico.Error{Code: portico.EUnauthorized, Message: "user is disabled"}

// authenticate finds the caller of r in cfg, from HTTP Basic credentials
// or a bearer token. With a SignInLimiter, an attempt for a user name or
// from an address that is used up is refused first (429), and a failure
// is counted (see failed).
func (s *Server) authenticate(r *http.Request, cfg *portico.Config) (*call, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, unauthorized("authentication required: use HTTP Basic or a bearer token from POST /api/v1/tokens")
	}
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		si := s.signInOf(r, "")
		if err := s.refused(si); err != nil {
			return nil, err
		}
		c, err := s.bearer(r.Context(), strings.TrimSpace(tok), cfg)
		if portico.ErrorCodeOf(err) == portico.EUnauthorized && err != errDisabled {
			if terr := s.failed(r.Context(), si); terr != nil {
				return nil, terr
			}
		}
		return c, err
	}
	name, pass, ok := r.BasicAuth()
	if !ok {
		return nil, unauthorized("unsupported Authorization header: use HTTP Basic or Bearer")
	}
	si := s.signInOf(r, name)
	if err := s.refused(si); err != nil {
		return nil, err
	}
	u := cfg.UserByName(name)
	key := sha256.Sum256([]byte(name + ":" + pass))
	if s.knownGood(u, key) {
		return &call{user: u, cfg: cfg, basic: true}, nil
	}
	release, err := s.enter(r.Context(), si)
	if err != nil {
		return nil, err
	}
	defer release()
	// While this request waited at the gates, the attempt before it may
	// have used a counter up, or verified these very credentials.
	if err := s.refused(si); err != nil {
		return nil, err
	}
	if s.knownGood(u, key) {
		return &call{user: u, cfg: cfg, basic: true}, nil
	}
	// A disabled user's right password answers as a wrong one, after the
	// same bcrypt check: the answer must not tell whether it was right.
	if !s.passwordMatches(u, pass) || u.Disabled {
		if err := s.failed(r.Context(), si); err != nil {
			return nil, err
		}
		return nil, unauthorized("invalid username or password")
	}
	a := &s.auth
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerified {
		a.verified = map[[32]byte]verified{}
	}
	a.verified[key] = verified{userID: u.ID, hash: u.PasswordHash}
	a.mu.Unlock()
	return &call{user: u, cfg: cfg, basic: true}, nil
}

// knownGood reports whether bcrypt already verified the credentials whose
// key is key for user u (nil for none) under u's current hash, and u is
// not disabled.
func (s *Server) knownGood(u *portico.User, key [32]byte) bool {
	if u == nil || u.Disabled {
		return false
	}
	a := &s.auth
	a.mu.Lock()
	v, hit := a.verified[key]
	a.mu.Unlock()
	return hit && v.userID == u.ID && v.hash == u.PasswordHash
}

// passwordMatches checks password against u's hash with bcrypt. For a nil
// u, or one without a password, it spends the time a real check takes, so
// that response times do not tell which usernames exist, and reports
// false.
func (s *Server) passwordMatches(u *portico.User, password string) bool {
	if u == nil || u.PasswordHash == "" {
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil
}

// checkOwnPassword checks current, the password a user sends to change its
// own, like a sign-in: refused while the user name or the address is used
// up, counted when wrong. A wrong one answers 403 naming current_password.
func (s *Server) checkOwnPassword(r *http.Request, u *portico.User, current string) error {
	si := s.signInOf(r, u.Username)
	if err := s.refused(si); err != nil {
		return err
	}
	release, err := s.enter(r.Context(), si)
	if err != nil {
		return err
	}
	defer release()
	if err := s.refused(si); err != nil {
		return err
	}
	if s.passwordMatches(u, current) {
		return nil
	}
	if err := s.failed(r.Context(), si); err != nil {
		return err
	}
	return portico.FieldErrorf(portico.EForbidden, "current_password", "current_password is not your current password")
}

// bearer authenticates a bearer token: one read of the token store per
// request, no cache, so that a token revoked on any node fails at once on
// every node. A store that cannot answer gives EUnavailable (503), not
// 401: the token may well be valid.
func (s *Server) bearer(ctx context.Context, tok string, cfg *portico.Config) (*call, error) {
	hash := portico.HashKey(tok)
	t, err := s.tokens().Token(ctx, hash)
	if err != nil {
		return nil, s.storeError("checking the bearer token", err)
	}
	now := s.now()
	if t == nil || !now.Before(t.Expires) {
		return nil, unauthorized("invalid or expired token")
	}
	u := cfg.Users.Get(t.UserID)
	if u == nil || subtle.ConstantTimeCompare([]byte(portico.PasswordFingerprint(u.PasswordHash)), []byte(t.PasswordFingerprint)) != 1 {
		return nil, unauthorized("invalid or expired token")
	}
	if u.Disabled {
		return nil, errDisabled
	}
	if t.CreatedAt.Before(u.TokensNotBefore) { // signed out everywhere
		return nil, unauthorized("invalid or expired token")
	}
	s.slide(ctx, t, now)
	return &call{user: u, cfg: cfg, token: hash}, nil
}

func (s *Server) dummyHash() []byte {
	a := &s.auth
	a.dummyOnce.Do(func() {
		a.dummy, _ = bcrypt.GenerateFromPassword([]byte(randomBase62(16)), s.passwordCost())
	})
	return a.dummy
}

// hashPassword returns the bcrypt hash of password.
func (s *Server) hashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost())
	if err != nil { // the length was checked: a bad PasswordCost
		return "", fmt.Errorf("admin: hashing a password: %w", err)
	}
	return string(h), nil
}

// Bounds of the idle_timeout of a token, in seconds, and the least ttl.
const (
	minIdleTimeout = 60
	maxIdleTimeout = 86400
	minTokenTTL    = 60
)

// tokenRequest is the optional body of POST /api/v1/tokens, in seconds.
type tokenRequest struct {
	IdleTimeout *int `json:"idle_timeout"`
	TTL         *int `json:"ttl"`
}

// tokenResponse is the body of POST /api/v1/tokens.
type tokenResponse struct {
	Token       string    `json:"token"`
	ExpiresAt   time.Time `json:"expires_at"`
	IdleTimeout int       `json:"idle_timeout,omitempty"`
}

// createToken issues a bearer token for the caller, who must have
// authenticated with HTTP Basic. Only the token's hash is stored.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.basic {
		return unauthorized("a token can only be obtained with HTTP Basic credentials")
	}
	ttl, idle := s.tokenTTL(), 0
	if r.ContentLength != 0 {
		var req tokenRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		maxTTL := int(s.tokenTTL() / time.Second)
		if req.TTL != nil {
			if *req.TTL < minTokenTTL || *req.TTL > maxTTL {
				return invalid("ttl", "ttl must be a number of seconds from %d to %d", minTokenTTL, maxTTL)
			}
			ttl = time.Duration(*req.TTL) * time.Second
		}
		if req.IdleTimeout != nil {
			if *req.IdleTimeout < minIdleTimeout || *req.IdleTimeout > maxIdleTimeout {
				return invalid("idle_timeout", "idle_timeout must be a number of seconds from %d to %d", minIdleTimeout, maxIdleTimeout)
			}
			idle = *req.IdleTimeout
		}
	}
	tok := "ptk_" + randomBase62(43)
	now := s.now()
	t := &portico.Token{
		Hash:                portico.HashKey(tok),
		UserID:              c.user.ID,
		PasswordFingerprint: portico.PasswordFingerprint(c.user.PasswordHash),
		CreatedAt:           now,
		Expires:             now.Add(ttl),
	}
	if idle > 0 {
		t.IdleTimeout, t.NotAfter = idle, t.Expires
		if e := now.Add(time.Duration(idle) * time.Second); e.Before(t.NotAfter) {
			t.Expires = e
		}
	}
	if err := s.tokens().PutToken(r.Context(), t); err != nil {
		return s.storeError("storing the token", err)
	}
	writeJSON(w, http.StatusCreated, tokenResponse{Token: tok, ExpiresAt: t.Expires, IdleTimeout: t.IdleTimeout})
	return nil
}

// slideStep is the most a node lets the stored expiry of a token with an
// idle timeout fall behind its uses before it writes the token again: a
// minute, or a quarter of the idle timeout when that is shorter. The
// token thus ends between its idle timeout minus slideStep and its idle
// timeout after its last use, and its uses cost a store write at most
// once per slideStep, not each.
func slideStep(t *portico.Token) time.Duration {
	return min(time.Minute, time.Duration(t.IdleTimeout)*time.Second/4)
}

// maxSlid bounds the map of the tokens a node moved the expiry of lately;
// when it is full it is emptied.
const maxSlid = 4096

// slide moves the stored expiry of t, used at now, forward when it has
// fallen slideStep behind, unless this node did so for t within
// slideStep. A store that fails is logged and the request goes on: the
// token is valid, it may only end sooner.
func (s *Server) slide(ctx context.Context, t *portico.Token, now time.Time) {
	if t.IdleTimeout <= 0 {
		return
	}
	e := t.Slide(now)
	step := slideStep(t)
	if e.Sub(t.Expires) < step {
		return
	}
	a := &s.auth
	a.mu.Lock()
	if last, ok := a.slid[t.Hash]; ok && now.Sub(last) < step {
		a.mu.Unlock()
		return
	}
	if a.slid == nil || len(a.slid) >= maxSlid {
		a.slid = map[string]time.Time{}
	}
	a.slid[t.Hash] = now
	a.mu.Unlock()
	if err := s.tokens().TouchToken(ctx, t.Hash, e); err != nil {
		s.log.Warn("admin: moving a token's expiry failed", "err", err)
	}
}

// deleteToken revokes the bearer token the request was authenticated
// with; with ?everywhere=true, every token of the caller (see signOut).
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, c *call) error {
	everywhere := false
	if q := r.URL.Query(); q.Has("everywhere") {
		b, err := strconv.ParseBool(q.Get("everywhere"))
		if err != nil {
			return invalid("everywhere", "everywhere must be true or false")
		}
		everywhere = b
	}
	if everywhere {
		return s.signOut(w, r, c, c.user.ID)
	}
	if c.basic {
		return portico.Errorf(portico.EInvalid, "authenticate with the bearer token to revoke it, or sign out everywhere with ?everywhere=true")
	}
	if err := s.tokens().DeleteToken(r.Context(), c.token); err != nil {
		return s.storeError("revoking the token", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteUserTokens ends every token of the user in the path.
func (s *Server) deleteUserTokens(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.signOut(w, r, c, r.PathValue("id"))
}

// signOut ends every bearer token of user id issued until now, on every
// node: it sets the user's TokensNotBefore, a configuration write that
// every node applies, and bearer checks refuse tokens created before it.
// Admins may sign out anyone, others only themselves.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, c *call, id string) error {
	if !isAdmin(c.user) && id != c.user.ID {
		return forbidden("only admins sign other users out")
	}
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		u := t.cfg.Users.Get(id)
		if u == nil {
			return notFound("user", id)
		}
		if !isAdmin(t.me) && id != t.me.ID {
			return forbidden("only admins sign other users out")
		}
		n := *u
		n.TokensNotBefore = t.now
		t.put(&n)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n random characters from [0-9A-Za-z], about 5.95
// bits each, from crypto/rand.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			if b < 248 { // 248 = 4*62: keep the distribution uniform
				out = append(out, base62[b%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}
