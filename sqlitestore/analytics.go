package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
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
type Analytics struct {
	w *sql.DB // the single writer connection, synchronous=NORMAL
	r *sql.DB // read-only connections

	inserts map[int]*sql.Stmt // multi-row INSERTs on w by rows per statement
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
}

// requestColumns is the number of columns of requests, the values that
// insertArgs appends per record.
const requestColumns = 21

// insertArgs appends the column values of r to args, in the order of the
// columns of requests.
func insertArgs(args []any, r *portico.Record) []any {
	return append(args,
		r.Time.UnixMicro(), r.RequestID, r.API, r.APIVersion, r.APIID,
		r.Publisher, r.Subscriber, r.Application, r.Plan, r.Resource,
		r.Method, int64(r.Status), r.ErrorCode, r.RequestBytes, r.ResponseBytes,
		r.RequestType, r.ResponseType, r.Latency.Microseconds(), r.UpstreamLatency.Microseconds(),
		r.ClientIP, r.Node)
}

// mmapSize is how much of the analytics file each reader connection maps
// into memory; address space, not memory, and shared with the OS page
// cache.
const mmapSize = 256 << 20

// insertRows are the numbers of rows that one INSERT statement takes,
// largest first: Write covers a batch with as many of the largest as fit,
// then the smaller ones. A statement of 256 rows has 5,376 parameters,
// well under SQLite's limit of 32,766.
var insertRows = []int{256, 32, 4, 1}

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

	a := &Analytics{inserts: make(map[int]*sql.Stmt)}
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
// and prepares the INSERT statements.
func (a *Analytics) init(ctx context.Context) error {
	if err := migrate(ctx, a.w, analyticsMigrations); err != nil {
		return err
	}
	var id int64
	if err := a.w.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&id); err != nil {
		return err
	}
	if id != analyticsAppID {
		return errors.New("not an analytics database")
	}
	for _, n := range insertRows {
		var b strings.Builder
		b.WriteString(`INSERT INTO requests VALUES `)
		row := "(" + strings.Repeat("?, ", requestColumns-1) + "?)"
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(row)
		}
		stmt, err := a.w.PrepareContext(ctx, b.String())
		if err != nil {
			return err
		}
		a.inserts[n] = stmt
	}
	return nil
}

// Close closes the database. Calls in flight may fail; the caller stops
// them first.
func (a *Analytics) Close() error {
	var errs []error
	for _, s := range a.inserts {
		errs = append(errs, s.Close())
	}
	if a.r != nil {
		errs = append(errs, a.r.Close())
	}
	errs = append(errs, a.w.Close())
	return errors.Join(errs...)
}

// Write stores batch in one transaction: all of it or, on an error,
// nothing. An empty batch does nothing.
func (a *Analytics) Write(ctx context.Context, batch []portico.Record) error {
	if len(batch) == 0 {
		return nil
	}
	tx, err := a.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapAnalytics("write", err)
	}
	defer tx.Rollback()
	stmts := make(map[int]*sql.Stmt, len(insertRows))
	args := make([]any, 0, min(len(batch), insertRows[0])*requestColumns)
	for rest := batch; len(rest) > 0; {
		n := insertRows[len(insertRows)-1]
		for _, m := range insertRows {
			if m <= len(rest) {
				n = m
				break
			}
		}
		stmt := stmts[n]
		if stmt == nil {
			stmt = tx.StmtContext(ctx, a.inserts[n])
			stmts[n] = stmt
		}
		args = args[:0]
		for i := range rest[:n] {
			args = insertArgs(args, &rest[i])
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return wrapAnalytics(fmt.Sprintf("write %d records", len(batch)), err)
		}
		rest = rest[n:]
	}
	if err := tx.Commit(); err != nil {
		return wrapAnalytics(fmt.Sprintf("write %d records: commit", len(batch)), err)
	}
	return nil
}

// pruneRows is how many records one DELETE of Prune removes, so that a
// large prune does not hold the writer, and so Write, for long.
const pruneRows = 1000

