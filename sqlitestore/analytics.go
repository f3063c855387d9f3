package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

var _ portico.AnalyticsStore = (*Analytics)(nil)

// AnalyticsFile is the name of the analytics database in the data
// directory.
const AnalyticsFile = "analytics.db"

// analyticsAppID is the PRAGMA application_id of an analytics database
// ("PtcA"), so that the configuration database cannot be opened as one.
const analyticsAppID = 0x50746341

// Analytics is the embedded analytics store: request records in a SQLite
// file of their own, apart from the configuration, with its own
// connections. It is safe for concurrent use. Create it with OpenAnalytics
// and release it with Close.
//
// Records are kept to the microsecond: times and latencies are truncated
// to whole microseconds when written. Write does not deduplicate: a batch
// written twice is counted twice (a Write that fails stores nothing).
// Records stay until Prune deletes them; the caller runs it with its
// retention setting.
//
// Records are stored in chunks of up to maxChunkRecords, one row each of
// the table request_chunks (see analytics_chunk.go for why and how). The
// table requests, one row per record, holds what Portico versions before
// chunks wrote: nothing is added to it any more, Query and Prune still
// read it, and Prune empties it as the records age.
type Analytics struct {
	w *sql.DB // the single writer connection, synchronous=NORMAL
	r *sql.DB // read-only connections

	insert   *sql.Stmt // INSERT of a chunk, on w
	encoders sync.Pool // of *chunkEncoder
}

// analyticsMigrations are the analytics schema changes in order, like
// migrations.
var analyticsMigrations = []string{
	// 1: the requests table. Times are Unix microseconds (UTC), latencies
	// whole microseconds. Rows are appended in roughly time order, so the
	// rowid order follows time and index lookups read the table mostly in
	// order.
	`
PRAGMA application_id = 1349804865; -- analyticsAppID
CREATE TABLE requests (
	time                INTEGER NOT NULL,
	request_id          TEXT    NOT NULL,
	api                 TEXT    NOT NULL,
	api_version         TEXT    NOT NULL,
	api_id              TEXT    NOT NULL,
	publisher           TEXT    NOT NULL,
	subscriber          TEXT    NOT NULL,
	application         TEXT    NOT NULL,
	plan                TEXT    NOT NULL,
	resource            TEXT    NOT NULL,
	method              TEXT    NOT NULL,
	status              INTEGER NOT NULL,
	error_code          TEXT    NOT NULL,
	request_bytes       INTEGER NOT NULL,
	response_bytes      INTEGER NOT NULL,
	request_type        TEXT    NOT NULL,
	response_type       TEXT    NOT NULL,
	latency_us          INTEGER NOT NULL,
	upstream_latency_us INTEGER NOT NULL,
	client_ip           TEXT    NOT NULL,
	node                TEXT    NOT NULL
) STRICT;
-- Every query has a time range; a per-API query also an API.
CREATE INDEX requests_time ON requests (time);
CREATE INDEX requests_api_time ON requests (api, time);
`,
	// 2: records in chunks, many records a row (analytics_chunk.go). The
	// table requests keeps the records written before; nothing is added
	// to it any more.
	`
CREATE TABLE request_chunks (
	min_time INTEGER NOT NULL, -- Unix microseconds (UTC) of the earliest record
	max_time INTEGER NOT NULL, -- and of the latest
	records  INTEGER NOT NULL, -- how many records data holds
	data     BLOB    NOT NULL  -- the records, in the chunk format of analytics_chunk.go
) STRICT;
-- The records of a chunk fall in one hour (chunkWindow), so a chunk with
-- records in [from, to) has its max_time in [from, to + 1 hour): queries
-- and Prune find their chunks in one range of this index.
CREATE INDEX request_chunks_max_time ON request_chunks (max_time, min_time);
`,
}

// mmapSize is how much of the analytics file each reader connection maps
// into memory; address space, not memory, and shared with the OS page
// cache.
const mmapSize = 256 << 20

