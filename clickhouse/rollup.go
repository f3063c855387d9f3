package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// RollupSuffix is appended to Table (and to the local MergeTree table's
// name with a Cluster) to name the hourly rollup table.
const RollupSuffix = "_hourly"

// rollupDims are the dimensions the rollup keeps, each as its own rows:
// the dimension's name in column dim and its value in column value. A
// record is counted once in each, so the rows of any one dimension hold
// every record; grouping by API reads those of the first.
var rollupDims = []struct{ dim, expr string }{
	{portico.DimNode, "node"},
	{portico.DimApplication, "application"},
	{portico.DimStatus, "toString(status)"},
	{portico.DimResource, "resource"},
}

// rollupSince is the dim of the rows that mark from which hour a rollup
// table holds every record of its MergeTree table (see rollupDDL).
const rollupSince = "#since"

// rollupFilters are the filters a query may have to be answered from the
// rollup (the console scopes a publisher's queries by publisher, and its
// dashboard may show one API).
var rollupFilters = map[string]bool{portico.DimAPI: true, portico.DimPublisher: true}

// rollupDDL returns the statements that create the rollup on one address:
// the SummingMergeTree table of hourly counts and the materialized view
// that fills it from every insert into the local MergeTree table, then,
// with a Cluster, the Distributed table queries read.
func (s *Store) rollupDDL() []string {
	local := quoteIdent(s.localName + RollupSuffix)
	var tuples []string
	for _, d := range rollupDims {
		tuples = append(tuples, "tuple("+quoteString(d.dim)+", "+d.expr+")")
	}
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS " + s.db + "." + local + ` (
    dim String,
    api String,
    hour DateTime('UTC'),
    value String,
    publisher String,
    requests UInt64,
    errors UInt64,
    request_bytes UInt64,
    response_bytes UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY (dim, api, hour, value, publisher)`,
		"CREATE MATERIALIZED VIEW IF NOT EXISTS " + s.db + "." + quoteIdent(s.localName+RollupSuffix+"_mv") + " TO " + s.db + "." + local + `
AS SELECT tupleElement(d, 1) AS dim, api, toDateTime(intDiv(toUInt32(time), 3600) * 3600) AS hour,
    tupleElement(d, 2) AS value, CAST(publisher AS String) AS publisher,
    count() AS requests, countIf(status >= 400) AS errors,
    sum(request_bytes) AS request_bytes, sum(response_bytes) AS response_bytes
FROM ` + s.db + "." + quoteIdent(s.localName) + `
ARRAY JOIN [` + strings.Join(tuples, ", ") + `] AS d
GROUP BY dim, api, hour, value, publisher`,
	}
	if s.cfg.Cluster != "" {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s\nENGINE = Distributed(%s, %s, %s, rand())",
			s.db, quoteIdent(s.queryName+RollupSuffix), s.db, local,
			quoteString(s.cfg.Cluster), quoteString(s.cfg.Database), quoteString(s.localName+RollupSuffix)))
	}
	return stmts
}

// prepareRollup creates the rollup on ep and learns from which hour it is
// complete. A materialized view sees only the inserts made after it
// exists: when it is created over a table that already holds records,
// the rollup is marked as complete only from two hours after now (the
// next whole hour, and an hour for nodes whose clocks run ahead), and
// queries read the raw table before that mark. Marks are rows of the
// rollup table, so retention drops a mark with the day it falls in,
// after every record before it.
func (s *Store) prepareRollup(ctx context.Context, ep *endpoint, settings string) error {
	db := quoteString(s.cfg.Database)
	mv := s.localName + RollupSuffix + "_mv"
	out, err := s.exec(ctx, ep, "SELECT count() FROM system.tables WHERE database = "+db+" AND name = "+quoteString(mv))
	if err != nil {
		return err
	}
	existed := strings.TrimSpace(string(out)) == "1"
	for _, stmt := range s.rollupDDL() {
		if _, err := s.do(ctx, ep, settings, []byte(stmt)); err != nil {
			return err
		}
	}
	local := s.db + "." + quoteIdent(s.localName+RollupSuffix)
	if !existed {
		out, err := s.exec(ctx, ep, "SELECT (SELECT count() FROM "+s.db+"."+quoteIdent(s.localName)+") = "+
			"(SELECT sum(requests) FROM "+local+" WHERE dim = "+quoteString(rollupDims[0].dim)+")")
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(out)) != "1" {
			// requests is 1: SummingMergeTree drops rows whose sums are all 0.
			if _, err := s.exec(ctx, ep, "INSERT INTO "+local+" (dim, hour, requests) SELECT "+quoteString(rollupSince)+
				", toDateTime(intDiv(toUInt32(now()), 3600) * 3600 + 7200), 1"); err != nil {
				return err
			}
			s.log.Info("clickhouse: created the hourly rollup over a table that holds records; ranges before its mark are read from the records",
				"addr", ep.url, "table", s.cfg.Database+"."+s.localName+RollupSuffix)
		}
	}
	// The mark of this address's rollup: with a Cluster, the store takes
	// the latest mark of its addresses, one per shard.
	out, err = s.exec(ctx, ep, "SELECT toUInt32(max(hour)) FROM "+local+" WHERE dim = "+quoteString(rollupSince))
	if err != nil {
		return err
	}
	since, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return fmt.Errorf("clickhouse: bad rollup mark %q", out)
	}
	for {
		cur := s.rollupSince.Load()
		if since <= cur || s.rollupSince.CompareAndSwap(cur, since) {
			return nil
		}
	}
}

// rollupQuery returns the SELECT that answers q from the rollup for the
// whole hours of its range that the rollup covers and from the records
// for the rest; ok is false when q cannot be answered so: it has a
// bucket or percentiles, a group or filter the rollup does not keep, or
// no whole hour the rollup covers. The answer has the shape of
// buildQuery's, so parseRows reads it.
func (s *Store) rollupQuery(q portico.AnalyticsQuery) (sql string, ok bool) {
	if s.cfg.NoRollup || q.Bucket != "" || !q.NoLatency || q.GroupBy == "" {
		return "", false
	}
	dim := q.GroupBy
	valueCol := "value"
	if dim == portico.DimAPI {
		dim, valueCol = rollupDims[0].dim, "api"
	}
	rawExpr := ""
	for _, d := range rollupDims {
		if d.dim == dim {
			rawExpr = d.expr
		}
	}
	if rawExpr == "" {
		return "", false
	}
	if q.GroupBy == portico.DimAPI {
		rawExpr = "api"
	}
	for d := range q.Filters {
		if !rollupFilters[d] {
			return "", false
		}
	}
	from, to := clampMicro(q.From), clampMicro(q.To)
	const hourMicro = 3600 * 1_000_000
	first := (from + hourMicro - 1) / hourMicro * hourMicro
	first = max(first, s.rollupSince.Load()*1_000_000)
	last := to / hourMicro * hourMicro
	if first >= last {
		return "", false
	}

	var filters []string
	for _, d := range []string{portico.DimAPI, portico.DimPublisher} {
		if v, has := q.Filters[d]; has {
			filters = append(filters, dimColumns[d]+" = "+quoteString(v))
		}
	}
	rollup := "SELECT " + valueCol + " AS g, sum(requests) AS n, sum(errors) AS e, sum(request_bytes) AS rq, sum(response_bytes) AS rs\n" +
		"FROM " + s.db + "." + quoteIdent(s.queryName+RollupSuffix) + "\nWHERE " +
		strings.Join(append([]string{
			"dim = " + quoteString(dim),
			fmt.Sprintf("hour >= toDateTime(%d)", first/1_000_000),
			fmt.Sprintf("hour < toDateTime(%d)", last/1_000_000),
		}, filters...), " AND ") + "\nGROUP BY g"
	parts := []string{rollup}
	for _, edge := range [][2]int64{{from, first}, {last, to}} {
		eq := q
		eq.From, eq.To = time.UnixMicro(edge[0]), time.UnixMicro(edge[1])
		where, ok, err := whereClause(eq)
		if err != nil || !ok {
			continue
		}
		parts = append(parts, "SELECT "+rawExpr+" AS g, count() AS n, countIf(status >= 400) AS e, sum(request_bytes) AS rq, sum(response_bytes) AS rs\n"+
			"FROM "+s.db+"."+s.table+"\nWHERE "+strings.Join(where, " AND ")+"\nGROUP BY g")
	}
	var b strings.Builder
	b.WriteString("SELECT hex(g) AS _g, sum(n) AS _n, sum(e) AS _e, ")
	if q.NoBytes {
		b.WriteString("0, 0")
	} else {
		b.WriteString("sum(rq), sum(rs)")
	}
	b.WriteString(", 0, 0, 0\nFROM (\n")
	b.WriteString(strings.Join(parts, "\nUNION ALL\n"))
	b.WriteString("\n)\nGROUP BY g")
	if q.Totals {
		b.WriteString(" WITH TOTALS")
	}
	if q.Limit > 0 {
		fmt.Fprintf(&b, "\nORDER BY _n DESC, g LIMIT %d", q.Limit)
	} else {
		b.WriteString("\nORDER BY g")
	}
	b.WriteString("\nFORMAT TabSeparated")
	return b.String(), true
}
