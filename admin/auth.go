package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
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
		if portico.ErrorCodeOf(err) == portico.EUnauthorized {
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
	if !s.passwordMatches(u, pass) {
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
// key is key for user u (nil for none) under u's current hash.
func (s *Server) knownGood(u *portico.User, key [32]byte) bool {
	if u == nil {
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
	if t == nil || !s.now().Before(t.Expires) {
		return nil, unauthorized("invalid or expired token")
	}
	u := cfg.Users.Get(t.UserID)
	if u == nil || subtle.ConstantTimeCompare([]byte(portico.PasswordFingerprint(u.PasswordHash)), []byte(t.PasswordFingerprint)) != 1 {
		return nil, unauthorized("invalid or expired token")
	}
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

// tokenResponse is the body of POST /api/v1/tokens.
type tokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// createToken issues a bearer token for the caller, who must have
// authenticated with HTTP Basic. Only the token's hash is stored.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.basic {
		return unauthorized("a token can only be obtained with HTTP Basic credentials")
	}
	tok := "ptk_" + randomBase62(43)
	now := s.now()
	t := &portico.Token{
		Hash:                portico.HashKey(tok),
		UserID:              c.user.ID,
		PasswordFingerprint: portico.PasswordFingerprint(c.user.PasswordHash),
		CreatedAt:           now,
		Expires:             now.Add(s.tokenTTL()),
	}
	if err := s.tokens().PutToken(r.Context(), t); err != nil {
		return s.storeError("storing the token", err)
	}
	writeJSON(w, http.StatusCreated, tokenResponse{Token: tok, ExpiresAt: t.Expires})
	return nil
}

// deleteToken revokes the bearer token the request was authenticated with.
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.basic {
		return portico.Errorf(portico.EInvalid, "authenticate with the bearer token to revoke it")
	}
	if err := s.tokens().DeleteToken(r.Context(), c.token); err != nil {
		return s.storeError("revoking the token", err)
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
