package sqlitestore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/portico-gw/portico"
)

// dimension is where a dimension's value is: the SQL expression of the
// table requests and the column of a chunk.
type dimension struct {
	sql string
	col int
}

// dimensions maps each dimension to its value: the whitelist of what a
// query may filter and group by.
var dimensions = map[string]dimension{
	portico.DimAPI:         {"api", colAPI},
	portico.DimVersion:     {"api_version", colAPIVersion},
	portico.DimApplication: {"application", colApplication},
	portico.DimSubscriber:  {"subscriber", colSubscriber},
	portico.DimPublisher:   {"publisher", colPublisher},
	portico.DimPlan:        {"plan", colPlan},
	portico.DimStatus:      {"CAST(status AS TEXT)", colStatus},
	portico.DimMethod:      {"method", colMethod},
	portico.DimResource:    {"resource", colResource},
	portico.DimNode:        {"node", colNode},
}

// queryPlan is an AnalyticsQuery checked and in the stored units.
type queryPlan struct {
	size     int64 // bucket length in microseconds, 0 for none
	from, to int64 // the time range [from, to) in Unix microseconds
	groupBy  string
	filters  []queryFilter // ordered by dimension
	empty    bool          // no record can match
	limit    int           // with groupBy, the most groups answered; 0 for all
	latency  bool          // compute latency percentiles
	bytes    bool          // sum the byte counts
	totals   bool          // answer the total row too
}

// queryFilter is one filter of a query.
type queryFilter struct {
	dim    string
	value  string
	status int64 // the value of a DimStatus filter
}

// newQueryPlan checks q: a bucket other than minute, hour or day, or a
// dimension to group or filter by that is not one of portico's Dim*
// constants, is an EInvalid error.
func newQueryPlan(q portico.AnalyticsQuery) (*queryPlan, error) {
	p := &queryPlan{groupBy: q.GroupBy, latency: !q.NoLatency, bytes: !q.NoBytes,
		totals: q.Totals && (q.Bucket != "" || q.GroupBy != "")}
	if q.GroupBy != "" && q.Limit > 0 {
		p.limit = q.Limit
	}
	switch q.Bucket {
	case "":
	case portico.Minute, portico.Hour, portico.Day:
		p.size = q.Bucket.Duration().Microseconds()
	default:
		return nil, portico.FieldErrorf(portico.EInvalid, "bucket", "bucket %q is not minute, hour or day", q.Bucket)
	}
	if _, ok := dimensions[q.GroupBy]; q.GroupBy != "" && !ok {
		return nil, portico.FieldErrorf(portico.EInvalid, "group_by", "cannot group by %q", q.GroupBy)
	}
	p.from, p.to = ceilMicros(q.From), ceilMicros(q.To)
	p.empty = p.from >= p.to
	for _, dim := range slices.Sorted(maps.Keys(q.Filters)) {
		f := queryFilter{dim: dim, value: q.Filters[dim]}
		if _, ok := dimensions[dim]; !ok {
			return nil, portico.FieldErrorf(portico.EInvalid, "filters", "cannot filter by %q", dim)
		}
		if dim == portico.DimStatus {
			// Compare numbers; a value that is not how a status prints
			// matches nothing.
			st, err := strconv.Atoi(f.value)
			if err != nil || strconv.Itoa(st) != f.value {
				p.empty = true
			}
			f.status = int64(st)
		}
		p.filters = append(p.filters, f)
	}
	return p, nil
}

