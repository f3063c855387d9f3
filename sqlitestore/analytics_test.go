package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/analyticstest"
)

// openAnalytics opens a new analytics database in a temporary directory
// and closes it when the test ends.
func openAnalytics(t testing.TB) (*Analytics, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), AnalyticsFile)
	a, err := OpenAnalytics(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, path
}

func TestAnalyticsConformance(t *testing.T) {
	a, _ := openAnalytics(t)
	analyticstest.Run(t, a)
}

// stored reads back every record: the rows of the table requests in
// rowid order, then the records of the chunks in rowid order.
func stored(t *testing.T, a *Analytics) []portico.Record {
	t.Helper()
	rows, err := a.r.Query(`SELECT * FROM requests ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []portico.Record
	for rows.Next() {
		var r portico.Record
		var tm, status, lat, up int64
		if err := rows.Scan(&tm, &r.RequestID, &r.API, &r.APIVersion, &r.APIID,
			&r.Publisher, &r.Subscriber, &r.Application, &r.Plan, &r.Resource,
			&r.Method, &status, &r.ErrorCode, &r.RequestBytes, &r.ResponseBytes,
			&r.RequestType, &r.ResponseType, &lat, &up, &r.ClientIP, &r.Node); err != nil {
			t.Fatal(err)
		}
		r.Time = time.UnixMicro(tm).UTC()
		r.Status = int(status)
		r.Latency = time.Duration(lat) * time.Microsecond
		r.UpstreamLatency = time.Duration(up) * time.Microsecond
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	chunks, err := a.r.Query(`SELECT min_time, max_time, records, data FROM request_chunks ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer chunks.Close()
	for chunks.Next() {
		var lo, hi, n int64
		var data []byte
		if err := chunks.Scan(&lo, &hi, &n, &data); err != nil {
			t.Fatal(err)
		}
		c, err := parseChunk(data)
		if err != nil {
			t.Fatal(err)
		}
		records, err := c.records(nil)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(records)) != n || n == 0 || n > maxChunkRecords {
			t.Fatalf("a chunk of %d records says it holds %d (at most %d)", len(records), n, maxChunkRecords)
		}
		first, last := records[0].Time.UnixMicro(), records[0].Time.UnixMicro()
		for _, r := range records {
			first, last = min(first, r.Time.UnixMicro()), max(last, r.Time.UnixMicro())
		}
		if first != lo || last != hi {
			t.Fatalf("a chunk of records from %d to %d says %d to %d", first, last, lo, hi)
		}
		out = append(out, records...)
	}
	if err := chunks.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// byWindow returns a copy of records sorted stably by chunk window: the
// order in which a Write of them stores them.
func byWindow(records []portico.Record) []portico.Record {
	return slices.SortedStableFunc(slices.Values(records), func(a, b portico.Record) int {
		return cmp.Compare(window(a.Time.UnixMicro()), window(b.Time.UnixMicro()))
	})
}

// writeRows writes records to the table requests as Portico versions
// before chunks did, one row per record.
func writeRows(t *testing.T, w *sql.DB, records []portico.Record) {
	t.Helper()
	for _, r := range records {
		_, err := w.Exec(`INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Time.UnixMicro(), r.RequestID, r.API, r.APIVersion, r.APIID,
			r.Publisher, r.Subscriber, r.Application, r.Plan, r.Resource,
			r.Method, int64(r.Status), r.ErrorCode, r.RequestBytes, r.ResponseBytes,
			r.RequestType, r.ResponseType, r.Latency.Microseconds(), r.UpstreamLatency.Microseconds(),
			r.ClientIP, r.Node)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAnalyticsKeepsEveryFieldAcrossReopen(t *testing.T) {
	ctx := context.Background()
	a, path := openAnalytics(t)
	records := analyticstest.Records()
	if err := a.Write(ctx, records); err != nil {
		t.Fatal(err)
	}
	q := portico.AnalyticsQuery{From: time.Time{}, To: time.Now().Add(time.Hour), Bucket: portico.Hour, GroupBy: portico.DimAPI}
	before, err := a.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	a, err = OpenAnalytics(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// A chunk per hour, in the order of the hours.
	records = byWindow(records)
	if got := stored(t, a); !reflect.DeepEqual(got, records) {
		t.Errorf("stored records differ from the written ones")
		for i := range min(len(got), len(records)) {
			if !reflect.DeepEqual(got[i], records[i]) {
				t.Fatalf("first difference at %d:\ngot  %+v\nwant %+v", i, got[i], records[i])
			}
		}
		t.Fatalf("%d records stored, %d written", len(got), len(records))
	}
	after, err := a.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) || !reflect.DeepEqual(after, analyticstest.Aggregate(records, q)) {
		t.Errorf("the answer changed across a reopen")
	}
}

func TestAnalyticsTruncatesToMicroseconds(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	tm := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.FixedZone("X", 7200))
	err := a.Write(ctx, []portico.Record{{Time: tm, Status: 200, Latency: 1999 * time.Nanosecond, UpstreamLatency: 999}})
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, a)
	want := time.Date(2026, 5, 1, 10, 0, 0, 123456000, time.UTC)
	if len(got) != 1 || !got[0].Time.Equal(want) || got[0].Latency != time.Microsecond || got[0].UpstreamLatency != 0 {
		t.Errorf("stored %+v, want time %v, latency 1µs, upstream 0", got, want)
	}
}

func TestAnalyticsWriteIsAtomic(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	// The second chunk of a batch fails.
	if _, err := a.w.Exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON request_chunks
		WHEN (SELECT count(*) FROM request_chunks) > 0 BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	batch := analyticstest.Generate(maxChunkRecords + 1)
	if err := a.Write(ctx, batch); err == nil {
		t.Fatal("Write succeeded")
	}
	if got := stored(t, a); len(got) != 0 {
		t.Fatalf("a failed Write stored %d records", len(got))
	}
	if _, err := a.w.Exec(`DROP TRIGGER boom`); err != nil {
		t.Fatal(err)
	}
	if err := a.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, a); !reflect.DeepEqual(got, batch) {
		t.Fatalf("stored %d records, not the %d written", len(got), len(batch))
	}
}

func TestAnalyticsWriteSizes(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	sizes := []int{1, 2, 3, 100, maxChunkRecords - 1, maxChunkRecords, maxChunkRecords + 1, 3*maxChunkRecords + 5}
	var total int
	for _, n := range sizes {
		total += n
	}
	// All in one hour, so that only sizes split batches.
	records := analyticstest.Generate(total)
	hour := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := range records {
		records[i].Time = hour.Add(time.Duration(i) * time.Microsecond)
	}
	var written int
	for _, n := range sizes {
		if err := a.Write(ctx, records[written:written+n]); err != nil {
			t.Fatalf("Write of %d: %v", n, err)
		}
		written += n
	}
	if got := stored(t, a); !reflect.DeepEqual(got, records) {
		t.Fatalf("stored %d records, not the %d written in order", len(got), written)
	}
	var chunks int
	if err := a.r.QueryRow(`SELECT count(*) FROM request_chunks`).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if want := 1 + 1 + 1 + 1 + 1 + 1 + 2 + 4; chunks != want {
		t.Errorf("%d chunks, want %d", chunks, want)
	}
}

// TestAnalyticsWriteChunkBytes: records with long strings (a content type
// as long as the header limits allow, say) make more, smaller chunks.
func TestAnalyticsWriteChunkBytes(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	hour := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	records := analyticstest.Generate(40)
	long := strings.Repeat("x", maxChunkBytes/4)
	for i := range records {
		records[i].Time = hour.Add(time.Duration(i) * time.Second)
		if i%5 == 3 {
			records[i].RequestType = long + strconv.Itoa(i)
		}
	}
	records[20].ResponseType = strings.Repeat("y", maxChunkBytes+1) // alone in its chunk
	if err := a.Write(ctx, records); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, a); !reflect.DeepEqual(got, records) {
		t.Fatalf("stored %d records, not the %d written in order", len(got), len(records))
	}
	// Three long request types make a chunk, the long response type one
	// alone: records 0-17, 18-19, 20, 21-37, 38-39.
	rows, err := a.r.Query(`SELECT records, length(data) FROM request_chunks ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var counts []int
	for rows.Next() {
		var n, size int
		if err := rows.Scan(&n, &size); err != nil {
			t.Fatal(err)
		}
		if n > 1 && size > maxChunkBytes {
			t.Errorf("a chunk of %d records takes %d bytes", n, size)
		}
		counts = append(counts, n)
	}
	if want := []int{18, 2, 1, 17, 2}; !slices.Equal(counts, want) {
		t.Errorf("chunks of %v records, want %v", counts, want)
	}
}

func TestAnalyticsWriteChunksByHour(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	hour := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	batch := analyticstest.Generate(10)
	for i, d := range []time.Duration{
		59*time.Minute + 59*time.Second + 999999*time.Microsecond, // the last microsecond of 9:00
		time.Hour,                   // the first of 10:00
		30 * time.Minute,            // 9:00 again
		-25 * time.Hour,             // a request that took a day
		2*time.Hour + time.Second,   // 11:00
		time.Hour + time.Minute,     // 10:00
		-time.Microsecond,           // 8:00
		0,                           // 9:00
		time.Hour + 59*time.Minute,  // 10:00
		-25*time.Hour + time.Second, // with the other one of the day before
	} {
		batch[i].Time = hour.Add(d)
	}
	if err := a.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got, want := stored(t, a), byWindow(batch); !reflect.DeepEqual(got, want) {
		t.Errorf("stored\n%v\nwant\n%v", got, want)
	}
	rows, err := a.r.Query(`SELECT min_time, max_time, records FROM request_chunks ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var counts []int
	for rows.Next() {
		var lo, hi int64
		var n int
		if err := rows.Scan(&lo, &hi, &n); err != nil {
			t.Fatal(err)
		}
		if window(lo) != window(hi) {
			t.Errorf("a chunk from %d to %d spans windows", lo, hi)
		}
		counts = append(counts, n)
	}
	if want := []int{2, 1, 3, 3, 1}; !slices.Equal(counts, want) {
		t.Errorf("chunks of %v records, want %v", counts, want)
	}
}

func TestAnalyticsPrune(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	// More than pruneChunks chunks, so that Prune takes several rounds,
	// and every chunk of Records in no particular order: most straddle the
	// cut.
	records := analyticstest.Records()
	for len(records) < 8*pruneChunks*100 {
		records = append(records, records...)
	}
	for i := 0; i < len(records); i += 100 {
		if err := a.Write(ctx, records[i:min(i+100, len(records))]); err != nil {
			t.Fatal(err)
		}
	}
	all := portico.AnalyticsQuery{From: time.Time{}, To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), GroupBy: portico.DimNode}

	for _, cut := range []time.Time{
		time.Date(2026, 3, 2, 13, 0, 0, 5, time.UTC),  // whole chunks, and chunks that straddle
		time.Date(2026, 3, 3, 13, 0, 0, 5, time.UTC),  // more of both
		time.Date(2026, 3, 3, 13, 0, 0, 5, time.UTC),  // nothing left to delete
		time.Date(2026, 3, 10, 13, 0, 0, 5, time.UTC), // everything
	} {
		var keep []portico.Record
		for _, r := range records {
			if !r.Time.Before(cut) {
				keep = append(keep, r)
			}
		}
		n, err := a.Prune(ctx, cut)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(len(records) - len(keep)); n != want {
			t.Errorf("Prune(%v) deleted %d records, want %d", cut, n, want)
		}
		records = keep
		got, err := a.Query(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		if want := analyticstest.Aggregate(records, all); !reflect.DeepEqual(got, want) {
			t.Errorf("after Prune(%v):\ngot  %+v\nwant %+v", cut, got, want)
		}
		slices.SortStableFunc(keep, func(a, b portico.Record) int { return strings.Compare(a.RequestID, b.RequestID) })
		left := stored(t, a)
		slices.SortStableFunc(left, func(a, b portico.Record) int { return strings.Compare(a.RequestID, b.RequestID) })
		if !reflect.DeepEqual(left, keep) {
			t.Errorf("after Prune(%v): %d records stored, want %d", cut, len(left), len(keep))
		}
	}
}

func TestAnalyticsConcurrent(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	records := analyticstest.Generate(2000)
	const writers, readers = 4, 2
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			part := records[w*len(records)/writers : (w+1)*len(records)/writers]
			for i := 0; i < len(part); i += 100 {
				if err := a.Write(ctx, part[i:min(i+100, len(part))]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	q := portico.AnalyticsQuery{From: time.Time{}, To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Bucket: portico.Day, GroupBy: portico.DimStatus}
	for range readers {
		wg.Go(func() {
			for range 10 {
				if _, err := a.Query(ctx, q); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := a.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if want := analyticstest.Aggregate(records, q); !reflect.DeepEqual(got, want) {
		t.Errorf("after concurrent writes:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestAnalyticsOpenSetsPragmas(t *testing.T) {
	a, path := openAnalytics(t)
	for _, c := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
		{"application_id", fmt.Sprint(analyticsAppID)},
		{"user_version", fmt.Sprint(len(analyticsMigrations))},
	} {
		var got string
		if err := a.w.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestOpenAnalyticsRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
	_, path := open(t) // the configuration database
	if a, err := OpenAnalytics(ctx, path); err == nil {
		a.Close()
		t.Error("OpenAnalytics opened the configuration database")
	}

	// A database of another kind at schema version 1 is left as it is.
	other := filepath.Join(t.TempDir(), "other.db")
	u, err := createFile(other)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrate(ctx, db, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if a, err := OpenAnalytics(ctx, other); err == nil {
		a.Close()
		t.Error("OpenAnalytics opened a database of another kind")
	}
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'request%'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("OpenAnalytics created %d tables in a database of another kind (%v)", tables, err)
	}

	a, path := openAnalytics(t)
	if _, err := a.w.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(analyticsMigrations)+1)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if a, err := OpenAnalytics(ctx, path); err == nil {
		a.Close()
		t.Error("OpenAnalytics opened a database of a newer schema")
	}
}

// TestAnalyticsOpensOldSchema opens a database that a Portico before
// chunks wrote (schema version 1: a row per record in the table requests)
// and checks that its records are kept, answered with the new ones and
// pruned.
func TestAnalyticsOpensOldSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), AnalyticsFile)
	records := analyticstest.Records()
	old, fresh := records[:len(records)/2], records[len(records)/2:]

	u, err := createFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", u+"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, analyticsMigrations[:1]); err != nil {
		t.Fatal(err)
	}
	writeRows(t, db, old)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	a, err := OpenAnalytics(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var version int
	if err := a.w.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != len(analyticsMigrations) {
		t.Fatalf("schema version %d (%v), want %d", version, err, len(analyticsMigrations))
	}
	if err := a.Write(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if got, want := stored(t, a), append(slices.Clone(old), byWindow(fresh)...); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %d records, want the %d old rows then the %d new ones", len(got), len(old), len(fresh))
	}
	for _, q := range analyticstest.Queries() {
		got, err := a.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if want := analyticstest.Aggregate(records, q); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", analyticstest.Name(q), got, want)
		}
	}

	cut := time.Date(2026, 3, 3, 13, 0, 0, 5, time.UTC)
	var keep []portico.Record
	for _, r := range records {
		if !r.Time.Before(cut) {
			keep = append(keep, r)
		}
	}
	n, err := a.Prune(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(records) - len(keep)); n != want {
		t.Errorf("Prune deleted %d records, want %d", n, want)
	}
	all := portico.AnalyticsQuery{To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Bucket: portico.Hour, GroupBy: portico.DimStatus}
	got, err := a.Query(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if want := analyticstest.Aggregate(keep, all); !reflect.DeepEqual(got, want) {
		t.Errorf("after Prune:\ngot  %+v\nwant %+v", got, want)
	}
}

// TestAnalyticsDamagedChunk: a chunk that does not decode fails the
// queries and the prunes that read it with an error wrapping ErrCorrupt;
// the others still work.
func TestAnalyticsDamagedChunk(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	// A chunk per hour, of two records: at :00 and at :30.
	hour := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	records := analyticstest.Generate(40)
	for i := range records {
		records[i].Time = hour.Add(time.Duration(i) * 30 * time.Minute)
	}
	if err := a.Write(ctx, records); err != nil {
		t.Fatal(err)
	}
	damage := func(at time.Duration, data string) {
		t.Helper()
		res, err := a.w.Exec(`UPDATE request_chunks SET data = `+data+` WHERE min_time = ?`, hour.Add(at).UnixMicro())
		if n, _ := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("damaged %d chunks: %v", n, err)
		}
	}
	damage(10*time.Hour, `substr(data, 1, length(data) - 1)`)
	q := portico.AnalyticsQuery{From: hour, To: hour.Add(20 * time.Hour)}
	if _, err := a.Query(ctx, q); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Query over the damaged chunk: %v, want ErrCorrupt", err)
	}
	q.To = hour.Add(10 * time.Hour)
	if rows, err := a.Query(ctx, q); err != nil || len(rows) != 1 || rows[0].Requests != 20 {
		t.Errorf("Query before the damaged chunk: %+v, %v; want 20 requests", rows, err)
	}
	// Whole chunks go without being read.
	if n, err := a.Prune(ctx, hour.Add(11*time.Hour)); err != nil || n != 22 {
		t.Errorf("Prune of whole chunks, the damaged one included: %d, %v; want 22", n, err)
	}
	damage(12*time.Hour, `x'01'`)
	if _, err := a.Prune(ctx, hour.Add(12*time.Hour+time.Minute)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Prune that trims the damaged chunk: %v, want ErrCorrupt", err)
	}
}

func TestCeilMicros(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want int64
	}{
		{base, base.UnixMicro()},
		{base.Add(time.Nanosecond), base.UnixMicro() + 1},
		{base.Add(999 * time.Nanosecond), base.UnixMicro() + 1},
		{base.Add(time.Microsecond), base.UnixMicro() + 1},
		{base.Add(-time.Nanosecond), base.UnixMicro()},
		{time.Unix(0, -1), 0},
		{time.Unix(0, -1001), -1},
		{time.Time{}, time.Time{}.UnixMicro()},
		{time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{time.Date(-300000, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64},
	} {
		if got := ceilMicros(c.t); got != c.want {
			t.Errorf("ceilMicros(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}

// BenchmarkAnalyticsWrite writes batches as the recorder does and reports
// per record: the wall time, the process's CPU time (GC and SQLite's own
// threads included, where the platform reports it) and the allocations.
// The records are those of a gateway serving 40,000 requests a second:
// batched in the order the requests end, each stamped with its start (its
// end less its latency), in batches of analytics.DefaultBatchSize (under
// load) or 100 (light traffic, when the flush interval comes first).
// "spread" writes batches of records spread over about 18 hours each, the
// worst case: a chunk per hour.
func BenchmarkAnalyticsWrite(b *testing.B) {
	for _, c := range []struct {
		name   string
		batch  int
		spread bool
	}{
		{"batch=5000", 5000, false},
		{"batch=100", 100, false},
		{"batch=5000/spread", 5000, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			benchmarkWrite(b, c.batch, c.spread)
		})
	}
}

func benchmarkWrite(b *testing.B, batch int, spread bool) {
	ctx := context.Background()
	a, _ := openAnalytics(b)
	const (
		rounds = 4
		every  = 25 * time.Microsecond // 40,000 requests a second
	)
	records := analyticstest.Generate(rounds * batch) // three days, in order
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	round := time.Duration(len(records)) * every
	if spread {
		round = 72 * time.Hour
	}
	buf := make([]portico.Record, batch)
	b.ReportAllocs()
	cpu0 := processCPU()
	for i := 0; b.Loop(); i++ {
		// Each round of batches comes after the last.
		off := (i % rounds) * batch
		shift := time.Duration(i/rounds) * round
		for j := range buf {
			buf[j] = records[off+j]
			if spread {
				buf[j].Time = buf[j].Time.Add(shift)
			} else {
				buf[j].Time = start.Add(shift + time.Duration(off+j)*every - buf[j].Latency)
			}
		}
		if err := a.Write(ctx, buf); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * batch)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	if cpu := processCPU(); cpu > 0 {
		b.ReportMetric(float64((cpu-cpu0).Nanoseconds())/n, "cpu-ns/record")
	}
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAnalyticsQuery asks queries of a store of 100,000 records
// over three days and of one of a million records over 30 days (the same
// records ten times, three days apart): the whole range, grouped by hour
// and API, grouped by application, and one API's minutes of one hour.
func BenchmarkAnalyticsQuery(b *testing.B) {
	for _, copies := range []int{1, 10} {
		b.Run(fmt.Sprintf("records=%d", copies*100_000), func(b *testing.B) {
			benchmarkQuery(b, copies)
		})
	}
}

func benchmarkQuery(b *testing.B, copies int) {
	ctx := context.Background()
	a, _ := openAnalytics(b)
	records := analyticstest.Generate(100_000)
	span := 72 * time.Hour
	buf := make([]portico.Record, 5000)
	for c := range copies {
		for i := 0; i < len(records); i += len(buf) {
			copy(buf, records[i:])
			for j := range buf {
				buf[j].Time = buf[j].Time.Add(time.Duration(c) * span)
			}
			if err := a.Write(ctx, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	all := portico.AnalyticsQuery{From: from, To: from.Add(time.Duration(copies) * span)}
	for _, c := range []struct {
		name string
		q    portico.AnalyticsQuery
	}{
		{"total", all},
		{"hour_per_api", portico.AnalyticsQuery{From: all.From, To: all.To, Bucket: portico.Hour, GroupBy: portico.DimAPI}},
		{"per_application", portico.AnalyticsQuery{From: all.From, To: all.To, GroupBy: portico.DimApplication}},
		{"minute_one_api_one_hour", portico.AnalyticsQuery{From: from.Add(9 * time.Hour), To: from.Add(10 * time.Hour),
			Bucket: portico.Minute, Filters: map[string]string{portico.DimAPI: "weather"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rows, err := a.Query(ctx, c.q)
				if err != nil || len(rows) == 0 {
					b.Fatal(len(rows), err)
				}
			}
		})
	}
}

// BenchmarkAnalyticsQueryManyGroups asks grouped queries of a store of
// 100,000 records of 100,000 applications (the console's dashboard of an
// admin over the seed of BenchmarkPages): every group with its
// percentiles, the top 10 with and without percentiles, and the top 10 by
// hour.
func BenchmarkAnalyticsQueryManyGroups(b *testing.B) {
	ctx := context.Background()
	a, _ := openAnalytics(b)
	records := analyticstest.Generate(100_000)
	for i := range records {
		records[i].Application = fmt.Sprintf("app-%06d", i*7919%len(records))
	}
	for i := 0; i < len(records); i += 5000 {
		if err := a.Write(ctx, records[i:i+5000]); err != nil {
			b.Fatal(err)
		}
	}
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	all := portico.AnalyticsQuery{From: from, To: from.Add(72 * time.Hour), GroupBy: portico.DimApplication}
	for _, c := range []struct {
		name      string
		bucket    portico.Period
		limit     int
		noLatency bool
	}{
		{"all", "", 0, false},
		{"top10", "", 10, false},
		{"top10_no_latency", "", 10, true},
		{"hour_top10", portico.Hour, 10, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := all
			q.Bucket, q.Limit, q.NoLatency = c.bucket, c.limit, c.noLatency
			b.ReportAllocs()
			for b.Loop() {
				rows, err := a.Query(ctx, q)
				if err != nil || len(rows) == 0 {
					b.Fatal(len(rows), err)
				}
			}
		})
	}
}
