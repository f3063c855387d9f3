package portico

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Token is a bearer token of the admin API, as stored. The token's text is
// never stored: Hash is its HashKey, the hex SHA-256. A token is valid
// until Expires and while its user's password hash is the one it was issued
// under: PasswordFingerprint is the PasswordFingerprint of that hash, so a
// password change invalidates the user's tokens without the store holding
// a copy of the bcrypt hash.
type Token struct {
	Hash                string    `json:"hash"`
	UserID              string    `json:"user"`
	PasswordFingerprint string    `json:"password_fingerprint"`
	CreatedAt           time.Time `json:"created_at"`
	Expires             time.Time `json:"expires"`
}

// PasswordFingerprint returns the hex SHA-256 of a user's password hash:
// it changes whenever the hash does, and it is no help in guessing the
// password (the hash's salt is not in it).
func PasswordFingerprint(passwordHash string) string {
	h := sha256.Sum256([]byte(passwordHash))
	return hex.EncodeToString(h[:])
}

// TokenStore keeps the admin API's bearer tokens where every node of a
// cluster finds them and a restart does not lose them. Implementations are
// safe for concurrent use; an unreachable store makes every method fail
// with an EUnavailable error. Times are the caller's: the store takes no
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

	// DeleteToken removes the token with the given hash at once, for every
	// node; removing a token that does not exist is not an error.
	DeleteToken(ctx context.Context, hash string) error
}
