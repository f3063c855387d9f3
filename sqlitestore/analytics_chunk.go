package sqlitestore

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/portico-gw/portico"
)

// A chunk holds up to maxChunkRecords request records of one hour in one
// row of the table request_chunks. One row per chunk rather than per
// record is what makes the embedded store cheap to write. A row per record
// (schema version 1) cost 6.7–10 µs of CPU a record in the pure-Go SQLite
// (BenchmarkAnalyticsWrite, batches of 5,000): 21 values bound through
// database/sql (17 allocations), the row built, and an insert into the
// table and each of its two indexes. A chunk is encoded in Go without
// allocating (BenchmarkChunkEncode: about 200 ns a record) and written as
// one blob with one index entry: about 0.5 µs of CPU a record in all, and
// about 45 bytes on disk where a row with its index entries took about
// 250. Queries read the chunks of their time range and decode in Go
// only the columns they need, which is faster than stepping through rows
// too (BenchmarkAnalyticsQuery).
//
// Chunk format 1, column by column like a column store, so that a query
// decodes only the columns it needs:
//
//	version   byte, 1
//	records   uvarint n
//	lengths   uvarint per column (chunkColumns of them): the bytes of its encoding
//	columns   each column's encoding, in the order of the columns of requests
//
// A column's encoding starts with its kind:
//
//	kindInts     n zigzag varints
//	kindDeltas   n zigzag varints, each the difference to the value before
//	             (the first to 0): times, which come nearly in order
//	kindStrings  n strings, each a uvarint length and its bytes
//	kindDict     a dictionary (uvarint d, then d strings as above) and n
//	             uvarint indexes into it: names, which repeat
//
// Readers accept any kind of the right type (integer or string) for every
// column, so the writer may choose another encoding later without a new
// format version.
const chunkVersion = 1

// maxChunkRecords is the most records a chunk holds: a recorder batch of
// the default size (5,000) is one chunk. A query reads whole chunks, and
// Prune rewrites the chunks that straddle its limit, so chunks stay small
// enough (a few hundred KB) for both.
const maxChunkRecords = 8192

// chunkWindow is the time window of a chunk, in microseconds: the records
// of a chunk all fall in one hour, [k × chunkWindow, (k+1) × chunkWindow)
// in Unix microseconds. With that bound a query finds its chunks in one
// range of the index on max_time (max_time in [from, to + chunkWindow)),
// and Prune trims only the chunks of one window. A batch that spans
// windows (at the turn of an hour, or with the record of a request that
// ran for long) is written as a chunk per window.
const chunkWindow = int64(time.Hour / time.Microsecond)

// window returns the chunk window of t, a time in Unix microseconds.
func window(t int64) int64 { return floorDiv(t, chunkWindow) }

// maxChunkBytes bounds the size of a chunk (as recordSize counts it) made
// of more than one record, far below SQLite's limit on a value (1e9
// bytes): records carry client-controlled strings (request ids, content
// types) as long as the gateway's header limits allow, and a query or
// Prune holds a whole chunk in memory.
const maxChunkBytes = 4 << 20

// recordSize is about the most bytes that r takes in a chunk: its
// strings, their lengths and its integers.
func recordSize(r *portico.Record) int {
	return 6*binary.MaxVarintLen64 + 15*binary.MaxVarintLen32 +
		len(r.RequestID) + len(r.API) + len(r.APIVersion) + len(r.APIID) + len(r.Publisher) +
		len(r.Subscriber) + len(r.Application) + len(r.Plan) + len(r.Resource) + len(r.Method) +
		len(r.ErrorCode) + len(r.RequestType) + len(r.ResponseType) + len(r.ClientIP) + len(r.Node)
}

// chunks calls f with each chunk of batch, in order: the records of one
// window, at most maxChunkRecords of them and, unless one record is
// larger, at most maxChunkBytes, in the order of batch. scratch
// is memory to reuse for a batch that spans windows; chunks returns it.
func chunks(batch []portico.Record, scratch []portico.Record, f func([]portico.Record) error) ([]portico.Record, error) {
	w := window(batch[0].Time.UnixMicro())
	one := true
	for i := range batch {
		if window(batch[i].Time.UnixMicro()) != w {
			one = false
			break
		}
	}
	if !one {
		scratch = append(scratch[:0], batch...)
		slices.SortStableFunc(scratch, func(a, b portico.Record) int {
			return cmp.Compare(window(a.Time.UnixMicro()), window(b.Time.UnixMicro()))
		})
		batch = scratch
		defer clear(scratch) // hold none of the caller's strings
	}
	for len(batch) > 0 {
		w := window(batch[0].Time.UnixMicro())
		n := 1
		for n < len(batch) && window(batch[n].Time.UnixMicro()) == w {
			n++
		}
		// Split a window of more than maxChunkRecords records into parts
		// of nearly equal size, and parts of more than maxChunkBytes
		// where they reach it.
		parts := (n + maxChunkRecords - 1) / maxChunkRecords
		for i := range parts {
			part := batch[i*n/parts : (i+1)*n/parts]
			for len(part) > 0 {
				m, size := 1, recordSize(&part[0])
				for m < len(part) && size+recordSize(&part[m]) <= maxChunkBytes {
					size += recordSize(&part[m])
					m++
				}
				if err := f(part[:m]); err != nil {
					return scratch, err
				}
				part = part[m:]
			}
		}
		batch = batch[n:]
	}
	return scratch, nil
}