// Query answers q as portico.AnalyticsQuery documents it. SQLite selects
// the chunks whose time range meets the query's, and the rows of the table
// requests in it (the time range and the filters, as parameters of one
// statement), in one read transaction; Go decodes the chunks' columns that
// the query needs, picks the records in the range that match the filters,
// counts every record into buckets and groups and picks the nearest-rank
// percentiles from the sorted latencies of each. (In the pure-Go build of
// SQLite that is faster than a GROUP BY and several times faster than
// window functions, and it gives exactly the numbers of the reference
// implementation.) With q.Limit it ranks the groups by their counts and
// computes percentiles for the top groups only; with q.NoLatency it
// neither decodes nor keeps latencies, with q.NoBytes it does not decode
// the byte counts; q.Totals sums the cells and sorts every latency once
// more. Memory grows with the number of
// selected records: 8 bytes each for the latencies, 20 with groups or
// buckets (each latency's cell, and a copy ordered by cell).
//
// A bucket other than minute, hour or day, or a dimension to group or
// filter by that is not one of portico's Dim* constants, is an EInvalid
// error. The time range is compared to the microsecond: a From or To
// between two microseconds selects like the next microsecond up.
func (a *Analytics) Query(ctx context.Context, q portico.AnalyticsQuery) ([]portico.AnalyticsRow, error) {
	p, err := newQueryPlan(q)
	if err != nil {
		return nil, err
	}
	if p.empty {
		return []portico.AnalyticsRow{}, nil
	}
	tx, err := a.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrapAnalytics("query", err)
	}
	defer tx.Rollback()
	s := newChunkScan(p)
	if err := s.query(ctx, tx); err != nil {
		return nil, wrapAnalytics("query", err)
	}
	if err := p.queryRows(ctx, tx, &s.agg); err != nil {
		return nil, wrapAnalytics("query", err)
	}
	rows := s.agg.rows(p.limit)
	if p.totals {
		if t, ok := s.agg.total(); ok {
			rows = append(rows, t)
		}
	}
	return rows, nil
}

// chunkScan counts the records of chunks that a query selects. Its
// slices are reused from chunk to chunk.
type chunkScan struct {
	p   *queryPlan
	agg aggregator

	times, latencies, statuses, reqBytes, respBytes []int64

	vals     [][]byte
	idx      []uint32
	keep     []int32       // the records of the chunk selected so far
	groups   []int         // index of a dictionary value → group index in agg, -1 for not yet known
	byStatus map[int64]int // status → group index in agg
}

// newChunkScan returns a scan that counts the records p selects.
func newChunkScan(p *queryPlan) *chunkScan {
	return &chunkScan{p: p, agg: aggregator{bucketed: p.size > 0, grouped: p.groupBy != "", latency: p.latency}}
}

// query counts the records of the chunks that meet the time range.
func (s *chunkScan) query(ctx context.Context, tx *sql.Tx) error {
	rs, err := tx.QueryContext(ctx, `
		SELECT rowid, data FROM request_chunks
		WHERE max_time >= ? AND max_time < ? AND min_time < ?`, s.p.from, addSat(s.p.to, chunkWindow), s.p.to)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var (
			rowid int64
			data  sql.RawBytes // valid until Next
		)
		if err := rs.Scan(&rowid, &data); err != nil {
			return err
		}
		if err := s.add(data); err != nil {
			return fmt.Errorf("chunk %d: %w", rowid, err)
		}
	}
	return rs.Err()
}

