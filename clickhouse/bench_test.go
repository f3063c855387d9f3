package clickhouse_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/clickhouse"
	"github.com/portico-gw/portico/internal/clickhousetest"
)

// benchBatch is the batch size of the write benchmarks (the recorder's
// default batch_size).
const benchBatch = 5000

// benchRecords returns a batch of realistic records.
func benchRecords() []portico.Record {
	recs := make([]portico.Record, benchBatch)
	at := time.Now().UTC()
	for i := range recs {
		r := record(i, at.Add(time.Duration(i)*time.Microsecond))
		r.RequestID = fmt.Sprintf("01J9Z%021d", i)
		r.API = []string{"weather", "maps", "payments", "search"}[i%4]
		r.Application = fmt.Sprintf("app-%d", i%50)
		r.Subscriber = fmt.Sprintf("user-%d", i%20)
		r.Status = []int{200, 200, 200, 404, 429, 502}[i%6]
		r.Latency = time.Duration(i%1000)*time.Millisecond + 317*time.Microsecond
		recs[i] = r
	}
	return recs
}

// BenchmarkWrite writes batches of 5,000 records, one after another,
// into a real clickhouse-server and reports records/s: each batch is one
// part of the MergeTree table, durable when Write returns.
func BenchmarkWrite(b *testing.B) {
	benchmarkWrite(b, clickhouse.Config{})
}

// BenchmarkWriteBuffered is BenchmarkWrite through a Buffer table
// (Config.BufferFlush).
func BenchmarkWriteBuffered(b *testing.B) {
	benchmarkWrite(b, clickhouse.Config{BufferFlush: 5 * time.Second})
}

func benchmarkWrite(b *testing.B, cfg clickhouse.Config) {
	srv := clickhousetest.Start(b)
	cfg.Addrs = []string{srv.Addr()}
	s := open(b, cfg)
	ctx := context.Background()
	recs := benchRecords()
	if err := s.Write(ctx, recs); err != nil { // warm up: connection, first part
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := s.Write(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N*len(recs))/elapsed, "records/s")
}

// BenchmarkWriteConcurrent writes batches of 5,000 records from two
// goroutines at once (the recorder's max_concurrent_batches > 1) and
// reports records/s.
func BenchmarkWriteConcurrent(b *testing.B) {
	srv := clickhousetest.Start(b)
	s := open(b, clickhouse.Config{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	recs := benchRecords()
	if err := s.Write(ctx, recs); err != nil {
		b.Fatal(err)
	}
	const writers = 2
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += writers {
				if err := s.Write(ctx, recs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*len(recs))/elapsed, "records/s")
}

// BenchmarkWriteRollupCost measures what the hourly rollup costs inserts:
// it writes the same batches of 5,000 records, alternately, into a table
// with the rollup and into one without (Config.NoRollup), in two
// databases of one server, and reports both rates and their ratio.
func BenchmarkWriteRollupCost(b *testing.B) {
	srv := clickhousetest.Start(b)
	with := open(b, clickhouse.Config{Addrs: []string{srv.Addr()}, Database: "rolled"})
	without := open(b, clickhouse.Config{Addrs: []string{srv.Addr()}, Database: "plain", NoRollup: true})
	ctx := context.Background()
	recs := benchRecords()
	var took [2]time.Duration
	stores := [2]*clickhouse.Store{with, without}
	for _, s := range stores { // warm up: connection, first part
		if err := s.Write(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range 2 {
			s := stores[(i+j)%2] // each goes first every other round
			t0 := time.Now()
			if err := s.Write(ctx, recs); err != nil {
				b.Fatal(err)
			}
			took[(i+j)%2] += time.Since(t0)
		}
	}
	n := float64(b.N * len(recs))
	b.ReportMetric(n/took[0].Seconds(), "records/s-rollup")
	b.ReportMetric(n/took[1].Seconds(), "records/s-plain")
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "rollup/plain")
}