// Prune deletes the records older than before and returns how many it
// deleted. It deletes in small transactions, so batches are written in
// between; when it fails or ctx ends, the records deleted so far stay
// deleted. The space of deleted records is reused for new ones; the file
// does not shrink.
func (a *Analytics) Prune(ctx context.Context, before time.Time) (int64, error) {
	limit := ceilMicros(before)
	var total int64
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

// dimensionColumns maps each dimension to the SQL expression of its value:
// the whitelist of what a query may filter and group by.
var dimensionColumns = map[string]string{
	portico.DimAPI:         "api",
	portico.DimVersion:     "api_version",
	portico.DimApplication: "application",
	portico.DimSubscriber:  "subscriber",
	portico.DimPublisher:   "publisher",
	portico.DimPlan:        "plan",
	portico.DimStatus:      "CAST(status AS TEXT)",
	portico.DimMethod:      "method",
	portico.DimResource:    "resource",
	portico.DimNode:        "node",
}

// Query answers q as portico.AnalyticsQuery documents it. SQLite selects
// the records (the time range and the filters, as parameters of one
// statement) and returns their time, group value, latency, whether they
// are errors, and bytes; Go counts them into buckets and groups and picks the nearest-rank
// percentiles from the sorted latencies of each. (In the pure-Go build of
// SQLite that is faster than a GROUP BY and several times faster than
// window functions, and it gives exactly the numbers of the reference
// implementation.) Memory grows with the number of selected records: 8
// bytes each for the latencies.
//
// A bucket other than minute, hour or day, or a dimension to group or
// filter by that is not one of portico's Dim* constants, is an EInvalid
// error. The time range is compared to the microsecond: a From or To
// between two microseconds selects like the next microsecond up.
func (a *Analytics) Query(ctx context.Context, q portico.AnalyticsQuery) ([]portico.AnalyticsRow, error) {
	var size int64 // bucket length in microseconds, 0 for none
	switch q.Bucket {
	case "":
	case portico.Minute, portico.Hour, portico.Day:
		size = q.Bucket.Duration().Microseconds()
	default:
		return nil, portico.FieldErrorf(portico.EInvalid, "bucket", "bucket %q is not minute, hour or day", q.Bucket)
	}
	// status >= 400 rather than status: values under 256 cost the driver
	// no allocation.
	cols := "time, latency_us, status >= 400, request_bytes, response_bytes"
	if q.GroupBy != "" {
		col := dimensionColumns[q.GroupBy]
		if col == "" {
			return nil, portico.FieldErrorf(portico.EInvalid, "group_by", "cannot group by %q", q.GroupBy)
		}
		cols += ", " + col
	}
	from, to := ceilMicros(q.From), ceilMicros(q.To)
	where := "time >= ? AND time < ?"
	args := []any{from, to}
	empty := from >= to
	for _, dim := range slices.Sorted(maps.Keys(q.Filters)) {
		v := q.Filters[dim]
		col := dimensionColumns[dim]
		switch {
		case col == "":
			return nil, portico.FieldErrorf(portico.EInvalid, "filters", "cannot filter by %q", dim)
		case dim == portico.DimStatus:
			// Compare numbers; a value that is not how a status prints
			// matches nothing.
			st, err := strconv.Atoi(v)
			if err != nil || strconv.Itoa(st) != v {
				empty = true
			}
			where += " AND status = ?"
			args = append(args, int64(st))
		default:
			where += " AND " + col + " = ?"
			args = append(args, v)
		}
	}
	if empty {
		return []portico.AnalyticsRow{}, nil
	}

	rs, err := a.r.QueryContext(ctx, "SELECT "+cols+" FROM requests WHERE "+where, args...)
	if err != nil {
		return nil, wrapAnalytics("query", err)
	}
	defer rs.Close()
	var (
		agg       aggregator
		t, l, e   int64
		qb, sb    int64
		g         sql.RawBytes // valid until Next
		dest      = []any{&t, &l, &e, &qb, &sb, &g}
		grouped   = q.GroupBy != ""
		lastGroup = -1
		lastKey   cellKey
		last      *cell
	)
	if !grouped {
		dest = dest[:5]
	}
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return nil, wrapAnalytics("query", err)
		}
		var k cellKey
		if size > 0 {
			k.bucket = floorDiv(t, size) * size
		}
		if grouped {
			if lastGroup < 0 || string(g) != agg.groups[lastGroup] {
				lastGroup = agg.group(g)
			}
			k.group = lastGroup
		}
		if last == nil || k != lastKey {
			last, lastKey = agg.cell(k), k
		}
		last.add(l, e != 0, qb, sb)
	}
	if err := rs.Err(); err != nil {
		return nil, wrapAnalytics("query", err)
	}
	return agg.rows(size > 0), nil
}

