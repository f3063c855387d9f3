package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
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
	_, err = tx.ExecContext(ctx, `
		INSERT INTO tokens (hash, user_id, password, created_at, expires) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, password = excluded.password,
			created_at = excluded.created_at, expires = excluded.expires`,
		t.Hash, t.UserID, t.PasswordFingerprint, nanos(t.CreatedAt), nanos(t.Expires))
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
	var created, expires int64
	err := db.r.QueryRowContext(ctx, `SELECT user_id, password, created_at, expires FROM tokens WHERE hash = ?`, hash).
		Scan(&t.UserID, &t.PasswordFingerprint, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("read token", err)
	}
	t.CreatedAt, t.Expires = fromNanos(created), fromNanos(expires)
	return t, nil
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