// OpenAnalytics opens the analytics database at path (normally
// AnalyticsFile in the data directory), creating the file with mode 0600 if
// it does not exist (its directory must), and brings its schema up to date.
// It fails on a file that is not an analytics database or was written by a
// newer Portico.
//
// The database runs in WAL mode with synchronous=NORMAL: a commit is not
// synced to disk, only checkpoints are. A process kill loses nothing; a
// power loss or OS crash may lose the last batches written before it (never
// older ones, and never the file's integrity). That is the right trade for
// analytics: batches are many and small, an fsync each would cap the write
// rate, and the recorder keeps the batches it could not write in its spool.
func OpenAnalytics(ctx context.Context, path string) (*Analytics, error) {
	u, err := createFile(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open analytics %s: %w", path, err)
	}
	busy := fmt.Sprintf("_busy_timeout=%d", busyTimeout.Milliseconds())

	a := &Analytics{encoders: sync.Pool{New: func() any { return new(chunkEncoder) }}}
	a.w, err = sql.Open("sqlite", u+"?"+busy+"&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open analytics %s: %w", path, err)
	}
	a.w.SetMaxOpenConns(1)
	a.w.SetMaxIdleConns(1)
	a.w.SetConnMaxLifetime(0)
	a.w.SetConnMaxIdleTime(0)
	if err := a.init(ctx); err != nil {
		a.w.Close()
		return nil, fmt.Errorf("sqlitestore: open analytics %s: %w", path, err)
	}

	// Readers map the file into memory (up to mmapSize): a query reads
	// every page of its time range, and mapped pages skip a system call and
	// a copy each.
	a.r, err = sql.Open("sqlite", u+"?"+busy+"&_query_only=1"+fmt.Sprintf("&_pragma=mmap_size(%d)", mmapSize))
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("sqlitestore: open analytics %s: %w", path, err)
	}
	a.r.SetMaxOpenConns(readers)
	a.r.SetMaxIdleConns(readers)
	return a, nil
}

// init migrates the schema, checks that the file is an analytics database
// and prepares the INSERT statement.
func (a *Analytics) init(ctx context.Context) error {
	// Check before migrating, so that another database is left as it is.
	if err := a.checkAppID(ctx, true); err != nil {
		return err
	}
	if err := migrate(ctx, a.w, analyticsMigrations); err != nil {
		return err
	}
	if err := a.checkAppID(ctx, false); err != nil {
		return err
	}
	var err error
	a.insert, err = a.w.PrepareContext(ctx, `INSERT INTO request_chunks (min_time, max_time, records, data) VALUES (?, ?, ?, ?)`)
	return err
}

// checkAppID fails unless the database is an analytics database, or, with
// orNew, a database without tables.
func (a *Analytics) checkAppID(ctx context.Context, orNew bool) error {
	var id, tables int64
	if err := a.w.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&id); err != nil {
		return err
	}
	if err := a.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return err
	}
	if id != analyticsAppID && !(orNew && tables == 0) {
		return errors.New("not an analytics database")
	}
	return nil
}

// Close closes the database. Calls in flight may fail; the caller stops
// them first.
func (a *Analytics) Close() error {
	var errs []error
	if a.insert != nil {
		errs = append(errs, a.insert.Close())
	}
	if a.r != nil {
		errs = append(errs, a.r.Close())
	}
	errs = append(errs, a.w.Close())
	return errors.Join(errs...)
}

// Write stores batch in one transaction: all of it or, on an error,
// nothing. An empty batch does nothing. The records of a batch go into
// one chunk per hour that they fall in (see chunkWindow), split into
// chunks of nearly equal size beyond maxChunkRecords.
func (a *Analytics) Write(ctx context.Context, batch []portico.Record) error {
	if len(batch) == 0 {
		return nil
	}
	e := a.encoders.Get().(*chunkEncoder)
	defer a.encoders.Put(e)
	tx, err := a.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapAnalytics("write", err)
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, a.insert)
	e.scratch, err = chunks(batch, e.scratch, func(records []portico.Record) error {
		data, lo, hi := e.encode(records)
		_, err := stmt.ExecContext(ctx, lo, hi, int64(len(records)), data)
		return err
	})
	if err != nil {
		return wrapAnalytics(fmt.Sprintf("write %d records", len(batch)), err)
	}
	if err := tx.Commit(); err != nil {
		return wrapAnalytics(fmt.Sprintf("write %d records: commit", len(batch)), err)
	}
	return nil
}

// pruneChunks is how many whole chunks (up to maxChunkRecords records
// each) one DELETE of Prune removes, and pruneRows how many rows of the
// table requests, so that a large prune does not hold the writer, and so
// Write, for long.
const (
	pruneChunks = 16
	pruneRows   = 1000
)

