package clickhouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/clickhousetest"
)

// openStore opens a Store on srv that keeps records forever.
func openStore(t *testing.T, srv *clickhousetest.Server, cfg Config) *Store {
	t.Helper()
	cfg.Addrs = []string{srv.Addr()}
	cfg.RetentionDays = -1
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// rollupRecords returns n records at random times in [from, to), over
// three APIs (one of which changes publisher), 150 applications, a few
// statuses, resources and nodes.
func rollupRecords(rng *rand.Rand, n int, from, to time.Time) []portico.Record {
	recs := make([]portico.Record, n)
	span := to.Sub(from)
	for i := range recs {
		at := from.Add(time.Duration(rng.Int64N(int64(span))) / time.Microsecond * time.Microsecond)
		api := []string{"weather", "maps", "pay"}[rng.IntN(3)]
		pub := map[string]string{"weather": "pub-1", "maps": "pub-2", "pay": "pub-1"}[api]
		if api == "pay" && rng.IntN(2) == 0 {
			pub = "pub-2"
		}
		recs[i] = portico.Record{
			Time: at, RequestID: fmt.Sprintf("r%d-%d", at.UnixNano(), i),
			API: api, APIVersion: "v1", APIID: "id-" + api, Publisher: pub,
			Application: fmt.Sprintf("app-%d", rng.IntN(150)), Subscriber: "sub",
			Resource: []string{"/a", "/b/{id}", "/c", ""}[rng.IntN(4)], Method: "GET",
			Status:       []int{200, 200, 201, 404, 429, 500, 502}[rng.IntN(7)],
			RequestBytes: int64(rng.IntN(5000)), ResponseBytes: int64(rng.IntN(50000)),
			Latency: time.Duration(rng.IntN(1e6)) * time.Microsecond,
			Node:    []string{"n1", "n2", "n3"}[rng.IntN(3)],
		}
	}
	return recs
}

func writeAll(t *testing.T, s *Store, recs []portico.Record) {
	t.Helper()
	for i := 0; i < len(recs); i += 2500 {
		if err := s.Write(context.Background(), recs[i:min(i+2500, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
}

// randomTopQuery returns a query the dashboard could send for the top
// groups of a range in [from, to].
func randomTopQuery(rng *rand.Rand, from, to time.Time) portico.AnalyticsQuery {
	span := to.Sub(from)
	a := from.Add(time.Duration(rng.Int64N(int64(span))))
	b := a.Add(time.Duration(rng.Int64N(int64(to.Sub(a)) + 1)))
	switch rng.IntN(4) {
	case 0: // on whole hours
		a, b = a.Truncate(time.Hour), b.Truncate(time.Hour)
	case 1: // on whole minutes, as the console sends
		a, b = a.Truncate(time.Minute), b.Truncate(time.Minute)
	case 2: // reversed or empty
		if rng.IntN(2) == 0 {
			a, b = b, a
		}
	}
	q := portico.AnalyticsQuery{
		From: a, To: b, NoLatency: true, NoBytes: rng.IntN(2) == 0, Totals: rng.IntN(3) == 0,
		GroupBy: []string{portico.DimAPI, portico.DimApplication, portico.DimStatus, portico.DimResource, portico.DimNode}[rng.IntN(5)],
		Filters: map[string]string{},
	}
	if rng.IntN(2) == 0 {
		q.Limit = 1 + rng.IntN(12)
	}
	if rng.IntN(2) == 0 {
		q.Filters[portico.DimAPI] = []string{"weather", "maps", "pay", "none", "it's"}[rng.IntN(5)]
	}
	if rng.IntN(2) == 0 {
		q.Filters[portico.DimPublisher] = []string{"pub-1", "pub-2", "pub-3"}[rng.IntN(3)]
	}
	return q
}

// TestRollupMatchesRecords checks that the top groups read from the
// hourly rollup (and the records at the ragged ends of the range) are
// exactly those read from the records alone, for random ranges, groups,
// filters and limits over three days of records written in batches.
func TestRollupMatchesRecords(t *testing.T) {
	srv := clickhousetest.Start(t)
	rolled := openStore(t, srv, Config{})
	raw := openStore(t, srv, Config{NoRollup: true})
	if got := rolled.rollupSince.Load(); got != 0 {
		t.Fatalf("rollup over an empty table marked complete from %d, want 0", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	to := time.Now().UTC()
	from := to.Add(-72 * time.Hour)
	writeAll(t, rolled, rollupRecords(rng, 30000, from, to))

	ctx := context.Background()
	routed := 0
	for i := range 300 {
		q := randomTopQuery(rng, from.Add(-time.Hour), to.Add(time.Hour))
		if _, ok := rolled.rollupQuery(q); ok {
			routed++
		}
		want, err := raw.Query(ctx, q)
		if err != nil {
			t.Fatalf("query %d %+v from the records: %v", i, q, err)
		}
		got, err := rolled.Query(ctx, q)
		if err != nil {
			t.Fatalf("query %d %+v from the rollup: %v", i, q, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("query %d %+v:\nrollup  %+v\nrecords %+v", i, q, got, want)
		}
	}
	if routed < 150 {
		t.Fatalf("only %d of 300 queries were answered from the rollup", routed)
	}
	// The dashboard's shapes go to the rollup: a week of one API, its top
	// applications without percentiles or bytes.
	week := portico.AnalyticsQuery{From: to.Add(-7 * 24 * time.Hour).Truncate(time.Minute), To: to.Truncate(time.Minute).Add(time.Minute),
		Filters: map[string]string{portico.DimAPI: "maps", portico.DimPublisher: "pub-2"}, GroupBy: portico.DimApplication,
		Limit: 10, NoLatency: true, NoBytes: true}
	if _, ok := rolled.rollupQuery(week); !ok {
		t.Fatal("the dashboard's top applications over a week were not answered from the rollup")
	}
	for _, q := range []portico.AnalyticsQuery{
		func() portico.AnalyticsQuery { q := week; q.NoLatency = false; return q }(),
		func() portico.AnalyticsQuery { q := week; q.Bucket = portico.Hour; return q }(),
		func() portico.AnalyticsQuery { q := week; q.GroupBy = portico.DimPlan; return q }(),
		func() portico.AnalyticsQuery {
			q := week
			q.Filters = map[string]string{portico.DimStatus: "200"}
			return q
		}(),
		func() portico.AnalyticsQuery { q := week; q.From = q.To.Add(-30 * time.Minute); return q }(),
	} {
		if _, ok := rolled.rollupQuery(q); ok {
			t.Errorf("%+v was answered from the rollup, which cannot answer it", q)
		}
	}
	if _, ok := raw.rollupQuery(week); ok {
		t.Error("a store with NoRollup used the rollup")
	}
}

// TestRollupOverExistingRecords checks that a rollup created over a
// table that already holds records is used only from its mark on: every
// range still answers as the records do, and the mark is the second
// whole hour after the rollup was made.
func TestRollupOverExistingRecords(t *testing.T) {
	srv := clickhousetest.Start(t)
	raw := openStore(t, srv, Config{NoRollup: true})
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Now().UTC()
	writeAll(t, raw, rollupRecords(rng, 10000, now.Add(-48*time.Hour), now))

	before := now.Truncate(time.Hour).Add(2 * time.Hour).Unix()
	rolled := openStore(t, srv, Config{})
	after := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour).Unix()
	if got := rolled.rollupSince.Load(); got != before && got != after {
		t.Fatalf("rollup over existing records marked from %d, want %d", got, before)
	}
	// A second store (another node) learns the same mark.
	again := openStore(t, srv, Config{})
	if again.rollupSince.Load() != rolled.rollupSince.Load() {
		t.Fatalf("a second store read the mark %d, want %d", again.rollupSince.Load(), rolled.rollupSince.Load())
	}
	// Records after the mark, in the rollup.
	mark := time.Unix(rolled.rollupSince.Load(), 0).UTC()
	writeAll(t, rolled, rollupRecords(rng, 10000, mark.Add(-30*time.Minute), mark.Add(5*time.Hour)))

	ctx := context.Background()
	whole := portico.AnalyticsQuery{From: now.Add(-49 * time.Hour), To: mark.Add(6 * time.Hour), GroupBy: portico.DimApplication, NoLatency: true, Limit: 5}
	late := whole
	late.From = mark
	for _, q := range []portico.AnalyticsQuery{whole, late} {
		want, err := raw.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rolled.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || len(got) != 5 {
			t.Fatalf("%v to %v:\nrollup  %+v\nrecords %+v", q.From, q.To, got, want)
		}
	}
	if _, ok := rolled.rollupQuery(late); !ok {
		t.Error("a range after the mark was not answered from the rollup")
	}
	if sql, _ := rolled.rollupQuery(whole); !strings.Contains(sql, "hour >= toDateTime("+strconv.FormatInt(mark.Unix(), 10)+")") {
		t.Errorf("a range over the mark reads the rollup from before it:\n%s", sql)
	}
}

// TestRollupRetention checks that retention drops the rollup's expired
// days with the records'.
func TestRollupRetention(t *testing.T) {
	srv := clickhousetest.Start(t)
	s := openStore(t, srv, Config{})
	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Now().UTC()
	writeAll(t, s, rollupRecords(rng, 2000, now.Add(-10*24*time.Hour), now))
	old := func(table string) string {
		return srv.Query(t, "SELECT count() FROM portico."+table+" WHERE toDate(hour) < today() - 3")
	}
	if old("requests_hourly") == "0" {
		t.Fatal("no rollup rows older than 3 days to expire")
	}
	s.SetRetentionDays(3)
	deadline := time.Now().Add(30 * time.Second)
	for old("requests_hourly") != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("rollup rows older than the retention remain: %s", old("requests_hourly"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := srv.Query(t, "SELECT count() FROM portico.requests WHERE toDate(time) < today() - 3"); n != "0" {
		t.Fatalf("records older than the retention remain: %s", n)
	}
}

// openErr opens a Store on srv and returns Open's error.
func openErr(t *testing.T, srv *clickhousetest.Server, cfg Config) error {
	t.Helper()
	cfg.Addrs = []string{srv.Addr()}
	cfg.RetentionDays = -1
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.Open(context.Background())
}

// sameAnswers checks that rolled answers q as the records do.
func sameAnswers(t *testing.T, rolled, raw *Store, q portico.AnalyticsQuery) {
	t.Helper()
	ctx := context.Background()
	want, err := raw.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rolled.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v to %v by %s:\nrollup  %+v\nrecords %+v", q.From, q.To, q.GroupBy, got, want)
	}
}

// TestRollupNeverReadsWhatItMissed covers what a black-box probe found:
// records dated after the mark that were there before the view, rows
// already in a rollup table without its view, a rollup table or records'
// table dropped by hand. In each the rollup is read only from after
// every row it may lack or hold in excess.
func TestRollupNeverReadsWhatItMissed(t *testing.T) {
	now := time.Now().UTC()
	tops := portico.AnalyticsQuery{From: now.Add(-48 * time.Hour), To: now.Add(72 * time.Hour), GroupBy: portico.DimApplication, NoLatency: true}
	rng := rand.New(rand.NewPCG(7, 8))

	t.Run("future records before the view", func(t *testing.T) {
		srv := clickhousetest.Start(t)
		raw := openStore(t, srv, Config{NoRollup: true})
		writeAll(t, raw, rollupRecords(rng, 3000, now.Add(20*time.Hour), now.Add(30*time.Hour)))
		rolled := openStore(t, srv, Config{})
		latest := srv.Query(t, "SELECT toUInt32(max(time)) FROM portico.requests")
		n, _ := strconv.ParseInt(latest, 10, 64)
		if got := rolled.rollupSince.Load(); got < n/3600*3600+3600 {
			t.Fatalf("mark %d is not after the latest record %d", got, n)
		}
		writeAll(t, rolled, rollupRecords(rng, 3000, now.Add(-24*time.Hour), now.Add(48*time.Hour)))
		sameAnswers(t, rolled, raw, tops)
	})

	t.Run("rows in a rollup table without its view", func(t *testing.T) {
		srv := clickhousetest.Start(t)
		srv.Query(t, "CREATE DATABASE portico")
		srv.Query(t, "CREATE TABLE portico.requests_hourly (dim String, api String, hour DateTime('UTC'), value String, publisher String, "+
			"requests UInt64, errors UInt64, request_bytes UInt64, response_bytes UInt64) ENGINE = SummingMergeTree() "+
			"PARTITION BY toYYYYMMDD(hour) ORDER BY (dim, api, hour, value, publisher)")
		ghost := now.Add(10 * time.Hour).Truncate(time.Hour).Format("2006-01-02 15:04:05")
		srv.Query(t, "INSERT INTO portico.requests_hourly VALUES ('application', 'weather', '"+ghost+"', 'GHOST', '', 1000, 0, 0, 0), "+
			"('node', 'weather', '"+ghost+"', 'n1', '', 1000, 0, 0, 0)")
		rolled := openStore(t, srv, Config{})
		raw := openStore(t, srv, Config{NoRollup: true})
		writeAll(t, rolled, rollupRecords(rng, 3000, now.Add(-24*time.Hour), now.Add(48*time.Hour)))
		sameAnswers(t, rolled, raw, tops)
	})

	t.Run("rollup table dropped by hand", func(t *testing.T) {
		srv := clickhousetest.Start(t)
		openStore(t, srv, Config{})
		raw := openStore(t, srv, Config{NoRollup: true})
		writeAll(t, raw, rollupRecords(rng, 3000, now.Add(-24*time.Hour), now))
		srv.Query(t, "DROP TABLE portico.requests_hourly")
		rolled := openStore(t, srv, Config{}) // a restarted node
		writeAll(t, rolled, rollupRecords(rng, 3000, now.Add(-24*time.Hour), now.Add(48*time.Hour)))
		sameAnswers(t, rolled, raw, tops)
	})

	t.Run("records table dropped by hand", func(t *testing.T) {
		srv := clickhousetest.Start(t)
		first := openStore(t, srv, Config{})
		writeAll(t, first, rollupRecords(rng, 3000, now.Add(-24*time.Hour), now.Add(24*time.Hour)))
		srv.Query(t, "DROP TABLE portico.requests")
		rolled := openStore(t, srv, Config{})
		raw := openStore(t, srv, Config{NoRollup: true})
		writeAll(t, rolled, rollupRecords(rng, 300, now.Add(-24*time.Hour), now.Add(48*time.Hour)))
		sameAnswers(t, rolled, raw, tops)
	})
}

// TestRollupNamesTaken: a table or view by the rollup's names that is
// not Portico's is an error naming it, and nothing is created that would
// break inserts into the records' table.
func TestRollupNamesTaken(t *testing.T) {
	for _, c := range []struct{ name, create, want string }{
		{"a table named as the view", "CREATE TABLE portico.requests_hourly_mv (x UInt8) ENGINE = Memory", "requests_hourly_mv exists and is not Portico's rollup view"},
		{"a plain view named as the view", "CREATE VIEW portico.requests_hourly_mv AS SELECT 1 AS x", "requests_hourly_mv exists and is not Portico's rollup view"},
		{"another table named as the rollup", "CREATE TABLE portico.requests_hourly (x UInt8) ENGINE = Memory", "requests_hourly exists and is not Portico's rollup table"},
		{"a rollup table of other columns", "CREATE TABLE portico.requests_hourly (x UInt8) ENGINE = SummingMergeTree() ORDER BY x", "lacks the columns"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := clickhousetest.Start(t)
			srv.Query(t, "CREATE DATABASE portico")
			srv.Query(t, c.create)
			err := openErr(t, srv, Config{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want an error with %q", err, c.want)
			}
			// Records still go in (no view of Portico's over a foreign table).
			raw := openStore(t, srv, Config{NoRollup: true})
			writeAll(t, raw, rollupRecords(rand.New(rand.NewPCG(1, 1)), 10, time.Now(), time.Now().Add(time.Minute)))
			if n := srv.Query(t, "SELECT count() FROM portico.requests"); n != "10" {
				t.Fatalf("records stored: %s, want 10", n)
			}
		})
	}
}

// TestRollupRetentionWithoutRollup: a store that leaves the rollup out
// still drops its expired days, which another node may keep filling.
func TestRollupRetentionWithoutRollup(t *testing.T) {
	srv := clickhousetest.Start(t)
	rolled := openStore(t, srv, Config{})
	writeAll(t, rolled, rollupRecords(rand.New(rand.NewPCG(9, 9)), 2000, time.Now().Add(-10*24*time.Hour), time.Now()))
	plain := openStore(t, srv, Config{NoRollup: true})
	plain.SetRetentionDays(3)
	deadline := time.Now().Add(30 * time.Second)
	for srv.Query(t, "SELECT count() FROM portico.requests_hourly WHERE toDate(hour) < today() - 3") != "0" {
		if time.Now().After(deadline) {
			t.Fatal("a store without the rollup left its expired days")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
