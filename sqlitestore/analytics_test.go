package sqlitestore

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
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

// stored reads back every record, in rowid order.
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
	return out
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
	if _, err := a.w.Exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON requests
		WHEN NEW.request_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	batch := analyticstest.Generate(300)
	batch[290].RequestID = "boom" // in the last, smallest statements
	if err := a.Write(ctx, batch); err == nil {
		t.Fatal("Write succeeded")
	}
	if got := stored(t, a); len(got) != 0 {
		t.Fatalf("a failed Write stored %d records", len(got))
	}
	batch[290].RequestID = "fine"
	if err := a.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, a); len(got) != len(batch) {
		t.Fatalf("stored %d records, want %d", len(got), len(batch))
	}
}

func TestAnalyticsWriteSizes(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	records := analyticstest.Generate(2000)
	var written int
	for _, n := range []int{1, 3, 4, 5, 31, 32, 33, 255, 256, 257, 383} {
		if err := a.Write(ctx, records[written:written+n]); err != nil {
			t.Fatalf("Write of %d: %v", n, err)
		}
		written += n
	}
	if got := stored(t, a); !reflect.DeepEqual(got, records[:written]) {
		t.Fatalf("stored %d records, not the %d written in order", len(got), written)
	}
}

func TestAnalyticsPrune(t *testing.T) {
	ctx := context.Background()
	a, _ := openAnalytics(t)
	records := analyticstest.Records()
	if err := a.Write(ctx, records); err != nil {
		t.Fatal(err)
	}
	// More than pruneRows, so that Prune takes several rounds: copy the
	// records in SQL, which is quicker than writing them.
	for len(records) <= 4*pruneRows {
		if _, err := a.w.Exec(`INSERT INTO requests SELECT * FROM requests`); err != nil {
			t.Fatal(err)
		}
		records = append(records, records...)
	}
	all := portico.AnalyticsQuery{From: time.Time{}, To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), GroupBy: portico.DimNode}

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
	if want := int64(len(records) - len(keep)); n != want || n <= pruneRows {
		t.Errorf("Prune deleted %d records, want %d (more than %d)", n, want, pruneRows)
	}
	got, err := a.Query(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if want := analyticstest.Aggregate(keep, all); !reflect.DeepEqual(got, want) {
		t.Errorf("after Prune:\ngot  %+v\nwant %+v", got, want)
	}
	if n, err := a.Prune(ctx, cut); err != nil || n != 0 {
		t.Errorf("second Prune = %d, %v; want 0, nil", n, err)
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

// BenchmarkAnalyticsWrite writes batches as the recorder does (of
// analytics.DefaultBatchSize records under load, a few records when the
// traffic is light), in time order as a gateway records them, and reports
// per record: the wall time, the process's CPU time (GC and SQLite's own
// threads included, where the platform reports it) and the allocations.
func BenchmarkAnalyticsWrite(b *testing.B) {
	for _, batch := range []int{5000, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			a, _ := openAnalytics(b)
			const rounds = 4
			records := analyticstest.Generate(rounds * batch) // three days, in order
			span := 72 * time.Hour
			buf := make([]portico.Record, batch)
			b.ReportAllocs()
			cpu0 := processCPU()
			for i := 0; b.Loop(); i++ {
				// Each round of batches comes three days after the last.
				off := (i % rounds) * batch
				shift := time.Duration(i/rounds) * span
				for j := range buf {
					buf[j] = records[off+j]
					buf[j].Time = buf[j].Time.Add(shift)
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
		})
	}
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
