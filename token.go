package portico

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Token is a bearer token as stored: one of the admin API, or an OAuth2
// access token of the gateway (package oauth2). The token's text is never
// stored.
//
// For an admin token, Hash is its HashKey, the hex SHA-256. A token is valid
// until Expires and while its user's password hash is the one it was issued
// under: PasswordFingerprint is the PasswordFingerprint of that hash, so a
// password change invalidates the user's tokens without the store holding
// a copy of the bcrypt hash.
//
// A token with an IdleTimeout also ends after that many seconds without
// use: each use may move Expires forward, to IdleTimeout seconds after
// the use but never past NotAfter, and store the token again.
//
// For an OAuth2 access token, Hash is "oauth2:" and the hex SHA-256 of its
// text, so that it never matches an admin token's hash; UserID is the ID
// of the Application the token was issued to, PasswordFingerprint the ID
// of the application's Key given as client secret (the token ends when
// that key is revoked or deleted), and Scope the plan IDs it was issued
// for. Such a token has no IdleTimeout.
type Token struct {
	Hash                string    `json:"hash"`
	UserID              string    `json:"user"`
	PasswordFingerprint string    `json:"password_fingerprint"`
	CreatedAt           time.Time `json:"created_at"`
	Expires             time.Time `json:"expires"`

	// IdleTimeout is in seconds; 0 means Expires never moves.
	IdleTimeout int `json:"idle_timeout,omitempty"`

	// NotAfter is the latest Expires may move to: the token's creation
	// plus its lifetime. It is set when IdleTimeout is.
	NotAfter time.Time `json:"not_after,omitzero"`

	// Scope lists the plan IDs an OAuth2 access token is good for; empty
	// means any plan of its application. Admin tokens have none.
	Scope []string `json:"scope,omitempty"`
}

// Slide returns the expiry of t after a use at now: for a token with an
// IdleTimeout, now plus the timeout, at most NotAfter, and never before
// Expires; for any other token, Expires.
func (t *Token) Slide(now time.Time) time.Time {
	if t.IdleTimeout <= 0 {
		return t.Expires
	}
	e := now.Add(time.Duration(t.IdleTimeout) * time.Second)
	if !t.NotAfter.IsZero() && e.After(t.NotAfter) {
		e = t.NotAfter
	}
	if e.Before(t.Expires) {
		return t.Expires
	}
	return e
}

// PasswordFingerprint returns the hex SHA-256 of a user's password hash:
// it changes whenever the hash does, and it is no help in guessing the
// password (the hash's salt is not in it).
func PasswordFingerprint(passwordHash string) string {
	h := sha256.Sum256([]byte(passwordHash))
	return hex.EncodeToString(h[:])
}

// TokenStore keeps bearer tokens (the admin API's, and the gateway's
// OAuth2 access tokens) where every node of a cluster finds them and a
// restart does not lose them. Implementations are safe for concurrent
// use; an unreachable store makes every method fail with an EUnavailable
// error. Times are the caller's: the store takes no
// validity decision, it only forgets tokens that have expired.
type TokenStore interface {
	// PutToken stores t under t.Hash, replacing any token with that hash.
	// t.Hash must not be empty. The store may drop t once t.Expires has
	// passed, and drops every token that expired before t.CreatedAt, so
	// expired tokens do not pile up.
	PutToken(ctx context.Context, t *Token) error

	// Token returns the token with the given hash, or nil and no error
	// when there is none. It may return a token whose Expires has passed
	// (the store has not dropped it yet): the caller checks Expires, and
	// the user's PasswordFingerprint, against its own clock and config.
	Token(ctx context.Context, hash string) (*Token, error)

	// TouchToken sets the Expires of the stored token with the given hash
	// (a token with an IdleTimeout was used), and the store may then drop
	// it once expires has passed. When there is no such token it stores
	// nothing and returns no error: a token deleted meanwhile stays
	// deleted.
	TouchToken(ctx context.Context, hash string, expires time.Time) error

	// DeleteToken removes the token with the given hash at once, for every
	// node; removing a token that does not exist is not an error.
	DeleteToken(ctx context.Context, hash string) error
}
