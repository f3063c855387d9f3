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

// rollupColumns are the rollup table's columns and types.
var rollupColumns = []column{
	{"dim", "String", "the dimension of value (rollupDims), or rollupSince"},
	{"api", "String", "Record.API"},
	{"hour", "DateTime('UTC')", "the hour of Record.Time"},
	{"value", "String", "the dimension's value"},
	{"publisher", "String", "Record.Publisher"},
	{"requests", "UInt64", "records"},
	{"errors", "UInt64", "records with status 400 or more"},
	{"request_bytes", "UInt64", "sum of Record.RequestBytes"},
	{"response_bytes", "UInt64", "sum of Record.ResponseBytes"},
}

// rollupTableDDL returns the CREATE TABLE statement of the rollup table
// on one address.
func (s *Store) rollupTableDDL() string {
	var cols []string
	for _, c := range rollupColumns {
		cols = append(cols, "    "+c.name+" "+c.typ)
	}
	return "CREATE TABLE IF NOT EXISTS " + s.db + "." + quoteIdent(s.localName+RollupSuffix) + " (\n" + strings.Join(cols, ",\n") + `
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY (dim, api, hour, value, publisher)`
}

// rollupViewDDL returns the CREATE MATERIALIZED VIEW statement that fills
// the rollup table from every insert into the local MergeTree table.
func (s *Store) rollupViewDDL() string {
	var tuples []string
	for _, d := range rollupDims {
		tuples = append(tuples, "tuple("+quoteString(d.dim)+", "+d.expr+")")
	}
	return "CREATE MATERIALIZED VIEW IF NOT EXISTS " + s.db + "." + quoteIdent(s.localName+RollupSuffix+"_mv") +
		" TO " + s.db + "." + quoteIdent(s.localName+RollupSuffix) + `
AS SELECT tupleElement(d, 1) AS dim, api, toDateTime(intDiv(toUInt32(time), 3600) * 3600) AS hour,
    tupleElement(d, 2) AS value, CAST(publisher AS String) AS publisher,
    count() AS requests, countIf(status >= 400) AS errors,
    sum(request_bytes) AS request_bytes, sum(response_bytes) AS response_bytes
FROM ` + s.db + "." + quoteIdent(s.localName) + `
ARRAY JOIN [` + strings.Join(tuples, ", ") + `] AS d
GROUP BY dim, api, hour, value, publisher`
}

// tableEngines returns the engines of the tables of the store's database
// on ep, by name.
func (s *Store) tableEngines(ctx context.Context, ep *endpoint) (map[string]string, error) {
	out, err := s.exec(ctx, ep, "SELECT name, engine FROM system.tables WHERE database = "+quoteString(s.cfg.Database)+" FORMAT TabSeparated")
	if err != nil {
		return nil, err
	}
	engines := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if name, engine, ok := strings.Cut(line, "\t"); ok {
			engines[name] = engine
		}
	}
	return engines, nil
}

// prepareRollup creates the rollup on ep — the table, checked like the
// records' table, then the view that fills it — and learns from which
// hour it is complete; before holds the engines of the tables that
// existed before this set-up. A name taken by something else is an
// error, never a rollup read.
//
// A materialized view sees only the inserts made after it exists. So
// whenever this set-up had to create the records' table, the rollup
// table or the view while either table holds rows (an upgrade, a table
// dropped by hand, a view made again), the two may not agree on what is
// already there: the rollup is then marked as complete only from the
// latest of two hours after now (the next whole hour, and an hour for
// nodes whose clocks run ahead), the hour after the latest record, and
// the hour after the latest rollup row; queries read the records before
// that mark. Marks are rows of the rollup table, so retention drops a
// mark with the day it falls in, after every record before it.
func (s *Store) prepareRollup(ctx context.Context, ep *endpoint, settings string, before map[string]string) error {
	table, view := s.localName+RollupSuffix, s.localName+RollupSuffix+"_mv"
	if e, ok := before[view]; ok && e != "MaterializedView" {
		return &serverError{Status: 400, Msg: fmt.Sprintf("%s.%s exists and is not Portico's rollup view (engine %s): drop it, or turn the rollup off with rollup=false", s.cfg.Database, view, e)}
	}
	if e, ok := before[table]; ok && e != "SummingMergeTree" {
		return &serverError{Status: 400, Msg: fmt.Sprintf("%s.%s exists and is not Portico's rollup table (engine %s): drop it, or turn the rollup off with rollup=false", s.cfg.Database, table, e)}
	}
	if _, err := s.do(ctx, ep, settings, []byte(s.rollupTableDDL())); err != nil {
		return err
	}
	if err := s.checkTable(ctx, ep, table, rollupColumns, nil); err != nil {
		return err
	}
	local := s.db + "." + quoteIdent(table)
	if _, ok := before[view]; ok {
		out, err := s.exec(ctx, ep, "SHOW CREATE TABLE "+s.db+"."+quoteIdent(view)+" FORMAT TSVRaw")
		if err != nil {
			return err
		}
		if !strings.Contains(string(out), " TO "+s.cfg.Database+"."+table+" ") && !strings.Contains(string(out), " TO `"+s.cfg.Database+"`.`"+table+"` ") {
			return &serverError{Status: 400, Msg: fmt.Sprintf("%s.%s exists and does not fill %s.%s: drop it, or turn the rollup off with rollup=false", s.cfg.Database, view, s.cfg.Database, table)}
		}
	} else if _, err := s.do(ctx, ep, settings, []byte(s.rollupViewDDL())); err != nil {
		return err
	}
	if s.cfg.Cluster != "" {
		if _, err := s.exec(ctx, ep, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s AS %s\nENGINE = Distributed(%s, %s, %s, rand())",
			s.db, quoteIdent(s.queryName+RollupSuffix), local,
			quoteString(s.cfg.Cluster), quoteString(s.cfg.Database), quoteString(table))); err != nil {
			return err
		}
	}

	_, hadRecords := before[s.localName]
	_, hadTable := before[table]
	_, hadView := before[view]
	if !hadRecords || !hadTable || !hadView {
		// The hour after the latest row of either table (0 for none),
		// and two hours after now.
		out, err := s.exec(ctx, ep, "SELECT greatest("+
			"(SELECT if(count() = 0, 0, intDiv(max(toUInt32(time)), 3600) * 3600 + 3600) FROM "+s.db+"."+quoteIdent(s.localName)+"), "+
			"(SELECT if(count() = 0, 0, intDiv(max(toUInt32(hour)), 3600) * 3600 + 3600) FROM "+local+"))")
		if err != nil {
			return err
		}
		after, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			return fmt.Errorf("clickhouse: bad answer %q", out)
		}
		if after > 0 {
			// requests is 1: SummingMergeTree drops rows whose sums are all 0.
			if _, err := s.exec(ctx, ep, fmt.Sprintf("INSERT INTO %s (dim, hour, requests) SELECT %s, toDateTime(greatest(%d, intDiv(toUInt32(now()), 3600) * 3600 + 7200)), 1",
				local, quoteString(rollupSince), after)); err != nil {
				return err
			}
			s.log.Info("clickhouse: made the hourly rollup while records or rollup rows were already there; ranges before its mark are read from the records",
				"addr", ep.url, "table", s.cfg.Database+"."+table)
		}
	}
	// The mark of this address's rollup: with a Cluster, the store takes
	// the latest mark of its addresses, one per shard.
	out, err := s.exec(ctx, ep, "SELECT toUInt32(max(hour)) FROM "+local+" WHERE dim = "+quoteString(rollupSince))
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