// cellKey identifies a row of an answer: the bucket's start in Unix
// microseconds (0 without buckets) and the index of the group's value in
// aggregator.groups (0 without groups).
type cellKey struct {
	bucket int64
	group  int
}

// cell accumulates the records of one row.
type cell struct {
	requests, errors    int64
	reqBytes, respBytes int64
	latencies           []int64 // microseconds
}

// add counts one record.
func (c *cell) add(latency int64, isError bool, reqBytes, respBytes int64) {
	c.requests++
	if isError {
		c.errors++
	}
	c.reqBytes += reqBytes
	c.respBytes += respBytes
	c.latencies = append(c.latencies, latency)
}

// aggregator counts records into cells. Its zero value is empty.
type aggregator struct {
	groups  []string       // group values by index
	groupIx map[string]int // group value → index in groups
	cells   map[cellKey]*cell
}

// group returns the index of the group value v, adding it if it is new.
func (g *aggregator) group(v []byte) int {
	if i, ok := g.groupIx[string(v)]; ok {
		return i
	}
	if g.groupIx == nil {
		g.groupIx = make(map[string]int)
	}
	s := string(v)
	g.groupIx[s] = len(g.groups)
	g.groups = append(g.groups, s)
	return len(g.groups) - 1
}

// cell returns the cell of k, adding it if it is new.
func (g *aggregator) cell(k cellKey) *cell {
	c := g.cells[k]
	if c == nil {
		if g.cells == nil {
			g.cells = make(map[cellKey]*cell)
		}
		c = &cell{}
		g.cells[k] = c
	}
	return c
}

// rows returns the rows of the cells, ordered by bucket, then group (bytes
// compared like Go strings).
func (g *aggregator) rows(bucketed bool) []portico.AnalyticsRow {
	groupName := func(k cellKey) string {
		if g.groups == nil {
			return ""
		}
		return g.groups[k.group]
	}
	keys := slices.Collect(maps.Keys(g.cells))
	slices.SortFunc(keys, func(a, b cellKey) int {
		return cmp.Or(cmp.Compare(a.bucket, b.bucket), cmp.Compare(groupName(a), groupName(b)))
	})
	rows := make([]portico.AnalyticsRow, 0, len(keys))
	for _, k := range keys {
		c := g.cells[k]
		slices.Sort(c.latencies)
		r := portico.AnalyticsRow{
			Group:         groupName(k),
			Requests:      c.requests,
			Errors:        c.errors,
			ErrorRate:     float64(c.errors) / float64(c.requests),
			LatencyP50:    percentile(c.latencies, 50),
			LatencyP95:    percentile(c.latencies, 95),
			LatencyP99:    percentile(c.latencies, 99),
			RequestBytes:  c.reqBytes,
			ResponseBytes: c.respBytes,
		}
		if bucketed {
			r.Bucket = time.UnixMicro(k.bucket).UTC()
		}
		rows = append(rows, r)
	}
	return rows
}

// percentile returns the nearest-rank pct-th percentile of sorted, a
// non-empty ascending slice of microseconds, in milliseconds: the value at
// rank ceil(pct × n / 100), computed in integers so that no floating-point
// rounding moves the rank, divided by 1000.
func percentile(sorted []int64, pct int) float64 {
	n := len(sorted)
	return float64(sorted[(pct*n+99)/100-1]) / 1000
}

// floorDiv returns a / b rounded towards negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
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