// add counts the records of one chunk that the query selects.
func (s *chunkScan) add(data []byte) error {
	c, err := parseChunk(data)
	if err != nil {
		return err
	}
	p := s.p
	if s.times, err = c.ints(colTime, s.times); err != nil {
		return err
	}
	keep := s.keep[:0]
	for i, t := range s.times {
		if t >= p.from && t < p.to {
			keep = append(keep, int32(i))
		}
	}
	for _, f := range p.filters {
		if len(keep) == 0 {
			break
		}
		if f.dim == portico.DimStatus {
			if s.statuses, err = c.ints(colStatus, s.statuses); err != nil {
				return err
			}
			keep = slices.DeleteFunc(keep, func(i int32) bool { return s.statuses[i] != f.status })
			continue
		}
		if s.vals, s.idx, err = c.strs(dimensions[f.dim].col, s.vals, s.idx); err != nil {
			return err
		}
		j := slices.IndexFunc(s.vals, func(v []byte) bool { return string(v) == f.value })
		if j < 0 {
			keep = keep[:0]
			break
		}
		keep = slices.DeleteFunc(keep, func(i int32) bool { return s.idx[i] != uint32(j) })
	}
	s.keep = keep
	if len(keep) == 0 {
		return nil
	}

	if p.latency {
		if s.latencies, err = c.ints(colLatency, s.latencies); err != nil {
			return err
		}
	}
	if s.statuses, err = c.ints(colStatus, s.statuses); err != nil {
		return err
	}
	if p.bytes {
		if s.reqBytes, err = c.ints(colRequestBytes, s.reqBytes); err != nil {
			return err
		}
		if s.respBytes, err = c.ints(colResponseBytes, s.respBytes); err != nil {
			return err
		}
	}
	groupCol := -1
	if p.groupBy != "" {
		groupCol = dimensions[p.groupBy].col
	}
	if groupCol >= 0 && groupCol != colStatus {
		if s.vals, s.idx, err = c.strs(groupCol, s.vals, s.idx); err != nil {
			return err
		}
		s.groups = slices.Grow(s.groups[:0], len(s.vals))[:len(s.vals)]
		for i := range s.groups {
			s.groups[i] = -1
		}
	}
	var (
		lastKey     cellKey
		last        int32 = -1
		latency     int64
		reqB, respB int64
	)
	for _, i := range keep {
		var k cellKey
		if p.size > 0 {
			k.bucket = floorDiv(s.times[i], p.size) * p.size
		}
		switch groupCol {
		case -1:
		case colStatus:
			k.group = s.statusGroup(s.statuses[i])
		default:
			j := s.idx[i]
			if s.groups[j] < 0 {
				s.groups[j] = s.agg.group(s.vals[j])
			}
			k.group = s.groups[j]
		}
		if last < 0 || k != lastKey {
			last, lastKey = s.agg.cell(k), k
		}
		if p.latency {
			latency = s.latencies[i]
		}
		if p.bytes {
			reqB, respB = s.reqBytes[i], s.respBytes[i]
		}
		s.agg.add(last, latency, s.statuses[i] >= 400, reqB, respB)
	}
	return nil
}

// statusGroup returns the group index of status.
func (s *chunkScan) statusGroup(status int64) int {
	g, ok := s.byStatus[status]
	if !ok {
		if s.byStatus == nil {
			s.byStatus = make(map[int64]int)
		}
		g = s.agg.group(strconv.AppendInt(nil, status, 10))
		s.byStatus[status] = g
	}
	return g
}

// queryRows counts the records of the table requests that p selects: the
// records written before chunks.
func (p *queryPlan) queryRows(ctx context.Context, tx *sql.Tx, agg *aggregator) error {
	// status >= 400 rather than status: values under 256 cost the driver
	// no allocation.
	cols := "time, latency_us, status >= 400, request_bytes, response_bytes"
	if !p.bytes {
		cols = "time, latency_us, status >= 400, 0, 0"
	}
	if p.groupBy != "" {
		cols += ", " + dimensions[p.groupBy].sql
	}
	where := "time >= ? AND time < ?"
	args := []any{p.from, p.to}
	for _, f := range p.filters {
		if f.dim == portico.DimStatus {
			where += " AND status = ?"
			args = append(args, f.status)
			continue
		}
		where += " AND " + dimensions[f.dim].sql + " = ?"
		args = append(args, f.value)
	}
	rs, err := tx.QueryContext(ctx, "SELECT "+cols+" FROM requests WHERE "+where, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	var (
		t, l, e   int64
		qb, sb    int64
		g         sql.RawBytes // valid until Next
		dest      = []any{&t, &l, &e, &qb, &sb, &g}
		grouped   = p.groupBy != ""
		lastGroup = -1
		lastKey   cellKey
		last      int32 = -1
	)
	if !grouped {
		dest = dest[:5]
	}
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return err
		}
		var k cellKey
		if p.size > 0 {
			k.bucket = floorDiv(t, p.size) * p.size
		}
		if grouped {
			if lastGroup < 0 || !bytes.Equal(g, agg.groups.value(lastGroup)) {
				lastGroup = agg.group(g)
			}
			k.group = lastGroup
		}
		if last < 0 || k != lastKey {
			last, lastKey = agg.cell(k), k
		}
		agg.add(last, l, e != 0, qb, sb)
	}
	return rs.Err()
}

