package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/portico-gw/portico/analytics"
)

// BenchmarkRecord: the cost of Record on the request path, from as many
// goroutines as GOMAXPROCS, into a sink that discards.
func BenchmarkRecord(b *testing.B) {
	r := newRecorder(b, analytics.Config{Sink: discardSink{}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rec := rec(0, 0)
		for pb.Next() {
			r.Record(rec)
		}
	})
	b.StopTimer()
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	st := r.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkThroughput: records per second through the Recorder (Record,
// batching, the write to the sink) into a sink that discards, Close's
// final flush included.
func BenchmarkThroughput(b *testing.B) {
	r := newRecorder(b, analytics.Config{Sink: discardSink{}})
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rec := rec(0, 0)
		for pb.Next() {
			r.Record(rec)
		}
	})
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	st := r.Stats()
	b.ReportMetric(float64(st.Recorded)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkThroughputSpool: the same while the sink is down, so that
// every batch is encoded, written and fsynced to the spool.
func BenchmarkThroughputSpool(b *testing.B) {
	r := newRecorder(b, analytics.Config{Sink: &fakeSink{down: true}, RetryInterval: time.Hour})
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rec := rec(0, 0)
		for pb.Next() {
			r.Record(rec)
		}
	})
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	st := r.Stats()
	b.ReportMetric(float64(st.Spooled)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkRecordSerial: Record from one goroutine, leaving a core to the
// Recorder's own goroutines, so that (almost) every record is accepted:
// the cost of the accepted path.
func BenchmarkRecordSerial(b *testing.B) {
	r := newRecorder(b, analytics.Config{Sink: discardSink{}})
	rec := rec(0, 0)
	b.ReportAllocs()
	for b.Loop() {
		r.Record(rec)
	}
	b.StopTimer()
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Stats().Dropped)/float64(b.N), "dropped/op")
}
