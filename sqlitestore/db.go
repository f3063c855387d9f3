package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/portico-gw/portico"
)

// busyTimeout is how long a statement waits for a lock held by another
// connection (in practice: another process on the same file, or a
// checkpoint) before it fails with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// readers is the size of the read-only connection pool.
const readers = 4

// DB is the embedded data store, one SQLite file. It is safe for concurrent
// use. Create it with Open and release it with Close.
type DB struct {
	w *sql.DB // the single writer connection: BEGIN IMMEDIATE, synchronous=FULL
	r *sql.DB // read-only connections
}

// An Option changes what Open accepts.
type Option func(*openOptions)

type openOptions struct {
	existing bool
}

// Existing makes Open refuse to create a store: a file that is missing,
// empty (0 bytes) or a SQLite database without tables is refused with an
// error wrapping ErrNoStore, and left as it is. Without it, Open creates
// the store in such a file.
func Existing() Option { return func(o *openOptions) { o.existing = true } }

// Open opens the SQLite database at path, creating the file with mode 0600
// if it does not exist (its directory must), and brings its schema up to
// date. Before it writes anything it checks the whole file with PRAGMA
// quick_check, through a read-only connection: a damaged file is refused
// with an error wrapping ErrCorrupt and left untouched. It fails too if the
// file was written by a newer Portico with a schema this one does not
// know.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := check(ctx, path, o.existing); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	u, err := createFile(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	busy := fmt.Sprintf("_busy_timeout=%d", busyTimeout.Milliseconds())

	db := &DB{}
	db.w, err = sql.Open("sqlite", u+"?"+busy+"&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	// The writer creates the file, switches it to WAL and migrates it
	// before any reader opens it.
	if err := migrate(ctx, db.w, migrations); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, damaged(err))
	}

	db.r, err = sql.Open("sqlite", u+"?"+busy+"&_query_only=1")
	if err != nil {
		db.w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db.r.SetMaxOpenConns(readers)
	db.r.SetMaxIdleConns(readers)
	return db, nil
}

// createFile creates the file at path with mode 0600 if it does not exist
// (its directory must) and returns its file: URL for the driver.
func createFile(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	// The files hold password and key hashes, client addresses: create them
	// readable by their owner only. SQLite gives the -wal and -shm files the
	// same mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	f.Close()
	return fileURL(abs), nil
}

// fileURL returns the file: URL of the absolute path abs for the driver.
func fileURL(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	u := url.URL{Scheme: "file", Path: p}
	return u.String()
}

// Close closes the database. Calls in flight may fail; the caller stops
// them first.
func (db *DB) Close() error {
	return errors.Join(db.r.Close(), db.w.Close())
}

// migrations are the schema changes in order: migrations[i] takes a
// database from user_version i to i+1. Never edit a released migration;
// append a new one.
var migrations = []string{
	// 1: configuration, notifications, quota counters.
	`
CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('config_version', 0);

-- Rows are clustered by kind, so that loading one kind is a range scan.
CREATE TABLE entities (
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	created_at INTEGER NOT NULL, -- Unix nanoseconds, 0 when unset
	body       TEXT NOT NULL,    -- the entity as JSON
	PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE TABLE notifications (
	id         TEXT PRIMARY KEY,
	time       INTEGER NOT NULL, -- Unix nanoseconds
	publisher  TEXT NOT NULL,
	subscriber TEXT NOT NULL,
	body       TEXT NOT NULL     -- the notification as JSON
);
CREATE INDEX notifications_time ON notifications (time, id);
CREATE INDEX notifications_publisher ON notifications (publisher, time);
CREATE INDEX notifications_subscriber ON notifications (subscriber, time);

CREATE TABLE counters (
	key   TEXT PRIMARY KEY,
	start TEXT NOT NULL, -- RFC 3339 with nanoseconds, UTC
	count INTEGER NOT NULL
) WITHOUT ROWID;
`,
	// 2: bearer tokens of the admin API.
	`
CREATE TABLE tokens (
	hash       TEXT PRIMARY KEY, -- hex SHA-256 of the token's text
	user_id    TEXT NOT NULL,
	password   TEXT NOT NULL,    -- portico.PasswordFingerprint of the user's hash
	created_at INTEGER NOT NULL, -- Unix nanoseconds
	expires    INTEGER NOT NULL  -- Unix nanoseconds
) WITHOUT ROWID;
CREATE INDEX tokens_expires ON tokens (expires);
`,
	// 3: idle timeouts of bearer tokens.
	`
ALTER TABLE tokens ADD COLUMN idle_timeout INTEGER NOT NULL DEFAULT 0; -- seconds
ALTER TABLE tokens ADD COLUMN not_after INTEGER NOT NULL DEFAULT 0;    -- Unix nanoseconds, 0 when unset
`,
	// 4: the scope of OAuth2 access tokens.
	`
ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT ''; -- JSON array of plan IDs, '' when none
`,
	// 5: run-time settings (portico.SettingStore).
	`
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
`,
	// 6: APIs' imported documents (portico.DocumentStore).
	`
CREATE TABLE documents (
	api  TEXT NOT NULL,
	sha  TEXT NOT NULL, -- hex SHA-256 of body
	body BLOB NOT NULL,
	PRIMARY KEY (api, sha)
) WITHOUT ROWID;
`,
}

// migrate brings the schema of db up to date in one transaction:
// migrations[i] takes it from user_version i to i+1.
func migrate(ctx context.Context, db *sql.DB, migrations []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	var tables int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return fmt.Errorf("migrate: list tables: %w", err)
	}
	if tables == 0 {
		v = 0 // a file without tables is new, whatever its header says
	}
	if v > len(migrations) {
		return fmt.Errorf("migrate: the database has schema version %d, newer than this Portico knows (%d)", v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return fmt.Errorf("migrate: set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY.
const sqliteBusy = 5

// wrap annotates err, an error of operation op, and classifies a database
// locked for longer than the busy timeout as EUnavailable.
func wrap(op string, err error) error {
	err = fmt.Errorf("sqlitestore: %s: %w", op, err)
	if isBusy(err) {
		return &portico.Error{Code: portico.EUnavailable, Message: "the data store is busy", Err: err}
	}
	return err
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (or one of its
// extended codes).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy
}

// nanos returns t in Unix nanoseconds, or 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
