package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/portico-gw/portico"
)

var _ portico.CounterStore = (*DB)(nil)

// LoadCounters returns the stored state of every quota counter, ordered by
// key. Start times load in UTC.
func (db *DB) LoadCounters(ctx context.Context) ([]portico.CounterState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT key, start, count FROM counters ORDER BY key`)
	if err != nil {
		return nil, wrap("load counters", err)
	}
	defer rows.Close()
	var out []portico.CounterState
	for rows.Next() {
		var c portico.CounterState
		var start string
		if err := rows.Scan(&c.Key, &start, &c.Count); err != nil {
			return nil, wrap("load counters", err)
		}
		if c.Start, err = time.Parse(time.RFC3339Nano, start); err != nil {
			return nil, fmt.Errorf("sqlitestore: load counter %q: %w", c.Key, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("load counters", err)
	}
	return out, nil
}

// SaveCounters replaces the stored state of the given counters, all in one
// transaction; counters not in cs are left as they are.
func (db *DB) SaveCounters(ctx context.Context, cs []portico.CounterState) error {
	if len(cs) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("save counters", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO counters (key, start, count) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET start = excluded.start, count = excluded.count`)
	if err != nil {
		return wrap("save counters", err)
	}
	defer stmt.Close()
	for _, c := range cs {
		if _, err := stmt.ExecContext(ctx, c.Key, c.Start.UTC().Format(time.RFC3339Nano), c.Count); err != nil {
			return wrap(fmt.Sprintf("save counter %q", c.Key), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return wrap("save counters", err)
	}
	return nil
}

// ReplaceCounters makes cs the whole stored state of the quota counters,
// in one transaction: counters not in cs are deleted.
func (db *DB) ReplaceCounters(ctx context.Context, cs []portico.CounterState) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("replace counters", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM counters`); err != nil {
		return wrap("replace counters", err)
	}
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO counters (key, start, count) VALUES (?, ?, ?)`,
			c.Key, c.Start.UTC().Format(time.RFC3339Nano), c.Count); err != nil {
			return wrap(fmt.Sprintf("replace counter %q", c.Key), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return wrap("replace counters", err)
	}
	return nil
}
