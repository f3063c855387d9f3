package clickhouse

import (
	"context"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico"
)

// bufPool holds encode buffers (*[]byte) of past batches.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

// maxPooledBuf is the largest buffer kept for reuse.
const maxPooledBuf = 16 << 20

// Write implements portico.AnalyticsSink: it stores batch with one
// INSERT … FORMAT TabSeparated, the rows in the POST body, on one address
// (round robin over the addresses that are up). When an address fails
// (connection error or a 5xx answer) it is marked down for DownFor and the
// same batch goes to the next one; when every address is down or failed,
// Write returns an EUnavailable error and stored nothing.
//
// A batch of up to max_insert_block_size rows (1,048,576 by default) is
// one block, which ClickHouse stores whole or not at all. When an insert
// fails in a way that leaves open whether the server stored it (the
// connection broke, the server went away or timed out: anything but a
// refusal), Write remembers the batch, and the next Write of the same
// batch (the recorder's retry, from its spool) first asks whether its
// first and last request ids are stored: if they are, the batch is taken
// as written and not stored twice (TestWriteAmbiguous). This holds for
// batches whose records have request ids, and reads the table (not a
// Buffer table's buffer) that queries read.
//
// Values are stored as the package documentation describes: times before
// 1970 or after 2106 and negative durations or byte counts are clamped to
// the columns' ranges.
func (s *Store) Write(ctx context.Context, batch []portico.Record) error {
	if len(batch) == 0 {
		return nil
	}
	key := ambiguityKey(batch)
	if key != "" && s.wasAmbiguous(key) {
		stored, err := s.stored(ctx, batch[0].RequestID, batch[len(batch)-1].RequestID)
		if err != nil {
			return &portico.Error{Code: portico.EUnavailable, Message: "analytics store unavailable: checking whether a batch was stored", Err: err}
		}
		s.forget(key)
		if stored {
			return nil
		}
	}
	buf := bufPool.Get().(*[]byte)
	b := (*buf)[:0]
	for i := range batch {
		b = appendRow(b, &batch[i])
	}
	err := s.try(ctx, true, func(ep *endpoint) error {
		_, err := s.do(ctx, ep, s.insertQuery, b)
		return err
	})
	if err != nil && key != "" && portico.ErrorCodeOf(err) == portico.EUnavailable {
		s.remember(key)
	}
	// After a failed attempt the transport may in rare cases still hold
	// the body; only a buffer whose insert succeeded goes back to the pool.
	if err == nil && cap(b) <= maxPooledBuf {
		*buf = b[:0]
		bufPool.Put(buf)
	}
	return err
}

// maxDateTime is the last second a DateTime column holds.
const maxDateTime = math.MaxUint32

// timeParts splits t into the seconds and microseconds stored, clamped to
// what DateTime holds.
func timeParts(t time.Time) (sec int64, us uint32) {
	sec = t.Unix()
	switch {
	case sec < 0:
		return 0, 0
	case sec > maxDateTime:
		return maxDateTime, 999999
	}
	return sec, uint32(t.Nanosecond() / 1000)
}

// micros returns d in whole microseconds, 0 for negative durations.
func micros(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(d / time.Microsecond)
}

// nonNeg returns n, or 0 when n is negative.
func nonNeg(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// status clamps a status code to UInt16.
func status(n int) uint64 {
	switch {
	case n < 0:
		return 0
	case n > math.MaxUint16:
		return math.MaxUint16
	}
	return uint64(n)
}

// appendRow appends r as one TabSeparated row in the order of columns.
func appendRow(b []byte, r *portico.Record) []byte {
	sec, us := timeParts(r.Time)
	b = appendDateTime(b, sec)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(us), 10)
	b = appendField(b, r.RequestID)
	b = appendField(b, r.API)
	b = appendField(b, r.APIVersion)
	b = appendField(b, r.APIID)
	b = appendField(b, r.Publisher)
	b = appendField(b, r.Subscriber)
	b = appendField(b, r.Application)
	b = appendField(b, r.Plan)
	b = appendField(b, r.Resource)
	b = appendField(b, r.Method)
	b = append(b, '\t')
	b = strconv.AppendUint(b, status(r.Status), 10)
	b = appendField(b, r.ErrorCode)
	b = append(b, '\t')
	b = strconv.AppendUint(b, nonNeg(r.RequestBytes), 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, nonNeg(r.ResponseBytes), 10)
	b = appendField(b, r.RequestType)
	b = appendField(b, r.ResponseType)
	b = append(b, '\t')
	b = strconv.AppendUint(b, micros(r.Latency), 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, micros(r.UpstreamLatency), 10)
	b = appendField(b, r.ClientIP)
	b = appendField(b, r.Node)
	return append(b, '\n')
}

// appendDateTime appends sec as "YYYY-MM-DD hh:mm:ss" in UTC, the text
// form every ClickHouse version parses into a DateTime('UTC') column.
// (A bare Unix timestamp is not parsed by 18.16 near the end of the body.)
func appendDateTime(b []byte, sec int64) []byte {
	days := sec / 86400
	rem := sec % 86400
	y, m, d := civil(days)
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, ' ')
	b = append2(b, int(rem/3600))
	b = append(b, ':')
	b = append2(b, int(rem/60%60))
	b = append(b, ':')
	return append2(b, int(rem%60))
}

// civil converts days since 1970-01-01 into a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

func append4(b []byte, n int) []byte {
	return append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

// appendField appends a tab and s escaped for TabSeparated: backslash,
// tab, newline, carriage return and NUL are written as escape sequences.
func appendField(b []byte, s string) []byte {
	b = append(b, '\t')
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '\t':
			esc = 't'
		case '\n':
			esc = 'n'
		case '\r':
			esc = 'r'
		case 0:
			esc = '0'
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', esc)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// maxAmbiguous bounds the batches a Store remembers as possibly stored.
const maxAmbiguous = 10000

// ambiguityKey names a batch by its first and last request ids, or is ""
// when either is empty.
func ambiguityKey(batch []portico.Record) string {
	first, last := batch[0].RequestID, batch[len(batch)-1].RequestID
	if first == "" || last == "" {
		return ""
	}
	return first + "\x00" + last
}

func (s *Store) wasAmbiguous(key string) bool {
	s.ambMu.Lock()
	defer s.ambMu.Unlock()
	_, ok := s.ambiguous[key]
	return ok
}

func (s *Store) remember(key string) {
	s.ambMu.Lock()
	defer s.ambMu.Unlock()
	if s.ambiguous == nil || len(s.ambiguous) >= maxAmbiguous {
		s.ambiguous = map[string]struct{}{}
	}
	s.ambiguous[key] = struct{}{}
}

func (s *Store) forget(key string) {
	s.ambMu.Lock()
	defer s.ambMu.Unlock()
	delete(s.ambiguous, key)
}

// stored reports whether records with both request ids are in the table
// that queries read.
func (s *Store) stored(ctx context.Context, first, last string) (bool, error) {
	q := url.Values{"query": {"SELECT count() FROM " + s.db + "." + quoteIdent(s.queryName) +
		" WHERE request_id IN (" + quoteString(first) + ", " + quoteString(last) + ") FORMAT TabSeparated"}}.Encode()
	var n int
	err := s.try(ctx, false, func(ep *endpoint) error {
		b, err := s.do(ctx, ep, q, nil)
		if err != nil {
			return err
		}
		n, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return n > 0, err
}
