// Package analyticsbench measures the analytics path end to end: records
// offered to the recorder until they are all stored in a real
// clickhouse-server.
package analyticsbench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/analytics"
	"github.com/portico-gw/portico/clickhouse"
	"github.com/portico-gw/portico/internal/analyticstest"
	"github.com/portico-gw/portico/internal/clickhousetest"
)

// BenchmarkRecorderClickHouse offers b.N records to a Recorder whose sink
// is ClickHouse and reports records/s until the last one is stored.
func BenchmarkRecorderClickHouse(b *testing.B) {
	ch := clickhousetest.Start(b)
	st, err := clickhouse.New(clickhouse.Config{Addrs: []string{ch.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	r, err := analytics.New(analytics.Config{Sink: st, SpoolDir: b.TempDir(), BufferSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	recs := analyticstest.Generate(10000)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		rec := recs[i%len(recs)]
		rec.RequestID = fmt.Sprint(i)
		r.Record(&rec)
		if i%100000 == 99999 {
			for r.Stats().Queued > 500000 { // stay within the buffer: measure throughput, not drops
				time.Sleep(time.Millisecond)
			}
		}
	}
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	s := r.Stats()
	if s.Recorded+s.Spooled+s.Dropped != int64(b.N) || s.Dropped != 0 || s.Spooled != 0 {
		b.Fatalf("stats %+v for %d records", s, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
}

var _ portico.AnalyticsSink = (*clickhouse.Store)(nil)
