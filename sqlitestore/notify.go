package sqlitestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/portico-gw/portico"
)

var _ portico.NotificationStore = (*DB)(nil)

// defaultNotificationLimit is how many notifications a filter without a
// Limit returns.
const defaultNotificationLimit = 100

// AddNotification stores n; n.ID and n.Time must be set. Adding a
// notification whose ID is already stored does nothing, so a retry after an
// uncertain failure is safe.
func (db *DB) AddNotification(ctx context.Context, n *portico.Notification) error {
	if n.ID == "" || n.Time.IsZero() {
		return errors.New("sqlitestore: add notification: ID and Time must be set")
	}
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("sqlitestore: add notification %q: %w", n.ID, err)
	}
	_, err = db.w.ExecContext(ctx, `
		INSERT INTO notifications (id, time, publisher, subscriber, body) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		n.ID, n.Time.UnixNano(), n.Publisher, n.Subscriber, string(body))
	if err != nil {
		return wrap(fmt.Sprintf("add notification %q", n.ID), err)
	}
	return nil
}

// Notifications lists the notifications matching f, newest first (ties
// broken by ID, descending). A Limit of 0 or less means 100.
func (db *DB) Notifications(ctx context.Context, f portico.NotificationFilter) ([]*portico.Notification, error) {
	q := `SELECT body FROM notifications WHERE true`
	var args []any
	if f.User != "" {
		q += ` AND (publisher = ? OR subscriber = ?)`
		args = append(args, f.User, f.User)
	}
	if !f.Before.IsZero() {
		q += ` AND time < ?`
		args = append(args, f.Before.UnixNano())
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultNotificationLimit
	}
	q += ` ORDER BY time DESC, id DESC LIMIT ?`
	args = append(args, limit)

	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list notifications", err)
	}
	defer rows.Close()
	var out []*portico.Notification
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, wrap("list notifications", err)
		}
		n := new(portico.Notification)
		if err := json.Unmarshal(body, n); err != nil {
			return nil, fmt.Errorf("sqlitestore: list notifications: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list notifications", err)
	}
	return out, nil
}
