package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portico-gw/portico"
)

var _ portico.TokenStore = (*DB)(nil)

// PutToken stores t in the table tokens, replacing a token with the same
// hash, and in the same transaction deletes the tokens that expired before
// t.CreatedAt: expired tokens are dropped whenever a token is issued.
func (db *DB) PutToken(ctx context.Context, t *portico.Token) error {
	if t.Hash == "" {
		return errors.New("sqlitestore: put token: no hash")
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("put token", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires <= ?`, nanos(t.CreatedAt)); err != nil {
		return wrap("drop expired tokens", err)
	}
	scope, err := encodeScope(t.Scope)
	if err != nil {
		return fmt.Errorf("sqlitestore: put token: %w", err)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO tokens (hash, user_id, password, created_at, expires, idle_timeout, not_after, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, password = excluded.password,
			created_at = excluded.created_at, expires = excluded.expires,
			idle_timeout = excluded.idle_timeout, not_after = excluded.not_after, scope = excluded.scope`,
		t.Hash, t.UserID, t.PasswordFingerprint, nanos(t.CreatedAt), nanos(t.Expires), t.IdleTimeout, nanos(t.NotAfter), scope)
	if err != nil {
		return wrap("put token", err)
	}
	if err := tx.Commit(); err != nil {
		return wrap("put token", err)
	}
	return nil
}

// Token returns the token with the given hash, or nil when there is none.
// Its times load in UTC.
func (db *DB) Token(ctx context.Context, hash string) (*portico.Token, error) {
	t := &portico.Token{Hash: hash}
	var created, expires, notAfter int64
	var scope string
	err := db.r.QueryRowContext(ctx, `SELECT user_id, password, created_at, expires, idle_timeout, not_after, scope FROM tokens WHERE hash = ?`, hash).
		Scan(&t.UserID, &t.PasswordFingerprint, &created, &expires, &t.IdleTimeout, &notAfter, &scope)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("read token", err)
	}
	t.CreatedAt, t.Expires, t.NotAfter = fromNanos(created), fromNanos(expires), fromNanos(notAfter)
	if scope != "" {
		if err := json.Unmarshal([]byte(scope), &t.Scope); err != nil {
			return nil, fmt.Errorf("sqlitestore: read token: scope: %w", err)
		}
	}
	return t, nil
}

// encodeScope returns the scope column of a token: the JSON array of its
// plan IDs, or "" when it has none (so that a token without a scope, like
// the rows written before the column existed, reads back with a nil
// Scope).
func encodeScope(scope []string) (string, error) {
	if len(scope) == 0 {
		return "", nil
	}
	b, err := json.Marshal(scope)
	return string(b), err
}

// TouchToken sets the expiry of the token with the given hash, if there
// is one: an UPDATE, which never brings a deleted token back.
func (db *DB) TouchToken(ctx context.Context, hash string, expires time.Time) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE tokens SET expires = ? WHERE hash = ?`, nanos(expires), hash); err != nil {
		return wrap("touch token", err)
	}
	return nil
}

// DeleteToken deletes the token with the given hash, if there is one.
func (db *DB) DeleteToken(ctx context.Context, hash string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, hash); err != nil {
		return wrap("delete token", err)
	}
	return nil
}

// fromNanos is the inverse of nanos: Unix nanoseconds to a UTC time, 0 to
// the zero time.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
