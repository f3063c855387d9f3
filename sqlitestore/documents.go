package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/portico-gw/portico"
)

var _ portico.DocumentStore = (*DB)(nil)

// PutDocument stores doc under api and sha.
func (db *DB) PutDocument(ctx context.Context, api, sha string, doc []byte) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO documents (api, sha, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, api, sha, doc)
	if err != nil {
		return wrap("write document", err)
	}
	return nil
}

// Document returns the document stored under api and sha.
func (db *DB) Document(ctx context.Context, api, sha string) ([]byte, error) {
	var b []byte
	err := db.r.QueryRowContext(ctx, `SELECT body FROM documents WHERE api = ? AND sha = ?`, api, sha).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portico.Errorf(portico.ENotFound, "no document %s of API %s", sha, api)
	}
	if err != nil {
		return nil, wrap("read document", err)
	}
	return b, nil
}

// DeleteDocument removes the document under api and sha.
func (db *DB) DeleteDocument(ctx context.Context, api, sha string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM documents WHERE api = ? AND sha = ?`, api, sha); err != nil {
		return wrap("delete document", err)
	}
	return nil
}