// Column kinds of the chunk format.
const (
	kindInts    = 0
	kindDeltas  = 1
	kindStrings = 2
	kindDict    = 3
)

// Columns of a chunk, in the order of the columns of the table requests.
const (
	colTime = iota
	colRequestID
	colAPI
	colAPIVersion
	colAPIID
	colPublisher
	colSubscriber
	colApplication
	colPlan
	colResource
	colMethod
	colStatus
	colErrorCode
	colRequestBytes
	colResponseBytes
	colRequestType
	colResponseType
	colLatency
	colUpstreamLatency
	colClientIP
	colNode
	chunkColumns
)

// stringColumn reports whether column col holds strings (else integers).
func stringColumn(col int) bool {
	switch col {
	case colTime, colStatus, colRequestBytes, colResponseBytes, colLatency, colUpstreamLatency:
		return false
	}
	return true
}

// stringField returns the string field of r that column col holds; col
// is a string column.
func stringField(r *portico.Record, col int) *string {
	switch col {
	case colRequestID:
		return &r.RequestID
	case colAPI:
		return &r.API
	case colAPIVersion:
		return &r.APIVersion
	case colAPIID:
		return &r.APIID
	case colPublisher:
		return &r.Publisher
	case colSubscriber:
		return &r.Subscriber
	case colApplication:
		return &r.Application
	case colPlan:
		return &r.Plan
	case colResource:
		return &r.Resource
	case colMethod:
		return &r.Method
	case colErrorCode:
		return &r.ErrorCode
	case colRequestType:
		return &r.RequestType
	case colResponseType:
		return &r.ResponseType
	case colClientIP:
		return &r.ClientIP
	case colNode:
		return &r.Node
	}
	panic(fmt.Sprintf("sqlitestore: column %d holds no string", col))
}

// errChunk is wrapped by the errors of a chunk that does not decode.
var errChunk = fmt.Errorf("%w: an analytics chunk does not decode", ErrCorrupt)

// chunkEncoder encodes records into chunks. Its buffers are reused from
// one chunk to the next; it is not safe for concurrent use.
type chunkEncoder struct {
	ints    [chunkColumns][]byte // integer columns: their varints
	plain   []byte               // the request ids: kindStrings without the kind
	dicts   [chunkColumns]dict   // the other string columns
	out     []byte
	scratch []portico.Record // for chunks
}

// dict builds a kindDict column.
type dict struct {
	vals    []string          // the values by index
	ids     map[string]uint64 // value → index, once there are more than dictScan values
	entries []byte            // the values, each a uvarint length and its bytes
	idx     []byte            // a uvarint index per record
}

// dictScan is how many values a dict looks up by comparing them one by
// one rather than through a map: most columns hold a few values, the same
// strings of the gateway's configuration, and comparing those is cheaper
// than hashing (BenchmarkAnalyticsWrite).
const dictScan = 16

// add appends the index of s, adding s to the dictionary if it is new.
func (d *dict) add(s string) {
	id, ok := uint64(0), false
	if len(d.vals) <= dictScan {
		for i, v := range d.vals {
			if v == s {
				id, ok = uint64(i), true
				break
			}
		}
	} else {
		id, ok = d.ids[s]
	}
	if !ok {
		id = uint64(len(d.vals))
		d.vals = append(d.vals, s)
		if len(d.vals) > dictScan {
			if d.ids == nil {
				d.ids = make(map[string]uint64)
			}
			if len(d.ids) == 0 {
				for i, v := range d.vals {
					d.ids[v] = uint64(i)
				}
			}
			d.ids[s] = id
		}
		d.entries = appendString(d.entries, s)
	}
	d.idx = binary.AppendUvarint(d.idx, id)
}

// reset empties d, keeping its memory but none of its strings.
func (d *dict) reset() {
	clear(d.vals)
	clear(d.ids)
	d.vals, d.entries, d.idx = d.vals[:0], d.entries[:0], d.idx[:0]
}

