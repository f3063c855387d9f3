package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
)

// ErrCorrupt is wrapped by the error of Open for a file that SQLite finds
// damaged: PRAGMA quick_check reports problems, or the file is not a
// database at all. Such a file is never loaded, not even in part. The
// error of Load wraps it too, for a row whose stored entity does not
// decode or carries another ID than its row.
var ErrCorrupt = errors.New("the database file is damaged")

// ErrNoStore is wrapped by the error of Open with Existing for a file that
// holds no store: missing, empty, or a SQLite database without tables.
var ErrNoStore = errors.New("no store in the file")

// quickCheckLines is how many problems of PRAGMA quick_check an error
// names; SQLite stops looking after as many.
const quickCheckLines = 10

// SQLite's primary result codes for a damaged file.
const (
	sqliteCorrupt = 11 // SQLITE_CORRUPT
	sqliteNotADB  = 26 // SQLITE_NOTADB
)

// check runs PRAGMA quick_check on the database at path, with its
// write-ahead log, through a read-only connection that cannot change the
// file. A missing file passes unless existing is set; with existing set, a
// file that holds no tables is ErrNoStore.
//
// quick_check verifies every page of every table and index (the B-tree
// structure, cell bounds, free space, record formats) but not that the
// indexes match their tables, which integrity_check also does at several
// times the cost. A damaged page in the middle of the entities table is
// what it is for: a plain scan of such a table can end early without an
// error and return only the rows before the damage.
func check(ctx context.Context, path string, existing bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if existing {
			return fmt.Errorf("the file does not exist: %w", ErrNoStore)
		}
		return nil
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() == 0 {
		if _, err := os.Stat(abs + "-wal"); errors.Is(err, os.ErrNotExist) {
			if existing {
				return fmt.Errorf("the file is empty (0 bytes): %w", ErrNoStore)
			}
			return nil
		}
		// Its pages may all be in the write-ahead log still: SQLite reads it.
	}
	ro, err := sql.Open("sqlite", fileURL(abs)+fmt.Sprintf("?mode=ro&_busy_timeout=%d", busyTimeout.Milliseconds()))
	if err != nil {
		return err
	}
	defer ro.Close()
	ro.SetMaxOpenConns(1)
	problems, err := quickCheck(ctx, ro)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: PRAGMA quick_check: %s", ErrCorrupt, strings.Join(problems, "; "))
	}
	if existing {
		var tables int
		if err := ro.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
			return damaged(err)
		}
		if tables == 0 {
			return fmt.Errorf("the database has no tables: %w", ErrNoStore)
		}
	}
	return nil
}

// quickCheck runs PRAGMA quick_check on db and returns the problems it
// reports, at most quickCheckLines, none for a sound file. When SQLite
// stops the check itself because the file is damaged, that is the last
// problem; other errors are returned as errors.
func quickCheck(ctx context.Context, db *sql.DB) ([]string, error) {
	var problems []string
	stopped := func(err error) ([]string, error) {
		if !errors.Is(damaged(err), ErrCorrupt) {
			return nil, err
		}
		return append(problems, err.Error()), nil
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`PRAGMA quick_check(%d)`, quickCheckLines))
	if err != nil {
		return stopped(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return stopped(err)
		}
		for _, line := range strings.Split(s, "\n") {
			// quick_check heads the problems of each database with a line
			// of its own, and answers "ok" for a sound one.
			if line = strings.TrimSpace(line); line != "" && line != "ok" && !strings.HasPrefix(line, "*** in database") &&
				len(problems) < quickCheckLines {
				problems = append(problems, line)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return stopped(err)
	}
	return problems, nil
}

// damaged returns err, wrapping ErrCorrupt as well when SQLite says the
// file is damaged or not a database.
func damaged(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		if c := se.Code() & 0xff; c == sqliteCorrupt || c == sqliteNotADB {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	return err
}