// cellKey identifies a row of an answer: the bucket's start in Unix
// microseconds (0 without buckets) and the index of the group's value in
// aggregator.groups (0 without groups).
type cellKey struct {
	bucket int64
	group  int
}

// cell accumulates the counts of one row.
type cell struct {
	key                 cellKey
	requests, errors    int64
	reqBytes, respBytes int64
}

// aggregator counts records into cells. Its zero value counts into one
// row without latencies; set bucketed, grouped and latency before the
// first record.
//
// Nothing is allocated per record: cells live in one slice (a cell's
// index is its group's index without buckets, so that no map is needed
// then), and the latencies of all records in one slice, with the index of
// each one's cell beside it, so that percentiles can be computed for the
// cells a query keeps only (BenchmarkAnalyticsQueryManyGroups).
type aggregator struct {
	bucketed bool // cells are per bucket and group
	grouped  bool // cells are per group
	latency  bool // collect latencies for percentiles

	groups names // group values by index
	cells  []cell
	cellIx map[cellKey]int32 // with buckets: cell key → index in cells

	latencies []int64 // microseconds, of every record counted
	latCells  []int32 // the cell of each latency; nil with one cell only
}

// group returns the index of the group value v, adding it if it is new.
func (g *aggregator) group(v []byte) int { return g.groups.index(v) }

// cell returns the index of the cell of k, adding it if it is new.
func (g *aggregator) cell(k cellKey) int32 {
	if !g.bucketed {
		for len(g.cells) <= k.group {
			g.cells = append(g.cells, cell{key: cellKey{group: len(g.cells)}})
		}
		return int32(k.group)
	}
	i, ok := g.cellIx[k]
	if !ok {
		if g.cellIx == nil {
			g.cellIx = make(map[cellKey]int32)
		}
		i = int32(len(g.cells))
		g.cells = append(g.cells, cell{key: k})
		g.cellIx[k] = i
	}
	return i
}

// add counts one record into cell c.
func (g *aggregator) add(c int32, latency int64, isError bool, reqBytes, respBytes int64) {
	x := &g.cells[c]
	x.requests++
	if isError {
		x.errors++
	}
	x.reqBytes += reqBytes
	x.respBytes += respBytes
	if g.latency {
		g.latencies = append(g.latencies, latency)
		if g.bucketed || g.grouped {
			g.latCells = append(g.latCells, c)
		}
	}
}

// rows returns the rows of the cells, ordered by bucket, then group (bytes
// compared like Go strings); with limit > 0, only those of the limit
// groups with the most requests (ties by group value), ordered by bucket,
// then by that rank. Percentiles are computed for those rows only.
func (g *aggregator) rows(limit int) []portico.AnalyticsRow {
	// rank[i] is the position of group i in the answer's order, -1 for a
	// group left out.
	var rank []int
	if n := g.groups.len(); n > 0 {
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		byValue := func(a, b int) int { return bytes.Compare(g.groups.value(a), g.groups.value(b)) }
		if limit > 0 {
			totals := make([]int64, n)
			for i := range g.cells {
				totals[g.cells[i].key.group] += g.cells[i].requests
			}
			order = topGroups(order, limit, func(a, b int) int {
				return cmp.Or(cmp.Compare(totals[b], totals[a]), byValue(a, b))
			})
		} else {
			slices.SortFunc(order, byValue)
		}
		rank = make([]int, n)
		for i := range rank {
			rank[i] = -1
		}
		for pos, i := range order {
			rank[i] = pos
		}
	}
	groupRank := func(c *cell) int {
		if rank == nil {
			return 0
		}
		return rank[c.key.group]
	}

	var keep []int32 // the cells answered, in order
	for i := range g.cells {
		if g.cells[i].requests > 0 && groupRank(&g.cells[i]) >= 0 {
			keep = append(keep, int32(i))
		}
	}
	slices.SortFunc(keep, func(a, b int32) int {
		x, y := &g.cells[a], &g.cells[b]
		return cmp.Or(cmp.Compare(x.key.bucket, y.key.bucket), cmp.Compare(groupRank(x), groupRank(y)))
	})

	rows := make([]portico.AnalyticsRow, len(keep))
	for j, i := range keep {
		c := &g.cells[i]
		r := &rows[j]
		*r = portico.AnalyticsRow{
			Requests:      c.requests,
			Errors:        c.errors,
			ErrorRate:     float64(c.errors) / float64(c.requests),
			RequestBytes:  c.reqBytes,
			ResponseBytes: c.respBytes,
		}
		if g.grouped {
			r.Group = string(g.groups.value(c.key.group))
		}
		if g.bucketed {
			r.Bucket = time.UnixMicro(c.key.bucket).UTC()
		}
	}
	if g.latency {
		g.percentiles(keep, rows)
	}
	return rows
}