// appendString appends s as a uvarint length and its bytes.
func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// encode returns records (at least one) as a chunk, and the earliest and
// latest of their times in Unix microseconds. The chunk is valid until
// the next call.
func (e *chunkEncoder) encode(records []portico.Record) (data []byte, minTime, maxTime int64) {
	for c := range e.ints {
		e.ints[c] = e.ints[c][:0]
	}
	e.plain = e.plain[:0]
	for c := range e.dicts {
		e.dicts[c].reset()
	}
	var prev int64
	for i := range records {
		r := &records[i]
		t := r.Time.UnixMicro()
		if i == 0 {
			minTime, maxTime = t, t
		}
		minTime, maxTime = min(minTime, t), max(maxTime, t)
		e.ints[colTime] = binary.AppendVarint(e.ints[colTime], t-prev)
		prev = t
		e.plain = appendString(e.plain, r.RequestID)
		e.dicts[colAPI].add(r.API)
		e.dicts[colAPIVersion].add(r.APIVersion)
		e.dicts[colAPIID].add(r.APIID)
		e.dicts[colPublisher].add(r.Publisher)
		e.dicts[colSubscriber].add(r.Subscriber)
		e.dicts[colApplication].add(r.Application)
		e.dicts[colPlan].add(r.Plan)
		e.dicts[colResource].add(r.Resource)
		e.dicts[colMethod].add(r.Method)
		e.ints[colStatus] = binary.AppendVarint(e.ints[colStatus], int64(r.Status))
		e.dicts[colErrorCode].add(r.ErrorCode)
		e.ints[colRequestBytes] = binary.AppendVarint(e.ints[colRequestBytes], r.RequestBytes)
		e.ints[colResponseBytes] = binary.AppendVarint(e.ints[colResponseBytes], r.ResponseBytes)
		e.dicts[colRequestType].add(r.RequestType)
		e.dicts[colResponseType].add(r.ResponseType)
		e.ints[colLatency] = binary.AppendVarint(e.ints[colLatency], r.Latency.Microseconds())
		e.ints[colUpstreamLatency] = binary.AppendVarint(e.ints[colUpstreamLatency], r.UpstreamLatency.Microseconds())
		e.dicts[colClientIP].add(r.ClientIP)
		e.dicts[colNode].add(r.Node)
	}

	// The columns' kinds and bodies: body1 then body2 then body3.
	var kinds [chunkColumns]byte
	var bodies [chunkColumns][3][]byte
	var sizes [chunkColumns][binary.MaxVarintLen64]byte
	for c := range chunkColumns {
		switch {
		case c == colTime:
			kinds[c], bodies[c][0] = kindDeltas, e.ints[c]
		case c == colRequestID:
			kinds[c], bodies[c][0] = kindStrings, e.plain
		case stringColumn(c):
			d := &e.dicts[c]
			n := binary.PutUvarint(sizes[c][:], uint64(len(d.vals)))
			kinds[c], bodies[c] = kindDict, [3][]byte{sizes[c][:n], d.entries, d.idx}
		default:
			kinds[c], bodies[c][0] = kindInts, e.ints[c]
		}
	}
	out := append(e.out[:0], chunkVersion)
	out = binary.AppendUvarint(out, uint64(len(records)))
	for c := range chunkColumns {
		out = binary.AppendUvarint(out, uint64(1+len(bodies[c][0])+len(bodies[c][1])+len(bodies[c][2])))
	}
	for c := range chunkColumns {
		out = append(out, kinds[c])
		out = append(append(append(out, bodies[c][0]...), bodies[c][1]...), bodies[c][2]...)
	}
	e.out = out
	for c := range e.dicts {
		e.dicts[c].reset() // hold no strings of the caller's records
	}
	return out, minTime, maxTime
}

// chunk is a parsed chunk: its columns, not yet decoded. Its slices point
// into the data it was parsed from.
type chunk struct {
	n    int
	cols [chunkColumns][]byte // each column's encoding, its kind first
}

// parseChunk splits data, a chunk, into its columns.
func parseChunk(data []byte) (chunk, error) {
	var c chunk
	if len(data) == 0 || data[0] != chunkVersion {
		if len(data) == 0 {
			return c, fmt.Errorf("%w: empty", errChunk)
		}
		return c, fmt.Errorf("%w: format %d, not %d", errChunk, data[0], chunkVersion)
	}
	p := data[1:]
	n, k := binary.Uvarint(p)
	if k <= 0 {
		return c, fmt.Errorf("%w: record count", errChunk)
	}
	p = p[k:]
	var lens [chunkColumns]uint64
	for i := range lens {
		if lens[i], k = binary.Uvarint(p); k <= 0 {
			return c, fmt.Errorf("%w: length of column %d", errChunk, i)
		}
		p = p[k:]
	}
	for i, l := range lens {
		if l == 0 || l > uint64(len(p)) {
			return c, fmt.Errorf("%w: column %d: length %d of %d bytes left", errChunk, i, l, len(p))
		}
		c.cols[i], p = p[:l], p[l:]
	}
	if len(p) != 0 {
		return c, fmt.Errorf("%w: %d bytes after the last column", errChunk, len(p))
	}
	// Every record takes at least a byte of every integer column: this
	// bounds the memory that decoding n records asks for.
	if n > uint64(len(c.cols[colTime])) {
		return c, fmt.Errorf("%w: %d records in %d bytes", errChunk, n, len(c.cols[colTime]))
	}
	c.n = int(n)
	return c, nil
}