// Prune deletes the records older than before and returns how many it
// deleted. It deletes in small transactions, so batches are written in
// between: first the chunks whose records are all older, then, one
// chunk at a time, the older records of the chunks that also hold newer
// ones (written again without them), then the old rows of the table
// requests. When it fails or ctx ends, the records deleted so far stay
// deleted. The space of deleted records is reused for new ones; the file
// does not shrink.
func (a *Analytics) Prune(ctx context.Context, before time.Time) (int64, error) {
	limit := ceilMicros(before)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		chunks, records, err := a.deleteChunks(ctx, limit)
		total += records
		if err != nil {
			return total, wrapAnalytics("prune", err)
		}
		if chunks < pruneChunks {
			break
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		records, done, err := a.trimChunk(ctx, limit)
		total += records
		if err != nil {
			return total, wrapAnalytics("prune", err)
		}
		if done {
			break
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := a.w.ExecContext(ctx, `
			DELETE FROM requests WHERE rowid IN (
				SELECT rowid FROM requests WHERE time < ? LIMIT ?)`, limit, pruneRows)
		if err != nil {
			return total, wrapAnalytics("prune", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrapAnalytics("prune", err)
		}
		total += n
		if n < pruneRows {
			break
		}
	}
	return total, nil
}

// deleteChunks deletes up to pruneChunks chunks whose records are all
// older than limit (Unix microseconds) and returns how many chunks and
// records it deleted.
func (a *Analytics) deleteChunks(ctx context.Context, limit int64) (chunks, records int64, err error) {
	rows, err := a.w.QueryContext(ctx, `
		DELETE FROM request_chunks WHERE rowid IN (
			SELECT rowid FROM request_chunks WHERE max_time < ? LIMIT ?)
		RETURNING records`, limit, pruneChunks)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return 0, 0, err
		}
		chunks++
		records += n
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	return chunks, records, rows.Close()
}

// trimChunk takes one chunk with records older than limit (Unix
// microseconds) and writes it again without them, or deletes it when
// none are left. It returns how many records it deleted, and done when
// there was no such chunk.
func (a *Analytics) trimChunk(ctx context.Context, limit int64) (records int64, done bool, err error) {
	tx, err := a.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	var (
		rowid int64
		data  []byte
	)
	err = tx.QueryRowContext(ctx, `
		SELECT rowid, data FROM request_chunks
		WHERE max_time >= ? AND max_time < ? AND min_time < ? LIMIT 1`,
		limit, addSat(limit, chunkWindow), limit).Scan(&rowid, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, err
	}
	c, err := parseChunk(data)
	if err != nil {
		return 0, false, fmt.Errorf("chunk %d: %w", rowid, err)
	}
	all, err := c.records(nil)
	if err != nil {
		return 0, false, fmt.Errorf("chunk %d: %w", rowid, err)
	}
	keep := slices.DeleteFunc(all, func(r portico.Record) bool { return r.Time.UnixMicro() < limit })
	if len(keep) == 0 {
		_, err = tx.ExecContext(ctx, `DELETE FROM request_chunks WHERE rowid = ?`, rowid)
	} else {
		e := a.encoders.Get().(*chunkEncoder)
		defer a.encoders.Put(e)
		data, lo, hi := e.encode(keep)
		_, err = tx.ExecContext(ctx, `UPDATE request_chunks SET min_time = ?, max_time = ?, records = ?, data = ? WHERE rowid = ?`,
			lo, hi, int64(len(keep)), data, rowid)
	}
	if err != nil {
		return 0, false, err
	}
	if err := tx.Commit(); err != nil {
		return 0, false, err
	}
	return int64(c.n - len(keep)), false, nil
}

// ceilMicros returns t in Unix microseconds, rounded up: a stored time
// (whole microseconds) is before t exactly when it is less than
// ceilMicros(t). Times beyond the range of int64 microseconds (about
// 292,000 years from 1970) are clamped.
func ceilMicros(t time.Time) int64 {
	const maxSec = math.MaxInt64/1_000_000 - 1
	switch s := t.Unix(); {
	case s > maxSec:
		return math.MaxInt64
	case s < -maxSec:
		return math.MinInt64
	}
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// addSat returns a + b (b ≥ 0), or math.MaxInt64 where that overflows.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// wrapAnalytics annotates err, an error of analytics operation op, and
// classifies a database locked for longer than the busy timeout as
// EUnavailable.
func wrapAnalytics(op string, err error) error {
	err = fmt.Errorf("sqlitestore: analytics: %s: %w", op, err)
	if isBusy(err) {
		return &portico.Error{Code: portico.EUnavailable, Message: "the analytics store is busy", Err: err}
	}
	return err
}