// percentiles sets the percentiles of rows, the rows of the cells keep:
// it gathers the latencies of those cells into one slice, cell by cell,
// and sorts each cell's part.
func (g *aggregator) percentiles(keep []int32, rows []portico.AnalyticsRow) {
	lat := g.latencies // one cell: its latencies in place
	if g.bucketed || g.grouped {
		// start[c] is where the latencies of cell c go, -1 for a cell
		// left out; next advances as they are placed.
		start := make([]int, len(g.cells))
		for i := range start {
			start[i] = -1
		}
		n := 0
		for _, i := range keep {
			start[i] = n
			n += int(g.cells[i].requests)
		}
		lat = make([]int64, n)
		next := start
		for j, c := range g.latCells {
			if at := next[c]; at >= 0 {
				lat[at] = g.latencies[j]
				next[c]++
			}
		}
	}
	at := 0
	for j, i := range keep {
		part := lat[at : at+int(g.cells[i].requests)]
		at += len(part)
		slices.Sort(part)
		rows[j].LatencyP50 = percentile(part, 50)
		rows[j].LatencyP95 = percentile(part, 95)
		rows[j].LatencyP99 = percentile(part, 99)
	}
}

// total returns the row of every record counted, with Total set; ok is
// false when none was. It sorts the latencies in place, so it comes after
// rows.
func (g *aggregator) total() (t portico.AnalyticsRow, ok bool) {
	for i := range g.cells {
		c := &g.cells[i]
		t.Requests += c.requests
		t.Errors += c.errors
		t.RequestBytes += c.reqBytes
		t.ResponseBytes += c.respBytes
	}
	if t.Requests == 0 {
		return t, false
	}
	t.ErrorRate = float64(t.Errors) / float64(t.Requests)
	t.Total = true
	if g.latency {
		slices.Sort(g.latencies)
		t.LatencyP50 = percentile(g.latencies, 50)
		t.LatencyP95 = percentile(g.latencies, 95)
		t.LatencyP99 = percentile(g.latencies, 99)
	}
	return t, true
}

// topGroups returns the first n of groups in the order of compare, in that
// order (all of them for n <= 0 or n >= len(groups)). It keeps the best n
// in a heap, so that a top 10 of many groups costs about one comparison a
// group.
func topGroups(groups []int, n int, compare func(a, b int) int) []int {
	if n <= 0 || n >= len(groups) {
		slices.SortFunc(groups, compare)
		return groups
	}
	// h is a heap of the best n so far with the worst of them on top.
	h := make([]int, 0, n)
	worse := func(i, j int) bool { return compare(h[i], h[j]) > 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			w := l
			if r := l + 1; r < len(h) && worse(r, l) {
				w = r
			}
			if !worse(w, i) {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	for _, x := range groups {
		if len(h) < n {
			h = append(h, x)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(i, p) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
			continue
		}
		if compare(x, h[0]) < 0 {
			h[0] = x
			down(0)
		}
	}
	slices.SortFunc(h, compare)
	return h
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