// ints decodes integer column col into dst (reusing its memory): one value
// per record.
func (c *chunk) ints(col int, dst []int64) ([]int64, error) {
	b := c.cols[col]
	kind := b[0]
	if stringColumn(col) || (kind != kindInts && kind != kindDeltas) {
		return dst, fmt.Errorf("%w: column %d: kind %d", errChunk, col, kind)
	}
	b = b[1:]
	if cap(dst) < c.n {
		dst = make([]int64, c.n)
	}
	dst = dst[:c.n]
	var prev int64
	for i := range dst {
		v, k := binary.Varint(b)
		if k <= 0 {
			return dst, fmt.Errorf("%w: column %d: value %d", errChunk, col, i)
		}
		b = b[k:]
		if kind == kindDeltas {
			v += prev
			prev = v
		}
		dst[i] = v
	}
	if len(b) != 0 {
		return dst, fmt.Errorf("%w: column %d: %d bytes after the last value", errChunk, col, len(b))
	}
	return dst, nil
}

// strs decodes string column col: its distinct values (or, for
// kindStrings, every record's value) into vals, and for each record the
// index of its value in vals into idx, reusing their memory. The values
// point into the chunk's data.
func (c *chunk) strs(col int, vals [][]byte, idx []uint32) ([][]byte, []uint32, error) {
	b := c.cols[col]
	kind := b[0]
	if !stringColumn(col) || (kind != kindStrings && kind != kindDict) {
		return vals, idx, fmt.Errorf("%w: column %d: kind %d", errChunk, col, kind)
	}
	b = b[1:]
	d := uint64(c.n)
	if kind == kindDict {
		var k int
		if d, k = binary.Uvarint(b); k <= 0 || d > uint64(len(b)) {
			return vals, idx, fmt.Errorf("%w: column %d: dictionary size", errChunk, col)
		}
		b = b[k:]
	}
	vals = vals[:0]
	for i := range d {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return vals, idx, fmt.Errorf("%w: column %d: string %d", errChunk, col, i)
		}
		vals = append(vals, b[k:k+int(l)])
		b = b[k+int(l):]
	}
	if cap(idx) < c.n {
		idx = make([]uint32, c.n)
	}
	idx = idx[:c.n]
	for i := range idx {
		if kind == kindStrings {
			idx[i] = uint32(i)
			continue
		}
		v, k := binary.Uvarint(b)
		if k <= 0 || v >= d {
			return vals, idx, fmt.Errorf("%w: column %d: index %d", errChunk, col, i)
		}
		b = b[k:]
		idx[i] = uint32(v)
	}
	if len(b) != 0 {
		return vals, idx, fmt.Errorf("%w: column %d: %d bytes after the last value", errChunk, col, len(b))
	}
	return vals, idx, nil
}

// records appends the records of c to dst. Records that share a value of
// a dictionary column share its string.
func (c *chunk) records(dst []portico.Record) ([]portico.Record, error) {
	base := len(dst)
	dst = append(dst, make([]portico.Record, c.n)...)
	out := dst[base:]
	var (
		vals [][]byte
		idx  []uint32
		ints []int64
		strs []string
		err  error
	)
	for col := range chunkColumns {
		if !stringColumn(col) {
			if ints, err = c.ints(col, ints); err != nil {
				return dst[:base], err
			}
			for i, v := range ints {
				r := &out[i]
				switch col {
				case colTime:
					r.Time = time.UnixMicro(v).UTC()
				case colStatus:
					r.Status = int(v)
				case colRequestBytes:
					r.RequestBytes = v
				case colResponseBytes:
					r.ResponseBytes = v
				case colLatency:
					r.Latency = time.Duration(v) * time.Microsecond
				case colUpstreamLatency:
					r.UpstreamLatency = time.Duration(v) * time.Microsecond
				}
			}
			continue
		}
		if vals, idx, err = c.strs(col, vals, idx); err != nil {
			return dst[:base], err
		}
		strs = strs[:0]
		for _, v := range vals {
			strs = append(strs, string(v))
		}
		for i, j := range idx {
			*stringField(&out[i], col) = strs[j]
		}
	}
	return dst, nil
}
