package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/portico-gw/portico"
)

var _ portico.SettingStore = (*DB)(nil)

// Setting returns the run-time setting name, "" when none was set.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", wrap("read setting "+name, err)
	}
	return v, nil
}

// SetSetting sets the run-time setting name to value.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	_, err := db.w.ExecContext(ctx, `
		INSERT INTO settings (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	if err != nil {
		return wrap("write setting "+name, err)
	}
	return nil
}
