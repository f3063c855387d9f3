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

var _ portico.Store = (*DB)(nil)

// Load reads the whole configuration and its version from one consistent
// snapshot. A new database loads as an empty Config at version 0.
//
// Load is strict: a row it cannot decode, whose entity carries another ID
// than the row, or of a kind this Portico does not know fails the whole
// Load; it never returns a configuration with entities left out. The error
// for a row that does not decode or carries another ID wraps ErrCorrupt:
// Portico wrote neither, so the file was damaged where PRAGMA quick_check
// does not look (the bytes of a record, not the pages that hold it).
func (db *DB) Load(ctx context.Context) (*portico.Config, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrap("load", err)
	}
	defer tx.Rollback()

	c := portico.NewConfig()
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'config_version'`).Scan(&c.Version); err != nil {
		return nil, wrap("load version", err)
	}
	for _, err := range []error{
		loadKind(ctx, tx, portico.KindPlan, &c.Plans, func(v *portico.Plan) string { return v.ID }),
		loadKind(ctx, tx, portico.KindAPI, &c.APIs, func(v *portico.API) string { return v.ID }),
		loadKind(ctx, tx, portico.KindUser, &c.Users, func(v *portico.User) string { return v.ID }),
		loadKind(ctx, tx, portico.KindApplication, &c.Applications, func(v *portico.Application) string { return v.ID }),
		loadKind(ctx, tx, portico.KindKey, &c.Keys, func(v *portico.Key) string { return v.ID }),
		loadKind(ctx, tx, portico.KindSubscription, &c.Subscriptions, func(v *portico.Subscription) string { return v.ID }),
		loadKind(ctx, tx, portico.KindGroup, &c.Groups, func(v *portico.Group) string { return v.ID }),
	} {
		if err != nil {
			return nil, err
		}
	}
	var kind, id string
	err = tx.QueryRowContext(ctx, `SELECT kind, id FROM entities WHERE kind NOT IN (?, ?, ?, ?, ?, ?, ?) LIMIT 1`,
		portico.KindPlan, portico.KindAPI, portico.KindUser, portico.KindApplication, portico.KindKey, portico.KindSubscription,
		portico.KindGroup).
		Scan(&kind, &id)
	switch {
	case err == nil:
		return nil, fmt.Errorf("sqlitestore: load: entity %q has kind %q, unknown to this Portico (written by a newer one?)", id, kind)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, wrap("load", err)
	}
	return c, nil
}

// loadKind streams the entities of kind k into t. Every entity must decode
// and carry the ID of its row (idOf returns it).
func loadKind[T any](ctx context.Context, tx *sql.Tx, k portico.Kind, t *portico.Table[T], idOf func(*T) string) error {
	m := map[string]*T{}
	rows, err := tx.QueryContext(ctx, `SELECT id, body FROM entities WHERE kind = ?`, string(k))
	if err != nil {
		return wrap("load "+string(k), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var body sql.RawBytes // valid until Next; Unmarshal copies what it keeps
		if err := rows.Scan(&id, &body); err != nil {
			return wrap("load "+string(k), err)
		}
		v := new(T)
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("sqlitestore: load %s %q: %w: %w", k, id, ErrCorrupt, err)
		}
		if got := idOf(v); got != id {
			return fmt.Errorf("sqlitestore: load %s %q: %w: its stored entity has ID %q", k, id, ErrCorrupt, got)
		}
		m[id] = v
	}
	if err := rows.Err(); err != nil {
		return wrap("load "+string(k), err)
	}
	*t = portico.TableOf(m)
	return nil
}

// Apply writes changes in order in one transaction if the stored version is
// still base, and returns base+1. When the stored version differs it writes
// nothing and returns an EConflict error. A change of an unknown kind, with
// an empty ID, or a put without an entity or whose entity has another ID is
// a bug of the caller and fails the whole Apply with an internal error.
func (db *DB) Apply(ctx context.Context, base int64, changes []portico.Change) (int64, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrap("apply", err)
	}
	defer tx.Rollback()

	var v int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'config_version'`).Scan(&v); err != nil {
		return 0, wrap("apply: read version", err)
	}
	if v != base {
		return 0, portico.Errorf(portico.EConflict,
			"the configuration changed meanwhile (version %d, expected %d); reload and retry", v, base)
	}

	var put, del *sql.Stmt // prepared on first use
	for i := range changes {
		ch := &changes[i]
		if ch.ID == "" {
			return 0, fmt.Errorf("sqlitestore: apply: change %d of kind %q has no ID", i, ch.Kind)
		}
		if ch.Delete {
			if err := checkKind(ch.Kind); err != nil {
				return 0, err
			}
			if del == nil {
				if del, err = tx.PrepareContext(ctx, `DELETE FROM entities WHERE kind = ? AND id = ?`); err != nil {
					return 0, wrap("apply", err)
				}
				defer del.Close()
			}
			if _, err := del.ExecContext(ctx, string(ch.Kind), ch.ID); err != nil {
				return 0, wrap(fmt.Sprintf("apply: delete %s %q", ch.Kind, ch.ID), err)
			}
			continue
		}
		e, id, created, err := entity(ch)
		if err != nil {
			return 0, err
		}
		if id != ch.ID {
			return 0, fmt.Errorf("sqlitestore: apply: put %s %q carries an entity with ID %q", ch.Kind, ch.ID, id)
		}
		body, err := json.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("sqlitestore: apply: encode %s %q: %w", ch.Kind, ch.ID, err)
		}
		if put == nil {
			if put, err = tx.PrepareContext(ctx, `
				INSERT INTO entities (kind, id, created_at, body) VALUES (?, ?, ?, ?)
				ON CONFLICT (kind, id) DO UPDATE SET created_at = excluded.created_at, body = excluded.body`); err != nil {
				return 0, wrap("apply", err)
			}
			defer put.Close()
		}
		if _, err := put.ExecContext(ctx, string(ch.Kind), ch.ID, nanos(created), string(body)); err != nil {
			return 0, wrap(fmt.Sprintf("apply: put %s %q", ch.Kind, ch.ID), err)
		}
	}

	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE name = 'config_version'`, base+1); err != nil {
		return 0, wrap("apply: write version", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, wrap("apply: commit", err)
	}
	return base + 1, nil
}

// checkKind returns an error unless k is a known entity kind.
func checkKind(k portico.Kind) error {
	switch k {
	case portico.KindPlan, portico.KindAPI, portico.KindUser,
		portico.KindApplication, portico.KindKey, portico.KindSubscription, portico.KindGroup:
		return nil
	}
	return fmt.Errorf("sqlitestore: apply: unknown entity kind %q", k)
}

// entity returns the entity that the put ch carries, its ID and its
// creation time.
func entity(ch *portico.Change) (e any, id string, created time.Time, err error) {
	switch ch.Kind {
	case portico.KindPlan:
		if v := ch.Plan; v != nil {
			return v, v.ID, v.CreatedAt, nil
		}
	case portico.KindAPI:
		if v := ch.API; v != nil {
			return v, v.ID, v.CreatedAt, nil
		}
	case portico.KindUser:
		if v := ch.User; v != nil {
			return v, v.ID, v.CreatedAt, nil
		}
	case portico.KindApplication:
		if v := ch.Application; v != nil {
			return v, v.ID, v.CreatedAt, nil
		}
	case portico.KindKey:
		if v := ch.Key; v != nil {
			return v, v.ID, v.CreatedAt, nil
		}
	case portico.KindSubscription:
		if v := ch.Subscription; v != nil {
			return v, v.ID, v.CreatedAt, nil
		}
	case portico.KindGroup:
		if v := ch.Group; v != nil {
			return v, v.ID, v.CreatedAt, nil
		}
	default:
		return nil, "", time.Time{}, checkKind(ch.Kind)
	}
	return nil, "", time.Time{}, fmt.Errorf("sqlitestore: apply: put %s %q carries no %s", ch.Kind, ch.ID, ch.Kind)
}
