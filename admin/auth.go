package admin

import (
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
// bcrypt already verified, and bearer tokens. Both live in this node only.
type authState struct {
	mu       sync.Mutex
	verified map[[32]byte]verified // by sha256(username + ":" + password)
	tokens   map[[32]byte]token    // by sha256(token)

	dummyOnce sync.Once
	dummy     []byte // a hash to compare against for unknown users
}

// verified remembers that a password matched the user's hash. The entry
// counts only while the user still has that hash: changing a password
// invalidates it.
type verified struct {
	userID, hash string
}

// token is a bearer token. It is valid until expires and while its user
// keeps the password hash it had when the token was issued.
type token struct {
	userID, hash string
	expires      time.Time
}

func unauthorized(msg string) error { return portico.Errorf(portico.EUnauthorized, "%s", msg) }

// authenticate finds the caller of r in cfg, from HTTP Basic credentials
// or a bearer token.
func (s *Server) authenticate(r *http.Request, cfg *portico.Config) (*call, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, unauthorized("authentication required: use HTTP Basic or a bearer token from POST /api/v1/tokens")
	}
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return s.bearer(strings.TrimSpace(tok), cfg)
	}
	name, pass, ok := r.BasicAuth()
	if !ok {
		return nil, unauthorized("unsupported Authorization header: use HTTP Basic or Bearer")
	}
	u := cfg.UserByName(name)
	key := sha256.Sum256([]byte(name + ":" + pass))
	a := &s.auth
	if u != nil {
		a.mu.Lock()
		v, hit := a.verified[key]
		a.mu.Unlock()
		if hit && v.userID == u.ID && v.hash == u.PasswordHash {
			return &call{user: u, cfg: cfg, basic: true}, nil
		}
	}
	if u == nil || u.PasswordHash == "" {
		// Spend the time a real check takes, so that response times do not
		// tell which usernames exist.
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(pass))
		return nil, unauthorized("invalid username or password")
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pass)) != nil {
		return nil, unauthorized("invalid username or password")
	}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerified {
		a.verified = map[[32]byte]verified{}
	}
	a.verified[key] = verified{userID: u.ID, hash: u.PasswordHash}
	a.mu.Unlock()
	return &call{user: u, cfg: cfg, basic: true}, nil
}

func (s *Server) bearer(tok string, cfg *portico.Config) (*call, error) {
	key := sha256.Sum256([]byte(tok))
	a := &s.auth
	a.mu.Lock()
	t, ok := a.tokens[key]
	if ok && !s.now().Before(t.expires) {
		delete(a.tokens, key)
		ok = false
	}
	a.mu.Unlock()
	if !ok {
		return nil, unauthorized("invalid or expired token")
	}
	u := cfg.Users.Get(t.userID)
	if u == nil || subtle.ConstantTimeCompare([]byte(u.PasswordHash), []byte(t.hash)) != 1 {
		return nil, unauthorized("invalid or expired token")
	}
	return &call{user: u, cfg: cfg, token: key}, nil
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
// authenticated with HTTP Basic.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.basic {
		return unauthorized("a token can only be obtained with HTTP Basic credentials")
	}
	tok := "ptk_" + randomBase62(43)
	now := s.now()
	t := token{userID: c.user.ID, hash: c.user.PasswordHash, expires: now.Add(s.tokenTTL())}
	a := &s.auth
	a.mu.Lock()
	if a.tokens == nil {
		a.tokens = map[[32]byte]token{}
	}
	for k, old := range a.tokens {
		if !now.Before(old.expires) {
			delete(a.tokens, k)
		}
	}
	a.tokens[sha256.Sum256([]byte(tok))] = t
	a.mu.Unlock()
	writeJSON(w, http.StatusCreated, tokenResponse{Token: tok, ExpiresAt: t.expires})
	return nil
}

// deleteToken revokes the bearer token the request was authenticated with.
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.basic {
		return portico.Errorf(portico.EInvalid, "authenticate with the bearer token to revoke it")
	}
	a := &s.auth
	a.mu.Lock()
	delete(a.tokens, c.token)
	a.mu.Unlock()
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
